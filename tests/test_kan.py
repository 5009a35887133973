"""KANLayer and KAN: the layer against a plain loop over edges, gradients, memory, masks, seeds,
grid updates, grid extension, save/load and bad input."""

import re
import warnings

import pytest
import torch
from torch import nn

import kanlab
from kanlab import kan, kernels, splines
from kanlab.kan import KAN, KANLayer

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


def edge_by_edge(layer, x):
    """y_j = sum_i m_ji (w^b_ji silu(x_i) + w^s_ji sum_b c_jib B_b(x_i)), one edge at a time."""
    basis = splines.basis(x, layer.grid, layer.spline_order, uniform=False)  # the general path
    y = torch.zeros(x.shape[0], layer.out_features, dtype=x.dtype)
    for j in range(layer.out_features):
        for i in range(layer.in_features):
            spline = basis[:, i, :] @ layer.spline_weight[j, i]
            phi = layer.base_weight[j, i] * torch.nn.functional.silu(x[:, i]) + layer.spline_scale[j, i] * spline
            y[:, j] += layer.edge_mask[j, i] * phi
    return y


def samples(n, in_features, seed=0, low=-1.0, high=1.0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(n, in_features, generator=generator, dtype=dtype)


# few outputs: on the CPU the product is taken transposed, as (W^T F^T)^T; many: as F @ W, or with
# the C kernels from the non-zero features alone (`kanlab.kernels.sparse_product`)
OUT_FEATURES = pytest.mark.parametrize("out_features", [4, 20], ids=["few-outputs", "many-outputs"])


@OUT_FEATURES
def test_layer_matches_a_loop_over_edges(out_features, feature_path):
    layer = KANLayer(3, out_features, grid_size=6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = samples(50, 3)
    torch.testing.assert_close(layer(x), edge_by_edge(layer, x), rtol=0, atol=1e-12)


def test_layer_on_an_adaptive_grid_matches_a_loop_over_edges(feature_path):
    layer = KANLayer(3, 4, grid_size=6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    layer.update_grid(samples(200, 3, seed=2) ** 3, grid_eps=0.02)
    assert not layer.uniform
    x = samples(50, 3, seed=3)
    torch.testing.assert_close(layer(x), edge_by_edge(layer, x), rtol=0, atol=1e-12)


@OUT_FEATURES
def test_layer_output_is_contiguous_like_nn_linear(out_features):
    assert KANLayer(3, out_features)(torch.rand(10, 3)).is_contiguous()


def test_edge_weights_carry_gradients_to_every_parameter():
    layer = KANLayer(3, 4)
    layer.edge_weights().square().sum().backward()
    assert all(parameter.grad is not None and parameter.grad.abs().sum() > 0 for parameter in layer.parameters())


def test_edge_activations_sum_to_the_layer_output():
    layer = KANLayer(3, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = samples(20, 3)
    activations = layer.edge_activations(x)
    assert activations.shape == (20, 4, 3)
    torch.testing.assert_close(activations.sum(-1), layer(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", [(3,), (7, 3), (2, 5, 3)])
def test_layer_accepts_any_leading_dimensions(shape):
    layer = KANLayer(3, 4)
    x = torch.rand(shape)
    assert layer(x).shape == shape[:-1] + (4,)
    torch.testing.assert_close(layer(x).reshape(-1, 4), layer(x.reshape(-1, 3)))


# (16 outputs: whole vectors of W's rows for the C kernels; 20: a tail)
@pytest.mark.parametrize("out_features", [4, 16, 20])
def test_layer_maps_an_empty_batch_to_an_empty_batch_like_nn_linear(out_features, feature_path):
    layer = KANLayer(3, out_features)
    x = torch.empty(0, 3, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    assert y.shape == (0, out_features) and x.grad.shape == (0, 3)
    assert layer.spline_weight.grad.abs().max() == 0 and layer.base_weight.grad.abs().max() == 0


@OUT_FEATURES
@pytest.mark.parametrize("uniform_grid", [True, False])
def test_layer_gradients_pass_gradcheck(uniform_grid, out_features, feature_path):
    layer = KANLayer(3, out_features, grid_size=4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    if not uniform_grid:
        layer.update_grid(samples(100, 3, seed=5, low=-1.5) ** 3, grid_eps=0.02)
    x = samples(6, 3, seed=6, low=-1.2, high=1.2).requires_grad_()
    parameters = {name: p.detach().clone().requires_grad_() for name, p in layer.named_parameters()}

    def run(x, base_weight, spline_weight, spline_scale):
        weights = {"base_weight": base_weight, "spline_weight": spline_weight, "spline_scale": spline_scale}
        return torch.func.functional_call(layer, weights, (x,))

    assert torch.autograd.gradcheck(run, (x, *(parameters[n] for n in ("base_weight", "spline_weight", "spline_scale"))))


def test_network_input_gradient_passes_gradcheck(feature_path):
    model = KAN([2, 3, 2], grid_size=4, seed=0, dtype=torch.float64)
    x = samples(5, 2).requires_grad_()
    assert torch.autograd.gradcheck(model, (x,))


def assert_compiled_gives_the_eager_outputs_and_gradients(model, x, fullgraph=False):
    """model(x) and the gradients of sum(y^2) (for x and every parameter) agree between eager mode
    and torch.compile (aot_eager: dynamo and AOT autograd, no C++ compiler needed)."""
    outputs, gradients = [], []
    for run in (model, torch.compile(model, fullgraph=fullgraph, backend="aot_eager")):
        model.zero_grad(set_to_none=True)
        x_run = x.clone().requires_grad_()
        y = run(x_run)
        y.square().sum().backward()
        outputs.append(y.detach())
        gradients.append([x_run.grad] + [p.grad.clone() for p in model.parameters() if p.grad is not None])
    torch.testing.assert_close(outputs[1], outputs[0])
    assert len(gradients[1]) == len(gradients[0]) > 1  # x's and at least one parameter's
    for compiled_gradient, eager_gradient in zip(gradients[1], gradients[0]):
        torch.testing.assert_close(compiled_gradient, eager_gradient)


def test_torch_compile_gives_the_same_outputs_and_gradients(feature_path):
    model = KAN([3, 20, 2], grid_size=5, seed=0, dtype=torch.float64)  # many outputs, then few
    assert_compiled_gives_the_eager_outputs_and_gradients(model, samples(50, 3, seed=2))


@pytest.mark.parametrize("feature_path", ["fused", "pytorch"], indirect=True)
@pytest.mark.parametrize("adaptive", [False, True], ids=["uniform-grid", "adaptive-grid"])
def test_torch_compile_traces_the_features_off_the_cpu_into_one_graph(adaptive, feature_path, monkeypatch):
    """On a GPU the compiler traces the features' operations (the fused functions, or PyTorch's
    where they cannot compile); here the CPU stands in for it."""
    monkeypatch.setattr(kan, "_OPERATOR_DEVICES", ())
    model = KAN([3, 20, 2], grid_size=5, seed=0, dtype=torch.float64)
    x = samples(50, 3, seed=2, low=-1.3, high=1.3)  # some inputs beyond the grid
    if adaptive:
        model.update_grid(x**3, grid_eps=0.02)
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(x)
    assert (explanation.graph_count, explanation.graph_break_count) == (1, 0), explanation.break_reasons
    assert_compiled_gives_the_eager_outputs_and_gradients(model, x)


@pytest.mark.parametrize("make", [lambda: KANLayer(3, 4, dtype=torch.float64),
                                  lambda: KAN([3, 20, 2], seed=0, dtype=torch.float64)], ids=["layer", "network"])
def test_forward_and_backward_compile_into_one_graph_that_reads_nothing_on_the_host(make, feature_path,
                                                                                     monkeypatch):
    """fullgraph=True fails at the first graph break, and any read of a tensor's value on the
    host (.item(), bool(tensor), a branch on data) is one: forward and backward, through AOT
    autograd, compile whole and give eager mode's numbers. Off the C kernels the features are
    traced as on a GPU (the CPU stands in for it), else they are the C kernels' operators."""
    if feature_path != "c-kernels":
        monkeypatch.setattr(kan, "_OPERATOR_DEVICES", ())
    model = make()
    x = samples(40, 3, seed=2, low=-1.3, high=1.3)  # some inputs beyond the grid
    torch._dynamo.reset()
    assert_compiled_gives_the_eager_outputs_and_gradients(model, x, fullgraph=True)


def test_torch_compile_on_the_cpu_still_rejects_non_finite_input(feature_path):
    compiled = torch.compile(KAN([2, 3, 1], seed=0), backend="aot_eager")
    compiled(torch.rand(4, 2))
    with pytest.raises(ValueError, match="finite"):
        compiled(torch.tensor([[0.1, float("nan")]] * 4))


def test_torch_compile_keeps_a_network_in_one_graph():
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(KAN([3, 4, 2], grid_size=5, seed=0))(torch.rand(16, 3))
    assert (explanation.graph_count, explanation.graph_break_count) == (1, 0), explanation.break_reasons


# Off the CPU a layer's features, and their gradient, come from one kernel each that torch.compile
# generates from `kan._fused_features(_grad)`; tests/test_devices.py runs a layer on a GPU.


def grid_of(order, adaptive, dtype):
    """Three inputs' grids, G = 6 on [-1, 1]: uniform, or adaptive (knots at cubed random samples)."""
    if not adaptive:
        return splines.uniform_grid(6, order, (-1, 1), 3, dtype=dtype)
    interior = torch.sort(samples(7, 3, seed=1, dtype=dtype) ** 3, dim=0).values.t()
    return splines.extend_grid(interior, order)


def inputs_for(grid, order, n=200):
    """n samples of three inputs, beyond the grid's extension at times, and the grid's ends exactly."""
    x = samples(n, 3, seed=2, low=-1.7, high=1.7, dtype=grid.dtype).to(grid.device)
    x[:4] = grid[:, [0, order, -1 - order, -1]].t()
    return x


@pytest.mark.parametrize("reference", ["c-kernels", "pytorch"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("order", [0, 1, 2, 3])
@pytest.mark.parametrize("adaptive", [False, True], ids=["uniform-grid", "adaptive-grid"])
def test_fused_features_and_their_gradient_give_the_numbers_of_the_other_paths(adaptive, order, dtype, reference,
                                                                               monkeypatch):
    grid = grid_of(order, adaptive, dtype)
    x = inputs_for(grid, order)
    grad = samples(200 * 3, grid.shape[-1] - order, seed=3, low=-1, dtype=dtype).view(200, 3, -1)  # dL/dF
    if reference == "pytorch":
        monkeypatch.setattr(kernels, "supports", lambda *tensors: False)
    elif not kernels.available(dtype):
        pytest.skip(f"the C kernels are not available here: {kernels.unavailable_reason(dtype)}")
    arguments = (x, grid, order, not adaptive)
    rounding = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(kan._fused_features(*arguments), kan._features(*arguments), **rounding)
    torch.testing.assert_close(kan._fused_features_grad(*arguments, grad), kan._features_grad(*arguments, grad),
                               **rounding)


def kernels_launched(wrapper_code):
    """The kernels that Inductor's wrapper code generates and the library operators it calls beside
    them (matmuls, searchsorted...): what one call of the compiled function launches."""
    generated = re.findall(r"^(\w+) = async_compile\.", wrapper_code, flags=re.M)
    call = wrapper_code[wrapper_code.index("def call("):]
    return generated + re.findall(r"\b(?:extern_kernels|torch\.ops)\.[\w.]+\(", call)


def inductor_unavailable(device):
    """Why Inductor cannot generate kernels for device here (None when it can)."""
    if device == "cuda":
        from torch.utils._triton import has_triton

        return None if has_triton() else "no working Triton"
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        get_cpp_compiler()
    except Exception as error:  # noqa: BLE001 (whatever the reason, these tests cannot run)
        return f"no C++ compiler for Inductor: {error}"
    return None


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")  # Inductor's import
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("function", ["_fused_features", "_fused_features_grad"])
def test_the_fused_features_and_their_gradient_compile_into_one_generated_kernel_each(function, device):
    """On the CPU too (on a GPU the same functions give Triton kernels): one kernel, the eager numbers.
    (Inductor's metrics.generated_kernel_count counts a CPU reduction's vectorised and scalar loops
    as several kernels, so the wrapper code that calls the kernels is read instead.)"""
    if inductor_unavailable(device):
        pytest.skip(inductor_unavailable(device))
    from torch._inductor.utils import run_and_get_code

    grid = grid_of(3, False, torch.float32).to(device)
    x = inputs_for(grid, 3, n=50)
    grad = samples(50 * 3, grid.shape[-1] - 3, seed=3, low=-1, dtype=torch.float32).view(50, 3, -1).to(device)
    arguments = (x, grid, 3, True) + ((grad,) if function.endswith("grad") else ())
    result, codes = run_and_get_code(kan._compiled(getattr(kan, function)), *arguments)
    assert len(codes) == 1  # one graph
    launched = kernels_launched(codes[0])
    assert len(launched) == 1, launched
    torch.testing.assert_close(result, getattr(kan, function)(*arguments))


def test_off_the_cpu_where_torch_compile_fails_the_features_come_from_pytorch_with_one_warning(monkeypatch):
    """The CPU stands in for a device without Triton: the same numbers, and one warning."""
    layer = KANLayer(3, 20, grid_size=6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = samples(50, 3, seed=3, low=-1.2, high=1.2)

    def step():
        x_step = x.clone().requires_grad_()
        layer.zero_grad(set_to_none=True)
        y = layer(x_step)
        y.square().sum().backward()
        return [y.detach(), x_step.grad] + [p.grad.clone() for p in layer.parameters()]

    expected = step()

    def no_triton(function):
        def fail(*args):
            raise RuntimeError("Cannot find a working triton installation.\nMore lines")
        return fail

    monkeypatch.setattr(kernels, "supports", lambda *tensors: False)
    monkeypatch.setattr(kan, "_UNFUSED_DEVICES", ())
    monkeypatch.setattr(kan, "_COMPILE_FAILED", set())
    monkeypatch.setattr(kan, "_compiled", no_triton)
    with pytest.warns(RuntimeWarning, match="cannot generate the KAN features' kernel on cpu .*triton") as caught:
        first = step()
    assert len(caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = step()
    for got in (first, second):
        for value, expected_value in zip(got, expected, strict=True):
            torch.testing.assert_close(value, expected_value, rtol=1e-12, atol=1e-12)


def test_a_batched_backward_off_the_cpu_takes_the_pytorch_features_without_a_warning(monkeypatch):
    """vmap's wrapped tensors (`kanlab.train.LevenbergMarquardt`'s Jacobian) cannot enter a compiled
    function: they take the PyTorch operations, and the device keeps its fused kernels."""
    model = KAN([2, 3, 1], grid_size=4, seed=0, dtype=torch.float64)
    x = samples(5, 2)
    parameters = [p for p in model.parameters() if p.requires_grad]
    out = model(x).reshape(-1)
    expected = torch.autograd.grad(out, parameters, torch.eye(5, dtype=out.dtype), is_grads_batched=True,
                                   allow_unused=True)
    calls = []
    monkeypatch.setattr(kernels, "supports", lambda *tensors: False)
    monkeypatch.setattr(kan, "_UNFUSED_DEVICES", ())
    monkeypatch.setattr(kan, "_COMPILE_FAILED", set())
    monkeypatch.setattr(kan, "_compiled", lambda function: calls.append(function.__name__) or function)
    out = model(x).reshape(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = torch.autograd.grad(out, parameters, torch.eye(5, dtype=out.dtype), is_grads_batched=True,
                                  allow_unused=True)
    assert calls == ["_fused_features", "_fused_features"] and not kan._COMPILE_FAILED  # two layers' forward
    for value, expected_value in zip(got, expected, strict=True):
        torch.testing.assert_close(value, expected_value, rtol=1e-12, atol=1e-12)


def test_layer_never_stores_batch_by_in_by_out_values(feature_path):
    batch, in_features, out_features = 64, 16, 256
    layer = KANLayer(in_features, out_features, grid_size=5)
    x = torch.rand(batch, in_features, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.shape) or t, lambda t: t):
        layer(x).sum().backward()
    per_sample = [shape.numel() for shape in saved if len(shape) and shape[0] == batch]
    # the features F, nothing bigger; the C kernels' sparse product keeps only x
    assert max(per_sample) == batch * in_features * (1 if feature_path == "c-kernels" else 5 + 3 + 1)
    assert sum(per_sample) < batch * in_features * out_features


def test_a_masked_edge_contributes_nothing_and_stays_dead_in_training(feature_path):
    layer = KANLayer(2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    layer.edge_mask[1, 0] = 0
    x = samples(30, 2)
    without_input_0 = x.clone()
    without_input_0[:, 0] = 0.3
    assert torch.equal(layer(x)[:, 1] - layer(without_input_0)[:, 1], torch.zeros(30, dtype=torch.float64))
    layer(x).sum().backward()
    assert layer.spline_weight.grad[1, 0].abs().max() == 0
    assert layer.base_weight.grad[1, 0] == 0 and layer.spline_scale.grad[1, 0] == 0


def test_initial_parameters_follow_pykan():
    layer = KANLayer(16, 8, grid_size=5, noise_scale=0.3, generator=torch.Generator().manual_seed(0))
    bound = 1 / 16**0.5
    assert layer.base_weight.abs().max() <= bound
    assert layer.base_weight.std() > bound / 3  # spread over the interval, not collapsed
    assert torch.all(layer.spline_scale == bound)
    assert layer.spline_weight.abs().max() <= 0.5 * 0.3 / 5
    assert torch.all(layer.edge_mask == 1)


def test_same_seed_gives_the_same_network_and_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    first, second = KAN([3, 4, 2], seed=7), KAN([3, 4, 2], seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    other = KAN([3, 4, 2], seed=8)
    assert not torch.equal(first.layers[0].base_weight, other.layers[0].base_weight)


def test_reset_parameters_draws_new_values():
    layer = KANLayer(3, 3)
    before = layer.base_weight.detach().clone()
    layer.reset_parameters(torch.Generator().manual_seed(123))
    assert not torch.equal(before, layer.base_weight)


def test_layer_follows_nn_linear_conventions():
    layer = KANLayer(3, 4, grid_size=7, spline_order=2)
    assert (layer.in_features, layer.out_features) == (3, 4)
    assert "in_features=3, out_features=4, grid_size=7, spline_order=2" in repr(layer)
    assert "grid" in dict(layer.named_buffers()) and "edge_mask" in dict(layer.named_buffers())
    assert layer.grid.shape == (3, 7 + 2 * 2 + 1)
    assert layer.spline_weight.shape == (4, 3, 9)
    assert {name for name, _ in layer.named_parameters()} == {"base_weight", "spline_weight", "spline_scale"}


def test_network_holds_its_layers_and_their_inputs():
    model = KAN([2, 5, 3, 1], grid_size=4, seed=0)
    assert isinstance(model.layers, nn.ModuleList) and len(model.layers) == 3
    assert [(layer.in_features, layer.out_features) for layer in model.layers] == [(2, 5), (5, 3), (3, 1)]
    x = torch.rand(10, 2)
    inputs = model.layer_inputs(x)
    assert [t.shape for t in inputs] == [(10, 2), (10, 5), (10, 3)]
    assert torch.equal(inputs[0], x)
    torch.testing.assert_close(model.layers[2](inputs[2]), model(x))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_network_runs_on_every_device_and_dtype(device, dtype):
    model = KAN([2, 3, 1], seed=0).to(device=device, dtype=dtype)
    x = torch.rand(8, 2, device=device, dtype=dtype)
    y = model(x)
    y.sum().backward()
    assert y.device.type == device and y.dtype == dtype
    assert model.layers[0].spline_weight.grad.device.type == device
    model.update_grid(x)
    assert model.refine(7)(x).device.type == device


def test_update_grid_places_the_knots_at_the_sample_quantiles():
    layer = KANLayer(1, 1, grid_size=4, dtype=torch.float64)
    x = torch.linspace(0, 1, 401, dtype=torch.float64).unsqueeze(1) ** 2  # dense near 0
    layer.update_grid(x, grid_eps=0.02)
    interior = layer.grid[0, 3:8]
    quantiles = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64) ** 2
    expected = 0.02 * torch.linspace(0, 1, 5, dtype=torch.float64) + 0.98 * quantiles
    torch.testing.assert_close(interior, expected)


def test_update_grid_with_grid_eps_one_gives_a_uniform_grid_on_the_sample_range():
    layer = KANLayer(2, 1, grid_size=5, dtype=torch.float64)
    layer.update_grid(samples(300, 2, low=-3.0, high=0.5), grid_eps=1.0)
    assert layer.uniform
    lo, hi = layer.grid_range
    assert torch.all(lo >= -3.0) and torch.all(hi <= 0.5) and torch.all(hi - lo > 3.4)


def test_update_grid_keeps_the_function_on_the_samples():
    model = KAN([2, 4, 1], grid_size=8, seed=0, dtype=torch.float64)
    with torch.no_grad():  # smooth edges of moderate size instead of the near-zero initial ones
        for layer in model.layers:
            out_index, in_index, basis_index = torch.meshgrid(
                *(torch.arange(n, dtype=torch.float64) for n in layer.spline_weight.shape), indexing="ij"
            )
            layer.spline_weight.copy_(torch.sin(0.4 * basis_index + in_index - out_index))
    x = samples(500, 2, seed=1, low=-0.8, high=0.9)
    before = model(x)
    model.update_grid(x, grid_eps=1.0)
    torch.testing.assert_close(model(x), before, rtol=0, atol=1e-2 * before.abs().max().item())


@pytest.mark.parametrize("samples_of", ["constant", "repeated"])
def test_update_grid_survives_degenerate_samples(samples_of):
    layer = KANLayer(2, 3, dtype=torch.float64)
    x = torch.full((20, 2), 0.3, dtype=torch.float64)
    if samples_of == "repeated":
        x[10:] = -0.2
    before = layer(x)
    layer.update_grid(x, grid_eps=0.02)
    assert torch.isfinite(layer.grid).all() and torch.isfinite(layer.spline_weight).all()
    assert torch.all(layer.grid.diff(dim=1) > 0)
    torch.testing.assert_close(layer(x), before, rtol=0, atol=1e-6)


@pytest.mark.parametrize("adaptive", [False, True])
def test_refine_keeps_the_function_on_the_data_range(adaptive):
    model = KAN([2, 3, 1], grid_size=5, seed=3, dtype=torch.float64)
    x = samples(300, 2, seed=4)
    if adaptive:
        model.update_grid(x, grid_eps=0.02)
    finer = model.refine(10)
    assert finer.grid_size == 10 and model.grid_size == 5
    assert finer.layers[0].spline_weight.shape == (3, 2, 13)
    torch.testing.assert_close(finer(x), model(x), rtol=0, atol=1e-4)


def test_refine_returns_a_new_model_and_leaves_the_old_one_alone():
    model = KAN([2, 2, 1], grid_size=5, seed=0)
    before = {name: t.clone() for name, t in model.state_dict().items()}
    finer = model.refine(20)
    assert finer is not model
    for name, t in model.state_dict().items():
        assert torch.equal(t, before[name])


def test_state_dict_round_trip_restores_the_function():
    model = KAN([2, 4, 1], grid_size=5, seed=0, dtype=torch.float64)
    x = samples(40, 2)
    model.update_grid(x, grid_eps=0.02)
    copy = KAN([2, 4, 1], grid_size=5, seed=1, dtype=torch.float64)
    copy.load_state_dict(model.state_dict())
    assert copy.layers[0].uniform == model.layers[0].uniform
    torch.testing.assert_close(copy(x), model(x), rtol=0, atol=0)


def test_save_and_load_round_trip_a_refined_float64_model(tmp_path):
    model = KAN([2, 3, 1], grid_size=5, seed=0, dtype=torch.float64).refine(9)
    path = tmp_path / "model.pt"
    kanlab.save(model, path)
    loaded = kanlab.load(path)
    x = samples(30, 2)
    assert loaded.grid_size == 9 and next(loaded.parameters()).dtype == torch.float64
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert isinstance(torch.load(path, weights_only=True), dict)  # readable without unpickling code


def test_load_rejects_a_file_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="checkpoint"):
        kanlab.load(path)


def test_save_rejects_a_model_that_is_not_a_kan(tmp_path):
    with pytest.raises(TypeError, match="model"):
        kanlab.save(nn.Linear(2, 1), tmp_path / "x.pt")


@pytest.mark.parametrize(
    "x, error, message",
    [
        (torch.rand(5, 3), ValueError, r"\(\.\.\., 2\)"),
        (torch.ones(5, 2, dtype=torch.int64), TypeError, "floating"),
        (torch.tensor([[0.1, float("nan")]]), ValueError, "finite"),
        (torch.tensor([[float("inf"), 0.1]]), ValueError, "finite"),
        ([[0.1, 0.2]], TypeError, "Tensor"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_error(x, error, message, feature_path):
    model = KAN([2, 3, 1], seed=0)
    with pytest.raises(error, match=message):
        model(x)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(widths=[2]), "widths"),
        (dict(widths=5), "widths"),
        (dict(widths=[2, 0, 1]), "out_features"),
        (dict(widths=[2, 1], grid_size=0), "grid_size"),
        (dict(widths=[2, 1], spline_order=-1), "spline_order"),
        (dict(widths=[2, 1], grid_range=(1, 1)), "grid_range"),
    ],
)
def test_bad_architecture_is_rejected_with_a_clear_error(arguments, message):
    with pytest.raises(ValueError, match=message):
        KAN(**arguments)


def test_update_grid_rejects_bad_grid_eps():
    with pytest.raises(ValueError, match="grid_eps"):
        KANLayer(2, 1).update_grid(torch.rand(10, 2), grid_eps=0.0)


def test_hidden_layers_start_on_the_wider_hidden_grid_range():
    model = KAN([2, 3, 2, 1], grid_size=4, grid_range=(-1, 1), hidden_grid_range=(-4, 4), seed=0)
    ranges = [tuple(float(v) for v in (lo[0], hi[0])) for lo, hi in (layer.grid_range for layer in model.layers)]
    assert ranges == [(-1.0, 1.0), (-4.0, 4.0), (-4.0, 4.0)]
    assert KAN(**model.config()).layers[1].grid_range[1][0] == 4  # the config rebuilds it


def test_a_kans_later_layers_start_with_positive_base_weights_and_its_first_with_both_signs():
    model = KAN([4, 6, 5, 1], seed=0)
    first = model.layers[0].base_weight
    assert first.min() < 0 < first.max()
    for layer in model.layers[1:]:
        bound = 1 / layer.in_features**0.5
        assert layer.base_weight.min() >= 0 and layer.base_weight.max() <= bound


@pytest.mark.parametrize("out_features", [3, 16])  # the dense product and the sparse one
def test_a_graph_of_a_layers_gradients_is_refused_rather_than_silently_cut_from_the_parameters(out_features):
    layer = KANLayer(3, out_features)
    x = torch.rand(8, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="create_graph=True"):
        torch.autograd.grad(layer(x).sum(), x, create_graph=True)


def _layer_by_layer(model, x):
    """model(x) as the layers compute it one by one (each its own autograd node)."""
    for layer in model.layers:
        x = layer(x)
    return x


def _outputs_and_gradients(model, forward, x):
    x = x.detach().requires_grad_(x.requires_grad)
    y = forward(model, x)
    (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)).sum().backward()
    gradients = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    return y.detach(), gradients, x.grad


def _same(a, b):
    """Both None (a parameter without a gradient), or equal to the bit."""
    return a is b is None or (a is not None and b is not None and torch.equal(a, b))


needs_kernels = pytest.mark.skipif(not kernels.available(), reason="the C kernels are not available here")


@needs_kernels
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("input_grad", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("widths", [[2, 5, 1], [3, 4, 2, 1]])
@pytest.mark.parametrize("grid_eps", [None, 0.02])  # the initial uniform grids, or grids near the quantiles
def test_a_kan_of_narrow_layers_gives_the_numbers_of_its_layers_one_by_one_to_the_bit(grid_eps, widths, dtype,
                                                                                    input_grad, threads):
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = KAN(widths, grid_size=5, seed=0, dtype=dtype)
        x = (torch.rand(700, widths[0], dtype=dtype, generator=torch.Generator().manual_seed(1)) * 2 - 1)
        if grid_eps is not None:
            model.update_grid(x**3, grid_eps=grid_eps)
            assert not any(layer.uniform for layer in model.layers)
        x.requires_grad_(input_grad)
        whole = _outputs_and_gradients(model, lambda m, v: m(v), x)
        one_by_one = _outputs_and_gradients(model, _layer_by_layer, x)
    finally:
        torch.set_num_threads(saved)
    assert torch.equal(whole[0], one_by_one[0])
    assert all(_same(a, b) for a, b in zip(whole[1], one_by_one[1], strict=True))
    assert (whole[2] is None) == (not input_grad) and _same(whole[2], one_by_one[2])


@needs_kernels
def test_a_kan_of_narrow_layers_is_one_autograd_node():
    y = KAN([2, 5, 1], seed=0)(torch.rand(10, 2))
    assert type(y.grad_fn).__name__ == "_NarrowNetworkProductBackward"
    assert y.grad_fn.next_functions[0] == (None, 0)  # x needs no gradient; the parameters' come next


@needs_kernels
def test_a_frozen_first_layer_gets_no_gradients_and_the_next_layer_the_same_ones():
    model = KAN([2, 5, 1], seed=0)
    x = torch.rand(50, 2) * 2 - 1
    _, expected, _ = _outputs_and_gradients(model, _layer_by_layer, x)
    model.layers[0].requires_grad_(False)
    _, gradients, _ = _outputs_and_gradients(model, lambda m, v: m(v), x)
    first = len(list(model.layers[0].parameters()))
    assert all(g is None for g in gradients[:first])
    assert all(_same(a, b) for a, b in zip(gradients[first:], expected[first:], strict=True))


def test_a_hook_on_a_layer_still_runs_in_every_forward_pass():
    model = KAN([2, 5, 1], seed=0)
    seen = []
    model.layers[1].register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    y = model(torch.rand(10, 2))
    assert seen == [(10, 1)] and y.shape == (10, 1)
