r"""Kolmogorov-Arnold layers and networks.

A KAN layer with in_features inputs and out_features outputs puts one learnable function on each
edge (i -> j) and sums at the nodes:

    y_j = sum_i phi_{j,i}(x_i),
    phi_{j,i}(x) = m_{j,i} * ( w^b_{j,i} silu(x) + w^s_{j,i} sum_b c_{j,i,b} B_b(x) ),

with B_b the B-splines of order k on input i's grid (`kanlab.splines`), w^b the base weights,
w^s the spline scales, c the spline coefficients and m the edge mask (1 for a live edge, 0 for a
pruned one).

How it is computed. silu is treated as one more basis function per input, so the features
F[n, i, :] = [B_0(x_i), ..., B_{G+k-1}(x_i), silu(x_i)] (batch, in, G + k + 1) meet the weights
W[i, :, j] = m_{j,i} [w^s_{j,i} c_{j,i,:}, w^b_{j,i}] in a single matmul  y = F @ W, both
flattened to in * (G + k + 1) along the shared axis. W is kept out-major, as the parameters lie.
(Where the CPU takes this dense product, a layer with fewer than 16 outputs takes it as
(W^T F^T)^T, which MKL computes several times faster.) On the CPU, in eager mode, with spline
order k <= 7, F is never written at all: each input meets only its k + 1 non-zero B-splines and
silu. A layer with 16 outputs or more adds k + 2 rows of W per input and sample
(`_SparseLayerProduct`, `kanlab.kernels.sparse_product`); one with fewer outputs vectorises over
samples instead and picks each sample's k + 1 weights from registers, reading the parameters
itself (`_NarrowLayerProduct`, `kanlab.kernels.narrow_product`, while G + k <= 32 in float32, 16
in float64); backward recomputes the values. Both give the dense product's numbers to rounding.
A KAN whose layers all take the narrow kernels (and have no symbolic edges, product nodes or hooks)
runs them all in one autograd node, `_NarrowNetworkProduct`, with the same numbers to the bit.
Memory grows like batch * in * (G + k + 1), never batch * in * out, and no Python loop runs over
edges. F holds only k + 1 non-zero B-spline values per input; they are computed locally and
written straight into F, and the gradient with respect to x is their analytic derivative (a
custom autograd function), so backward reads k + 2 values per input instead of re-running the
recursion. On the CPU this is one pass of a small C kernel (`kanlab.kernels`, which also lays out
W and takes its gradient). Off the CPU (a GPU) it is one kernel too, which torch.compile generates
from pointwise operations on first use (`_fused_features`, `kanlab.splines.pointwise_basis`;
backward likewise, `_fused_features_grad`), even in eager mode. On the CPU without a C compiler,
or where torch.compile cannot generate kernels (no Triton; a warning says so), PyTorch operations
compute the same numbers (`kanlab.splines.write_basis`, with at most 1 MiB of scratch memory).
Under torch.compile a whole network compiles into one graph: on the CPU the features are one
operator (`kanlab::edge_features`) that runs the C kernels; elsewhere the compiler traces the
pointwise operations and fuses them, as in eager mode.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kanlab import kernels, multiplication, pruning, splines
from kanlab.symbolic import SymbolicEdges

__all__ = ["KANLayer", "KAN"]


def _features(x: Tensor, grid: Tensor, spline_order: int, uniform: bool) -> Tensor:
    """F(x)[n, i, b] = B_b(x_{n,i}) for b < G + k and F(x)[n, i, G + k] = silu(x_{n,i}).

    Shape: x (N, in) -> (N, in, G + k + 1): each input's features side by side. Computed by
    `kanlab.kernels` where it can (CPU, float32/64); off the CPU by one kernel that torch.compile
    generates (`_fused_features`); else (the CPU without the C kernels, or a device where
    torch.compile cannot generate kernels) by PyTorch operations. Raises ValueError if x holds
    NaN or inf (except inside `inputs_checked_upstream` on the PyTorch paths).
    """
    if kernels.supports(x, grid):
        return kernels.write_features(x, grid, spline_order, uniform)
    if not _UPSTREAM_CHECKS:  # (see `inputs_checked_upstream`)
        _check_finite(x)
    if x.device.type not in _UNFUSED_DEVICES:
        features = _fused(_fused_features, x, grid, spline_order, uniform)
        if features is not None:
            return features
    size = grid.shape[-1] - spline_order - 1
    features = x.new_empty(x.shape[0], x.shape[1], size + 1)
    splines.write_basis(x, grid, spline_order, features[:, :, :size], uniform)
    features[:, :, size] = F.silu(x)
    return features


def _features_grad(x: Tensor, grid: Tensor, spline_order: int, uniform: bool, grad: Tensor) -> Tensor:
    """dL/dx_{n,i} = sum_r dL/dF_{n,i,c+r} B'_{c+r}(x_{n,i}) + dL/dF_{n,i,G+k} silu'(x_{n,i}), from
    dL/dF (N, in, G + k + 1); c is the first of the k + 1 B-splines that can be non-zero at x.
    Computed where `_features` computes F, in the same way (`_fused_features_grad` off the CPU)."""
    if kernels.supports(x, grid, grad) and grad.stride()[1:] == (grad.shape[2], 1):
        return kernels.features_grad(x, grid, spline_order, uniform, grad)
    if x.device.type not in _UNFUSED_DEVICES:
        grad_x = _fused(_fused_features_grad, x, grid, spline_order, uniform, grad)
        if grad_x is not None:
            return grad_x
    sigmoid = torch.sigmoid(x)
    grad_x = grad[:, :, -1] * sigmoid * (1 + x * (1 - sigmoid))  # silu'(x)
    grad_basis = grad[:, :, :-1]
    first, _, slopes = splines.local_basis(x, grid, spline_order, uniform, derivative=True)
    size, k = grad_basis.shape[2], spline_order
    index = first.unsqueeze(2)
    if splines._within(first, 0, size - k - 1):  # columns first + r all exist: read shifted views
        for r, slope in enumerate(slopes.unbind(0)):
            shifted = grad_basis[:, :, r:] if r else grad_basis  # (a full slice is an alias, which vmap cannot batch)
            grad_x.addcmul_(shifted.gather(2, index).squeeze(2), slope)
    else:  # columns beyond the ends have zero slopes; clamp them onto the ends
        for r, slope in enumerate(slopes.unbind(0)):
            grad_x.addcmul_(grad_basis.gather(2, (index + r).clamp_(0, size - 1)).squeeze(2), slope)
    return grad_x


def _fused_features(x: Tensor, grid: Tensor, spline_order: int, uniform: bool) -> Tensor:
    """`_features` from pointwise operations alone (`splines.pointwise_basis`, silu in the last
    column), which torch.compile generates as one kernel: F is written in one pass."""
    size = grid.shape[-1] - spline_order - 1
    columns = torch.arange(size + 1, device=x.device)
    basis = splines.pointwise_basis(x, grid, spline_order, uniform, columns)
    return torch.where(columns == size, F.silu(x).unsqueeze(-1), basis)


def _fused_features_grad(x: Tensor, grid: Tensor, spline_order: int, uniform: bool, grad: Tensor) -> Tensor:
    """`_features_grad` as one generated kernel: dL/dx_{n,i} = sum_b dL/dF_{n,i,b} F'_{n,i,b}, with
    F' the slopes B'_b(x) and silu'(x) = s (1 + x (1 - s)), s = sigmoid(x), in the last column."""
    size = grid.shape[-1] - spline_order - 1
    columns = torch.arange(size + 1, device=x.device)
    slopes = splines.pointwise_basis(x, grid, spline_order, uniform, columns, derivative=True)
    sigmoid = torch.sigmoid(x)
    slopes = torch.where(columns == size, (sigmoid * (1 + x * (1 - sigmoid))).unsqueeze(-1), slopes)
    return (grad * slopes).sum(-1)


