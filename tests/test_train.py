"""kanlab.fit and kanlab.data.function_dataset: histories, optimisers, batches, grid updates,
determinism, errors."""

import sys
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import kanlab
from kanlab.data import function_dataset

# small tensors train fastest on one thread (two were several times slower on a busy 2-core machine)
pytestmark = pytest.mark.usefixtures("one_thread")


def product(x):
    return x[:, 0] * x[:, 1]


def small_problem(dtype=torch.float64):
    return function_dataset(product, n_var=2, ranges=(-1, 1), n_train=200, n_test=100, seed=0, dtype=dtype)


def test_function_dataset_samples_the_function_on_the_box():
    data = function_dataset(product, n_var=2, ranges=[(-1, 1), (2, 3)], n_train=300, n_test=50, seed=1)
    assert data.x_train.shape == (300, 2) and data.y_train.shape == (300, 1)
    assert data.x_test.shape == (50, 2) and data.y_test.shape == (50, 1)
    for x in (data.x_train, data.x_test):
        assert x[:, 0].min() >= -1 and x[:, 0].max() <= 1
        assert x[:, 1].min() >= 2 and x[:, 1].max() <= 3
    torch.testing.assert_close(data.y_train[:, 0], data.x_train[:, 0] * data.x_train[:, 1])


def test_function_dataset_is_reproducible_and_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    first = function_dataset(product, 2, seed=3)
    second = function_dataset(product, 2, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.x_test, second.x_test)
    assert not torch.equal(first.x_train, function_dataset(product, 2, seed=4).x_train)


def test_function_dataset_keeps_several_outputs():
    data = function_dataset(lambda x: torch.stack([x[:, 0], -x[:, 0]], dim=1), n_var=1, n_train=10, n_test=5)
    assert data.y_train.shape == (10, 2)


def test_function_dataset_refuses_nan_targets_naming_the_first_bad_sample():
    # log(x) is NaN where x < 0: the first sample with x_0 < 0 must be named, with its input
    x = function_dataset(lambda x: x[:, 0], n_var=2, n_train=50, n_test=50, seed=0).x_train
    first = int((x[:, 0] < 0).nonzero()[0])
    with pytest.raises(ValueError, match=r"f must be finite") as error:
        function_dataset(lambda x: torch.log(x[:, 0]), n_var=2, n_train=50, n_test=50, seed=0)
    message = str(error.value)
    assert f"x_train[{first}]" in message
    assert str(x[first].tolist()) in message
    assert "nan" in message


def test_function_dataset_refuses_an_infinite_target_in_the_test_set():
    # 1 / (x - c) is inf exactly at the test set's first sample c
    probe = function_dataset(lambda x: x[:, 0], n_var=1, n_train=20, n_test=20, seed=2, dtype=torch.float64)
    pole = probe.x_test[0, 0]
    with pytest.raises(ValueError, match=r"x_test\[0\].*inf"):
        function_dataset(lambda x: 1 / (x[:, 0] - pole), n_var=1, n_train=20, n_test=20, seed=2, dtype=torch.float64)


def test_function_dataset_refuses_targets_that_overflow_the_dtype():
    def f(x):
        return torch.exp(100 * x[:, 0].double())  # up to e^100: finite in float64, inf in float32

    assert torch.isfinite(function_dataset(f, n_var=1, ranges=(0, 1), seed=0, dtype=torch.float64).y_train).all()
    with pytest.raises(ValueError, match="NaN or inf"):
        function_dataset(f, n_var=1, ranges=(0, 1), seed=0, dtype=torch.float32)


