r"""C kernels for a KAN layer's features and weights on the CPU, compiled on first use.

A KAN layer's step is one matmul with the features F = [B_0(x_i), ..., B_{G+k-1}(x_i), silu(x_i)]
plus the work of building them. In PyTorch that work is a dozen passes over memory and k + 1
scatters, each far slower per element than the matmul. `bspline_kernels.c` builds a sample's
whole row of F in one pass: each input's cell, its k + 1 non-zero B-spline values (Horner's rule
on a uniform grid, de Boor's scheme on any other) and silu(x), written side by side; backward
reads dL/dF at the same places:

    dL/dx_{n,i} = sum_r dL/dF[n, i, first + r] B'_{first + r}(x_{n,i}) + dL/dF[n, i, G + k] silu'(x_{n,i}).

A second pair of kernels lays the layer's parameters out as the matmul's weights W, and takes
their gradients from dL/dW, in one pass each (`edge_weights`, `edge_weights_grad`): PyTorch's
broadcasting products over the short G + k axis take several slow passes.

A third pair skips F altogether (`sparse_product`, `sparse_product_grad`). Each input has only
k + 1 non-zero B-splines, so y = F W adds k + 2 rows of W (in-major, the rows of an input side by
side) per input and sample instead of G + k + 1, and backward recomputes the values instead of
reading F back: dL/dW sums each input's samples cell by cell, once they are sorted by cell, with the
k + 1 rows of a cell in registers, and stores every row of dL/dW once
(`sparse_product_edge_grads` turns a block of inputs' rows of dL/dW into the parameters'
gradients while they are in the cache, so dL/dW never goes to memory). On a layer with many
outputs this is 5/9 of the dense product's multiply-adds (G = 5, k = 3) and none of F's trips to
memory; `kanlab.kan` takes it for layers with 16 outputs or more and order k <= 7.

A fourth pair is for layers with fewer outputs (`narrow_product`, `narrow_product_grad`), whose
row of y is shorter than a vector: it vectorises over samples instead, computes a vector of
samples' cells, B-splines and silu in registers (on a uniform grid), and picks each sample's k + 1
weights from input i's G + k spline weights for an output, held in two vectors (G + k <= 32 in
float32, 16 in float64), by a permutation. It reads the parameters c, w^s, w^b and the mask
itself, so neither F nor W is ever written, and gives their gradients directly.

The numbers are those of `kanlab.splines` and `torch.nn.functional.silu` (the tests compare them
to rounding), so the kernels only make things faster. Without a C compiler, on other devices,
for other dtypes, or with KANLAB_KERNELS=0 in the environment, kanlab computes the same numbers
in PyTorch.

The source is plain C (no Python or torch headers): `cc -O3 -fopenmp -march=native` builds it in
about a second per dtype, once per source version and machine, into a cache folder
($KANLAB_CACHE_DIR, else ~/.cache/kanlab), and ctypes loads it. OpenMP threads follow
`torch.get_num_threads()`; each sample (each edge for the weights, each input for dL/dW)
belongs to one thread, so the results do not depend on the number of threads.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import pathlib
import platform
import shlex
import subprocess
import sysconfig
import tempfile

import torch

from kanlab import splines

__all__ = [
    "available",
    "unavailable_reason",
    "supports",
    "write_features",
    "features_grad",
    "edge_weights",
    "edge_weights_grad",
    "sparse_product",
    "sparse_product_grad",
    "sparse_product_edge_grads",
    "narrow_product",
    "narrow_product_grad",
    "narrow_most_basis",
]

SOURCE = pathlib.Path(__file__).with_name("bspline_kernels.c")
# tried in turn: tuned for this CPU with OpenMP threads, then more portable builds
# (-fno-trapping-math lets the compiler vectorise the branch-free selects; it changes no result.
# -mprefer-vector-width=512: GCC's tuning for Intel's AVX-512 CPUs vectorises loops 256 bits wide;
# 512 makes the step of (a) and (c) of benchmarks/kan_layer_speed.py 15-20% shorter on an Intel
# Xeon, with the same numbers to the bit; CPUs without AVX-512 ignore it)
FLAG_SETS = (
    ["-O3", "-fno-trapping-math", "-fno-tree-loop-distribute-patterns", "-march=native", "-mprefer-vector-width=512",
     "-fopenmp"],
    ["-O3", "-fno-trapping-math", "-fno-tree-loop-distribute-patterns", "-fopenmp"],
    ["-O3", "-fno-trapping-math", "-fno-tree-loop-distribute-patterns"],
)
# the highest spline order that sparse_product_grad takes (its sums over k + 1 rows stay in registers)
SPARSE_MOST_ORDER = 7
_REAL = {torch.float32: ["-DREAL=float"], torch.float64: ["-DREAL=double", "-DREAL_IS_DOUBLE=1"]}


def available(dtype=torch.float32):
    """True when the kernels for dtype are loaded (building them now if need be)."""
    return dtype in _REAL and _library(dtype)[0] is not None


def unavailable_reason(dtype=torch.float32):
    """Why the kernels for dtype are not in use (None when they are)."""
    if dtype not in _REAL:
        return f"the kernels take float32 and float64, not {dtype}"
    return _library(dtype)[1]


def supports(*tensors):
    """True when the kernels can take these tensors: CPU tensors of one dtype, float32 or float64,
    with memory of their own (not the wrappers of a transform such as vmap), and the kernels for
    that dtype are available."""
    dtype = tensors[0].dtype
    for tensor in tensors:  # (a loop, not all(...): this runs several times per step)
        if not tensor.is_cpu or tensor.dtype != dtype or not _has_storage(tensor):
            return False
    return available(dtype)


def write_features(x, grid, spline_order, uniform, out=None):
    """The features F (N, in, G + k + 1) of `kanlab.kan`: F[n, i, b] = B_b(x_{n,i}) for b < G + k,
    F[n, i, G + k] = silu(x_{n,i}). Raises ValueError if x holds NaN or inf.

    Shape: x (N, in), grid (in, G + 2k + 1). `out`, if given, receives F; its rows may be strided,
    but each row (in, G + k + 1) must be contiguous.
    """
    size = grid.shape[-1] - spline_order - 1
    if out is None and x.ndim == 2:
        out = x.new_empty(x.shape[0], x.shape[1], size + 1)
    _check_rows("out", out, x, grid, size + 1)
    x = x.contiguous()
    knots, matrix = _grid_operands(grid, spline_order, x.dtype, slopes=False)
    _call(
        "write_features", x.dtype, x, knots, matrix, int(uniform), x.shape[0], x.shape[1],
        grid.shape[-1] - 1, spline_order, out, out.stride(0), torch.get_num_threads(),
    )  # fmt: skip
    return out


def features_grad(x, grid, spline_order, uniform, grad):
    """dL/dx (N, in) from dL/dF (N, in, G + k + 1), laid out as `write_features`'s out."""
    _check_rows("grad", grad, x, grid, grid.shape[-1] - spline_order)
    x = x.contiguous()
    grad_x = torch.empty_like(x)
    knots, matrix = _grid_operands(grid, spline_order, x.dtype, slopes=True)
    _call(
        "features_grad", x.dtype, x, knots, matrix, int(uniform), x.shape[0], x.shape[1],
        grid.shape[-1] - 1, spline_order, grad, grad.stride(0), grad_x, torch.get_num_threads(),
    )  # fmt: skip
    return grad_x