# the devices whose features never go through `_fused`: the CPU has the C kernels, and without
# them keeps its PyTorch operations (eager Inductor kernels would cost a C++ compile per shape)
_UNFUSED_DEVICES = ("cpu",)
# the device types on which torch.compile failed (no Triton, a device Inductor does not support)
_COMPILE_FAILED = set()


@functools.cache
def _compiled(function):
    """torch.compile(function), once per process. dynamic=True: one graph serves every batch size
    and layer width (sizes 0 and 1 get graphs of their own); spline_order and uniform choose the
    Python branches, so each order, grid kind and dtype compiles once. Past torch's limit of graphs
    per function (torch._dynamo.config.recompile_limit, 8) the function runs as it is, eagerly:
    the same numbers, unfused. (That is why fullgraph is not set: with it, the limit raises.)"""
    return torch.compile(function, dynamic=True)


def _fused(function, *args):
    """function(*args) from the kernel that torch.compile generates for it; traced into the graph
    instead while torch.compile traces a caller. None where compiling failed on this device type:
    the caller then computes the same numbers with its PyTorch operations, and one warning says so.
    None as well for the wrapped tensors of a transform such as vmap (a batched backward,
    ``is_grads_batched=True`` in `kanlab.train.LevenbergMarquardt`), which a compiled function
    cannot take."""
    device = args[0].device.type
    if device in _COMPILE_FAILED:
        return None
    if torch.compiler.is_compiling():
        return function(*args)
    if any(_wrapped(a) for a in args if isinstance(a, Tensor)):
        return None
    try:
        return _compiled(function)(*args)
    except Exception as error:  # noqa: BLE001 (whatever stops the compiler, the fallback is exact)
        _COMPILE_FAILED.add(device)
        reason = f"{type(error).__name__}: {error}".strip().splitlines()[0]
        warnings.warn(f"torch.compile cannot generate the KAN features' kernel on {device} ({reason}); "
                      "PyTorch operations compute the same numbers there, more slowly", RuntimeWarning, stacklevel=2)
        return None


def _wrapped(tensor):
    """Whether tensor is the wrapper of a transform (vmap, legacy or not; torch.func.grad)."""
    functorch = torch._C._functorch
    return functorch.is_functorch_wrapped_tensor(tensor) or functorch.is_legacy_batchedtensor(tensor)


# The same pair as operators of torch.library, so that under torch.compile on the CPU the whole
# model stays one graph (the compiler calls an operator as it is, knowing only its output's shape,
# and the C kernels cannot be traced). Elsewhere the compiler traces the plain functions' PyTorch
# operations (`_fused_features` off the CPU, one generated kernel). In eager mode `_LayerProduct`
# calls the plain functions too: an operator's dispatch costs tens of microseconds per call, which
# small layers feel.
_edge_features = torch.library.custom_op("kanlab::edge_features", _features, mutates_args=())
_edge_features_grad = torch.library.custom_op("kanlab::edge_features_grad", _features_grad, mutates_args=())


@_edge_features.register_fake
def _edge_features_shape(x, grid, spline_order, uniform):
    return x.new_empty(x.shape[0], x.shape[1], grid.shape[-1] - spline_order)


@_edge_features_grad.register_fake
def _edge_features_grad_shape(x, grid, spline_order, uniform, grad):
    return torch.empty_like(x)


def _save_for_features_grad(ctx, inputs, output):
    x, grid, ctx.spline_order, ctx.uniform = inputs
    ctx.save_for_backward(x, grid)


def _features_backward(ctx, grad):
    x, grid = ctx.saved_tensors
    return _edge_features_grad(x, grid, ctx.spline_order, ctx.uniform, grad), None, None, None


_edge_features.register_autograd(_features_backward, setup_context=_save_for_features_grad)

# the devices whose features torch.compile calls as the operators above instead of tracing them
_OPERATOR_DEVICES = ("cpu",)


def _feature_functions(x):
    """The features and their gradient for x: operators under torch.compile on the CPU, else the
    plain functions."""
    if torch.compiler.is_compiling() and x.device.type in _OPERATOR_DEVICES:
        return _edge_features, _edge_features_grad
    return _features, _features_grad


# On the CPU, a product (N, K) @ (K, n) with few columns n is several times slower in MKL than the
# same product transposed, (n, K) @ (K, N) (measured for 2 <= n <= 12: 3x; from 16 on it is the
# other way round). Layers with fewer outputs than this take their products that way round.
_TRANSPOSED_BELOW = 16


def _transposed_product(x, out_features):
    """Whether a layer with out_features outputs takes y = (W^T F^T)^T and dL/dW^T = dL/dy^T F
    (True), or y = F W and dL/dW = F^T dL/dy."""
    return x.device.type == "cpu" and out_features < _TRANSPOSED_BELOW


