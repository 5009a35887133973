"""Chapter 5's figures in kanlab.plot: they draw what they claim, with a title and labelled axes."""

import math

import numpy as np

import torch

from kanlab import plot
from kanlab.approximation import bump_network, hat_network, interpolation_bound, max_error


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


def test_error_against_width_adds_every_start_when_given():
    ax = plot.error_against_width(None, {2: 1.0, 4: 0.6}, {2: 0.5, 4: 0.1}, trained_all={2: [0.5, 0.7], 4: [0.1, 0.3]})
    assert len(ax.lines) == 3 and list(ax.lines[2].get_ydata()) == [0.5, 0.7, 0.1, 0.3]


def test_hat_basis_picture_draws_each_hat_beside_its_b_spline():
    ax = plot.hat_basis_picture(None, 4)  # knots and dots on the drawing grid: interpolating a hat there is exact
    hats, splines = ax.lines[0::2], ax.lines[1::2]
    assert len(hats) == len(splines) == 5 and has_title_and_labels(ax)
    for hat, spline in zip(hats, splines):
        on_dots = np.interp(spline.get_xdata(), hat.get_xdata(), hat.get_ydata())
        assert np.abs(on_dots - spline.get_ydata()).max() < 1e-9


def test_hat_interpolation_picture_states_the_max_error_and_the_bound():
    ax = plot.hat_interpolation_picture(None, target, 5, curvature=200.0)
    error = max_error(hat_network(target, 5), target, n_points=801)
    assert f"max error {error:.3f}" in ax.get_title() and f"{interpolation_bound(200.0, 5):.3f}" in ax.get_title()
    assert has_title_and_labels(ax)


def test_hat_errors_picture_draws_both_constructions_and_their_bounds():
    steps = {n: max_error(bump_network(target, n), target) for n in (2, 4)}
    hats = {n: max_error(hat_network(target, n), target) for n in (2, 4)}
    ax = plot.hat_errors_picture(None, steps, hats, 13.8, 180.0)
    assert len(ax.lines) == 4 and list(ax.lines[3].get_ydata()) == [180.0 / (8 * n**2) for n in (2, 4)]
    assert ax.get_xscale() == "log" and has_title_and_labels(ax)