def edge_weights(spline_weight, spline_scale, base_weight, edge_mask, out_major=True):
    """A layer's weights from its parameters, as `kanlab.kan._weight_matrix` computes them:
    W[i, b, j] = m_{j,i} w^s_{j,i} c_{j,i,b} for b < G + k and W[i, G + k, j] = m_{j,i} w^b_{j,i};
    out-major, W^T (out, in * (G + k + 1)), if out_major, else in-major, W (in * (G + k + 1), out),
    as `sparse_product` reads them."""
    operands = [t.contiguous() for t in (spline_weight, spline_scale, base_weight, edge_mask)]
    weights = spline_weight.new_empty(_check_edges(*operands, out_major=out_major))
    _call("edge_weights", spline_weight.dtype, *operands, *spline_weight.shape, int(out_major), weights,
          torch.get_num_threads())  # fmt: skip
    return weights


def edge_weights_grad(grad, spline_weight, spline_scale, edge_mask, out_major):
    """(dL/dc, dL/dw^s, dL/dw^b) from dL/dW^T (out, in * (G + k + 1)) if out_major, else from
    dL/dW (in * (G + k + 1), out): dL/dc = m w^s dL/dW, dL/dw^s = m sum_b c_b dL/dW_b and
    dL/dw^b = m dL/dW at the silu row."""
    operands = [t.contiguous() for t in (spline_weight, spline_scale, edge_mask)]
    shape = _check_edges(*operands, out_major=out_major)
    if grad.shape != shape or grad.dtype != spline_weight.dtype:
        raise ValueError(
            f"grad must have shape {shape} and dtype {spline_weight.dtype}, got {tuple(grad.shape)}, {grad.dtype}"
        )
    grads = torch.empty_like(operands[0]), torch.empty_like(operands[1]), torch.empty_like(operands[1])
    _call("edge_weights_grad", spline_weight.dtype, grad.contiguous(), *operands, *spline_weight.shape,
          int(out_major), *grads, torch.get_num_threads())  # fmt: skip
    return grads