@pytest.mark.parametrize(
    "f, message",
    [
        (lambda x: x[:5, 0], "shape"),
        (lambda x: x.reshape(-1, 1, 2), "shape"),
        (lambda x: 1.0, "shape"),
    ],
)
def test_function_dataset_rejects_a_function_of_the_wrong_shape(f, message):
    with pytest.raises(ValueError, match=message):
        function_dataset(f, n_var=2, n_train=10, n_test=10)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(n_var=0), "n_var"),
        (dict(ranges=(1, -1)), "ranges"),
        (dict(ranges=[(0, 1)] * 3), "ranges"),
        (dict(n_train=0), "n_train"),
        (dict(dtype=torch.int64), "dtype"),
    ],
)
def test_function_dataset_rejects_bad_arguments(arguments, message):
    with pytest.raises((ValueError, TypeError), match=message):
        function_dataset(product, **{"n_var": 2, **arguments})


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam", "lm"])
def test_fit_lowers_the_error_and_records_one_entry_per_step(optimizer):
    data = small_problem()
    model = kanlab.KAN([2, 3, 1], grid_size=5, seed=0, dtype=torch.float64)
    start = torch.sqrt(torch.mean((model(data.x_test) - data.y_test) ** 2)).item()
    lr = {"lbfgs": 1.0, "adam": 0.05, "lm": None}[optimizer]
    history = kanlab.fit(model, data, steps=15, optimizer=optimizer, lr=lr, progress=False)
    assert len(history.train_rmse) == len(history.test_rmse) == 15
    # 90 parameters on 200 samples: Levenberg-Marquardt drives the training error far lower than
    # the test error (0.0016 against 0.22 for "lm"), so the test error is only asked to fall
    assert history.train_rmse[-1] < 0.5 * history.train_rmse[0]
    assert history.test_rmse[-1] < start


def test_fit_records_the_rmse_of_the_model_it_returns():
    data = small_problem()
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    history = kanlab.fit(model, data, steps=3, progress=False)
    final = torch.sqrt(torch.mean((model(data.x_test) - data.y_test) ** 2)).item()
    assert history.test_rmse[-1] == pytest.approx(final, rel=1e-12)


def test_fit_with_mini_batches_is_reproducible():
    data = small_problem()
    histories = []
    for _ in range(2):
        model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
        histories.append(kanlab.fit(model, data, steps=5, optimizer="adam", batch_size=32, seed=9, progress=False))
    assert histories[0].train_rmse == histories[1].train_rmse


def test_fit_updates_the_grid_at_the_requested_steps():
    data = small_problem()
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    history = kanlab.fit(model, data, steps=12, optimizer="adam", update_grid_every=4, update_grid_until=9, progress=False)
    assert history.grid_updates == [0, 4, 8]
    lo, hi = model.layers[0].grid_range
    assert torch.all(lo >= data.x_train.min(0).values) and torch.all(hi <= data.x_train.max(0).values)


def test_fit_updates_a_kans_grids_every_5_steps_from_step_5_to_45_by_default():
    data = small_problem()
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    history = kanlab.fit(model, data, steps=46, optimizer="adam", progress=False)
    assert history.grid_updates == [5, 10, 15, 20, 25, 30, 35, 40, 45]
    # the last update (before step 45) moved the hidden layer's grid from (-4, 4) onto its inputs,
    # which one Adam step of lr 0.01 has barely moved since
    lo, hi = model.layers[1].grid_range
    hidden = model.layers[0](data.x_train).detach()
    assert torch.allclose(lo, hidden.min(0).values, atol=0.05) and torch.allclose(hi, hidden.max(0).values, atol=0.05)


def test_fit_can_leave_the_grids_alone():
    data = small_problem()
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    grids = [layer.grid.clone() for layer in model.layers]
    history = kanlab.fit(model, data, steps=12, optimizer="adam", update_grid=False, progress=False)
    assert history.grid_updates == []
    assert all(torch.equal(before, layer.grid) for before, layer in zip(grids, model.layers))


def test_fit_starts_grid_updates_where_asked():
    data = small_problem()
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    history = kanlab.fit(model, data, steps=12, optimizer="adam", update_grid_every=3, update_grid_from=2, progress=False)
    assert history.grid_updates == [3, 6, 9]


def test_fit_trains_a_model_without_a_grid_with_the_default_grid_updates_left_out():
    data = small_problem()
    history = kanlab.fit(nn.Linear(2, 1).double(), data, steps=3, progress=False)
    assert history.grid_updates == [] and len(history.train_rmse) == 3


def test_fit_updates_the_grid_on_the_given_samples():
    data = small_problem()
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    corners = torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=torch.float64)
    samples = torch.cat([data.x_train, corners])
    kanlab.fit(model, data, steps=2, optimizer="adam", update_grid_every=1, grid_eps=1.0, grid_samples=samples, progress=False)
    lo, hi = model.layers[0].grid_range
    assert torch.all(lo == -1) and torch.all(hi == 1)
    assert torch.all(data.x_train.min(0).values > -1) and torch.all(data.x_train.max(0).values < 1)


