"""kanlab.kernels: the C kernels give the features and input gradients of kanlab.splines and
torch's silu, on uniform and adaptive grids, inside and outside them, for any order; they build,
cache and fall back cleanly."""

import ctypes
import os
import subprocess
import sys

import pytest
import torch

import kanlab
from kanlab import kernels, splines

pytestmark = pytest.mark.skipif(
    not kernels.available(), reason=f"the C kernels are not available here: {kernels.unavailable_reason()}"
)


def random_grid(in_features, grid_size, order, generator, dtype):
    """Increasing interior knots on [-1, 1] drawn at random (an adaptive grid), extended by order."""
    inner = torch.rand(in_features, grid_size - 1, generator=generator, dtype=torch.float64).sort(dim=1).values
    interior = torch.cat([torch.zeros(in_features, 1), inner, torch.ones(in_features, 1)], dim=1) * 2 - 1
    return splines.extend_grid(interior, order).to(dtype)


def grid_for(uniform, in_features, grid_size, order, dtype, seed=0):
    if uniform:
        return splines.uniform_grid(grid_size, order, (-1.0, 1.0), in_features, dtype=dtype)
    return random_grid(in_features, grid_size, order, torch.Generator().manual_seed(seed), dtype)


def inputs(n, in_features, dtype, seed=0, spread=1.8):
    """Samples on [-spread, spread]: inside the grid, in its extension cells and beyond it."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(n, in_features, generator=generator, dtype=torch.float64) * 2 - 1).mul(spread).to(dtype)


def features_in_pytorch(x, grid, order):
    """F[n, i] = [B_0(x_ni) .. B_{G+k-1}(x_ni), silu(x_ni)] from splines.basis (Cox-de Boor values)."""
    return torch.cat([splines.basis(x, grid, order), torch.nn.functional.silu(x).unsqueeze(-1)], dim=-1)


TOLERANCE = {torch.float32: 2e-6, torch.float64: 1e-13}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("in_features", [3, 300])  # one tile holds several rows; a row spans tiles
def test_features_match_the_cox_de_boor_basis_and_silu(dtype, uniform, order, in_features):
    grid = grid_for(uniform, in_features, 5, order, dtype)
    x = inputs(40, in_features, dtype)
    x[0] = grid[:, 0]  # the first knot, the last knot (the last cell is closed) and the range ends
    x[1] = grid[:, -1]
    x[2] = grid[:, order]
    x[3] = 40 * x[3]  # far outside
    expected = features_in_pytorch(x, grid, order)
    torch.testing.assert_close(kernels.write_features(x, grid, order, uniform), expected, rtol=0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("in_features", [3, 300])
def test_features_grad_is_the_gradient_autograd_takes_through_the_basis(dtype, uniform, order, in_features):
    grid = grid_for(uniform, in_features, 5, order, dtype, seed=1)
    x = inputs(40, in_features, dtype, seed=2).requires_grad_()
    grad = torch.randn(40, in_features, 5 + order + 1, generator=torch.Generator().manual_seed(3), dtype=dtype)
    (features_in_pytorch(x, grid, order) * grad).sum().backward()
    got = kernels.features_grad(x.detach(), grid, order, uniform, grad)
    torch.testing.assert_close(got, x.grad, rtol=50 * TOLERANCE[dtype], atol=50 * TOLERANCE[dtype])


def test_features_and_their_gradient_pass_gradcheck_through_a_layer():
    layer = kanlab.KANLayer(4, 3, grid_size=5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = inputs(7, 4, torch.float64, seed=4, spread=1.2).requires_grad_()
    assert kernels.supports(x, layer.grid)
    assert torch.autograd.gradcheck(layer, (x,))


def test_rows_of_out_and_grad_may_be_strided_views():
    grid = grid_for(True, 5, 5, 3, torch.float32)
    x = inputs(20, 5, torch.float32)
    wide = torch.full((20, 5 * 9 + 7), float("nan"))
    view = wide[:, 3 : 3 + 45].unflatten(1, (5, 9))
    kernels.write_features(x, grid, 3, True, out=view)
    assert torch.equal(view, kernels.write_features(x, grid, 3, True))
    assert wide[:, :3].isnan().all() and wide[:, 48:].isnan().all()  # nothing written outside out
    grad = torch.randn(20, 5 * 9 + 7)[:, 3 : 3 + 45].unflatten(1, (5, 9))
    assert torch.equal(kernels.features_grad(x, grid, 3, True, grad), kernels.features_grad(x, grid, 3, True, grad.contiguous()))


def test_results_do_not_depend_on_the_number_of_threads():
    grid = grid_for(True, 64, 5, 3, torch.float32)
    x = inputs(2048, 64, torch.float32)
    grad = torch.randn(2048, 64, 9, generator=torch.Generator().manual_seed(5))
    spline_weight, spline_scale, base_weight, mask = edge_parameters(70, 300, 8, torch.float32)
    grad_weights = torch.randn(300 * 9, 70, generator=torch.Generator().manual_seed(6))
    threads = torch.get_num_threads()
    results = []
    for count in (1, 2):
        torch.set_num_threads(count)
        results.append(
            [
                kernels.write_features(x, grid, 3, True),
                kernels.features_grad(x, grid, 3, True, grad),
                kernels.edge_weights(spline_weight, spline_scale, base_weight, mask),
                *kernels.edge_weights_grad(grad_weights, spline_weight, spline_scale, mask, out_major=False),
            ]
        )
    torch.set_num_threads(threads)
    assert all(torch.equal(one, two) for one, two in zip(*results))


def test_a_layer_computes_the_same_with_the_kernels_and_with_pytorch(monkeypatch):
    model = kanlab.KAN([6, 5, 2], grid_size=5, seed=0)
    model.update_grid(inputs(300, 6, torch.float32, seed=6, spread=1.0) ** 3, grid_eps=0.02)  # the second layer's grid is adaptive
    x = inputs(64, 6, torch.float32, seed=7, spread=1.3).requires_grad_()
    runs = []
    for use_kernels in (True, False):
        if not use_kernels:
            monkeypatch.setattr(kernels, "supports", lambda *tensors: False)
        model.zero_grad()
        x.grad = None
        y = model(x)
        y.square().sum().backward()
        runs.append([y.detach(), x.grad.clone()] + [p.grad.clone() for p in model.parameters() if p.grad is not None])
    for with_kernels, with_pytorch in zip(*runs):
        torch.testing.assert_close(with_kernels, with_pytorch, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "name, tensor, message",
    [
        ("out", torch.empty(10, 9, 3), r"out must have shape \(10, 3, 9\)"),
        ("out", torch.empty(10, 9, 3).transpose(1, 2), "each row contiguous"),
        ("out", torch.empty(10, 3, 9, dtype=torch.float64), "dtype torch.float32"),
        ("grad", torch.empty(10, 3, 8), r"grad must have shape \(10, 3, 9\)"),
    ],
)
def test_bad_layouts_are_rejected_with_a_clear_error(name, tensor, message):
    grid = grid_for(True, 3, 5, 3, torch.float32)
    x = inputs(10, 3, torch.float32)
    with pytest.raises(ValueError, match=message):
        if name == "out":
            kernels.write_features(x, grid, 3, True, out=tensor)
        else:
            kernels.features_grad(x, grid, 3, True, tensor)


def test_inputs_that_are_not_a_batch_of_rows_matching_the_grid_are_rejected():
    grid = grid_for(True, 3, 5, 3, torch.float32)
    with pytest.raises(ValueError, match=r"x must be \(N, in\) and grid"):
        kernels.write_features(torch.rand(3), grid, 3, True)
    with pytest.raises(ValueError, match=r"x must be \(N, in\) and grid"):
        kernels.features_grad(torch.rand(4, 2), grid, 3, True, torch.rand(4, 2, 9))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_single_non_finite_input_anywhere_is_reported(value):
    grid = grid_for(True, 300, 5, 3, torch.float32)
    x = inputs(512, 300, torch.float32)
    x[301, 257] = value  # in the middle of a large input, in a tile of its own
    with pytest.raises(ValueError, match="finite"):
        kernels.write_features(x, grid, 3, True)
    with pytest.raises(ValueError, match="finite"):
        kernels.features_grad(x, grid, 3, True, torch.zeros(512, 300, 9))


def edge_parameters(out_features, in_features, size, dtype):
    """Random coefficients, scales and base weights, and a mask with one dead edge."""
    generator = torch.Generator().manual_seed(4)
    spline_weight, spline_scale, base_weight = (
        torch.randn(shape, generator=generator, dtype=torch.float64).to(dtype)
        for shape in ((out_features, in_features, size), (out_features, in_features), (out_features, in_features))
    )
    mask = torch.ones(out_features, in_features, dtype=dtype)
    mask[0, -1] = 0
    return spline_weight, spline_scale, base_weight, mask


def edge_weights_in_pytorch(spline_weight, spline_scale, base_weight, mask, out_major):
    """W[i, b, j] = m w^s c_{j,i,b}, W[i, G + k, j] = m w^b as (out, in, G + k + 1), then laid out."""
    edges = torch.cat([spline_weight * (spline_scale * mask)[..., None], (base_weight * mask)[..., None]], dim=2)
    return edges.reshape(edges.shape[0], -1) if out_major else edges.permute(1, 2, 0).reshape(-1, edges.shape[0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("out_features, in_features", [(3, 4), (70, 300)])  # one thread; several
def test_edge_weights_lay_out_the_parameters_as_the_product_reads_them(dtype, out_features, in_features):
    parameters = edge_parameters(out_features, in_features, 8, dtype)
    expected = edge_weights_in_pytorch(*parameters, out_major=True)
    torch.testing.assert_close(kernels.edge_weights(*parameters), expected, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("out_major", [False, True])
@pytest.mark.parametrize("out_features, in_features", [(3, 4), (70, 300)])
def test_edge_weights_grad_is_the_gradient_autograd_takes_through_them(dtype, out_major, out_features, in_features):
    spline_weight, spline_scale, base_weight, mask = edge_parameters(out_features, in_features, 8, dtype)
    leaves = [t.clone().requires_grad_() for t in (spline_weight, spline_scale, base_weight)]
    weights = edge_weights_in_pytorch(*leaves, mask, out_major)
    grad = torch.randn(weights.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64).to(dtype)
    expected = torch.autograd.grad(weights, leaves, grad)
    got = kernels.edge_weights_grad(grad, spline_weight, spline_scale, mask, out_major)
    for name, value, reference in zip(("spline_weight", "spline_scale", "base_weight"), got, expected):
        tolerance = 1e-5 if dtype == torch.float32 else 1e-12  # sums of 8 products, in another order
        torch.testing.assert_close(value, reference, rtol=tolerance, atol=tolerance, msg=name)
    assert torch.equal(got[0][0, -1], torch.zeros_like(got[0][0, -1])) and got[1][0, -1] == got[2][0, -1] == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
# whole tiles of 16 inputs and 16 outputs (turned in registers with AVX-512) and the rest around them
@pytest.mark.parametrize("out_features, in_features, size", [(16, 16, 8), (40, 35, 8), (33, 48, 13), (16, 32, 3)])
def test_edge_weights_and_their_gradients_are_the_same_numbers_in_either_layout(dtype, out_features, in_features,
                                                                                size):
    parameters = edge_parameters(out_features, in_features, size, dtype)
    in_major = kernels.edge_weights(*parameters, out_major=False)
    out_major = kernels.edge_weights(*parameters, out_major=True)
    as_out_major = lambda w: w.view(in_features, size + 1, out_features).permute(2, 0, 1).reshape(out_features, -1)
    assert torch.equal(as_out_major(in_major), out_major)
    grad = torch.randn(in_major.shape, generator=torch.Generator().manual_seed(6), dtype=torch.float64).to(dtype)
    spline_weight, spline_scale, _, mask = parameters
    from_in_major = kernels.edge_weights_grad(grad, spline_weight, spline_scale, mask, out_major=False)
    from_out_major = kernels.edge_weights_grad(as_out_major(grad).contiguous(), spline_weight, spline_scale, mask,
                                               out_major=True)
    for name, a, b in zip(("spline_weight", "spline_scale", "base_weight"), from_in_major, from_out_major):
        assert torch.equal(a, b), name


def test_edge_weights_with_mismatched_parameters_are_rejected_with_a_clear_error():
    spline_weight, spline_scale, base_weight, mask = edge_parameters(3, 4, 8, torch.float32)
    with pytest.raises(ValueError, match=r"spline_weight must be \(out, in, G \+ k\)"):
        kernels.edge_weights(spline_weight, spline_scale.t(), base_weight, mask)
    with pytest.raises(ValueError, match="of one dtype"):
        kernels.edge_weights(spline_weight, spline_scale.double(), base_weight, mask)
    with pytest.raises(ValueError, match=r"grad must have shape \(36, 3\)"):
        kernels.edge_weights_grad(torch.zeros(3, 36), spline_weight, spline_scale, mask, out_major=False)


def test_only_cpu_float32_and_float64_tensors_with_storage_are_supported():
    x = torch.rand(4, 3)
    assert kernels.supports(x) and kernels.supports(x.double())
    assert not kernels.supports(x.half()) and not kernels.supports(x.to(torch.bfloat16))
    assert not kernels.supports(x, x.double())  # one dtype for all
    assert "float16" in kernels.unavailable_reason(torch.float16)
    seen = []
    torch.vmap(lambda row: seen.append(kernels.supports(row)) or row)(x)
    assert seen == [False]  # vmap's batched wrappers have no storage the kernels could read


def _python(code, **environment):
    """Run code in a fresh interpreter with the given environment variables; its stdout."""
    env = {**os.environ, **environment}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_fresh_cache_folder_gets_a_build_that_loads(tmp_path):
    code = "import torch; from kanlab import kernels; print(kernels.available(torch.float64))"
    assert _python(code, KANLAB_CACHE_DIR=str(tmp_path)) == "True"
    assert [p.suffix for p in tmp_path.iterdir()] == [".so"]  # no partial files left behind


def test_without_a_compiler_the_layer_falls_back_to_pytorch_and_says_why(tmp_path):
    code = (
        "import torch, kanlab; from kanlab import kernels; "
        "layer = kanlab.KANLayer(3, 2, generator=torch.Generator().manual_seed(0)); "
        "print(kernels.available(), layer(torch.zeros(4, 3)).shape == (4, 2), kernels.unavailable_reason())"
    )
    output = _python(code, KANLAB_CACHE_DIR=str(tmp_path), CC="/nonexistent/cc")
    assert output.startswith("False True could not build bspline_kernels.c")
    assert list(tmp_path.iterdir()) == []


def test_kanlab_kernels_0_switches_the_kernels_off(tmp_path):
    code = "from kanlab import kernels; print(kernels.available(), kernels.unavailable_reason())"
    assert _python(code, KANLAB_KERNELS="0", KANLAB_CACHE_DIR=str(tmp_path)) == "False disabled by KANLAB_KERNELS=0"


# The sparse product: y = F(x) W from each input's k + 1 non-zero B-splines and silu, never writing F.


def dense_product_in_pytorch(x, grid, order, weights, grad):
    """y = F W with F from Cox-de Boor (`features_in_pytorch`), and autograd's dL/dW and dL/dx for dL/dy = grad."""
    x = x.clone().requires_grad_()
    weights = weights.clone().requires_grad_()
    y = features_in_pytorch(x, grid, order).flatten(1) @ weights
    grad_weights, grad_x = torch.autograd.grad(y, (weights, x), grad)
    return y.detach(), grad_weights, grad_x


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
# a few outputs (value by value), one vector and a rest, several groups of vectors; several blocks of inputs
@pytest.mark.parametrize("in_features, out_features", [(3, 1), (5, 10), (40, 70), (300, 64)])
def test_sparse_product_and_its_gradients_are_those_of_the_dense_product(dtype, uniform, order, in_features,
                                                                         out_features):
    grid = grid_for(uniform, in_features, 5, order, dtype, seed=1)
    x = inputs(50, in_features, dtype, seed=2)
    x[0] = grid[:, 0]  # the ends of the grid and of its range, and far outside
    x[1] = grid[:, -1]
    x[2] = grid[:, order]
    x[3] = 40 * x[3]
    generator = torch.Generator().manual_seed(3)
    weights = torch.randn(in_features * (5 + order + 1), out_features, generator=generator, dtype=torch.float64)
    grad = torch.randn(50, out_features, generator=generator, dtype=torch.float64)
    weights, grad = weights.to(dtype), grad.to(dtype)
    expected = dense_product_in_pytorch(x, grid, order, weights, grad)
    got = kernels.sparse_product(x, grid, order, uniform, weights), *kernels.sparse_product_grad(
        x, grid, order, uniform, weights, grad
    )
    # sums of up to 300 * 9 products in another order, to rounding of their largest value
    tolerance = 1e-5 if dtype == torch.float32 else 1e-13
    # (at a knot a B-spline of order <= 2 has a kink, and autograd takes the slope of another side)
    for name, value, reference in zip(("y", "dL/dW", "dL/dx"), got, (expected[0], expected[1], expected[2])):
        rows = slice(3, None) if name == "dL/dx" else slice(None)
        value, reference = value[rows], reference[rows]
        scale = reference.abs().max().item()
        torch.testing.assert_close(value, reference, rtol=tolerance, atol=tolerance * scale, msg=name)


