"""Data that a model would misread never reaches training: `kanlab.data.check_dataset`, used by `fit`,
`fit_in_turn` and `discover`, and a loss that refuses to broadcast."""

import pytest
import torch

import kanlab
from kanlab.data import FunctionDataset, check_dataset, function_dataset
from kanlab.discovery import discover, sparsify
from kanlab.loss import mean_squared_error
from kanlab.mlp import MLP
from kanlab.train import fit_in_turn

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))]


def product_data(n_train=200, n_test=100, dtype=torch.float64):
    return function_dataset(lambda x: x[:, 0] * x[:, 1], n_train=n_train, n_test=n_test, dtype=dtype)


def replaced(data, **changes):
    fields = {name: getattr(data, name) for name in ("x_train", "y_train", "x_test", "y_test")}
    return FunctionDataset(**{**fields, **changes})


def quiet_fit(model, data, **options):
    return kanlab.fit(model, data, progress=False, **options)


def test_a_one_dimensional_target_is_reshaped_to_one_column():
    data = product_data()
    checked = check_dataset(replaced(data, y_train=data.y_train[:, 0], y_test=data.y_test[:, 0]), kanlab.KAN([2, 1]))
    assert checked.y_train.shape == (200, 1) and checked.y_test.shape == (100, 1)
    assert torch.equal(checked.y_train, data.y_train.float())


def test_fit_learns_the_same_from_a_one_dimensional_target_as_from_a_column():
    data = product_data()
    flat = replaced(data, y_train=data.y_train[:, 0], y_test=data.y_test[:, 0])
    column_history = quiet_fit(kanlab.KAN([2, 3, 1], seed=0, dtype=torch.float64), data, steps=5)
    flat_history = quiet_fit(kanlab.KAN([2, 3, 1], seed=0, dtype=torch.float64), flat, steps=5)
    assert flat_history.test_rmse == column_history.test_rmse


def test_a_one_dimensional_target_is_refused_for_a_model_with_two_outputs():
    data = product_data()
    with pytest.raises(ValueError, match=r"y_train must have shape \(200, 2\): .* got \(200,\)"):
        check_dataset(replaced(data, y_train=data.y_train[:, 0]), kanlab.KAN([2, 2]))


def test_a_target_with_more_columns_than_the_model_has_outputs_is_refused():
    data = product_data()
    with pytest.raises(ValueError, match=r"y_train must have shape \(200, 1\).* got \(200, 3\)"):
        quiet_fit(kanlab.KAN([2, 1]), replaced(data, y_train=data.y_train.repeat(1, 3)), steps=1)


def test_targets_with_fewer_rows_than_the_inputs_are_refused():
    data = product_data()
    with pytest.raises(ValueError, match=r"y_test must have shape \(100, 1\).* got \(99, 1\)"):
        quiet_fit(kanlab.KAN([2, 1]), replaced(data, y_test=data.y_test[:99]), steps=1)


def test_inputs_of_the_wrong_width_are_refused():
    data = product_data()
    with pytest.raises(ValueError, match=r"x_train must have shape \(n, 3\), one row per sample, got \(200, 2\)"):
        quiet_fit(kanlab.KAN([3, 1]), data, steps=1)


def test_inputs_with_more_than_two_dimensions_are_refused():
    data = product_data()
    with pytest.raises(ValueError, match=r"x_test must have shape \(n, 2\).* got \(100, 1, 2\)"):
        quiet_fit(kanlab.KAN([2, 1]), replaced(data, x_test=data.x_test[:, None, :]), steps=1)


def test_an_empty_training_set_is_refused_before_any_step():
    data = product_data()
    with pytest.raises(ValueError, match=r"x_train must hold at least one sample, got shape \(0, 2\)"):
        quiet_fit(kanlab.KAN([2, 1]), replaced(data, x_train=data.x_train[:0], y_train=data.y_train[:0]), steps=1)


def test_an_empty_test_set_is_refused_instead_of_recording_nan():
    data = product_data()
    with pytest.raises(ValueError, match=r"x_test must hold at least one sample"):
        quiet_fit(kanlab.KAN([2, 1]), replaced(data, x_test=data.x_test[:0], y_test=data.y_test[:0]), steps=1)


@pytest.mark.parametrize("name", ["x_train", "y_train", "x_test", "y_test"])
def test_a_nan_anywhere_is_refused_naming_the_tensor_and_the_row(name):
    data = product_data()
    spoiled = getattr(data, name).clone()
    spoiled[7, 0] = float("nan")
    with pytest.raises(ValueError, match=rf"{name} must be finite, .* the first in row 7"):
        quiet_fit(kanlab.KAN([2, 1]), replaced(data, **{name: spoiled}), steps=1)