def test_fit_adds_the_penalty_to_the_loss():
    data = small_problem()
    calls = []

    def weight_decay(model, x):
        calls.append(x.shape)
        return 10.0 * sum((p**2).sum() for p in model.parameters())

    def size(model):
        return sum(p.abs().sum() for p in model.parameters()).item()

    plain, penalised = (kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64) for _ in range(2))
    kanlab.fit(plain, data, steps=10, optimizer="adam", lr=0.05, progress=False)
    kanlab.fit(penalised, data, steps=10, optimizer="adam", lr=0.05, penalty=weight_decay, progress=False)
    assert calls[0] == (200, 2)
    assert size(penalised) < 0.7 * size(plain)


def test_levenberg_marquardt_steps_never_raise_the_training_error():
    data = small_problem()
    model = kanlab.KAN([2, 3, 1], grid_size=5, seed=1, dtype=torch.float64)
    history = kanlab.fit(model, data, steps=10, optimizer="lm", progress=False)
    assert all(later <= earlier for earlier, later in zip(history.train_rmse, history.train_rmse[1:]))


def test_levenberg_marquardt_solves_a_linear_least_squares_problem_exactly():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(50, 3, generator=generator, dtype=torch.float64)
    y = x @ torch.tensor([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]], dtype=torch.float64) + 0.1 * torch.randn(
        50, 2, generator=generator, dtype=torch.float64
    )
    data = SimpleNamespace(x_train=x, y_train=y, x_test=x, y_test=y)
    model = nn.Linear(3, 2).double()
    kanlab.fit(model, data, steps=5, optimizer="lm", progress=False)
    design = torch.cat([x, torch.ones(50, 1, dtype=torch.float64)], dim=1)
    solution = torch.linalg.lstsq(design, y).solution  # (4, 2): weights, then bias
    assert torch.allclose(model.weight.detach(), solution[:3].t(), atol=1e-10)
    assert torch.allclose(model.bias.detach(), solution[3], atol=1e-10)