@pytest.mark.parametrize("uniform", [True, False])
def test_sparse_product_ignores_what_earlier_calls_left_in_its_scratch_for_samples_beyond_the_grid(uniform):
    # A call on infinite x and a uniform grid fails after filling its scratch with infinite values;
    # the kernels' next call, made the same way, gets that memory back. Its samples far beyond the
    # grid have no B-spline values (on a grid that is not uniform nothing computes them), so nothing
    # may read them.
    grid, inf_grid = grid_for(uniform, 6, 5, 3, torch.float32, seed=1), grid_for(True, 6, 5, 3, torch.float32)
    x = inputs(40, 6, torch.float32, seed=2)
    x[::3] *= 50
    weights, grad = torch.randn(6 * 9, 20), torch.randn(40, 20)
    expected = dense_product_in_pytorch(x, grid, 3, weights, grad)
    for input_grad in (False, True):
        with pytest.raises(ValueError, match="finite"):
            kernels.sparse_product(torch.full_like(x, float("inf")), inf_grid, 3, True, weights)
        y = kernels.sparse_product(x, grid, 3, uniform, weights)
        grad_weights, _ = kernels.sparse_product_grad(x, grid, 3, uniform, weights, grad, input_grad=input_grad)
        torch.testing.assert_close(y, expected[0], rtol=1e-5, atol=1e-5 * expected[0].abs().max().item())
        torch.testing.assert_close(grad_weights, expected[1], rtol=1e-5, atol=1e-5 * expected[1].abs().max().item())


