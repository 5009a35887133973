"""The same code on an accelerator: every result on the device is the CPU's, to rounding.

Each test runs once per accelerator found (CUDA here) and is skipped without one. The CPU side is
the reference that the rest of the suite checks against plain formulas; here the device must
agree with it in float64, where both compute the same operations in the same order up to the
last few bits.
"""

import pytest
import torch

import kanlab
from kanlab import kan, splines
from kanlab.data import function_dataset
from kanlab.kan import KAN, KANLayer

ACCELERATORS = pytest.mark.parametrize(
    "device",
    [pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))],
)
CLOSE = dict(rtol=1e-10, atol=1e-12)


def samples(n, in_features, seed=0, low=-1.0, high=1.0):
    generator = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(n, in_features, generator=generator, dtype=torch.float64)


def assert_close_to_cpu(on_device, on_cpu, **tolerance):
    assert on_device.device.type != "cpu"
    torch.testing.assert_close(on_device.cpu(), on_cpu, **(tolerance or CLOSE))


def step_gradients(module, x):
    """The output of module(x) and the gradients of sum(y^2) with respect to x and every parameter
    that gets one (copies: moving the module to another device moves its gradients along)."""
    x = x.clone().requires_grad_()
    module.zero_grad(set_to_none=True)
    y = module(x)
    y.square().sum().backward()
    return y.detach(), [x.grad] + [p.grad.clone() for p in module.parameters() if p.grad is not None]


@ACCELERATORS
@pytest.mark.parametrize("order", [0, 1, 3])
@pytest.mark.parametrize("adaptive", [False, True], ids=["uniform-grid", "adaptive-grid"])
def test_basis_on_the_device_matches_the_cpu(device, order, adaptive):
    grid = splines.uniform_grid(6, order, (-1, 1), 3, dtype=torch.float64)
    if adaptive:
        interior = torch.sort(samples(7, 3, seed=1), dim=0).values.t()
        grid = splines.extend_grid(interior, order)
    x = samples(200, 3, seed=2, low=-1.3, high=1.3)  # some samples outside the grid
    assert_close_to_cpu(splines.basis(x.to(device), grid.to(device), order), splines.basis(x, grid, order))


