"""Specification of kanlab.approximation: steps, bumps, and the N-bump network with its error."""

import math

import numpy as np
import pytest
import torch

from kanlab.approximation import (bump, bump_edges, bump_network, bump_weights, fewest_bumps, hat_knots, hat_network,
                                  hat_weights, interpolation_bound, loglog_slope, max_error, relu_hat, sigmoid_step)
from kanlab.mlp import MLP
from kanlab.splines import basis, uniform_grid


def target(x):
    return torch.sin(2 * math.pi * x) + 0.4 * torch.sin(6 * math.pi * x)


TARGET_LIPSCHITZ = 2 * math.pi + 0.4 * 6 * math.pi  # max |f'|, reached at x = 0
TARGET_CURVATURE = (2 * math.pi) ** 2 + 0.4 * (6 * math.pi) ** 2  # >= max |f''|


def test_a_steep_sigmoid_is_a_step_at_minus_bias_over_weight():
    x = torch.tensor([0.29, 0.31], dtype=torch.float64)
    values = sigmoid_step(x, 1000.0, -300.0)
    assert values[0] < 1e-4 and values[1] > 1 - 1e-4  # sigma(-10) = 4.5e-5
    assert sigmoid_step(torch.tensor(0.3, dtype=torch.float64), 1000.0, -300.0) == pytest.approx(0.5)


def test_a_bump_is_height_inside_its_interval_and_zero_outside():
    x = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    assert bump(x, 0.3, 0.7, 0.8, 1000.0).tolist() == pytest.approx([0.0, 0.8, 0.0], abs=1e-12)


def test_bump_edges_split_the_unit_interval_evenly_with_the_outer_two_outside():
    edges = bump_edges(4)
    assert edges.tolist() == pytest.approx([-0.25, 0.25, 0.5, 0.75, 1.25])


def test_the_bump_network_is_the_sum_of_its_bumps():
    n_bumps, sharpness = 5, 20.0
    model = bump_network(target, n_bumps, sharpness)
    edges = bump_edges(n_bumps)
    midpoints = (torch.arange(n_bumps, dtype=torch.float64) + 0.5) / n_bumps
    x = torch.linspace(0, 1, 101, dtype=torch.float64)
    by_hand = sum(bump(x, edges[i], edges[i + 1], target(midpoints[i]), sharpness * n_bumps) for i in range(n_bumps))
    with torch.no_grad():
        assert torch.allclose(model(x[:, None])[:, 0], by_hand, atol=1e-12)
    assert model.widths == [1, 2 * n_bumps, 1] and model.activation == "sigmoid"


def test_bump_weights_load_into_an_mlp_of_width_two_per_bump():
    weights, biases = bump_weights(target, 3)
    assert [tuple(w.shape) for w in weights] == [(6, 1), (1, 6)]
    assert [tuple(b.shape) for b in biases] == [(6,), (1,)]
    assert MLP.from_weights(weights, biases, activation="sigmoid").widths == [1, 6, 1]


def test_the_network_reproduces_a_constant_function():
    model = bump_network(lambda x: torch.full_like(x, 0.7), 7)
    assert max_error(model, lambda x: torch.full_like(x, 0.7)) < 1e-7


@pytest.mark.parametrize("n_bumps", [1, 3, 10, 40])
def test_max_error_stays_below_half_the_lipschitz_constant_over_n(n_bumps):
    error = max_error(bump_network(target, n_bumps), target)
    assert error <= TARGET_LIPSCHITZ / (2 * n_bumps) * (1 + 1e-6)


@pytest.mark.parametrize("error", [0.5, 0.1, 0.03])
def test_fewest_bumps_reach_the_error_and_one_bump_fewer_do_not(error):
    n_bumps = fewest_bumps(target, error, TARGET_LIPSCHITZ)
    assert max_error(bump_network(target, n_bumps), target) < error
    assert n_bumps == 1 or max_error(bump_network(target, n_bumps - 1), target) >= error


@pytest.mark.parametrize("error, lipschitz", [(0.0, 1.0), (-0.1, 1.0), (0.1, 0.0)])
def test_fewest_bumps_rejects_a_non_positive_error_or_lipschitz_constant(error, lipschitz):
    with pytest.raises(ValueError, match="error|lipschitz"):
        fewest_bumps(target, error, lipschitz)


def test_max_error_of_a_lipschitz_target_falls_like_one_over_n():
    sizes = list(range(20, 51, 10))
    errors = [max_error(bump_network(target, n), target) for n in sizes]
    assert loglog_slope(sizes, errors) == pytest.approx(-1.0, abs=0.05)