def test_sparse_product_grad_leaves_out_the_input_gradient_when_asked():
    grid = grid_for(True, 4, 5, 3, torch.float32)
    x, weights, grad = inputs(20, 4, torch.float32), torch.randn(36, 9), torch.randn(20, 9)
    grad_weights, grad_x = kernels.sparse_product_grad(x, grid, 3, True, weights, grad, input_grad=False)
    assert grad_x is None
    assert torch.equal(grad_weights, kernels.sparse_product_grad(x, grid, 3, True, weights, grad)[0])


def test_sparse_product_does_not_depend_on_the_number_of_threads():
    grid = grid_for(True, 300, 5, 3, torch.float32)
    x = inputs(2048, 300, torch.float32)
    weights = torch.randn(300 * 9, 70, generator=torch.Generator().manual_seed(5))
    grad = torch.randn(2048, 70, generator=torch.Generator().manual_seed(6))
    one, two = on_one_and_two_threads(
        lambda: [kernels.sparse_product(x, grid, 3, True, weights), *kernels.sparse_product_grad(x, grid, 3, True, weights, grad)]
    )
    assert all(torch.equal(a, b) for a, b in zip(one, two))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("threads", [1, 2])
# one block of inputs and a part one; a few outputs, a vector and a rest, several groups of vectors
@pytest.mark.parametrize("in_features, out_features", [(3, 1), (21, 10), (40, 70)])
def test_sparse_product_edge_grads_are_the_edge_weights_grad_of_the_sparse_products_dw(dtype, uniform, threads,
                                                                                      in_features, out_features):
    grid = grid_for(uniform, in_features, 5, 3, dtype, seed=1)
    x = inputs(300, in_features, dtype, seed=2)
    spline_weight, scale, base, mask = edge_parameters(out_features, in_features, 8, dtype)
    weights = kernels.edge_weights(spline_weight, scale, base, mask, out_major=False)
    grad = torch.randn(300, out_features, generator=torch.Generator().manual_seed(3), dtype=dtype)
    grad_weights, grad_x = kernels.sparse_product_grad(x, grid, 3, uniform, weights, grad)
    expected = (*kernels.edge_weights_grad(grad_weights, spline_weight, scale, mask, out_major=False), grad_x)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        got = kernels.sparse_product_edge_grads(x, grid, 3, uniform, weights, grad, spline_weight, scale, mask)
    finally:
        torch.set_num_threads(previous)
    for name, value, reference in zip(("dL/dc", "dL/dw^s", "dL/dw^b", "dL/dx"), got, expected):
        assert torch.equal(value, reference), name  # the same sums in the same order