def _kernels_take(*tensors):
    """Whether `kanlab.kernels` computes for these tensors (never while torch.compile traces)."""
    return not torch.compiler.is_compiling() and kernels.supports(*tensors)


def _weight_matrix(spline_weight, spline_scale, base_weight, edge_mask):
    """W^T (out, in * (G + k + 1)), the weights out-major as the parameters lie:
    W[i, b, j] = m_{j,i} w^s_{j,i} c_{j,i,b} for b < G + k and W[i, G + k, j] = m_{j,i} w^b_{j,i}.
    One pass of `kanlab.kernels` where it can and no gradient is to be taken through it
    (PyTorch's broadcasting products over the short last dimension are slow), else PyTorch
    operations."""
    if _kernels_take(spline_weight, spline_scale, base_weight, edge_mask) and not torch.is_grad_enabled():
        return kernels.edge_weights(spline_weight, spline_scale, base_weight, edge_mask)
    spline = spline_weight * (spline_scale * edge_mask).unsqueeze(-1)  # (out, in, G + k)
    base = (base_weight * edge_mask).unsqueeze(-1)  # (out, in, 1)
    return torch.cat([spline, base], dim=2).view(spline_weight.shape[0], -1)


def _weight_matrix_grad(grad_weights, spline_weight, spline_scale, edge_mask, out_major):
    """dL/dc, dL/dw^s, dL/dw^b from dL/dW^T (out, in * (G + k + 1)) if out_major, else from
    dL/dW (in * (G + k + 1), out)."""
    if _kernels_take(grad_weights, spline_weight, spline_scale, edge_mask):
        return kernels.edge_weights_grad(grad_weights, spline_weight, spline_scale, edge_mask, out_major)
    out_features, in_features, size = spline_weight.shape
    if out_major:
        grad = grad_weights.view(out_features, in_features, size + 1)
    else:
        grad = grad_weights.view(in_features, size + 1, out_features).permute(2, 0, 1)
    grad_spline = grad[..., :size]  # (out, in, G + k)
    grad_scale = (grad_spline * spline_weight).sum(-1) * edge_mask  # (no einsum: vmap cannot batch it)
    grad_base = grad[..., size] * edge_mask
    grad_spline = grad_spline * (spline_scale * edge_mask).unsqueeze(-1)
    # in the parameters' own layout: autograd copies a gradient whose strides differ from them
    return grad_spline.contiguous(), grad_scale.contiguous(), grad_base.contiguous()


def _refuse_graph_of_gradients():
    """A layer's backward computes its gradients outside autograd (C kernels, or PyTorch operations on
    saved tensors), so a graph of them (``create_graph=True``, as for a gradient penalty) would not
    reach the parameters: refused rather than silently wrong."""
    if torch.is_grad_enabled():
        raise RuntimeError("the gradients of a KAN layer cannot be differentiated again (create_graph=True, "
                           "e.g. for a gradient penalty): its backward pass is not built from autograd operations")


class _LayerProduct(torch.autograd.Function):
    """A layer's y = F(x) W as one autograd node: in eager mode the fixed cost of each node and
    operation is most of a small layer's step. Backward: dL/dF = dL/dy W^T gives dL/dx
    (`_features_grad`), and dL/dW = F^T dL/dy the parameters' gradients (`_weight_matrix_grad`).
    The weights are kept out-major, W^T; see `_transposed_product` for the products' order.
    torch.compile traces both passes (with the features as operators on the CPU:
    `_feature_functions`)."""

    @staticmethod
    def forward(ctx, x, grid, spline_order, uniform, spline_weight, spline_scale, base_weight, edge_mask):
        compute, _ = _feature_functions(x)
        features = compute(x, grid, spline_order, uniform).flatten(1)
        weights = _weight_matrix(spline_weight, spline_scale, base_weight, edge_mask)  # W^T
        transposed = _transposed_product(x, spline_weight.shape[0])
        ctx.spline_order, ctx.uniform, ctx.transposed = spline_order, uniform, transposed
        ctx.save_for_backward(x, grid, features, weights, spline_weight, spline_scale, edge_mask)
        return (weights @ features.t()).t().contiguous() if transposed else features @ weights.t()

    @staticmethod
    def backward(ctx, grad):
        _refuse_graph_of_gradients()
        x, grid, features, weights, spline_weight, spline_scale, edge_mask = ctx.saved_tensors
        grad_x, *grads = _product_grads(x, grid, ctx.spline_order, ctx.uniform, features, weights, spline_weight,
                                        spline_scale, edge_mask, ctx.transposed, grad, ctx.needs_input_grad[0])
        return grad_x, None, None, None, *grads, None


def _product_grads(x, grid, spline_order, uniform, features, weights, spline_weight, spline_scale, edge_mask,
                   transposed, grad, input_grad):
    """(dL/dx or None, dL/dc, dL/dw^s, dL/dw^b) of y = F(x) W from dL/dy, by products of PyTorch:
    dL/dF = dL/dy W^T gives dL/dx (`_features_grad`), and dL/dW = F^T dL/dy (taken as
    (dL/dy^T F)^T if transposed) the parameters' (`_weight_matrix_grad`). features: F flattened
    (N, in * (G + k + 1)); weights: W^T (out, in * (G + k + 1))."""
    grad_x = None
    if input_grad:
        width = grid.shape[-1] - spline_order  # G + k + 1 features per input
        grad_features = (grad @ weights).reshape(x.shape[0], x.shape[1], width)
        _, compute = _feature_functions(x)
        grad_x = compute(x, grid, spline_order, uniform, grad_features)
    grad_weights = grad.t() @ features if transposed else features.t() @ grad
    return grad_x, *_weight_matrix_grad(grad_weights, spline_weight, spline_scale, edge_mask, transposed)