def sparse_product(x, grid, spline_order, uniform, weights):
    """y = F(x) W (N, out) without writing F: each input meets only its k + 1 non-zero B-splines
    and silu,

        y[n, :] = sum_i ( silu(x_{n,i}) W[i, G + k, :] + sum_{r=0..k} B_{c+r}(x_{n,i}) W[i, c + r, :] ),

    c the first B-spline that can be non-zero at x_{n,i}: in * (k + 2) rows of W per sample, not
    in * (G + k + 1). Shape: x (N, in), grid (in, G + 2k + 1), weights in-major (in * (G + k + 1),
    out) (`edge_weights` with out_major=False). Raises ValueError if x holds NaN or inf.
    """
    _check_sparse(x, grid, spline_order, weights)
    x = x.contiguous()
    y = x.new_empty(x.shape[0], weights.shape[1])
    knots, matrix = _grid_operands(grid, spline_order, x.dtype, slopes=False)
    _call(
        "sparse_product", x.dtype, x, knots, matrix, int(uniform), x.shape[0], x.shape[1],
        grid.shape[-1] - 1, spline_order, weights.contiguous(), weights.shape[1], y, torch.get_num_threads(),
    )  # fmt: skip
    return y


def sparse_product_grad(x, grid, spline_order, uniform, weights, grad, input_grad=True):
    """(dL/dW, dL/dx) of `sparse_product` from dL/dy (N, out), recomputing the B-splines:

        dL/dW[i, c + r, :] = sum_n B_{c+r}(x_{n,i}) dL/dy[n, :],  dL/dW[i, G + k, :] = sum_n silu(x_{n,i}) dL/dy[n, :],
        dL/dx_{n,i} = sum_r B'_{c+r}(x_{n,i}) <W[i, c + r, :], dL/dy[n, :]> + silu'(x_{n,i}) <W[i, G + k, :], dL/dy[n, :]>.

    dL/dW is in-major like weights; dL/dx is None unless input_grad.
    """
    _check_sparse(x, grid, spline_order, weights)
    grad_weights = torch.empty_like(weights, memory_format=torch.contiguous_format)
    grad_x = torch.empty_like(x, memory_format=torch.contiguous_format) if input_grad else None
    _sparse_product_grad(x, grid, spline_order, uniform, weights, grad, grad_weights, grad_x)
    return grad_weights, grad_x


def sparse_product_edge_grads(x, grid, spline_order, uniform, weights, grad, spline_weight, spline_scale, edge_mask,
                              input_grad=True):
    """(dL/dc, dL/dw^s, dL/dw^b, dL/dx) of `sparse_product`, with W = `edge_weights(spline_weight,
    spline_scale, base_weight, edge_mask, out_major=False)`: the parameters' gradients that
    `edge_weights_grad` takes from `sparse_product_grad`'s dL/dW, computed a block of inputs at a
    time while their rows of dL/dW are in the cache, so that dL/dW is never written to memory.
    dL/dx is None unless input_grad.
    """
    _check_sparse(x, grid, spline_order, weights)
    edges = [t.contiguous() for t in (spline_weight, spline_scale, edge_mask)]
    if _check_edges(*edges, out_major=False) != weights.shape:
        raise ValueError(
            f"spline_weight must be (out, in, G + k) = ({weights.shape[1]}, {x.shape[1]}, "
            f"{grid.shape[-1] - spline_order - 1}), got {tuple(spline_weight.shape)}"
        )
    grads = torch.empty_like(edges[0]), torch.empty_like(edges[1]), torch.empty_like(edges[1])
    grad_x = torch.empty_like(x, memory_format=torch.contiguous_format) if input_grad else None
    _sparse_product_grad(x, grid, spline_order, uniform, weights, grad, None, grad_x, edges, grads)
    return (*grads, grad_x)