def test_max_error_measures_the_largest_gap_on_the_grid_ends_included():
    class Shifted(torch.nn.Module):
        def forward(self, x):
            return x + 0.25 * x**2

    assert max_error(Shifted(), lambda x: x, n_points=11) == pytest.approx(0.25)


def test_loglog_slope_recovers_a_power_law():
    sizes = [1.0, 2.0, 4.0, 8.0]
    assert loglog_slope(sizes, [3.0 * s**-1.5 for s in sizes]) == pytest.approx(-1.5)


@pytest.mark.parametrize("n_bumps", [0, -2, 2.5, True])
def test_bump_network_rejects_a_bad_number_of_bumps(n_bumps):
    with pytest.raises(ValueError, match="n_bumps"):
        bump_network(target, n_bumps)


def test_bump_weights_rejects_a_non_positive_sharpness():
    with pytest.raises(ValueError, match="sharpness"):
        bump_weights(target, 3, sharpness=0.0)


def test_bump_weights_rejects_f_of_the_wrong_shape():
    with pytest.raises(ValueError, match="f must map"):
        bump_weights(lambda x: x[:2], 3)


def test_loglog_slope_rejects_non_positive_values():
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([1, 2], [0.1, 0.0])


def test_three_relus_make_a_hat_from_zero_to_one_and_back():
    x = torch.tensor([-1.0, 0.2, 0.35, 0.5, 0.6, 0.7, 2.0], dtype=torch.float64)
    assert relu_hat(x, 0.2, 0.5, 0.7).tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 0.5, 0.0, 0.0])


def test_hats_are_kanlabs_degree_one_b_splines_on_the_same_knots():
    n_pieces = 5
    x = torch.linspace(0, 1, 201, dtype=torch.float64)
    splines = basis(x[:, None], uniform_grid(n_pieces, 1, (0.0, 1.0), dtype=torch.float64), 1)[:, 0, :]
    h = 1 / n_pieces
    hats = torch.stack([relu_hat(x, t - h, t, t + h) for t in hat_knots(n_pieces).tolist()], dim=1)
    assert torch.allclose(hats, splines, atol=1e-12)


@pytest.mark.parametrize("n_pieces", [1, 4, 17])
def test_the_hat_network_is_numpys_piecewise_linear_interpolant(n_pieces):
    x = torch.linspace(0, 1, 1001, dtype=torch.float64)
    knots = hat_knots(n_pieces)
    by_numpy = np.interp(x.numpy(), knots.numpy(), target(knots).numpy())
    with torch.no_grad():
        network = hat_network(target, n_pieces)(x[:, None])[:, 0].numpy()
    assert np.abs(network - by_numpy).max() < 1e-12


def test_the_hat_network_has_three_relus_per_knot():
    model = hat_network(target, 6)
    assert model.widths == [1, 21, 1] and model.activation == "relu"
    weights, biases = hat_weights(target, 6)
    assert [tuple(w.shape) for w in weights] == [(21, 1), (1, 21)] and [tuple(b.shape) for b in biases] == [(21,), (1,)]


@pytest.mark.parametrize("n_pieces", [2, 5, 20, 50])
def test_the_hat_error_stays_below_the_interpolation_bound(n_pieces):
    assert max_error(hat_network(target, n_pieces), target) <= interpolation_bound(TARGET_CURVATURE, n_pieces)


def test_the_hat_error_of_a_smooth_target_falls_like_one_over_n_squared():
    sizes = list(range(20, 51, 10))
    errors = [max_error(hat_network(target, n), target) for n in sizes]
    assert loglog_slope(sizes, errors) == pytest.approx(-2.0, abs=0.1)


def test_the_interpolation_bound_is_reached_by_a_parabola():
    # f = x^2 / 2 has f'' = 1: the chord on each piece is exactly h^2 / 8 above it at the middle
    parabola = lambda x: x**2 / 2  # noqa: E731
    assert max_error(hat_network(parabola, 4), parabola, n_points=8 * 4 + 1) == pytest.approx(interpolation_bound(1.0, 4))


def test_relu_hat_rejects_corners_out_of_order():
    with pytest.raises(ValueError, match="left < centre < right"):
        relu_hat(torch.zeros(3), 0.5, 0.5, 1.0)


@pytest.mark.parametrize("n_pieces", [0, 1.5, True])
def test_hat_network_rejects_a_bad_number_of_pieces(n_pieces):
    with pytest.raises(ValueError, match="n_pieces"):
        hat_network(target, n_pieces)


def test_hat_weights_rejects_f_of_the_wrong_shape():
    with pytest.raises(ValueError, match="f must map"):
        hat_weights(lambda x: x[:2], 3)


def test_interpolation_bound_rejects_a_negative_curvature():
    with pytest.raises(ValueError, match="curvature"):
        interpolation_bound(-1.0, 3)