def _batched_grads(x, grid, spline_order, uniform, weights, spline_weight, spline_scale, edge_mask, grad,
                   input_grad):
    """`_product_grads` for a dL/dy that the C kernels cannot read: the batched gradients of a
    transform such as vmap (``is_grads_batched=True`` in `kanlab.train.LevenbergMarquardt`), which
    have no memory of their own. weights: W^T (out, in * (G + k + 1)). Returns (dL/dx or None,
    (dL/dc, dL/dw^s, dL/dw^b))."""
    features = _features(x, grid, spline_order, uniform).flatten(1)
    grad_x, *grads = _product_grads(x, grid, spline_order, uniform, features, weights, spline_weight, spline_scale,
                                    edge_mask, True, grad, input_grad)
    return grad_x, grads


class _SparseLayerProduct(torch.autograd.Function):
    """The same y = F(x) W as `_LayerProduct`, from the C kernels' sparse product, which never
    writes F: each input meets only its k + 1 non-zero B-splines and silu, k + 2 rows of W
    (`kanlab.kernels.sparse_product`). Backward recomputes them for dL/dx and for dL/dW, from which
    the parameters' gradients follow in the same pass (`kanlab.kernels.sparse_product_edge_grads`).
    W is kept in-major here, (in * (G + k + 1), out)."""

    @staticmethod
    def forward(ctx, x, grid, spline_order, uniform, spline_weight, spline_scale, base_weight, edge_mask):
        weights = kernels.edge_weights(spline_weight, spline_scale, base_weight, edge_mask, out_major=False)
        ctx.spline_order, ctx.uniform = spline_order, uniform
        ctx.save_for_backward(x, grid, weights, spline_weight, spline_scale, edge_mask)
        return kernels.sparse_product(x, grid, spline_order, uniform, weights)

    @staticmethod
    def backward(ctx, grad):
        _refuse_graph_of_gradients()
        x, grid, weights, spline_weight, spline_scale, edge_mask = ctx.saved_tensors
        if _wrapped(grad):  # a batched dL/dy (is_grads_batched) has no memory for the C kernels
            grad_x, grads = _batched_grads(x, grid, ctx.spline_order, ctx.uniform, weights.t(), spline_weight,
                                           spline_scale, edge_mask, grad, ctx.needs_input_grad[0])
            return grad_x, None, None, None, *grads, None
        *grads, grad_x = kernels.sparse_product_edge_grads(
            x, grid, ctx.spline_order, ctx.uniform, weights, grad, spline_weight, spline_scale, edge_mask,
            input_grad=ctx.needs_input_grad[0],
        )
        return grad_x, None, None, None, *grads, None


# On the CPU a layer with at least this many outputs takes its product from the sparse kernels
# (`_SparseLayerProduct`), which hold a sample's row of y in vectors of outputs; one with fewer
# takes it from the narrow kernels (`_NarrowLayerProduct`), which hold vectors of samples. Each of
# a sample's inputs costs the sparse kernels a fixed amount (its cell, k + 1 values, its place in
# the backward sort) and saves G - 1 rows of `out` multiply-adds and F's trips to memory, so they
# win on wide layers: forward and backward of one layer, one thread, batch 1024 [64, 64] 0.67 to
# 0.78 of the dense path's time, batch 512 [784, 64] 0.68 to 0.76. On layers with 1 to 15 outputs
# the narrow kernels take 0.6 to 0.9 of the dense path's time (batch 4096 [2, 5] and [5, 1], batch
# 512 [64, 5] and [64, 10], batch 1024 [16, 15]).
_SPARSE_FROM_OUTPUTS = _TRANSPOSED_BELOW


class _NarrowLayerProduct(torch.autograd.Function):
    """The same y = F(x) W as `_LayerProduct` for a layer with few outputs, from the C kernels'
    narrow product, which vectorises over samples and reads the parameters itself: neither F nor W
    is written (`kanlab.kernels.narrow_product`, `narrow_product_grad`)."""

    @staticmethod
    def forward(ctx, x, grid, spline_order, uniform, spline_weight, spline_scale, base_weight, edge_mask):
        parameters = (spline_weight, spline_scale, base_weight, edge_mask)
        saved, y = _narrow_forward(x, grid, spline_order, uniform, parameters)
        ctx.spline_order, ctx.uniform = spline_order, uniform
        ctx.save_for_backward(*saved)
        return y

    @staticmethod
    def backward(ctx, grad):
        _refuse_graph_of_gradients()
        grad_x, grads = _narrow_backward(ctx.saved_tensors, ctx.spline_order, ctx.uniform, grad,
                                         ctx.needs_input_grad[0])
        return grad_x, None, None, None, *grads, None


def _narrow_forward(x, grid, spline_order, uniform, parameters):
    """(what backward needs, y) of one layer's narrow product: x and the knots as the kernels read
    them, and the parameters (spline_weight, spline_scale, base_weight, edge_mask), checked."""
    x, knots, parameters = kernels._check_narrow(x, grid, spline_order, *parameters)
    return (x, knots, *parameters), kernels._narrow_product(x, knots, spline_order, uniform, parameters)


def _narrow_backward(saved, spline_order, uniform, grad, input_grad):
    """(dL/dx or None, (dL/dc, dL/dw^s, dL/dw^b)) of one layer's narrow product from dL/dy and what
    `_narrow_forward` saved (checked there: the kernel is called directly)."""
    x, knots, *parameters = saved
    if _wrapped(grad):  # a batched dL/dy (is_grads_batched) has no memory for the C kernels
        spline_weight, spline_scale, _, edge_mask = parameters
        return _batched_grads(x, knots, spline_order, uniform, _weight_matrix(*parameters), spline_weight, spline_scale,
                              edge_mask, grad, input_grad)
    *grads, grad_x = kernels._narrow_product_grad(x, knots, spline_order, uniform, parameters, grad.contiguous(),
                                                  input_grad)
    return grad_x, grads