def _sparse_product_grad(x, grid, spline_order, uniform, weights, grad, grad_weights, grad_x, edges=(None,) * 3,
                         edge_grads=(None,) * 3):
    """The kernel behind `sparse_product_grad` and `sparse_product_edge_grads`: dL/dW into
    grad_weights, or, with the edges (c, w^s, m) given, their gradients into edge_grads; dL/dx into
    grad_x unless it is None. Checks grad against x and weights."""
    if grad.shape != (x.shape[0], weights.shape[1]) or grad.dtype != x.dtype:
        raise ValueError(
            f"grad must have shape {(x.shape[0], weights.shape[1])} and dtype {x.dtype}, "
            f"got {tuple(grad.shape)}, {grad.dtype}"
        )
    _call(
        "sparse_product_grad", x.dtype, x.contiguous(), grid.to(x.dtype).contiguous(), _matrices(spline_order, x.dtype),
        int(uniform), x.shape[0], x.shape[1], grid.shape[-1] - 1, spline_order, weights.contiguous(), weights.shape[1],
        grad.contiguous(), grad_weights, grad_x, *edges, *edge_grads, torch.get_num_threads(),
    )  # fmt: skip


def narrow_product(x, grid, spline_order, uniform, spline_weight, spline_scale, base_weight, edge_mask):
    """y = F(x) W (N, out) for a layer with few outputs, from its parameters (W is never formed):

        y[n, j] = sum_i m_{j,i} ( w^b_{j,i} silu(x_{n,i}) + w^s_{j,i} sum_{r=0..k} c_{j,i,c+r} B_{c+r}(x_{n,i}) ),

    vectorised over samples, each sample's k + 1 weights picked from input i's G + k spline weights
    held in two vectors (so G + k is at most `narrow_most_basis(dtype)`). Shape: x (N, in), grid
    (in, G + 2k + 1), spline_weight (out, in, G + k), the other parameters (out, in). Raises
    ValueError if x holds NaN or inf.
    """
    x, knots, parameters = _check_narrow(x, grid, spline_order, spline_weight, spline_scale, base_weight, edge_mask)
    return _narrow_product(x, knots, spline_order, uniform, parameters)


def _narrow_product(x, knots, spline_order, uniform, parameters):
    """`narrow_product` of the operands that `_check_narrow` returned (a layer's forward checks
    them once, and its backward passes the same tensors to `_narrow_product_grad`)."""
    spline_weight, spline_scale, base_weight, edge_mask = parameters
    y = x.new_empty(x.shape[0], spline_weight.shape[0])
    rows, in_features = x.shape
    status = _library(x.dtype)[0].narrow_product(
        x.data_ptr(), knots.data_ptr(), _matrices(spline_order, x.dtype).data_ptr(), int(uniform), rows, in_features,
        knots.shape[-1] - 1, spline_order, spline_weight.data_ptr(), spline_scale.data_ptr(), base_weight.data_ptr(),
        edge_mask.data_ptr(), y.shape[1], y.data_ptr(), torch.get_num_threads(),
    )  # fmt: skip
    _raise_for("narrow_product", status)
    return y


def narrow_product_grad(x, grid, spline_order, uniform, spline_weight, spline_scale, base_weight, edge_mask, grad,
                        input_grad=True):
    """(dL/dc, dL/dw^s, dL/dw^b, dL/dx) of `narrow_product` from dL/dy (N, out): with
    dL/dW[i, b, j] = sum_n F[n, i, b] dL/dy[n, j] (the dense basis of each vector of samples, by
    comparisons), the parameters' gradients as `edge_weights_grad` gives them, and

        dL/dx_{n,i} = sum_j dL/dy[n, j] ( W[i, G + k, j] silu'(x_{n,i}) + sum_r W[i, c + r, j] B'_{c+r}(x_{n,i}) ).

    dL/dx is None unless input_grad.
    """
    x, knots, parameters = _check_narrow(x, grid, spline_order, spline_weight, spline_scale, base_weight, edge_mask)
    shape = (x.shape[0], spline_weight.shape[0])
    if grad.shape != shape or grad.dtype != x.dtype:
        raise ValueError(f"grad must have shape {shape} and dtype {x.dtype}, got {tuple(grad.shape)}, {grad.dtype}")
    return _narrow_product_grad(x, knots, spline_order, uniform, parameters, grad.contiguous(), input_grad)


