"""Chapter 5's figures in kanlab.plot: they draw what they claim, with a title and labelled axes."""

import math

import torch

from kanlab import plot
from kanlab.approximation import bump_network, max_error


def target(x):
    return torch.sin(2 * math.pi * x) + 0.4 * torch.sin(6 * math.pi * x)


def has_title_and_labels(ax):
    return bool(ax.get_title()) and bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def test_sigmoid_step_picture_names_the_step_position_and_draws_the_ideal_step():
    ax = plot.sigmoid_step_picture(None, 50.0, -20.0)
    assert "s = -b/w = 0.40" in ax.get_title()
    assert len(ax.lines) == 2 and has_title_and_labels(ax)


def test_sigmoid_step_picture_draws_no_step_for_a_zero_weight():
    ax = plot.sigmoid_step_picture(None, 0.0, -20.0)
    assert len(ax.lines) == 1 and "step at" not in ax.get_title()


def test_bump_picture_draws_two_steps_and_their_sum():
    ax = plot.bump_picture(None, 0.3, 0.6, height=0.8)
    up, down, total = (line.get_ydata() for line in ax.lines[:3])
    assert torch.allclose(torch.as_tensor(up + down), torch.as_tensor(total))
    assert has_title_and_labels(ax)


def test_bump_approximation_picture_states_the_max_error_and_the_bound():
    ax = plot.bump_approximation_picture(None, target, 4, lipschitz=4.4 * math.pi)
    error = max_error(bump_network(target, 4), target, n_points=801)
    assert ax.get_title() == f"N = 4 bumps: max error {error:.3f}, bound L/(2N) = {4.4 * math.pi / 8:.3f}"
    assert len(ax.lines) == 3 and has_title_and_labels(ax)


def test_bump_errors_picture_draws_the_errors_and_the_bound_on_log_axes():
    errors = {n: max_error(bump_network(target, n), target) for n in (1, 2, 4)}
    ax = plot.bump_errors_picture(None, errors, 4.4 * math.pi)
    assert list(ax.lines[1].get_ydata()) == [4.4 * math.pi / (2 * n) for n in (1, 2, 4)]
    assert ax.get_xscale() == "log" and has_title_and_labels(ax)


def test_error_against_width_draws_both_curves_on_log_axes():
    ax = plot.error_against_width(None, {2: 1.0, 4: 0.6}, {2: 0.5, 4: 0.1})
    assert len(ax.lines) == 2 and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert has_title_and_labels(ax)