class _NarrowNetworkProduct(torch.autograd.Function):
    """The layers of a KAN that all take `_NarrowLayerProduct` (and have no symbolic edges, product
    nodes or hooks), as one autograd node: forward runs the layers' narrow products in a row, backward
    their gradients in reverse. The same kernels on the same operands give the same numbers to the
    bit; what goes is a module call, an autograd node and the Python of a layer per layer (a training
    step of batch 4096 [2, 5, 1] got 25-37 us, 3-6%, shorter on one and two threads).
    Operands: per layer (spline_order, uniform) in `layers`, and its grid, spline_weight,
    spline_scale, base_weight and edge_mask, layer after layer."""

    @staticmethod
    def forward(ctx, x, layers, *operands):
        saved = []
        for l, (spline_order, uniform) in enumerate(layers):
            grid, *parameters = operands[5 * l : 5 * l + 5]
            tensors, x = _narrow_forward(x, grid, spline_order, uniform, parameters)
            saved += tensors
        ctx.layers = layers
        ctx.save_for_backward(*saved)
        return x

    @staticmethod
    def backward(ctx, grad):
        _refuse_graph_of_gradients()
        saved, wanted = ctx.saved_tensors, ctx.needs_input_grad
        grads = [None] * len(wanted)
        for l in reversed(range(len(ctx.layers))):
            earlier = any(wanted[: 2 + 5 * l])  # x's or an earlier layer's gradient: dL/dx of this layer
            layer_saved = saved[6 * l : 6 * l + 6]
            grad, grads[3 + 5 * l : 6 + 5 * l] = _narrow_backward(layer_saved, *ctx.layers[l], grad, earlier)
            if not earlier:
                break
        grads[0] = grad if wanted[0] else None
        return tuple(grads)


def _product(x, grid, spline_order, parameters):
    """The autograd function that takes a layer's product: in eager mode on the CPU, where the C
    kernels take its tensors and k <= kernels.SPARSE_MOST_ORDER, `_SparseLayerProduct` for layers
    with at least _SPARSE_FROM_OUTPUTS (16) outputs and `_NarrowLayerProduct` for those with fewer
    (and G + k <= kernels.narrow_most_basis); else `_LayerProduct`."""
    if spline_order > kernels.SPARSE_MOST_ORDER or not _kernels_take(x, grid, *parameters):
        return _LayerProduct
    if parameters[0].shape[0] >= _SPARSE_FROM_OUTPUTS:
        return _SparseLayerProduct
    return _NarrowLayerProduct if _narrow(parameters[0], spline_order, x.dtype) else _LayerProduct


def _narrow(spline_weight, spline_order, dtype):
    """Whether a layer of these spline weights (out, in, G + k) takes `_NarrowLayerProduct` where the
    C kernels take its tensors (`_product`)."""
    out_features, _, size = spline_weight.shape
    return (out_features < _SPARSE_FROM_OUTPUTS and spline_order <= kernels.SPARSE_MOST_ORDER
            and size <= kernels.narrow_most_basis(dtype))