def test_a_value_that_overflows_the_models_dtype_is_refused():
    data = product_data()
    huge = data.y_train.clone()
    huge[3, 0] = 1e300  # finite in float64, inf in the float32 model
    with pytest.raises(ValueError, match=r"y_train must be finite"):
        quiet_fit(kanlab.KAN([2, 1]), replaced(data, y_train=huge), steps=1)


def test_data_that_is_not_a_tensor_is_refused_by_name():
    data = product_data()
    with pytest.raises(TypeError, match=r"y_test must be a torch.Tensor, got list"):
        quiet_fit(kanlab.KAN([2, 1]), replaced(data, y_test=data.y_test.tolist()), steps=1)


def test_a_data_object_without_a_test_set_is_refused_by_name():
    class TrainOnly:
        x_train, y_train = product_data().x_train, product_data().y_train

    with pytest.raises(TypeError, match=r"has no x_test"):
        quiet_fit(kanlab.KAN([2, 1]), TrainOnly(), steps=1)


def test_the_checks_hold_for_the_books_mlp():
    data = product_data()
    with pytest.raises(ValueError, match=r"y_train must have shape \(200, 1\).* got \(200, 2\)"):
        quiet_fit(MLP([2, 4, 1]), replaced(data, y_train=data.y_train.repeat(1, 2)), steps=1)
    flat = replaced(data, y_train=data.y_train[:, 0], y_test=data.y_test[:, 0])
    assert len(quiet_fit(MLP([2, 4, 1], dtype=torch.float64), flat, steps=2).test_rmse) == 2


def test_the_checks_hold_for_a_plain_module_whose_widths_are_measured():
    class ThreeOutputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Linear(2, 3)

        def forward(self, x):
            return self.inner(x)

    data = product_data()
    with pytest.raises(ValueError, match=r"y_train must have shape \(200, 3\): .* got \(200,\)"):
        quiet_fit(ThreeOutputs(), replaced(data, y_train=data.y_train[:, 0]), steps=1)


def test_the_checks_read_the_widths_of_a_sequential_mlp():
    data = product_data()
    mlp = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    with pytest.raises(ValueError, match=r"x_train must have shape \(n, 3\)"):
        quiet_fit(mlp, data, steps=1)


def test_fit_in_turn_checks_every_phase_before_training_any():
    phases = kanlab.data.peak_phases(n_peaks=2, n_train=20, n_test=10)
    model = kanlab.KAN([1, 1], seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    broken = replaced(phases[1], y_test=phases[1].y_test[:0])
    with pytest.raises(ValueError, match=r"y_test must have shape \(10, 1\)"):
        fit_in_turn(model, [phases[0], broken], torch.zeros(5, 1), steps=1, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters())), "trained before the check"


def test_discover_refuses_an_empty_test_set_before_training():
    data = product_data()
    with pytest.raises(ValueError, match=r"x_test must hold at least one sample"):
        discover(kanlab.KAN([2, 2, 1]), replaced(data, x_test=data.x_test[:0], y_test=data.y_test[:0]))


def test_each_public_step_of_discover_checks_its_data_too():
    data = product_data()
    with pytest.raises(ValueError, match=r"y_train must have shape \(200, 1\).* got \(200, 2\)"):
        sparsify(kanlab.KAN([2, 2, 1]), replaced(data, y_train=data.y_train.repeat(1, 2)))


def test_the_loss_refuses_to_broadcast_a_column_against_a_row():
    with pytest.raises(ValueError, match=r"output has shape \(4, 1\) but the targets have shape \(4,\)"):
        mean_squared_error(torch.zeros(4, 1), torch.ones(4))


def test_the_training_objective_refuses_mismatched_shapes():
    model = kanlab.KAN([2, 1])
    with pytest.raises(ValueError, match=r"must be equal"):
        kanlab.train.objective(model, torch.rand(4, 2), torch.rand(4))


def test_the_sparsity_objective_refuses_mismatched_shapes():
    loss = kanlab.regularization.sparse_objective(1e-3)
    with pytest.raises(ValueError, match=r"must be equal"):
        loss(kanlab.KAN([2, 1]), torch.rand(4, 2), torch.rand(4))


@pytest.mark.parametrize("device", DEVICES)
def test_checked_data_lands_on_the_models_device_and_dtype(device):
    data = product_data(dtype=torch.float64)
    model = kanlab.KAN([2, 1], device=device, dtype=torch.float32)
    checked = check_dataset(replaced(data, y_train=data.y_train[:, 0]), model)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        tensor = getattr(checked, name)
        assert tensor.device.type == device and tensor.dtype == torch.float32, name
    assert checked.y_train.shape == (200, 1)