def test_sparse_product_edge_grads_leave_out_the_input_gradient_when_asked():
    grid = grid_for(True, 4, 5, 3, torch.float32)
    x, grad = inputs(20, 4, torch.float32), torch.randn(20, 9)
    spline_weight, scale, base, mask = edge_parameters(9, 4, 8, torch.float32)
    weights = kernels.edge_weights(spline_weight, scale, base, mask, out_major=False)
    *grads, grad_x = kernels.sparse_product_edge_grads(x, grid, 3, True, weights, grad, spline_weight, scale, mask,
                                                       input_grad=False)
    assert grad_x is None
    expected = kernels.sparse_product_edge_grads(x, grid, 3, True, weights, grad, spline_weight, scale, mask)
    assert all(torch.equal(a, b) for a, b in zip(grads, expected))


def test_sparse_product_edge_grads_reject_parameters_that_do_not_match_the_weights():
    grid = grid_for(True, 4, 5, 3, torch.float32)
    x, grad = inputs(20, 4, torch.float32), torch.randn(20, 9)
    spline_weight, scale, base, mask = edge_parameters(9, 4, 8, torch.float32)
    weights = kernels.edge_weights(spline_weight, scale, base, mask, out_major=False)
    with pytest.raises(ValueError, match=r"spline_weight must be \(out, in, G \+ k\) = \(9, 4, 8\), got \(8, 4, 8\)"):
        kernels.sparse_product_edge_grads(x, grid, 3, True, weights, grad, spline_weight[:8], scale[:8], mask[:8])
    with pytest.raises(ValueError, match=r"grad must have shape \(20, 9\)"):
        kernels.sparse_product_edge_grads(x, grid, 3, True, weights, grad[:, :8], spline_weight, scale, mask)