def _narrow_product_grad(x, knots, spline_order, uniform, parameters, grad, input_grad):
    """`narrow_product_grad` of the operands that `_check_narrow` returned and of a contiguous
    dL/dy (rows, out) of their dtype."""
    spline_weight, spline_scale, base_weight, edge_mask = parameters
    grads = [torch.empty_like(spline_weight), torch.empty_like(spline_scale), torch.empty_like(spline_scale)]
    grad_x = torch.empty_like(x) if input_grad else None
    rows, in_features = x.shape
    status = _library(x.dtype)[0].narrow_product_grad(
        x.data_ptr(), knots.data_ptr(), _matrices(spline_order, x.dtype).data_ptr(), int(uniform), rows, in_features,
        knots.shape[-1] - 1, spline_order, spline_weight.data_ptr(), spline_scale.data_ptr(), base_weight.data_ptr(),
        edge_mask.data_ptr(), grad.shape[1], grad.data_ptr(), *(g.data_ptr() for g in grads),
        None if grad_x is None else grad_x.data_ptr(), torch.get_num_threads(),
    )  # fmt: skip
    _raise_for("narrow_product_grad", status)
    return (*grads, grad_x)


def narrow_most_basis(dtype):
    """The longest basis, G + k B-splines per input, that `narrow_product` takes: 32 in float32,
    16 in float64 (an input's spline weights for one output must fit in two vectors of 64 bytes)."""
    return _NARROW_MOST_BASIS.get(dtype, 0)


_NARROW_MOST_BASIS = {torch.float32: 32, torch.float64: 16}


def _check_narrow(x, grid, spline_order, spline_weight, spline_scale, base_weight, edge_mask):
    """The operands of the narrow kernels, checked (one comparison of all shapes and dtypes, then a
    message for what differs: this runs once per layer and step) and contiguous: x, the grid's
    knots in x's dtype and the four parameters."""
    size = grid.shape[-1] - spline_order - 1
    dtype = x.dtype
    if (  # (x.shape[1] and spline_weight.shape[0] only where the dimensions are there)
        x.ndim != 2 or spline_weight.ndim != 3
        or grid.shape != (x.shape[1], size + spline_order + 1) or spline_order > SPARSE_MOST_ORDER
        or not spline_order + 1 <= size <= narrow_most_basis(dtype)
        or spline_weight.shape != (spline_weight.shape[0], x.shape[1], size)
        or not spline_scale.shape == base_weight.shape == edge_mask.shape == spline_weight.shape[:2]
        or not spline_weight.dtype == spline_scale.dtype == base_weight.dtype == edge_mask.dtype == dtype
    ):
        _explain_narrow(x, grid, spline_order, spline_weight, spline_scale, base_weight, edge_mask)
    parameters = [t.contiguous() for t in (spline_weight, spline_scale, base_weight, edge_mask)]
    knots = grid if grid.dtype == dtype and grid.is_contiguous() else grid.to(dtype).contiguous()
    return x.contiguous(), knots, parameters


def _explain_narrow(x, grid, spline_order, spline_weight, *others):
    """Raises the ValueError that says which operand of the narrow kernels is wrong."""
    if x.ndim != 2 or grid.ndim != 2 or grid.shape[0] != x.shape[1]:
        raise ValueError(
            f"x must be (N, in) and grid (in, G + 2k + 1), got x {tuple(x.shape)} and grid {tuple(grid.shape)}"
        )
    size = grid.shape[-1] - spline_order - 1
    if size < spline_order + 1:  # G >= 1: at least one cell inside the range
        raise ValueError(
            f"grid must hold at least 2k + 2 = {2 * spline_order + 2} knots per input, got {grid.shape[-1]}"
        )
    if spline_order > SPARSE_MOST_ORDER:
        raise ValueError(f"spline_order must be at most {SPARSE_MOST_ORDER} for the narrow product, got {spline_order}")
    if x.dtype not in _NARROW_MOST_BASIS:
        raise ValueError(f"x must be float32 or float64 for the narrow product, got {x.dtype}")
    if size > narrow_most_basis(x.dtype):
        raise ValueError(
            f"the narrow product takes at most {narrow_most_basis(x.dtype)} B-splines per input in {x.dtype} "
            f"(grid_size + spline_order), got {size}"
        )
    _check_edges(spline_weight, *others, out_major=True)
    raise ValueError(
        f"spline_weight must be (out, in, G + k) = (out, {x.shape[1]}, {size}) of dtype {x.dtype}, "
        f"got {tuple(spline_weight.shape)} of dtype {spline_weight.dtype}"
    )