def test_levenberg_marquardt_jacobian_matches_autograd_functional_jacobian():
    model = kanlab.KAN([2, 3, 2], grid_size=4, seed=0, dtype=torch.float64)
    x = torch.rand(40, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1
    parameters = dict(model.layers.named_parameters())

    def through_layers(*values):
        out = x
        state = dict(zip(parameters, values))
        for index, layer in enumerate(model.layers):
            prefix = f"{index}."
            layer_state = {name[len(prefix) :]: v for name, v in state.items() if name.startswith(prefix)}
            out = torch.func.functional_call(layer, layer_state, (out,))
        return out.reshape(-1)

    reference = torch.autograd.functional.jacobian(through_layers, tuple(parameters.values()))
    expected = torch.cat([block.reshape(80, -1) for block in reference], dim=1)
    solver = kanlab.train.LevenbergMarquardt(model)
    jacobian = solver.jacobian(x)
    # the solver orders model.parameters(): the layers' parameters first, then the symbolic ones (unused: zero)
    assert torch.allclose(jacobian[:, : expected.shape[1]], expected, atol=1e-12)
    assert torch.all(jacobian[:, expected.shape[1] :] == 0)


def test_fit_trains_any_module_and_follows_its_dtype():
    data = small_problem(dtype=torch.float32)
    mlp = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    history = kanlab.fit(mlp, data, steps=5, progress=False)
    assert history.test_rmse[-1] < history.test_rmse[0] or history.test_rmse[0] < 1e-3


def test_fit_shows_a_progress_bar_only_when_asked(capsys):
    data = small_problem()
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    kanlab.fit(model, data, steps=2, optimizer="adam", progress=False)
    assert capsys.readouterr().err == ""
    kanlab.fit(model, data, steps=2, optimizer="adam", progress=True)
    assert "2/2" in capsys.readouterr().err


def test_fit_stops_with_a_clear_error_when_the_loss_is_not_finite():
    data = small_problem()
    data.y_train[3] = 1e200  # finite, but its square overflows float64
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    with pytest.raises(FloatingPointError, match="step 0"):
        kanlab.fit(model, data, steps=3, progress=False)


def test_adam_checks_the_losses_every_few_steps_and_names_the_first_that_was_not_finite():
    data = small_problem()
    data.y_train[3] = 1e200  # finite, but its square overflows float64
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    with pytest.raises(FloatingPointError, match="at step 0;"):
        kanlab.fit(model, data, steps=3, optimizer="adam", update_grid=False, progress=False)


def test_adam_steps_read_nothing_on_the_host_between_checks(monkeypatch):
    """Reads of a tensor's value (.item(), bool, float, int, .tolist()) made by kanlab's own code
    during fit grow with the checks (every kanlab.train.CHECK_EVERY steps), not with the steps."""
    reads = []

    def counted(name):
        original = getattr(torch.Tensor, name)

        def read(tensor, *args):
            if sys._getframe(1).f_globals.get("__name__", "").startswith("kanlab"):
                reads.append(name)
            return original(tensor, *args)

        return read

    for name in ("item", "__bool__", "__float__", "__int__", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, counted(name))
    data = small_problem()
    counts = []
    for steps in (kanlab.train.CHECK_EVERY, 3 * kanlab.train.CHECK_EVERY):
        reads.clear()
        model = kanlab.KAN([2, 3, 1], grid_size=3, seed=0, dtype=torch.float64)
        history = kanlab.fit(model, data, steps=steps, optimizer="adam", update_grid=False, progress=False)
        assert len(history.train_rmse) == len(history.test_rmse) == steps
        assert all(isinstance(value, float) for value in history.train_rmse + history.test_rmse)
        counts.append(len(reads))
    assert counts[1] - counts[0] <= 2 * 2  # two more checks, two reads each


def test_adam_is_the_fused_adam_on_the_cpu():
    model = kanlab.KAN([2, 3, 1], grid_size=3, seed=0)
    optimizer = kanlab.train.adam(model.parameters(), lr=0.01)
    assert isinstance(optimizer, kanlab.train.FusedAdam) and isinstance(optimizer, torch.optim.Adam)
    assert optimizer.defaults["fused"] is True and optimizer.defaults["lr"] == 0.01
    assert sum(len(group["params"]) for group in optimizer.param_groups) == len(list(model.parameters()))


def test_adam_takes_the_default_implementation_where_the_fused_kernel_refuses_the_parameters():
    parameters = [nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(2, dtype=torch.complex64))]
    optimizer = kanlab.train.adam(iter(parameters), lr=0.01)  # (a generator is read only once)
    assert type(optimizer) is torch.optim.Adam and not optimizer.defaults["fused"]
    assert optimizer.defaults["lr"] == 0.01
    assert [p for group in optimizer.param_groups for p in group["params"]] == parameters
    sum((p.abs() ** 2).sum() for p in parameters).backward()
    optimizer.step()  # PyTorch's default Adam steps complex parameters too
    assert torch.all(parameters[1].real < 1)


def test_fit_with_adam_takes_the_same_steps_as_the_default_adam_to_rounding():
    data = small_problem()
    models = [kanlab.KAN([2, 3, 1], grid_size=3, seed=0, dtype=torch.float64) for _ in range(2)]
    kanlab.fit(models[0], data, steps=20, optimizer="adam", update_grid=False, progress=False)
    optimizer = torch.optim.Adam(models[1].parameters(), lr=1e-2)
    for _ in range(20):
        optimizer.zero_grad()
        torch.mean((models[1](data.x_train) - data.y_train) ** 2).backward()
        optimizer.step()
    start = kanlab.KAN([2, 3, 1], grid_size=3, seed=0, dtype=torch.float64)
    assert not torch.equal(models[0].layers[0].spline_weight, start.layers[0].spline_weight)  # it trained
    for fused, default in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(fused, default, rtol=1e-12, atol=1e-12)


def test_the_history_holds_the_errors_of_the_model_after_each_step():
    data = small_problem()
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    history = kanlab.fit(model, data, steps=kanlab.train.CHECK_EVERY + 3, optimizer="adam", progress=False)
    assert history.train_rmse[-1] == kanlab.loss.root_mean_squared_error(model, data.x_train, data.y_train)
    assert history.test_rmse[-1] == kanlab.loss.root_mean_squared_error(model, data.x_test, data.y_test)


