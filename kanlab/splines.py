r"""B-splines: bases of any order on any knot vector, batched, with gradients; least-squares fits.

A spline of order k (degree k) on the knots t_0 < t_1 < ... < t_{n-1} is a sum

    s(x) = sum_b c_b B_{b,k}(x),    b = 0 .. n-k-2,

of B-splines defined by the Cox-de Boor recursion

    B_{b,0}(x) = 1 if t_b <= x < t_{b+1} else 0,
    B_{b,k}(x) = (x - t_b) / (t_{b+k} - t_b) B_{b,k-1}(x)
               + (t_{b+k+1} - x) / (t_{b+k+1} - t_{b+1}) B_{b+1,k-1}(x).

Grids. A KAN input with grid size G on the range [lo, hi] has G + 1 *interior* knots
t_k = lo, ..., t_{G+k} = hi, extended by k knots on each side, so its grid holds G + 2k + 1 knots
and its basis G + k functions, all of which are non-zero somewhere in [lo, hi]. Grids are stored
one row per input: shape (in_features, G + 2k + 1), increasing along each row.

Outside the grid. The basis is exactly the Cox-de Boor one on the whole knot vector, as in pykan
and efficient-kan: beyond lo or hi the B-splines fade to zero over the k extension cells, and for
x < t_0 or x > t_{G+2k} every basis function is 0 (so a spline is 0 there, and its slope too).
The last cell is closed on the right, so the order-0 basis sums to 1 at x = hi too.
`KANLayer.update_grid` moves the grid onto the samples, so that training data stays inside.

Locality. On the cell J (t_J <= x < t_{J+1}, J = 0 .. G+2k-1) only B_{J-k} .. B_J can be non-zero,
those of them with an index in 0 .. G+k-1. `local_basis` computes just these k + 1 values (zero
for the missing indices near the ends), from which `basis` builds the dense (..., in, G + k)
matrix. On a uniform grid the local values are a fixed polynomial of the
position u in the cell,  values = [1, u, ..., u^k] @ M_k,  which is the fast path; on any other grid
they come from de Boor's triangular scheme (the general path). Both give the Cox-de Boor values.
(The values are kept as k + 1 planes of shape (..., in), r first: elementwise work on a small
last axis of size k + 1 runs several times slower in PyTorch than on the inputs' axis.)
`pointwise_basis` gives the same dense basis from pointwise operations alone, for a compiler to
generate as one kernel.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

__all__ = [
    "uniform_grid",
    "extend_grid",
    "is_uniform",
    "local_basis",
    "basis",
    "dense_basis",
    "write_basis",
    "pointwise_basis",
    "evaluate",
    "fit_coefficients",
]


def uniform_grid(grid_size, spline_order, grid_range=(-1.0, 1.0), in_features=1, *, dtype=None, device=None):
    """Equally spaced knots on grid_range, extended by spline_order knots on each side.

    Shape: (in_features, grid_size + 2 * spline_order + 1); row i is
    lo + h * (-k, ..., G + k) with h = (hi - lo) / G.
    """
    _check_grid_arguments(grid_size, spline_order)
    lo, hi = _check_range(grid_range)
    h = (hi - lo) / grid_size
    steps = torch.arange(-spline_order, grid_size + spline_order + 1, dtype=torch.float64)
    knots = (lo + h * steps).to(dtype=dtype or torch.get_default_dtype(), device=device)
    return knots.expand(in_features, -1).contiguous()


def extend_grid(interior, spline_order):
    """Add spline_order knots beyond each end of the interior knots, spaced (hi - lo) / G.

    Shape: interior (in, G + 1) -> (in, G + 2k + 1).
    """
    grid_size = interior.shape[-1] - 1
    h = (interior[:, -1:] - interior[:, :1]) / grid_size
    steps = torch.arange(1, spline_order + 1, dtype=interior.dtype, device=interior.device)
    below = interior[:, :1] - h * steps.flip(0)
    above = interior[:, -1:] + h * steps
    return torch.cat([below, interior, above], dim=1)


def is_uniform(grid):
    """True when every row of grid is equally spaced, up to rounding (64 ulps of the spacing)."""
    steps = grid.diff(dim=-1)
    tolerance = 64 * torch.finfo(grid.dtype).eps * grid.abs().amax(dim=-1, keepdim=True)
    return bool(((steps - steps[:, :1]).abs() <= tolerance).all())


@functools.lru_cache(maxsize=None)
def _power_to_bspline(spline_order):
    """M_k of shape (k + 1, k + 1): the local values of the cardinal B-spline pieces.

    On a uniform grid, the r-th non-zero basis function on a cell (r = 0 .. k, B_{c+r}) equals
    sum_p u^p M_k[p, r], where u in [0, 1) is the position inside the cell. Column r is the piece of
    the cardinal B-spline N_k on [k - r, k - r + 1], from N_0 = 1 on [0, 1) and
    N_d(s) = s / d N_{d-1}(s) + (d + 1 - s) / d N_{d-1}(s - 1), written in u = s - piece.
    """
    pieces = [np.array([1.0])]  # pieces[p]: coefficients (increasing powers of u) on [p, p + 1)
    for d in range(1, spline_order + 1):
        new = []
        for p in range(d + 1):
            left = pieces[p] if p < d else np.zeros(1)
            right = pieces[p - 1] if p >= 1 else np.zeros(1)
            # s / d * N_{d-1}(s) on piece p, with s = p + u
            term = np.polynomial.polynomial.polymul([p / d, 1 / d], left)
            # (d + 1 - s) / d * N_{d-1}(s - 1); piece p - 1 of N_{d-1} at local u
            term = np.polynomial.polynomial.polyadd(
                term, np.polynomial.polynomial.polymul([(d + 1 - p) / d, -1 / d], right)
            )
            new.append(term)
        pieces = new
    matrix = np.zeros((spline_order + 1, spline_order + 1))
    for r in range(spline_order + 1):
        piece = pieces[spline_order - r]
        matrix[: len(piece), r] = piece
    return matrix


@functools.lru_cache(maxsize=64)  # (torch.compile would trace through an lru_cache: hence two functions)
def _cached_power_matrices(spline_order, dtype, device):
    matrix = torch.tensor(_power_to_bspline(spline_order), dtype=dtype, device=device)
    derivative = torch.arange(1, spline_order + 1, dtype=dtype, device=device)[:, None] * matrix[1:]
    return matrix, derivative


@torch.compiler.assume_constant_result  # torch.compile takes the result as it is, tracing no numpy code
def _power_matrices(spline_order, dtype, device):
    """M_k and D_k (k, k + 1), the matrix of the u-derivatives: d/du values = [1, .., u^(k-1)] @ D_k."""
    return _cached_power_matrices(spline_order, dtype, device)


def local_basis(x, grid, spline_order, uniform=None, derivative=False):
    """The k + 1 B-spline values that can be non-zero at each input, and optionally their slopes.

    Args:
        x: (..., in) inputs.
        grid: (in, G + 2k + 1) knots, increasing along each row.
        spline_order: k >= 0.
        uniform: whether each row of grid is equally spaced (fast path); None checks it.
        derivative: also return d B_{first + r}(x) / dx.

    Returns:
        (first, values) or, with derivative=True, (first, values, slopes):

        - first: (..., in) int64, J - k for the cell J holding x (-k .. G + k - 1);
        - values: (k + 1, ..., in), values[r] = B_{first + r}(x), and 0 where first + r is not a
          basis index (0 .. G + k - 1) or x lies outside the grid (one contiguous plane per r,
          the layout that keeps every elementwise operation vectorised over the inputs);
        - slopes: (k + 1, ..., in), d values / dx.

    Differentiable with respect to x through autograd (`basis` relies on it).
    """
    k = spline_order
    size = grid.shape[-1] - k - 1  # G + k basis functions
    if uniform is None:
        uniform = is_uniform(grid)
    if uniform:
        cell, values, slopes = _uniform_local_basis(x, grid, k, derivative)
    else:
        cell, values, slopes = _general_local_basis(x, grid, k, derivative)
    first = cell.sub_(k)  # in place: the index planes are the largest integer temporaries
    # the usual case, x in [lo, hi): all k + 1 indices exist (for k = 0 the cell index is clamped
    # onto the grid, so it cannot tell; x itself is compared)
    if k:
        usual = _within(first, 0, size - k - 1)
    else:  # a data-dependent branch, which a traced graph and a GPU leave out as `_within` does
        usual = not torch.compiler.is_compiling() and x.is_cpu
        usual = usual and bool(((x >= grid[:, 0]) & (x < grid[:, -1])).all())
    if usual:
        return (first, values) if not derivative else (first, values, slopes)
    index = first + torch.arange(k + 1, device=x.device).view(-1, *([1] * x.dim()))
    inside = (x >= grid[:, 0]) & (x <= grid[:, -1])  # the last cell is closed on the right
    keep = ((index >= 0) & (index < size) & inside).to(x.dtype)
    if not derivative:
        return first, values * keep
    return first, values * keep, slopes * keep


def _uniform_cells(x, grid):
    """On a uniform grid: the cell J of each x (float, clamped to the grid), u = (x - t_J) / h in
    [0, 1) inside the grid (u is differentiable in x), and 1 / h per input."""
    cells = grid.shape[-1] - 1
    start = grid[:, 0]
    scale = cells / (grid[:, -1] - start)  # 1 / h, one per input
    position = torch.addcmul(-start * scale, x, scale)  # (x - t_0) / h, in [0, G + 2k] on the grid
    cell = position.detach().floor().clamp_(0, cells - 1)
    return cell, position.sub_(cell), scale  # u in place: one plane fewer to allocate


def _uniform_local_basis(x, grid, k, derivative):
    """Fast path: values = M_k^T [1, u, ..., u^k] (one small matmul), u the position in the cell."""
    cell, u, scale = _uniform_cells(x, grid)
    u = u.reshape(-1)
    powers = [u]  # u, u^2, ..., u^k
    for _ in range(1, k):
        powers.append(powers[-1] * u)
    powers = torch.stack(powers)
    matrix, derivative_matrix = _power_matrices(k, x.dtype, x.device)
    values = torch.addmm(matrix[0].unsqueeze(1), matrix[1:].t(), powers[:k]).reshape(k + 1, *x.shape)
    values.clamp_min_(0)  # B-splines are >= 0; the power form can round to -1e-17 beside a knot
    slopes = None
    if derivative and k == 0:
        slopes = torch.zeros_like(values)
    elif derivative:
        slopes = torch.addmm(derivative_matrix[:1].t(), derivative_matrix[1:].t(), powers[: k - 1])
        slopes = slopes.reshape(k + 1, *x.shape) * scale
    return cell.long(), values, slopes


def _within(index, low, high):
    """True when every entry of the integer tensor index lies in [low, high] (one pass). Always
    False while torch.compile traces and off the CPU: the callers' general paths, which this lets
    them skip, need no data-dependent branch, so the compiled graph stays whole and a GPU never
    waits for the host to read the answer."""
    if torch.compiler.is_compiling() or not index.is_cpu:
        return False
    if index.numel() == 0:
        return True
    smallest, largest = torch.aminmax(index)
    return low <= smallest.item() and largest.item() <= high


def _general_local_basis(x, grid, k, derivative):
    """General path: de Boor's triangular scheme on the knots around each input's cell J.

    With left[r] = x - t_{J+1-r} and right[r] = t_{J+r} - x (r = 1 .. k), degree d's values
    N_0 .. N_d follow from degree d - 1's by
        N_r <- saved + right[r+1] * T,  saved <- left[d-r] * T,  T = N_r / (right[r+1] + left[d-r]).
    Knots beyond the ends of the grid, needed only by the missing basis functions, are clamped.
    """
    count = grid.shape[-1]
    inner_knots = grid[:, 1:-1].contiguous()  # (in, G + 2k - 1)
    flat = x.reshape(-1, x.shape[-1]).t().contiguous()  # (in, N)
    cell = torch.searchsorted(inner_knots, flat.detach(), right=True).t().reshape(x.shape)
    if k == 0:
        values = torch.ones_like(x).unsqueeze(0)
        return cell, values, torch.zeros_like(values)
    # knots[m] = t_{J-k+1+m}, m = 0 .. 2k - 1, read from the flattened grid
    row_start = torch.arange(x.shape[-1], device=x.device) * count
    knots = [grid.take(row_start + (cell + m - k + 1).clamp(0, count - 1)) for m in range(2 * k)]
    left = [None] + [x - knots[k - r] for r in range(1, k + 1)]
    right = [None] + [knots[k - 1 + r] - x for r in range(1, k + 1)]
    values = [torch.ones_like(x)]
    for d in range(1, k + 1):
        saved = torch.zeros_like(x)
        ratios = []
        for r in range(d):
            width = right[r + 1] + left[d - r]
            ratio = torch.where(width > 0, values[r] / torch.where(width > 0, width, 1), 0)
            values[r] = saved + right[r + 1] * ratio
            saved = left[d - r] * ratio
            ratios.append(ratio)
        values.append(saved)
    slopes = None
    if derivative:
        # B'_{J-k+r} = k * (T_{r-1} - T_r) with the last degree's ratios T (T_{-1} = T_k = 0)
        padded = [torch.zeros_like(x)] + ratios + [torch.zeros_like(x)]
        slopes = torch.stack([k * (padded[r] - padded[r + 1]) for r in range(k + 1)])
    return cell, torch.stack(values), slopes


def basis(x, grid, spline_order, uniform=None):
    """The dense B-spline basis B_b(x_i) of every input.

    Shape: x (..., in), grid (in, G + 2k + 1) -> (..., in, G + k). Each row holds k + 1 non-zero
    values that sum to 1 (partition of unity). Differentiable with respect to x.
    """
    first, values = local_basis(x, grid, spline_order, uniform)
    size = grid.shape[-1] - spline_order - 1
    flat = dense_basis(first.reshape(-1, x.shape[-1]), values.reshape(spline_order + 1, -1, x.shape[-1]), size)
    return flat.reshape(*x.shape, size)


# the scratch memory `write_basis` may use for value planes: small enough to be served again by the
# memory allocator at the next call (large temporaries cost fresh, page-faulting memory every step)
SCRATCH_BYTES = 2**20


@torch.no_grad()
def write_basis(x, grid, spline_order, out, uniform=None):
    """Write the dense basis of x into out: out[n, i, b] = B_b(x_{n,i}).

    Shape: x (N, in), grid (in, G + 2k + 1), out (N, in, G + k) (may be a strided view).
    The values are those of `basis`, computed with little temporary memory and not
    differentiable. On a uniform grid with every x in [lo, hi), the usual case, each local value
    B_{first+r}(x) = sum_p M_k[p, r] u^p is evaluated by Horner's rule into one reused plane and
    scattered at once; other cases go through `local_basis` and `dense_basis`. (`kanlab.kernels`
    does the same work in C on the CPU.)
    """
    k = spline_order
    size = grid.shape[-1] - k - 1
    if (is_uniform(grid) if uniform is None else uniform) and k > 0:
        cell, u, _ = _uniform_cells(x, grid)
        first = cell.to(torch.long).sub_(k)
        del cell
        if _within(first, 0, size - k - 1):
            out.zero_()
            index = first.unsqueeze(2)
            matrix, _ = _power_matrices(k, x.dtype, x.device)
            # as many value planes at once as fit in the scratch budget (all of them for small x)
            count = max(1, min(k + 1, SCRATCH_BYTES // max(1, x.numel() * x.element_size())))
            scratch = x.new_empty(count, *x.shape)
            for low in range(0, k + 1, count):
                block = _horner(u, matrix[:, low : low + count], out=scratch[: min(count, k + 1 - low)])
                block.clamp_min_(0)  # as in `_uniform_local_basis`
                _scatter_shifted(out, index, block, low)
            return
    first, values = local_basis(x, grid, k, uniform)
    dense_basis(first, values, size, out=out)


def _horner(u, coefficients, out):
    """out[r] = sum_p coefficients[p, r] u^p for every plane r, in place by Horner's rule.

    Shape: u (N, in), coefficients (P, R), out (R, N, in).
    """
    coefficients = coefficients.view(*coefficients.shape, 1, 1)
    out.copy_(coefficients[-1].expand_as(out))
    for row in coefficients[:-1].flip(0):
        torch.addcmul(row, out, u, out=out)
    return out


def _scatter_shifted(out, index, planes, start=0):
    """out[n, i, index[n, i, 0] + r] = planes[r - start, n, i] for r = start, start + 1, ...: plane
    r goes into the view of out that starts r columns on (every column index must exist)."""
    for r, plane in enumerate(planes.unbind(0), start=start):
        out[:, :, r:].scatter_(2, index, plane.unsqueeze(2))


def dense_basis(first, values, size, out=None):
    """Spread the local values of `local_basis` into the dense basis:

        D[n, i, first[n, i] + r] = values[r, n, i],   zero elsewhere.

    Shape: first (N, in), values (k + 1, N, in) -> D (N, in, size), size = G + k. `out`, if given,
    receives D in place and may be a strided view (e.g. the first columns of a larger matrix).
    Differentiable with respect to values.
    """
    k = values.shape[0] - 1
    if out is None:
        out = values.new_empty(first.shape[0], first.shape[1], size)
    out.zero_()
    if _within(first, 0, size - k - 1):
        # every index exists: plane r goes into the view that starts r columns on, at `first`
        _scatter_shifted(out, first.unsqueeze(2), values)
        return out
    # some indices lie beyond the ends; their values are 0, so folding them onto the ends is exact
    for r, plane in enumerate(values.unbind(0)):
        out.scatter_add_(2, (first + r).clamp_(0, size - 1).unsqueeze(2), plane.unsqueeze(2))
    return out


def pointwise_basis(x, grid, spline_order, uniform, columns, derivative=False):
    """B_b(x_{n,i}) for every input and every b in columns, or the slopes dB_b/dx with derivative.

    Shape: x (N, in), grid (in, G + 2k + 1), columns (C,) int64 -> (N, in, C). A column b that is
    not a basis index (0 .. G + k - 1) gives 0, and so does x outside the grid. uniform: whether
    each row of grid is equally spaced (the general path is right for any grid).

    The numbers of `basis` (to rounding), from pointwise operations alone: no scatter, no index
    computed from x, no branch on the data, so that torch.compile's Inductor generates ONE kernel
    for the whole result, each entry computing its own value (`kanlab.kan` builds a GPU's features
    so):

    - on a uniform grid, B_b(x) is the local value B_{first+r}(x) with r = b - first, from
      de Boor's scheme in the position u of x inside its cell (`_uniform_pieces`);
    - on any grid, B_b(x) comes from the Cox-de Boor recursion on the k + 2 knots t_b .. t_{b+k+1}:
      B_{c,d} = (x - t_c) T_{c,d} + (t_{c+d+1} - x) T_{c+1,d},  T_{c,d} = B_{c,d-1} / (t_{c+d} - t_c),
      and B'_{b,k} = k (T_{b,k} - T_{b+1,k}).

    Each entry recomputes arithmetic that a scatter would share across its row, in exchange for
    writing the result in one pass. Every Python branch and loop here depends on k, uniform and
    derivative alone, so a compiled graph serves every batch size.
    """
    size = grid.shape[-1] - spline_order - 1
    if uniform:
        dense = _pointwise_uniform_basis(x, grid, spline_order, columns, derivative)
    else:
        dense = _pointwise_general_basis(x, grid, spline_order, columns, derivative)
    return torch.where((columns >= 0) & (columns < size), dense, 0)


def _pointwise_uniform_basis(x, grid, k, columns, derivative):
    cell, u, scale = _uniform_cells(x, grid)
    offset = columns - (cell.long() - k).unsqueeze(-1)  # r = b - first, (N, in, C)
    dense = x.new_zeros(())
    for r, value in enumerate(_uniform_pieces(u.unsqueeze(-1), k, derivative)):
        dense = torch.where(offset == r, value, dense)
    if derivative:
        dense = dense * scale.unsqueeze(-1)
    inside = (x >= grid[:, 0]) & (x <= grid[:, -1])  # the last cell is closed on the right
    return torch.where(inside.unsqueeze(-1), dense, 0)


def _uniform_pieces(u, k, derivative):
    """The k + 1 values B_{first+r} at the position u in the cell, r = 0 .. k, or their slopes times h.

    De Boor's scheme (`_general_local_basis`) on equally spaced knots, in units of the spacing h,
    where every width is d: N_r <- saved + (r + 1 - u) T, saved <- (u + d - 1 - r) T, T = N_r / d.
    The slopes are differences of the degree k - 1 values: h B'_{first+r} = N_{r-1} - N_r.
    (The numbers of the power form M_k, to rounding, with no table of coefficients to trace.)
    """
    values = [1.0]
    for d in range(1, k + 1):
        if derivative and d == k:
            padded = [0.0, *values, 0.0]
            return [padded[r] - padded[r + 1] for r in range(k + 1)]
        saved = 0.0
        for r in range(d):
            ratio = values[r] * (1 / d)  # (a product: a division costs a GPU several times more)
            values[r] = saved + (r + 1 - u) * ratio
            saved = (u + d - 1 - r) * ratio
        values.append(saved)
    return [0.0] if derivative else values


def _pointwise_general_basis(x, grid, k, columns, derivative):
    count = grid.shape[-1]
    x = x.unsqueeze(-1)  # (N, in, 1)
    # t_{b+m} for every column b, m = 0 .. k + 1: (in, C), clamped onto the grid (a missing
    # knot only meets a missing basis function)
    knots = [grid[:, (columns + m).clamp(0, count - 1)] for m in range(k + 2)]
    last = columns + torch.arange(k + 1, device=x.device).unsqueeze(-1) == count - 2  # (k + 1, C)
    # degree 0: the indicators of the cells b .. b + k, the last cell closed on the right
    values = [
        ((x >= knots[j]) & ((x < knots[j + 1]) | (last[j] & (x <= knots[j + 1])))).to(x.dtype)
        for j in range(k + 1)
    ]
    ratios = []
    for d in range(1, k + 1):
        ratios = [_ratio(values[j], knots[j + d] - knots[j]) for j in range(k + 2 - d)]
        values = [(x - knots[j]) * ratios[j] + (knots[j + d + 1] - x) * ratios[j + 1] for j in range(k + 1 - d)]
    if not derivative:
        return values[0]
    if k == 0:
        return torch.zeros_like(values[0])
    return k * (ratios[0] - ratios[1])


def _ratio(value, width):
    """value / width, and 0 where width is 0 (repeated knots)."""
    return torch.where(width > 0, value / torch.where(width > 0, width, 1), 0)


def evaluate(x, grid, coefficients, spline_order, uniform=None):
    """Every edge's spline s_{j,i}(x_i) = sum_b c_{j,i,b} B_b(x_i).

    Shape: x (batch, in), coefficients (out, in, G + k) -> (batch, out, in).
    """
    return torch.einsum("nib,oib->noi", basis(x, grid, spline_order, uniform), coefficients)


def fit_coefficients(x, y, grid, spline_order, smoothing=1e-10):
    r"""Least-squares coefficients c (out, in, G + k) with sum_b c_{j,i,b} B_b(x_i) ~ y_{j,i}.

    Shape: x (batch, in), y (batch, out, in) -> (out, in, G + k).

    Each input's problem is solved from its normal equations, in float64, with a small penalty on
    the coefficients' second differences (a P-spline):

        (A^T A + lambda (D^T D + 1e-6 I)) c = A^T y,   lambda = smoothing * trace(A^T A) / (G + k).

    The penalty makes every system positive definite, so the fit never fails: basis functions that
    no sample reaches (rank-deficient A) get coefficients continuing their neighbours linearly,
    and the scale-relative lambda makes the result independent of how x and y are scaled.
    With the default smoothing the bias on well-sampled data is far below float32 precision.
    """
    if x.ndim != 2 or y.ndim != 3 or y.shape[0] != x.shape[0] or y.shape[2] != x.shape[1]:
        raise ValueError(
            f"x must be (batch, in) and y (batch, out, in); got x {tuple(x.shape)} and y {tuple(y.shape)}"
        )
    design = basis(x.double(), grid.double(), spline_order)  # (batch, in, G + k)
    gram = torch.einsum("nib,nic->ibc", design, design)  # (in, G + k, G + k)
    rhs = torch.einsum("nib,noi->ibo", design, y.double())  # (in, G + k, out)
    size = gram.shape[-1]
    second_difference = torch.diff(torch.eye(size, dtype=torch.float64, device=x.device), n=2, dim=0)
    penalty = second_difference.T @ second_difference + 1e-6 * torch.eye(size, dtype=torch.float64, device=x.device)
    strength = smoothing * gram.diagonal(dim1=-2, dim2=-1).sum(-1) / size  # (in,)
    strength = strength.clamp_min(torch.finfo(torch.float64).tiny)
    solution = torch.linalg.solve(gram + strength[:, None, None] * penalty, rhs)  # (in, G + k, out)
    return solution.permute(2, 0, 1).to(y.dtype).contiguous()


def _check_grid_arguments(grid_size, spline_order):
    if isinstance(grid_size, bool) or not isinstance(grid_size, int) or grid_size < 1:
        raise ValueError(f"grid_size must be an integer >= 1, got {grid_size!r}")
    if isinstance(spline_order, bool) or not isinstance(spline_order, int) or spline_order < 0:
        raise ValueError(f"spline_order must be an integer >= 0, got {spline_order!r}")


def _check_range(grid_range):
    try:
        lo, hi = (float(v) for v in grid_range)
    except (TypeError, ValueError):
        raise ValueError(f"grid_range must be a pair (lo, hi) of numbers, got {grid_range!r}") from None
    if not lo < hi:
        raise ValueError(f"grid_range must satisfy lo < hi, got {grid_range!r}")
    return lo, hi