class KANLayer(nn.Module):
    r"""A layer of learnable edge functions phi_{j,i}(x_i) = w^b silu(x_i) + w^s spline_{j,i}(x_i).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        grid_size: number of grid intervals G on each input (>= 1).
        spline_order: order (degree) k of the B-splines (>= 0); 3 gives cubic splines.
        grid_range: (lo, hi), the initial range of every input's grid.
        noise_scale: initial spline coefficients are uniform in [-noise_scale / 2, noise_scale / 2] / G.
        generator: a torch.Generator for the initial parameters (None: torch's default generator).
        device, dtype: as for nn.Linear.
        positive_base: draw the base weights from U(0, 1) / sqrt(in_features) instead of U(-1, 1) /
            sqrt(in_features); `KAN` asks this of every layer after the first (see `reset_parameters`).

    Shape:
        Input (*, in_features); output (*, out_features).

    Raises ValueError for inputs holding NaN or inf, except inside a graph that torch.compile
    traced for a GPU (or any device but the CPU), and inside `kanlab.fit`'s steps wherever the
    features are PyTorch operations (`inputs_checked_upstream`: any device but the CPU, or a CPU
    without the C kernels): there the check, which needs the values on the host, is left out, and
    such inputs give NaN outputs as in nn.Linear. Forward and backward read no value on
    the host otherwise (no .item(), no branch on data), so a GPU never waits for Python.

    Attributes:
        grid: buffer (in_features, G + 2k + 1), each input's knots (`kanlab.splines`).
        base_weight: (out_features, in_features) w^b, initialised U(-1, 1) / sqrt(in_features), or
            U(0, 1) / sqrt(in_features) with positive_base.
        spline_weight: (out_features, in_features, G + k) the coefficients c, initialised to small noise.
        spline_scale: (out_features, in_features) w^s, initialised to 1 / sqrt(in_features).
        edge_mask: buffer (out_features, in_features) of ones; a 0 kills edge (j, i) for good, since
            it multiplies the edge in forward (its gradients are then zero too).

    These initial values follow pykan (base weights ~ 1/sqrt(in), small-noise splines).

    Example::

        >>> layer = KANLayer(2, 3, grid_size=5)
        >>> layer(torch.rand(10, 2)).shape
        torch.Size([10, 3])
    """

    def __init__(
        self,
        in_features,
        out_features,
        grid_size=5,
        spline_order=3,
        grid_range=(-1.0, 1.0),
        noise_scale=0.3,
        generator=None,
        device=None,
        dtype=None,
        positive_base=False,
    ):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        factory = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.out_features = out_features
        self.spline_order = spline_order
        self.noise_scale = noise_scale
        self.positive_base = positive_base
        self.register_buffer("grid", splines.uniform_grid(grid_size, spline_order, grid_range, in_features, **factory))
        self.register_buffer("edge_mask", torch.ones(out_features, in_features, **factory))
        self.base_weight = nn.Parameter(torch.empty(out_features, in_features, **factory))
        self.spline_weight = nn.Parameter(torch.empty(out_features, in_features, grid_size + spline_order, **factory))
        self.spline_scale = nn.Parameter(torch.empty(out_features, in_features, **factory))
        self.uniform = True
        self.register_load_state_dict_post_hook(_recheck_uniform)
        self.reset_parameters(generator)

    @property
    def grid_size(self):
        return self.grid.shape[-1] - 2 * self.spline_order - 1

    @property
    def grid_range(self):
        """Each input's (lo, hi): two tensors of shape (in_features,)."""
        k = self.spline_order
        return self.grid[:, k], self.grid[:, k + self.grid_size]

    def reset_parameters(self, generator=None):
        """w^b ~ U(-1, 1) / sqrt(in) (U(0, 1) / sqrt(in) with positive_base), c ~ U(-1/2, 1/2) *
        noise_scale / G, w^s = 1 / sqrt(in).

        Why positive_base for the layers whose inputs are hidden nodes (pykan draws every w^b from
        U(-1, 1) / sqrt(in)): silu is one-sided, about 0 for negative
        inputs, so a next-layer edge w^b silu(h) with w^b < 0 starts flat where its input h is
        negative and decreasing elsewhere. On a [2, 1, 1] KAN on exp(sin(pi x) + y^2) with the wider
        hidden grids of `KAN`, LBFGS settled in a minimum where the outer function folds (test RMSE
        ~0.6) in 3 of 8 seeds with base weights of either sign, in none with positive ones in its
        second layer. The first layer keeps both signs: positive there too, a [2, 2, 1] KAN's two
        hidden nodes start alike (both about silu(x) + silu(y)) and x * y = ((x + y)^2 - (x - y)^2) / 4,
        which needs one node to weigh x and y with opposite signs, was no longer found.
        """
        bound = 1 / math.sqrt(self.in_features)
        with torch.no_grad():
            low = 0.0 if self.positive_base else -bound
            self.base_weight.copy_(_uniform(self.base_weight.shape, low, bound, generator))
            half_width = 0.5 * self.noise_scale / self.grid_size
            self.spline_weight.copy_(_uniform(self.spline_weight.shape, -half_width, half_width, generator))
            self.spline_scale.fill_(bound)

    def edge_weights(self):
        """W (in * (G + k + 1), out), the right operand of y = F @ W: W[i, b, j] = m_{j,i} w^s_{j,i} c_{j,i,b}
        for b < G + k and W[i, G + k, j] = m_{j,i} w^b_{j,i}; a transposed view of out-major values.
        """
        return _weight_matrix(self.spline_weight, self.spline_scale, self.base_weight, self.edge_mask).t()

    def features(self, x):
        """F(x) (N, in * (G + k + 1)): every input's B-spline basis and then silu(x), input after input."""
        return _edge_features(x, self.grid, self.spline_order, self.uniform).flatten(1)

    def forward(self, x):
        _check_input(x, self.in_features, finite=False)  # the features check finiteness
        flat = x if x.ndim == 2 else x.reshape(-1, self.in_features)  # (a reshape costs a small layer ~1 us)
        parameters = (self.spline_weight, self.spline_scale, self.base_weight, self.edge_mask)
        product = _product(flat, self.grid, self.spline_order, parameters)
        y = product.apply(flat, self.grid, self.spline_order, self.uniform, *parameters)
        return y if x.ndim == 2 else y.reshape(*x.shape[:-1], self.out_features)

    def edge_activations(self, x):
        r"""phi_{j,i}(x_i) for every sample and edge: (batch, in) -> (batch, out, in).

        Memory batch * out * in, by design: this is for statistics, regularisation and plots.
        Computed as one batched product per input, F(x)[:, i, :] @ W[i] (the features and weights of
        `forward`, not the sum over inputs), so the sparsity penalty costs little more than a forward pass.
        """
        _check_input(x, self.in_features, finite=False)  # the features check finiteness
        features = _edge_features(x, self.grid, self.spline_order, self.uniform)  # (batch, in, G + k + 1)
        weights = _weight_matrix(self.spline_weight, self.spline_scale, self.base_weight, self.edge_mask)
        weights = weights.view(self.out_features, self.in_features, -1)  # (out, in, G + k + 1)
        return torch.bmm(features.transpose(0, 1), weights.permute(1, 2, 0)).permute(1, 2, 0)

    @torch.no_grad()
    def update_grid(self, x, grid_eps=1.0):
        r"""Move each input's grid to the samples x (batch, in), keeping every edge's function.

        The new interior knots are grid_eps * (uniform knots on [min x_i, max x_i])
        + (1 - grid_eps) * (the G + 1 sample quantiles of x_i). The default grid_eps = 1 gives a
        uniform grid on the samples' range (the fast path); the KAN paper's code uses 0.02, knots
        almost at the quantiles. Quantiles of random samples jitter (about +-15% of an interval for
        G = 20 and 1000 samples), and the jitter costs accuracy: pykan's grid-extension example
        (`tests/test_accuracy.py`, seeds 0-4) ends at test RMSE 5e-5 to 9e-5 at G = 20 in float32
        with 0.02, against 1.9e-5 to 2.1e-5 with 1. The spline coefficients are then refitted by
        least squares so that every edge's spline agrees with the old one on the samples.
        """
        _check_input(x, self.in_features)
        if not 0 < grid_eps <= 1:
            raise ValueError(f"grid_eps must be in (0, 1], got {grid_eps!r}")
        if x.shape[0] < 2:
            raise ValueError(f"x must hold at least 2 samples to place a grid, got {x.shape[0]}")
        old_splines = splines.evaluate(x, self.grid, self.spline_weight, self.spline_order, self.uniform)
        ordered = x.sort(dim=0).values  # (batch, in)
        lo, hi = ordered[0], ordered[-1]
        spread = (hi - lo).clamp_min(1e-4 * (1 + hi.abs()))  # a constant input still gets a grid
        steps = torch.linspace(0, 1, self.grid_size + 1, dtype=x.dtype, device=x.device)
        uniform = lo[:, None] + spread[:, None] * steps
        positions = torch.linspace(0, x.shape[0] - 1, self.grid_size + 1, device=x.device).round().long()
        adaptive = ordered[positions].t()
        interior = grid_eps * uniform + (1 - grid_eps) * adaptive
        self._set_grid(splines.extend_grid(interior, self.spline_order), uniform=grid_eps == 1)
        self.spline_weight.copy_(splines.fit_coefficients(x, old_splines, self.grid, self.spline_order))

    @torch.no_grad()
    def refine(self, grid_size):
        """A copy of this layer on a grid of grid_size intervals over the same ranges, same functions.

        Knots are placed by interpolating the old interior knots linearly in their index (uniform
        stays uniform); coefficients are fitted by least squares on 20 * (G + k) points per input.
        """
        splines._check_grid_arguments(grid_size, self.spline_order)
        k = self.spline_order
        interior = self.grid[:, k : k + self.grid_size + 1]
        position = torch.linspace(0, self.grid_size, grid_size + 1, dtype=self.grid.dtype, device=self.grid.device)
        below = position.floor().clamp(max=self.grid_size - 1).long()
        fraction = position - below
        new_interior = interior[:, below] * (1 - fraction) + interior[:, below + 1] * fraction
        finer = copy.deepcopy(self)
        finer._set_grid(splines.extend_grid(new_interior, k), uniform=self.uniform)
        lo, hi = self.grid_range
        samples = 20 * (grid_size + k)
        x = lo + (hi - lo) * torch.linspace(0, 1, samples, dtype=self.grid.dtype, device=self.grid.device)[:, None]
        old_splines = splines.evaluate(x, self.grid, self.spline_weight, k, self.uniform)
        finer.spline_weight = nn.Parameter(splines.fit_coefficients(x, old_splines, finer.grid, k))
        return finer

    def _set_grid(self, grid, uniform):
        self.grid = grid.contiguous()
        self.uniform = uniform and splines.is_uniform(self.grid)

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"grid_size={self.grid_size}, spline_order={self.spline_order}"
        )