def test_levenberg_marquardt_stops_with_a_clear_error_when_the_error_is_not_finite():
    data = small_problem()
    data.y_train[3] = 1e200  # finite, but its square overflows float64
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    with pytest.raises(FloatingPointError, match="squared error"):
        kanlab.fit(model, data, steps=3, optimizer="lm", progress=False)


def test_fit_writes_no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0, dtype=torch.float64)
    kanlab.fit(model, small_problem(), steps=2, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        (dict(optimizer="sgd"), ValueError, "optimizer"),
        (dict(optimizer="lm", lamb=0.01), ValueError, "lm"),
        (dict(optimizer="lm", penalty=lambda model, x: 0.0), ValueError, "lm"),
        (dict(steps=-1), ValueError, "steps"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(update_grid_every=0), ValueError, "update_grid_every"),
        (dict(update_grid_from=-1), ValueError, "update_grid_from"),
        (dict(update_grid_every=1, grid_samples=[[0.0, 0.0]]), TypeError, "grid_samples"),
    ],
)
def test_fit_rejects_bad_arguments(arguments, error, message):
    model = kanlab.KAN([2, 2, 1], grid_size=3, seed=0)
    with pytest.raises(error, match=message):
        kanlab.fit(model, small_problem(), progress=False, **arguments)


def test_fit_refuses_grid_updates_for_a_model_without_a_grid():
    with pytest.raises(TypeError, match="update_grid"):
        kanlab.fit(nn.Linear(2, 1), small_problem(), update_grid_every=5, progress=False)


def minimise_tiny_quadratic(optimizer_class, steps=3):
    """L(x) = 1e-12 / 2 sum_i i x_i^2 for i = 1..50 from x = 1: curvature pairs have y^T s ~ 1e-12."""
    x = nn.Parameter(torch.ones(50, dtype=torch.float64))
    curvatures = 1e-12 * torch.arange(1, 51, dtype=torch.float64)
    optimizer = optimizer_class([x])

    def closure():
        optimizer.zero_grad()
        loss = 0.5 * (curvatures * x**2).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    return x.detach().abs().max().item()


def test_fits_lbfgs_keeps_learning_curvature_where_the_loss_is_tiny():
    def torchs(params):
        return torch.optim.LBFGS(params, line_search_fn="strong_wolfe", tolerance_grad=1e-32, tolerance_change=1e-32)

    # torch.optim.LBFGS drops pairs with y^T s <= 1e-10 and crawls; kanlab's keeps them and converges
    assert minimise_tiny_quadratic(kanlab.train.LBFGS) < 1e-6
    assert minimise_tiny_quadratic(torchs) > 1e-3


def test_fits_lbfgs_forgets_its_curvature_memory_when_the_line_search_finds_no_lower_loss():
    x = nn.Parameter(torch.tensor([1e-6, -2e-6], dtype=torch.float64))
    optimizer = kanlab.train.LBFGS([x])
    evaluations = []

    def closure():  # a quadratic bowl for four evaluations, then a loss that never falls below 1
        optimizer.zero_grad()
        evaluations.append(None)
        loss = 0.5 * (x[0] ** 2 + 10 * x[1] ** 2)
        if len(evaluations) > 4:
            loss = loss + (1.0 - loss.detach())
        loss.backward()
        return loss

    optimizer.step(closure)
    assert optimizer.state[x]["pairs"] == []  # the pairs learnt in the bowl were dropped


def test_fits_lbfgs_steps_again_after_a_step_whose_gradient_was_too_small_to_move():
    # grad . (-grad) = -4e-40 is above -tolerance_change = -1e-32: the first iteration takes no direction
    x = nn.Parameter(torch.tensor([2e-20], dtype=torch.float64))
    optimizer = kanlab.train.LBFGS([x])

    def closure():
        optimizer.zero_grad()
        loss = (x**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert optimizer.state[x]["n_iter"] == 0  # nothing was learnt: the next step starts from steepest descent
    with torch.no_grad():
        x.fill_(1.0)  # far from the minimum again
    optimizer.step(closure)  # raised KeyError: 'direction' before
    assert float(x.detach().abs()) < 1e-6
