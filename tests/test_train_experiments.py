"""Specification of kanlab.train's experiment helpers: grid extension, training in turn, power-law
slopes and the time of a training step."""

import pytest
import torch

import kanlab
from kanlab.data import function_dataset, peak_phases
from kanlab.mlp import MLP
from kanlab.train import fit_in_turn, grid_extension, loglog_slope, seconds_per_step


def _smooth_data():
    return function_dataset(lambda x: torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2, n_var=2, n_train=200,
                            n_test=100, dtype=torch.float64)


def test_grid_extension_returns_one_refined_model_and_history_per_grid_in_order():
    model = kanlab.KAN([2, 1], grid_size=3, dtype=torch.float64)
    stages = grid_extension(model, _smooth_data(), [5, 8], steps=2, progress=False)
    assert [m.grid_size for m, _ in stages] == [5, 8]
    assert [len(h.train_rmse) for _, h in stages] == [2, 2]
    assert model.grid_size == 3  # the model given is left as it is


def test_grid_extension_starts_each_grid_from_the_previous_function():
    data = _smooth_data()
    model = kanlab.KAN([2, 1], grid_size=3, dtype=torch.float64)
    kanlab.fit(model, data, steps=3, progress=False)
    (refined, history), = grid_extension(model, data, [6], steps=0, progress=False)
    assert history.train_rmse == []
    torch.testing.assert_close(refined(data.x_test), model(data.x_test), atol=1e-2, rtol=0)


def test_grid_extension_lowers_the_error_on_a_smooth_function():
    data = _smooth_data()
    model = kanlab.KAN([2, 1], grid_size=3, dtype=torch.float64)
    coarse = kanlab.fit(model, data, steps=5, progress=False).test_rmse[-1]
    (_, history), = grid_extension(model, data, [12], steps=5, progress=False)
    assert history.test_rmse[-1] < coarse / 2


@pytest.mark.parametrize("grid_sizes, message", [([], "grid_sizes"), ([5, 0], "grid_sizes"), ([2.5], "grid_sizes")])
def test_grid_extension_rejects_bad_grid_sizes(grid_sizes, message):
    with pytest.raises(ValueError, match=message):
        grid_extension(kanlab.KAN([1, 1]), _smooth_data(), grid_sizes)


def test_grid_extension_needs_a_kan():
    with pytest.raises(TypeError, match="refine"):
        grid_extension(MLP([2, 1]), _smooth_data(), [5])


def test_fit_in_turn_records_every_phase_error_after_every_phase_and_the_curves():
    phases = peak_phases(n_peaks=3, n_train=20, n_test=10, dtype=torch.float64)
    model = MLP([1, 4, 1], activation="tanh", dtype=torch.float64)
    x_plot = torch.linspace(-1, 1, 7, dtype=torch.float64)[:, None]
    errors, predictions = fit_in_turn(model, phases, x_plot, steps=1, progress=False)
    assert errors.shape == (3, 3) and predictions.shape == (3, 7, 1)
    torch.testing.assert_close(predictions[-1], model(x_plot).detach())
    final = [torch.sqrt(torch.mean((model(p.x_test) - p.y_test) ** 2)).item() for p in phases]
    torch.testing.assert_close(errors[-1], torch.tensor(final, dtype=torch.float64))


def test_fit_in_turn_leaves_a_kan_unchanged_far_from_the_new_data():
    phases = peak_phases(n_peaks=2, n_train=40, n_test=10, dtype=torch.float64)
    model = kanlab.KAN([1, 1], grid_size=20, dtype=torch.float64)
    model.layers[0].base_weight.requires_grad_(False)
    model.layers[0].spline_scale.requires_grad_(False)
    x_plot = torch.linspace(-1, 1, 41, dtype=torch.float64)[:, None]
    _, predictions = fit_in_turn(model, phases, x_plot, steps=3, update_grid=False, progress=False)
    left = x_plot[:, 0] < -0.5  # more than k + 1 cells away from the second region [0, 1]
    assert torch.equal(predictions[0][left], predictions[1][left])
    assert not torch.equal(predictions[0][~left], predictions[1][~left])


def test_fit_in_turn_needs_a_phase():
    with pytest.raises(ValueError, match="phases"):
        fit_in_turn(MLP([1, 1]), [], torch.zeros(3, 1))


def test_loglog_slope_recovers_the_exponent_of_a_power_law():
    x = torch.tensor([3.0, 5.0, 10.0, 20.0, 50.0])
    assert loglog_slope(x, 7 * x**-4) == pytest.approx(-4)
    assert loglog_slope([1, 10], [2, 20]) == pytest.approx(1)


@pytest.mark.parametrize("x, y, message", [([1, 2], [1], "same length"), ([1], [1], "same length"),
                                           ([0, 1], [1, 2], "positive"), ([1, 2], [-1, 2], "positive")])
def test_loglog_slope_rejects_bad_input(x, y, message):
    with pytest.raises(ValueError, match=message):
        loglog_slope(x, y)


def test_seconds_per_step_runs_forward_and_backward_and_returns_a_positive_time():
    model = MLP([2, 3, 1], dtype=torch.float64)
    x, y = torch.rand(8, 2, dtype=torch.float64), torch.zeros(8, 1, dtype=torch.float64)
    seconds = seconds_per_step(model, x, y, number=2, repeat=2)
    assert seconds > 0
    assert model.layers[0].weight.grad is not None  # the backward pass ran


@pytest.mark.parametrize("arguments, message", [(dict(number=0), "number"), (dict(repeat=1.5), "repeat")])
def test_seconds_per_step_rejects_bad_counts(arguments, message):
    with pytest.raises(ValueError, match=message):
        seconds_per_step(MLP([1, 1]), torch.zeros(2, 1), torch.zeros(2, 1), **arguments)