def on_one_and_two_threads(run):
    """run() (a list of tensors) on one thread, then on two."""
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            results.append(run())
    finally:
        torch.set_num_threads(threads)
    return results


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.parametrize(  # a sample and an input past the first block of inputs, or the first patch of samples
    "product, batch, in_features, where",
    [("sparse", 512, 300, (301, 257)), ("narrow", 4096, 5, (3001, 4))],
)
def test_the_sparse_and_narrow_products_report_a_non_finite_input(value, product, batch, in_features, where):
    grid = grid_for(True, in_features, 5, 3, torch.float32)
    x = inputs(batch, in_features, torch.float32)
    x[where] = value
    with pytest.raises(ValueError, match="finite"):
        if product == "sparse":
            kernels.sparse_product(x, grid, 3, True, torch.zeros(in_features * 9, 16))
        else:
            kernels.narrow_product(x, grid, 3, True, *edge_parameters(1, in_features, 8, torch.float32))


def test_kernels_take_samples_with_no_inputs():
    grid = grid_for(True, 0, 5, 3, torch.float32)
    x, weights, grad = torch.empty(4, 0), torch.empty(0, 16), torch.randn(4, 16)
    assert kernels.write_features(x, grid, 3, True).shape == (4, 0, 9)
    assert kernels.features_grad(x, grid, 3, True, torch.empty(4, 0, 9)).shape == (4, 0)
    assert torch.equal(kernels.sparse_product(x, grid, 3, True, weights), torch.zeros(4, 16))  # an empty sum
    grad_weights, grad_x = kernels.sparse_product_grad(x, grid, 3, True, weights, grad)
    assert grad_weights.shape == (0, 16) and grad_x.shape == (4, 0)


# 16 outputs fill whole vectors of W's rows, 20 leave a tail (W and dL/dy are then copied, padded)
@pytest.mark.parametrize("out_features", [16, 20])
def test_sparse_product_maps_an_empty_batch_to_an_empty_batch(out_features):
    grid = grid_for(True, 3, 5, 3, torch.float32)
    x, weights, grad = torch.empty(0, 3), torch.randn(27, out_features), torch.empty(0, out_features)
    assert kernels.sparse_product(x, grid, 3, True, weights).shape == (0, out_features)
    grad_weights, grad_x = kernels.sparse_product_grad(x, grid, 3, True, weights, grad)
    assert torch.equal(grad_weights, torch.zeros(27, out_features)) and grad_x.shape == (0, 3)


def test_sparse_product_takes_weights_with_no_outputs():
    grid = grid_for(True, 3, 5, 3, torch.float32)
    x, weights, grad = inputs(4, 3, torch.float32), torch.empty(27, 0), torch.empty(4, 0)
    assert kernels.sparse_product(x, grid, 3, True, weights).shape == (4, 0)
    grad_weights, grad_x = kernels.sparse_product_grad(x, grid, 3, True, weights, grad)
    assert grad_weights.shape == (27, 0) and torch.equal(grad_x, torch.zeros(4, 3))


def test_sparse_product_rejects_weights_of_the_wrong_shape_or_order():
    grid = grid_for(True, 3, 5, 3, torch.float32)
    x = inputs(10, 3, torch.float32)
    with pytest.raises(ValueError, match=r"weights must be \(in \* \(G \+ k \+ 1\), out\) = \(27, out\)"):
        kernels.sparse_product(x, grid, 3, True, torch.zeros(9, 27))
    with pytest.raises(ValueError, match=r"grad must have shape \(10, 4\)"):
        kernels.sparse_product_grad(x, grid, 3, True, torch.zeros(27, 4), torch.zeros(10, 3))
    high = grid_for(True, 3, 5, 8, torch.float32)
    with pytest.raises(ValueError, match="spline_order must be at most 7"):
        kernels.sparse_product(x, high, 8, True, torch.zeros(3 * 14, 4))


def test_sparse_product_rejects_a_grid_too_short_for_its_order():
    x, grid = inputs(4, 2, torch.float32), torch.linspace(-1, 1, 3).repeat(2, 1)  # 3 knots: no cubic B-spline
    with pytest.raises(ValueError, match=r"grid must hold at least 2k \+ 2 = 8 knots per input, got 3"):
        kernels.sparse_product(x, grid, 3, True, torch.zeros(0, 16))
    with pytest.raises(ValueError, match="grid must hold at least"):
        kernels.sparse_product_grad(x, grid, 3, True, torch.zeros(0, 16), torch.zeros(4, 16))


# The narrow product: a layer with few outputs, vectorised over samples, from the parameters.