@functools.lru_cache(maxsize=None)
def _matrices(spline_order, dtype):
    """The power matrices M_k (a uniform grid's values) and D_k (their slopes) as one tensor, M_k
    first, as the narrow kernels read them (made once per order and dtype)."""
    matrix, derivative = splines._power_matrices(spline_order, dtype, torch.device("cpu"))
    return torch.cat([matrix.flatten(), derivative.flatten()])


def _check_sparse(x, grid, spline_order, weights):
    if x.ndim != 2 or grid.ndim != 2 or grid.shape[0] != x.shape[1]:
        raise ValueError(
            f"x must be (N, in) and grid (in, G + 2k + 1), got x {tuple(x.shape)} and grid {tuple(grid.shape)}"
        )
    if grid.shape[-1] < 2 * spline_order + 2:  # G >= 1: at least one cell inside the range
        raise ValueError(
            f"grid must hold at least 2k + 2 = {2 * spline_order + 2} knots per input, got {grid.shape[-1]}"
        )
    if spline_order > SPARSE_MOST_ORDER:
        raise ValueError(f"spline_order must be at most {SPARSE_MOST_ORDER} for the sparse product, got {spline_order}")
    rows = x.shape[1] * (grid.shape[-1] - spline_order)
    if weights.ndim != 2 or weights.shape[0] != rows or weights.dtype != x.dtype:
        raise ValueError(
            f"weights must be (in * (G + k + 1), out) = ({rows}, out) of dtype {x.dtype}, "
            f"got {tuple(weights.shape)} of dtype {weights.dtype}"
        )


def _check_edges(spline_weight, *others, out_major):
    """spline_weight (out, in, G + k), then tensors of shape (out, in), all of one dtype; returns
    the shape of W."""
    shape, dtype = spline_weight.shape, spline_weight.dtype
    if spline_weight.ndim != 3 or any(t.shape != shape[:2] or t.dtype != dtype for t in others):
        raise ValueError(
            f"spline_weight must be (out, in, G + k) and the other parameters (out, in), all of one dtype, "
            f"got {[tuple(t.shape) for t in (spline_weight, *others)]} of dtypes "
            f"{[t.dtype for t in (spline_weight, *others)]}"
        )
    out_features, in_features, size = shape
    return (out_features, in_features * (size + 1)) if out_major else (in_features * (size + 1), out_features)


def _has_storage(tensor):
    try:
        tensor.data_ptr()
    except RuntimeError:  # "Cannot access data pointer of Tensor that doesn't have storage"
        return False
    return True


def _check_rows(name, rows, x, grid, features):
    if x.ndim != 2 or grid.ndim != 2 or grid.shape[0] != x.shape[1]:
        raise ValueError(
            f"x must be (N, in) and grid (in, G + 2k + 1), got x {tuple(x.shape)} and grid {tuple(grid.shape)}"
        )
    shape = (x.shape[0], x.shape[1], features)
    layout = rows.ndim == 3 and rows.shape == shape and rows.dtype == x.dtype
    if not layout or rows.stride(2) != 1 or rows.stride(1) != features:
        raise ValueError(
            f"{name} must have shape {shape} and dtype {x.dtype} with each row contiguous, "
            f"got shape {tuple(rows.shape)}, strides {rows.stride()}, dtype {rows.dtype}"
        )


def _grid_operands(grid, spline_order, dtype, slopes):
    """What the kernels read of the grid: its knots in x's dtype, and the power matrix M_k of the
    uniform grid's values (or D_k for the slopes); the kernels work out t_0 and 1/h themselves."""
    matrix, derivative = splines._power_matrices(spline_order, dtype, torch.device("cpu"))
    return grid.to(dtype).contiguous(), derivative if slopes else matrix