@ACCELERATORS
@pytest.mark.parametrize("out_features", [4, 20], ids=["few-outputs", "many-outputs"])
@pytest.mark.parametrize("adaptive", [False, True], ids=["uniform-grid", "adaptive-grid"])
def test_layer_on_the_device_gives_the_cpu_outputs_and_gradients(device, out_features, adaptive):
    layer = KANLayer(3, out_features, grid_size=6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    if adaptive:
        layer.update_grid(samples(200, 3, seed=2) ** 3, grid_eps=0.02)
    x = samples(64, 3, seed=3, low=-1.2, high=1.2)
    y_cpu, grads_cpu = step_gradients(layer, x)
    y_device, grads_device = step_gradients(layer.to(device), x.to(device))
    assert_close_to_cpu(y_device, y_cpu)
    for on_device, on_cpu in zip(grads_device, grads_cpu):
        assert_close_to_cpu(on_device, on_cpu)


@ACCELERATORS
@pytest.mark.parametrize("adaptive", [False, True], ids=["uniform-grid", "adaptive-grid"])
def test_a_layer_on_the_device_takes_its_features_and_their_gradient_from_compiled_kernels(device, adaptive,
                                                                                          monkeypatch):
    """In eager mode off the CPU, F and dL/dx come from the kernels that torch.compile generates
    (`kan._fused`, which returns None where it falls back to PyTorch operations), with the CPU's numbers."""
    taken, fused = [], kan._fused

    def spy(function, *args):
        result = fused(function, *args)
        taken.append((function.__name__, result is not None))
        return result

    monkeypatch.setattr(kan, "_fused", spy)
    layer = KANLayer(3, 20, grid_size=6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    if adaptive:
        layer.update_grid(samples(200, 3, seed=2) ** 3, grid_eps=0.02)
    x = samples(64, 3, seed=3, low=-1.3, high=1.3)  # some inputs beyond the grid
    y_cpu, grads_cpu = step_gradients(layer, x)
    assert taken == []  # the CPU keeps its own paths
    y_device, grads_device = step_gradients(layer.to(device), x.to(device))
    assert taken == [("_fused_features", True), ("_fused_features_grad", True)]
    assert_close_to_cpu(y_device, y_cpu)
    for on_device, on_cpu in zip(grads_device, grads_cpu, strict=True):
        assert_close_to_cpu(on_device, on_cpu)


@ACCELERATORS
def test_network_gradients_pass_gradcheck_on_the_device(device):
    model = KAN([2, 3, 2], grid_size=4, seed=0, dtype=torch.float64, device=device)
    x = samples(5, 2).to(device).requires_grad_()
    assert torch.autograd.gradcheck(model, (x,))


@ACCELERATORS
def test_torch_compile_on_the_device_gives_the_eager_outputs_and_gradients(device):
    model = KAN([3, 20, 2], grid_size=5, seed=0, dtype=torch.float64, device=device)
    x = samples(50, 3, seed=2).to(device)
    y_eager, grads_eager = step_gradients(model, x)
    y_compiled, grads_compiled = step_gradients(torch.compile(model), x)  # inductor: generated GPU kernels
    torch.testing.assert_close(y_compiled, y_eager)
    for compiled, eager in zip(grads_compiled, grads_eager):
        torch.testing.assert_close(compiled, eager)


@ACCELERATORS
def test_torch_compile_keeps_a_network_on_the_device_in_one_graph(device):
    torch._dynamo.reset()
    model = KAN([3, 4, 2], grid_size=5, seed=0, device=device)
    explanation = torch._dynamo.explain(model)(torch.rand(16, 3, device=device))
    assert (explanation.graph_count, explanation.graph_break_count) == (1, 0), explanation.break_reasons


@ACCELERATORS
def test_a_masked_edge_stays_dead_on_the_device(device):
    layer = KANLayer(2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64, device=device)
    layer.edge_mask[1, 0] = 0
    layer(samples(30, 2).to(device)).sum().backward()
    assert layer.spline_weight.grad[1, 0].abs().max() == 0
    assert layer.base_weight.grad[1, 0] == 0 and layer.spline_scale.grad[1, 0] == 0


@ACCELERATORS
def test_update_grid_and_refine_on_the_device_match_the_cpu(device):
    model = KAN([2, 4, 1], grid_size=5, seed=0, dtype=torch.float64)
    on_device = KAN([2, 4, 1], grid_size=5, seed=0, dtype=torch.float64, device=device)
    x = samples(300, 2, seed=1, low=-0.9, high=0.8) ** 3
    model.update_grid(x, grid_eps=0.02)
    on_device.update_grid(x.to(device), grid_eps=0.02)
    for layer, layer_on_device in zip(model.layers, on_device.layers):
        assert_close_to_cpu(layer_on_device.grid, layer.grid)
        assert_close_to_cpu(layer_on_device.spline_weight, layer.spline_weight, rtol=1e-8, atol=1e-12)
    finer, finer_on_device = model.refine(10), on_device.refine(10)
    assert next(finer_on_device.parameters()).device.type == device
    assert_close_to_cpu(finer_on_device(x.to(device)), finer(x), rtol=1e-8, atol=1e-12)


@ACCELERATORS
@pytest.mark.parametrize(
    "optimizer, rtol",
    # LBFGS's line search turns last-bit differences into different trial steps, so its runs
    # drift apart by a few per cent over ten steps; Adam's stay equal to rounding
    [("adam", 1e-6), ("lbfgs", 0.1)],
)
def test_fit_on_the_device_follows_the_cpu_run(device, optimizer, rtol):
    data = function_dataset(lambda x: torch.sin(3 * x[:, :1]) * x[:, 1:], n_var=2, n_train=200, n_test=100, seed=0)
    histories = []
    for where in ("cpu", device):
        model = KAN([2, 3, 1], grid_size=5, seed=0, dtype=torch.float64, device=where)
        # the data stay on the CPU: fit moves them to the model
        histories.append(kanlab.fit(model, data, steps=10, optimizer=optimizer, progress=False))
        assert next(model.parameters()).device.type == where
    on_cpu, on_device = histories
    assert on_cpu.train_rmse[-1] < 0.9 * on_cpu.train_rmse[0]  # it trains
    assert on_device.train_rmse[0] == pytest.approx(on_cpu.train_rmse[0], rel=1e-9)
    torch.testing.assert_close(torch.tensor(on_device.train_rmse), torch.tensor(on_cpu.train_rmse), rtol=rtol, atol=0)
    torch.testing.assert_close(torch.tensor(on_device.test_rmse), torch.tensor(on_cpu.test_rmse), rtol=rtol, atol=0)


@ACCELERATORS
def test_a_model_saved_on_the_device_loads_there_or_on_the_cpu(device, tmp_path):
    model = KAN([2, 3, 1], grid_size=5, seed=0, dtype=torch.float64, device=device)
    path = tmp_path / "model.pt"
    kanlab.save(model, path)
    x = samples(20, 2)
    assert next(kanlab.load(path).parameters()).device.type == device
    on_cpu = kanlab.load(path, map_location="cpu")
    assert next(on_cpu.parameters()).device.type == "cpu"
    torch.testing.assert_close(on_cpu(x), model(x.to(device)).cpu(), **CLOSE)


@ACCELERATORS
def test_non_finite_input_on_the_device_is_rejected_with_a_clear_error(device):
    model = KAN([2, 3, 1], seed=0, device=device)
    with pytest.raises(ValueError, match="finite"):
        model(torch.tensor([[0.1, float("nan")]], device=device))


@ACCELERATORS
def test_a_training_step_on_the_device_never_waits_for_the_host(device):
    """Forward, backward and an Adam step as `kanlab.fit` takes them between its checks (inside
    `inputs_checked_upstream`): CUDA's sync debug mode raises at the first synchronisation."""
    model = KAN([2, 5, 1], seed=0, device=device)
    x = torch.rand(256, 2, device=device) * 2.4 - 1.2  # some inputs beyond the grid
    y = torch.rand(256, 1, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        torch.mean((model(x) - y) ** 2).backward()
        optimizer.step()

    with kan.inputs_checked_upstream():
        step()  # the first step's one-off work (the library handles, the optimiser's state)
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            step()
        finally:
            torch.cuda.set_sync_debug_mode(0)