def narrow_product_in_pytorch(x, grid, order, parameters, grad):
    """y = F W with F from Cox-de Boor and W from the parameters (c, w^s, w^b, mask), and autograd's
    gradients of c, w^s, w^b and x for dL/dy = grad."""
    x = x.clone().requires_grad_()
    c, scale, base, mask = (t.clone().requires_grad_(i < 3) for i, t in enumerate(parameters))
    weights = edge_weights_in_pytorch(c, scale, base, mask, out_major=False)
    y = features_in_pytorch(x, grid, order).flatten(1) @ weights
    return y.detach(), *torch.autograd.grad(y, (c, scale, base, x), grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("in_features, out_features", [(3, 1), (2, 5), (6, 15)])
def test_narrow_product_and_its_gradients_are_those_of_the_dense_product(dtype, uniform, order, in_features,
                                                                         out_features):
    grid = grid_for(uniform, in_features, 5, order, dtype, seed=1)
    x = inputs(300, in_features, dtype, seed=2)  # a patch of 256 samples and part of another
    x[0] = grid[:, 0]  # the ends of the grid and of its range, and far outside
    x[1] = grid[:, -1]
    x[2] = grid[:, order]
    x[3] = 40 * x[3]
    parameters = edge_parameters(out_features, in_features, 5 + order, dtype)  # one dead edge
    grad = torch.randn(300, out_features, generator=torch.Generator().manual_seed(3), dtype=torch.float64).to(dtype)
    expected = narrow_product_in_pytorch(x, grid, order, parameters, grad)
    got = kernels.narrow_product(x, grid, order, uniform, *parameters), *kernels.narrow_product_grad(
        x, grid, order, uniform, *parameters, grad
    )
    tolerance = 2e-5 if dtype == torch.float32 else 1e-12  # sums of up to 300 products in another order
    # (at a knot a B-spline of order <= 2 has a kink, and autograd takes the slope of another side)
    for name, value, reference in zip(("y", "dL/dc", "dL/dw^s", "dL/dw^b", "dL/dx"), got, expected):
        if name == "dL/dx":
            value, reference = value[3:], reference[3:]
        scale = reference.abs().max().item()
        torch.testing.assert_close(value, reference, rtol=tolerance, atol=tolerance * scale, msg=name)


def test_narrow_product_grad_leaves_out_the_input_gradient_when_asked():
    grid = grid_for(True, 4, 5, 3, torch.float32)
    x, grad = inputs(20, 4, torch.float32), torch.randn(20, 3)
    parameters = edge_parameters(3, 4, 8, torch.float32)
    *grads, grad_x = kernels.narrow_product_grad(x, grid, 3, True, *parameters, grad, input_grad=False)
    assert grad_x is None
    assert all(torch.equal(a, b) for a, b in zip(grads, kernels.narrow_product_grad(x, grid, 3, True, *parameters, grad)))


def test_narrow_product_does_not_depend_on_the_number_of_threads():
    grid = grid_for(True, 8, 5, 3, torch.float32)
    x, grad = inputs(3000, 8, torch.float32), torch.randn(3000, 5, generator=torch.Generator().manual_seed(6))
    parameters = edge_parameters(5, 8, 8, torch.float32)
    one, two = on_one_and_two_threads(
        lambda: [kernels.narrow_product(x, grid, 3, True, *parameters),
                 *kernels.narrow_product_grad(x, grid, 3, True, *parameters, grad)]
    )
    assert all(torch.equal(a, b) for a, b in zip(one, two))


def test_narrow_product_takes_an_empty_batch_and_no_inputs_or_outputs():
    grid = grid_for(True, 3, 5, 3, torch.float32)
    parameters = edge_parameters(2, 3, 8, torch.float32)
    assert kernels.narrow_product(torch.empty(0, 3), grid, 3, True, *parameters).shape == (0, 2)
    *grads, grad_x = kernels.narrow_product_grad(torch.empty(0, 3), grid, 3, True, *parameters, torch.empty(0, 2))
    assert all(torch.equal(g, torch.zeros_like(g)) for g in grads) and grad_x.shape == (0, 3)
    none = [t[:, :0] for t in edge_parameters(2, 3, 8, torch.float32)]  # no inputs: an empty sum
    assert torch.equal(kernels.narrow_product(torch.rand(4, 0), grid[:0], 3, True, *none), torch.zeros(4, 2))
    silent = [t[:0] for t in parameters]  # no outputs
    assert kernels.narrow_product(inputs(4, 3, torch.float32), grid, 3, True, *silent).shape == (4, 0)
    assert torch.equal(kernels.narrow_product_grad(inputs(4, 3, torch.float32), grid, 3, True, *silent,
                                                   torch.empty(4, 0))[3], torch.zeros(4, 3))


def test_the_lane_by_lane_pick_of_other_compilers_stays_inside_its_table(tmp_path):
    """Compilers other than GCC pick each sample's weights lane by lane (`pick` in the C source). GCC
    builds that branch here when told it is Clang, with index checks that stop at the first index
    outside a vector: the B-splines beyond the basis, on inputs beyond the grid, must not make one."""
    library = tmp_path / "portable.so"
    command = ["gcc", "-O1", "-D__clang__", "-fsanitize=bounds", "-fno-sanitize-recover=bounds", "-DREAL=float",
               "-fPIC", "-shared", str(kernels.SOURCE), "-o", str(library)]
    try:
        built = subprocess.run(command, capture_output=True, timeout=120).returncode == 0
    except OSError:
        built = False
    if not built:
        pytest.skip("no gcc with -fsanitize=bounds here")
    code = (
        "import ctypes, torch; from kanlab import kernels, splines\n"
        f"library = ctypes.CDLL({str(library)!r}); kernels._declare(library)\n"
        "kernels._library = lambda dtype: (library, None)\n"
        "grid = splines.uniform_grid(29, 3, (-1.0, 1.0), 2)\n"  # G + k = 32: both vectors full
        "x = torch.linspace(-3, 3, 40).reshape(20, 2)\n"
        "c, scale, base = torch.ones(1, 2, 32), torch.ones(1, 2), torch.ones(1, 2)\n"
        "y = kernels.narrow_product(x, grid, 3, True, c, scale, base, torch.ones(1, 2))\n"
        "print(bool(torch.isfinite(y).all()))"
    )
    assert _python(code) == "True"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_build_without_the_cpus_own_instructions_computes_what_the_native_build_does(tmp_path, monkeypatch, dtype):
    """The build for CPUs without AVX-512 (FLAG_SETS' second, no -march=native) takes other code paths:
    a counting sort by cell, loads and sums value by value. Its numbers are the native build's, to
    rounding (the native build contracts multiply-adds)."""
    library = tmp_path / "portable.so"
    command = ["gcc", *kernels.FLAG_SETS[1], *kernels._REAL[dtype], "-fPIC", "-shared", str(kernels.SOURCE), "-o",
               str(library)]
    try:
        built = subprocess.run(command, capture_output=True, timeout=120).returncode == 0
    except OSError:
        built = False
    if not built:
        pytest.skip("no gcc with OpenMP here")
    grid = grid_for(True, 40, 5, 3, dtype)
    x = inputs(50, 40, dtype, seed=2, spread=3.0)  # a part vector of samples; inputs beyond the grid
    spline_weight, scale, base, mask = edge_parameters(20, 40, 8, dtype)
    narrow = [t[:3] for t in (spline_weight, scale, base, mask)]
    weights = kernels.edge_weights(spline_weight, scale, base, mask, out_major=False)
    generator = torch.Generator().manual_seed(3)
    grad, grad_narrow = (torch.randn(50, n, generator=generator, dtype=torch.float64).to(dtype) for n in (20, 3))

    def everything():
        return [
            kernels.write_features(x, grid, 3, True),
            kernels.sparse_product(x, grid, 3, True, weights),
            *kernels.sparse_product_edge_grads(x, grid, 3, True, weights, grad, spline_weight, scale, mask),
            kernels.narrow_product(x, grid, 3, True, *narrow),
            *kernels.narrow_product_grad(x, grid, 3, True, *narrow, grad_narrow),
        ]

    native = everything()
    portable = ctypes.CDLL(str(library))
    kernels._declare(portable)
    monkeypatch.setattr(kernels, "_library", lambda dtype: (portable, None))
    tolerance = 1e-5 if dtype == torch.float32 else 1e-13
    for number, (value, reference) in enumerate(zip(everything(), native)):
        scale_of = reference.abs().max().item()
        torch.testing.assert_close(value, reference, rtol=tolerance, atol=tolerance * scale_of, msg=str(number))


def test_narrow_product_rejects_a_dtype_it_has_no_kernels_for():
    grid = grid_for(True, 3, 5, 3, torch.float32)
    parameters = [t.half() for t in edge_parameters(2, 3, 8, torch.float32)]
    with pytest.raises(ValueError, match=r"x must be float32 or float64 for the narrow product, got torch.float16"):
        kernels.narrow_product(inputs(10, 3, torch.float32).half(), grid, 3, True, *parameters)


@pytest.mark.parametrize("x_shape, weight_shape", [((), (2, 3, 8)), ((10, 3), ())])
def test_narrow_product_rejects_operands_without_their_dimensions_by_name(x_shape, weight_shape):
    grid = grid_for(True, 3, 5, 3, torch.float32)
    spline_weight, *others = edge_parameters(2, 3, 8, torch.float32)
    with pytest.raises(ValueError, match=r"x must be \(N, in\)|spline_weight must be \(out, in, G \+ k\)"):
        kernels.narrow_product(torch.zeros(x_shape), grid, 3, True, torch.zeros(weight_shape), *others)


def test_narrow_product_rejects_a_basis_longer_than_two_vectors():
    x = inputs(10, 2, torch.float32)
    grid = grid_for(True, 2, 30, 3, torch.float32)  # G + k = 33 B-splines per input
    with pytest.raises(ValueError, match=r"at most 32 B-splines per input in torch.float32 .*got 33"):
        kernels.narrow_product(x, grid, 3, True, *edge_parameters(1, 2, 33, torch.float32))


def test_narrow_product_rejects_parameters_of_the_wrong_shape():
    x, grid = inputs(10, 3, torch.float32), grid_for(True, 3, 5, 3, torch.float32)
    with pytest.raises(ValueError, match=r"spline_weight must be \(out, in, G \+ k\) = \(out, 3, 8\)"):
        kernels.narrow_product(x, grid, 3, True, *edge_parameters(2, 3, 9, torch.float32))
    with pytest.raises(ValueError, match=r"grad must have shape \(10, 2\)"):
        kernels.narrow_product_grad(x, grid, 3, True, *edge_parameters(2, 3, 8, torch.float32), torch.zeros(10, 3))


@pytest.mark.parametrize("out_features", [3, 16])  # the narrow product and the sparse one
def test_batched_gradients_through_a_layer_are_its_gradients_row_by_row(out_features):
    """Levenberg-Marquardt's Jacobian comes from autograd.grad with is_grads_batched=True: the
    batched dL/dy has no memory of its own, which the C kernels cannot read."""
    layer = kanlab.KANLayer(4, out_features, grid_size=5)
    x = inputs(30, 4, torch.float32).requires_grad_()
    y = layer(x)
    rows = torch.randn(5, *y.shape, generator=torch.Generator().manual_seed(8))
    wrt = (x, *layer.parameters())
    batched = torch.autograd.grad(y, wrt, rows, is_grads_batched=True, retain_graph=True)
    for r in range(5):
        for got, expected in zip(batched, torch.autograd.grad(y, wrt, rows[r], retain_graph=True)):
            torch.testing.assert_close(got[r], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("out_major", [True, False])
def test_edge_weights_lay_out_the_parameters_out_major_or_in_major(out_major):
    parameters = edge_parameters(70, 300, 8, torch.float32)
    expected = edge_weights_in_pytorch(*parameters, out_major=out_major)
    assert torch.equal(kernels.edge_weights(*parameters, out_major=out_major), expected)


def product_node(layer, x):
    """The name of the autograd function that computed layer(x)'s product (under the output's reshape)."""
    node = layer(x).grad_fn
    while not type(node).__name__.endswith("ProductBackward"):
        node = node.next_functions[0][0]
    return type(node).__name__.removesuffix("Backward")


def kan_run(model, x):
    """Output, dL/dx and every parameter's gradient of model for L = sum of squares."""
    model.zero_grad()
    x = x.clone().requires_grad_()
    y = model(x)
    y.square().sum().backward()
    return [y.detach(), x.grad] + [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_network_of_wide_layers_computes_the_same_with_the_sparse_kernels_and_with_pytorch(dtype, threads,
                                                                                            monkeypatch):
    model = kanlab.KAN([30, 20, 16], grid_size=5, seed=0, dtype=dtype)
    model.update_grid(inputs(300, 30, dtype, seed=6, spread=1.0) ** 3, grid_eps=0.02)  # adaptive grids
    model.layers[0].edge_mask[3, 7] = 0
    model.layers[1].edge_mask[:, 2] = 0
    x = inputs(200, 30, dtype, seed=7, spread=1.3)
    uniform_model = kanlab.KAN([30, 20, 16], grid_size=5, seed=1, dtype=dtype)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with_kernels = kan_run(model, x) + kan_run(uniform_model, x)
        assert product_node(model.layers[0], x) == product_node(model.layers[1], model.layers[0](x)) == "_SparseLayerProduct"
        monkeypatch.setattr(kernels, "supports", lambda *tensors: False)
        with_pytorch = kan_run(model, x) + kan_run(uniform_model, x)
    finally:
        torch.set_num_threads(previous)
    tolerance = 2e-5 if dtype == torch.float32 else 1e-12
    for got, expected in zip(with_kernels, with_pytorch):
        torch.testing.assert_close(got, expected, rtol=tolerance, atol=tolerance)
    assert model.layers[0].spline_weight.grad[3, 7].abs().max() == 0  # a dead edge stays dead
    assert model.layers[1].base_weight.grad[:, 2].abs().max() == 0


def adam_steps(model, x, target, steps):
    """The mean squared error before the first and the last of `steps` steps of Adam, and the
    parameters after them."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (model(x) - target).square().mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return [losses[0], losses[-1]] + [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("widths", [[3, 5, 1], [4, 7, 2]])
def test_a_network_of_narrow_layers_trains_the_same_with_the_narrow_kernels_and_with_pytorch(dtype, widths,
                                                                                           monkeypatch):
    x = inputs(500, widths[0], dtype, seed=8, spread=1.3)
    target = torch.sin(3 * x[:, :1]) * x[:, 1:2] + x[:, -1:] ** 2
    target = target.expand(-1, widths[-1]).contiguous()

    def trained():
        model = kanlab.KAN(widths, grid_size=5, seed=0, dtype=dtype)
        model.update_grid(inputs(300, widths[0], dtype, seed=6, spread=1.0) ** 3, grid_eps=0.02)  # adaptive grids
        model.layers[0].edge_mask[1, 2] = 0  # pruned edges
        model.layers[1].edge_mask[0, 0] = 0
        return adam_steps(model, x, target, 30), model

    result, model = trained()
    nodes = product_node(model.layers[0], x), product_node(model.layers[1], model.layers[0](x))
    assert nodes == ("_NarrowLayerProduct", "_NarrowLayerProduct")
    monkeypatch.setattr(kernels, "supports", lambda *tensors: False)
    expected, _ = trained()
    tolerance = 1e-4 if dtype == torch.float32 else 1e-10  # 30 steps of Adam amplify the rounding
    for got, reference in zip(result, expected):
        torch.testing.assert_close(got, reference, rtol=tolerance, atol=tolerance)
    assert result[1] < 0.5 * result[0]  # it learns


@pytest.mark.parametrize(
    "out_features, order, expected",
    [(16, 3, "_SparseLayerProduct"), (64, 1, "_SparseLayerProduct"), (15, 3, "_NarrowLayerProduct"),
     (1, 7, "_NarrowLayerProduct"), (16, 8, "_LayerProduct"), (15, 8, "_LayerProduct")],
)
def test_a_layer_takes_the_sparse_product_from_sixteen_outputs_and_the_narrow_one_below_up_to_order_seven(
    out_features, order, expected
):
    layer = kanlab.KANLayer(4, out_features, grid_size=5, spline_order=order)
    assert product_node(layer, torch.rand(10, 4)) == expected


@pytest.mark.parametrize("dtype, grid_size, expected", [(torch.float32, 29, "_NarrowLayerProduct"),
                                                        (torch.float32, 30, "_LayerProduct"),
                                                        (torch.float64, 13, "_NarrowLayerProduct"),
                                                        (torch.float64, 14, "_LayerProduct")])
def test_a_layer_with_few_outputs_takes_the_narrow_product_while_its_basis_fits_two_vectors(dtype, grid_size,
                                                                                          expected):
    layer = kanlab.KANLayer(4, 3, grid_size=grid_size, spline_order=3, dtype=dtype)
    assert product_node(layer, torch.rand(10, 4, dtype=dtype)) == expected


def test_a_layer_takes_the_dense_product_where_the_kernels_cannot(monkeypatch):
    layer = kanlab.KANLayer(4, 16, grid_size=5)
    monkeypatch.setattr(kernels, "supports", lambda *tensors: False)
    assert product_node(layer, torch.rand(10, 4)) == "_LayerProduct"