def _recheck_uniform(module, incompatible_keys):
    module.uniform = splines.is_uniform(module.grid)


class KAN(nn.Module):
    r"""A Kolmogorov-Arnold network: KAN layers of the given widths applied in turn.

    Args:
        widths: [n_0, n_1, ..., n_L], at least two; layer l maps n_{l-1} to n_l features. A hidden
            entry may be a tuple (a, m): a sum nodes and m multiplication nodes (KAN 2.0's MultKAN,
            `kanlab.multiplication`). The KAN layer below such a node layer then has a + 2m
            outputs, the sums s_0, ..., s_{a+2m-1}; node j < a passes s_j on, and product node p
            passes on

                z_{a+p} = s_{a+2p} * s_{a+2p+1}.

            (a, m, r) multiplies r sums per product node (r >= 2). ``KAN([2, (0, 1), 1])`` is one
            product of two sums of edge functions of x and y, so x * y is in its reach exactly.
        grid_size, spline_order, noise_scale: as for `KANLayer`, shared by all layers.
        grid_range: (lo, hi), the initial grid range of the first layer, whose inputs are the data.
        hidden_grid_range: (lo, hi), the initial grid range of every later layer. Wider than the
            data's: a hidden node sums several edges and moves far during the first steps, and an
            outer function whose grid hugs the hidden node's small initial range is flexible enough
            to fold there, a poor minimum that LBFGS does not leave. Measured on a [2, 1, 1] KAN on
            exp(sin(pi x) + y^2), 40 LBFGS steps, seeds 0-7: with (-1, 1) and base weights of either
            sign 6 of 8 seeds stalled at test RMSE ~0.6; with (-4, 4) 3 of 8; with (-4, 4) and
            positive base weights in the later layers (see `KANLayer.reset_parameters`) none
            (0.015-0.03). Grid updates
            in `kanlab.fit` later move every grid to its layer's inputs.
        seed: seeds a local torch.Generator for the initial parameters (the global RNG is untouched).
        device, dtype: as for nn.Linear.

    Shape:
        Input (*, n_0); output (*, n_L).

    Attributes:
        widths: the nodes per layer, ints (a + m where a layer has products); the outputs of
            ``layers[l]`` are the sums of node layer l + 1, a + r m of them.
        products, arities: per node layer, the number m of multiplication nodes (0 for a layer of
            sums) and their arity r.
        layers: nn.ModuleList of `KANLayer`.
        symbolic: nn.ModuleList of `kanlab.symbolic.SymbolicEdges`, one per layer: the edges snapped
            to formulas, added to their layer's output (their spline is masked off).

    Example::

        >>> model = KAN([2, 5, 1], grid_size=5, seed=0)
        >>> model(torch.rand(100, 2)).shape
        torch.Size([100, 1])
    """

    def __init__(
        self,
        widths,
        grid_size=5,
        spline_order=3,
        grid_range=(-1.0, 1.0),
        noise_scale=0.3,
        seed=0,
        hidden_grid_range=(-4.0, 4.0),
        device=None,
        dtype=None,
    ):
        super().__init__()
        widths = list(widths) if isinstance(widths, (list, tuple)) else widths
        if not isinstance(widths, list) or len(widths) < 2:
            raise ValueError(f"widths must be a list of at least two layer widths, got {widths!r}")
        generator = torch.Generator().manual_seed(seed)
        self.widths, self.products, self.arities = multiplication.parse_widths(widths)
        sums = [n + (r - 1) * m for n, m, r in zip(self.widths, self.products, self.arities)]  # a + r m
        self.layers = nn.ModuleList(
            KANLayer(n_in, n_out, grid_size, spline_order, hidden_grid_range if l else grid_range, noise_scale,
                     generator, device, dtype, positive_base=l > 0)
            for l, (n_in, n_out) in enumerate(zip(self.widths[:-1], sums[1:]))
        )
        self.symbolic = nn.ModuleList(
            SymbolicEdges(n_in, n_out, device, dtype) for n_in, n_out in zip(self.widths[:-1], sums[1:])
        )
        self.spline_order = spline_order
        self.grid_range = tuple(float(v) for v in grid_range)
        self.hidden_grid_range = tuple(float(v) for v in hidden_grid_range)
        self.noise_scale = noise_scale
        self.seed = seed

    @property
    def grid_size(self):
        return self.layers[0].grid_size

    def config(self):
        """The constructor arguments that rebuild this architecture (used by `kanlab.save`)."""
        return {
            "widths": multiplication.widths_config(self.widths, self.products, self.arities),
            "grid_size": self.grid_size,
            "spline_order": self.spline_order,
            "grid_range": self.grid_range,
            "noise_scale": self.noise_scale,
            "seed": self.seed,
            "hidden_grid_range": self.hidden_grid_range,
        }

    def forward(self, x):
        narrow = self._narrow_network(x)
        if narrow is not None:  # every layer takes the narrow kernels: one autograd node for them all
            return _NarrowNetworkProduct.apply(x, *narrow)
        for l, (layer, symbolic) in enumerate(zip(self.layers, self.symbolic)):
            y = layer(x)
            y = y + symbolic(x) if len(symbolic.edges) else y  # no extra work while no edge is symbolic
            x = self.node_values(l + 1, y)
        return x

    def _narrow_network(self, x):
        """The arguments after x of `_NarrowNetworkProduct` ((spline_order, uniform) per layer, then
        every layer's grid and parameters) when each layer would take `_NarrowLayerProduct` for
        x (N, n_0) and nothing sees the layers one by one (symbolic edges, product nodes, hooks, a
        subclass's forward), so that it computes the same; else None. This runs every forward pass,
        so it reads the modules' tensors from their dictionaries: nn.Module.__getattr__ costs about
        a microsecond a name in a training step, and a small network's step felt the thirteen names
        of each layer (batch 4096 [2, 5, 1]: 30 us of 720 on two threads)."""
        if torch.compiler.is_compiling() or not isinstance(x, Tensor) or x.ndim != 2 or _hooks_anywhere(self):
            return None  # (torch.compile traces the layers one by one)
        layers, operands = [], []
        modules = self._modules
        pairs = zip(modules["layers"]._modules.values(), modules["symbolic"]._modules.values(), self.products[1:])
        for layer, symbolic, products in pairs:
            parameters, buffers = layer._parameters, layer._buffers
            spline_weight = parameters["spline_weight"]
            if (type(layer) is not KANLayer or products or len(symbolic._buffers["edges"]) or _hooks_anywhere(layer)
                    or not _narrow(spline_weight, layer.spline_order, x.dtype)):
                return None
            layers.append((layer.spline_order, layer.uniform))
            operands += (buffers["grid"], spline_weight, parameters["spline_scale"], parameters["base_weight"],
                         buffers["edge_mask"])
        if not kernels.supports(x, *operands):
            return None
        _check_input(x, self.layers[0].in_features, finite=False)  # (the kernels check finiteness)
        return (tuple(layers), *operands)

    def node_values(self, layer, sums):
        """The values of node layer `layer` (1 to L) from the sums of ``layers[layer - 1]``: the sums
        themselves, or with products (`kanlab.multiplication.node_values`)."""
        return multiplication.node_values(self, layer, sums) if self.products[layer] else sums

    def layer_inputs(self, x):
        """The input of every layer for the samples x: a list of len(layers) tensors (batch, n_{l-1})."""
        inputs = []
        for l, (layer, symbolic) in enumerate(zip(self.layers, self.symbolic)):
            inputs.append(x)
            x = self.node_values(l + 1, layer(x) + symbolic(x))
        return inputs

    def edge_activations(self, x):
        """phi_{j,i}(x_i) of every edge, spline or symbolic: one (batch, n_l, n_{l-1}) tensor per layer
        (n_l: the layer's outputs, which are a + r m sums where the nodes above hold products)."""
        activations = []
        for l, (layer, symbolic) in enumerate(zip(self.layers, self.symbolic)):
            activations.append(layer.edge_activations(x))
            if len(symbolic.edges):
                activations[-1] = activations[-1] + symbolic.edge_activations(x)
            x = self.node_values(l + 1, activations[-1].sum(dim=-1))
        return activations

    def prune(self, node_threshold=1e-2, edge_threshold=3e-2, x=None):
        """A smaller KAN without the unimportant hidden nodes and with dead edges masked off;
        see `kanlab.pruning.prune` (x: the samples that measure importance). A multiplication node is
        kept or removed whole, with the sums it multiplies."""
        return pruning.prune(self, node_threshold, edge_threshold, x)

    @torch.no_grad()
    def update_grid(self, x, grid_eps=1.0):
        """Move every layer's grid to the distribution of its inputs on the samples x (see
        `KANLayer.update_grid`); the network's function is kept. After a layer of product nodes the
        next grid follows the products."""
        for l, (layer, symbolic) in enumerate(zip(self.layers, self.symbolic)):
            layer.update_grid(x, grid_eps)
            x = self.node_values(l + 1, layer(x) + symbolic(x))

    def refine(self, grid_size):
        """Grid extension: a new KAN with grid_size intervals per input computing the same function."""
        finer = copy.deepcopy(self)
        finer.layers = nn.ModuleList(layer.refine(grid_size) for layer in self.layers)
        return finer

    def extra_repr(self):
        widths = multiplication.widths_config(self.widths, self.products, self.arities)
        return f"widths={widths}, grid_size={self.grid_size}, spline_order={self.spline_order}"