def _call(name, dtype, *arguments):
    pointers = [a.data_ptr() if isinstance(a, torch.Tensor) else a for a in arguments]
    _raise_for(name, getattr(_library(dtype)[0], name)(*pointers))


def _raise_for(name, status):
    """The error that a kernel's status bits report, if any."""
    if status & 1:
        raise MemoryError(f"kanlab.kernels.{name}: out of memory for its scratch buffers")
    if status & 2:
        raise ValueError("x must be finite, but it holds NaN or inf values")
    if status & 4:  # (the callers check this first)
        raise ValueError(f"kanlab.kernels.{name}: more B-splines per input than the narrow kernels hold")


@functools.lru_cache(maxsize=None)
def _library(dtype):
    """(the loaded library for dtype, None) or (None, why not)."""
    if os.environ.get("KANLAB_KERNELS", "1") == "0":
        return None, "disabled by KANLAB_KERNELS=0"
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")[:1] or ["cc"]
    errors = []
    for flags in FLAG_SETS:
        command = compiler + flags + _REAL[dtype] + ["-fPIC", "-shared"]
        path = _cache_dir() / f"bspline_kernels-{_build_tag(command)}.so"
        if not path.exists():
            error = _compile(command, path)
            if error:
                errors.append(error)
                continue
        try:
            library = ctypes.CDLL(str(path))
        except OSError as error:
            errors.append(str(error))
            continue
        _declare(library)
        return library, None
    return None, f"could not build {SOURCE.name}: " + " | ".join(errors)


def _build_tag(command):
    """Names a build by its source, command and machine (a -march=native build runs only on CPUs
    like the one that built it, and a cache folder may be shared by several machines)."""
    machine = [platform.system(), platform.machine(), platform.processor()]
    if "-march=native" in command and os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as cpuinfo:
            machine += sorted({line for line in cpuinfo if line.startswith(("model name", "flags"))})
    text = "\n".join([*command, *machine]).encode()
    return hashlib.sha256(SOURCE.read_bytes() + text).hexdigest()[:16]


def _compile(command, path):
    """Build the library at path; the compiler's complaint, or None. A build goes to a temporary
    file renamed into place, so concurrent processes never load a partial library."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(suffix=".so", dir=path.parent)
    os.close(handle)
    try:
        result = subprocess.run([*command, str(SOURCE), "-o", partial], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        os.unlink(partial)
        return f"{command[0]}: {error}"
    if result.returncode != 0:
        os.unlink(partial)
        return f"{' '.join(command)}: {result.stderr.strip()[-300:]}"
    os.replace(partial, path)
    return None


def _cache_dir():
    if os.environ.get("KANLAB_CACHE_DIR"):
        return pathlib.Path(os.environ["KANLAB_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = pathlib.Path(base) / "kanlab"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    return pathlib.Path(tempfile.gettempdir()) / f"kanlab-{getattr(os, 'getuid', lambda: 'user')()}"


def _declare(library):
    pointer, size, flag = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
    head = [pointer, pointer, pointer, flag, size, size, size, size]
    library.write_features.argtypes = [*head, pointer, size, flag]
    library.features_grad.argtypes = [*head, pointer, size, pointer, flag]
    library.write_features.restype = library.features_grad.restype = ctypes.c_int
    library.edge_weights.argtypes = [pointer] * 4 + [size, size, size, flag, pointer, flag]
    library.edge_weights_grad.argtypes = [pointer] * 4 + [size, size, size, flag] + [pointer] * 3 + [flag]
    library.edge_weights.restype = library.edge_weights_grad.restype = ctypes.c_int
    library.sparse_product.argtypes = [*head, pointer, size, pointer, flag]
    library.sparse_product_grad.argtypes = [*head, pointer, size] + [pointer] * 9 + [flag]
    library.sparse_product.restype = library.sparse_product_grad.restype = ctypes.c_int
    library.narrow_product.argtypes = [*head, pointer, pointer, pointer, pointer, size, pointer, flag]
    library.narrow_product_grad.argtypes = [*head, pointer, pointer, pointer, pointer, size] + [pointer] * 5 + [flag]
    library.narrow_product.restype = library.narrow_product_grad.restype = ctypes.c_int