def _uniform(shape, low, high, generator):
    return torch.rand(shape, generator=generator, dtype=torch.float64).mul_(high - low).add_(low)


def _hooks_anywhere(module):
    """Whether calling module would run hooks: its own forward or backward hooks, or global ones."""
    hooks = nn.modules.module
    return bool(
        module._forward_hooks or module._forward_pre_hooks or module._backward_hooks or module._backward_pre_hooks
        or hooks._global_forward_hooks or hooks._global_forward_pre_hooks or hooks._global_backward_hooks
        or hooks._global_backward_pre_hooks
    )


def _check_input(x, in_features, finite=True):
    """Type, dtype and shape of x; with finite, also that it holds no NaN or inf (the features
    check that themselves, in the same pass)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim < 1 or x.shape[-1] != in_features:
        raise ValueError(f"x must have shape (..., {in_features}), got {tuple(x.shape)}")
    if finite:
        _check_finite(x)


@contextlib.contextmanager
def inputs_checked_upstream():
    """Inside this context the layers' forward pass on their PyTorch path (a GPU, or the CPU
    without the C kernels) leaves out its finiteness check, which reads a value back from the
    device and makes it wait (grid updates still check their samples).
    `kanlab.fit` trains in it: its data were checked before the first step, and a non-finite value
    inside the network shows in the loss, which fit watches. (The C kernels check every input in
    the pass that reads it, at no cost, and keep doing so.)"""
    global _UPSTREAM_CHECKS
    _UPSTREAM_CHECKS += 1
    try:
        yield
    finally:
        _UPSTREAM_CHECKS -= 1


_UPSTREAM_CHECKS = 0


def _check_finite(x):
    """One pass: NaN propagates through aminmax, and inf shows in it. Left out of what torch.compile
    traces, since it needs the values on the host, which would split the graph and stall a GPU at
    every layer; non-finite inputs then give non-finite outputs, as in nn.Linear. (On the CPU the
    features' operator is not traced: it runs the check whenever the graph runs.)"""
    if torch.compiler.is_compiling():
        return
    if x.numel():
        low, high = torch.aminmax(x)
        if not (math.isfinite(low.item()) and math.isfinite(high.item())):
            raise ValueError("x must be finite, but it holds NaN or inf values")
