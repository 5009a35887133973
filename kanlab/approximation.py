r"""Universal approximation by construction: steep sigmoids are steps, two steps are a bump, and N
bumps are a one-hidden-layer network that follows any continuous function on [0, 1].

A hidden neuron with one input computes sigma(w x + b). For large w it is almost a step from 0 to
1 at s = -b / w. Two such steps, weighted h and -h by the output neuron, make a bump of height h
on [left, right]:

    bump(x) = h * (sigma(w (x - left)) - sigma(w (x - right))).

Cut [0, 1] into N pieces of width 1/N, with midpoints c_i = (i - 1/2) / N, and give piece i a bump
of height f(c_i). The sum

    g_N(x) = sum_{i=1}^{N} f(c_i) * (sigma(w (x - e_{i-1})) - sigma(w (x - e_i))),

with edges e_i = i / N (the outer two, e_0 and e_N, moved one piece outside [0, 1], so that no
sigmoid is caught half-way at an end), is an MLP with widths [1, 2N, 1]. For an L-Lipschitz f
its largest error on [0, 1] is at most about L / (2N) once w is large against N: every x is at most half
a piece from the midpoint whose value it is given.

With ReLU instead of sigmoid, three neurons make a *hat*: on the knots t_i = i h, h = 1/N,

    hat_i(x) = (ReLU(x - t_{i-1}) - 2 ReLU(x - t_i) + ReLU(x - t_{i+1})) / h,

which rises from 0 at t_{i-1} to 1 at t_i and falls back to 0 at t_{i+1}: the B-spline of degree
1 on the uniform knots (order 1 in kanlab's and the KAN paper's count, order 2 in de Boor's). The
sum of N + 1 hats weighted f(t_i) is the piecewise-linear interpolant of f at the knots, an MLP
with widths [1, 3(N + 1), 1]; for a twice-differentiable f its largest error is at most
h^2 max|f''| / 8.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from kanlab.mlp import MLP

__all__ = [
    "sigmoid_step", "bump", "bump_edges", "bump_weights", "bump_network", "relu_hat", "hat_knots", "hat_weights",
    "hat_network", "interpolation_bound", "max_error", "loglog_slope", "fewest_bumps",
]


def sigmoid_step(x: Tensor, weight: float, bias: float) -> Tensor:
    """One hidden neuron, sigma(weight * x + bias): a step at s = -bias / weight when weight is large."""
    return torch.sigmoid(weight * x + bias)


def bump(x: Tensor, left: float, right: float, height: float, steepness: float) -> Tensor:
    r"""Two steps made a bump: ``height * (sigma(w (x - left)) - sigma(w (x - right)))``, w = steepness."""
    return height * (torch.sigmoid(steepness * (x - left)) - torch.sigmoid(steepness * (x - right)))


def bump_edges(n_bumps: int) -> Tensor:
    """The N + 1 edges e_0 < ... < e_N of the bumps (float64): i / N inside, e_0 = -1/N, e_N = 1 + 1/N."""
    _check_n_bumps(n_bumps)
    edges = torch.arange(n_bumps + 1, dtype=torch.float64) / n_bumps
    edges[0], edges[-1] = -1.0 / n_bumps, 1.0 + 1.0 / n_bumps
    return edges


def bump_weights(f: Callable[[Tensor], Tensor], n_bumps: int, sharpness: float = 20.0):
    r"""The weights and biases of the N-bump network g_N for f on [0, 1].

    The hidden neurons come in pairs, (2i, 2i + 1) for bump i (counted from 0): a step up at
    e_i and a step down at e_{i+1}, both with weight w = sharpness * N, so that a step rises
    from sigma(-sharpness / 2) to sigma(sharpness / 2) across one piece width however many pieces there
    are. The output neuron weighs the pair f(c_i) and -f(c_i) and has bias 0.

    Args:
        f: maps a float64 tensor of shape (N,) (the midpoints) to the N values f(c_i).
        n_bumps: N >= 1.
        sharpness: w * (piece width 1/N), > 0.

    Returns:
        ``(weights, biases)`` of shapes [(2N, 1), (1, 2N)] and [(2N,), (1,)], float64, ready for
        `kanlab.mlp.MLP.from_weights` with ``activation="sigmoid"``.
    """
    if isinstance(sharpness, bool) or not isinstance(sharpness, (int, float)) or not sharpness > 0:
        raise ValueError(f"sharpness must be a positive number, got {sharpness!r}")
    edges = bump_edges(n_bumps)
    midpoints = (torch.arange(n_bumps, dtype=torch.float64) + 0.5) / n_bumps
    heights = torch.as_tensor(f(midpoints), dtype=torch.float64)
    if heights.shape != (n_bumps,):
        raise ValueError(
            f"f must map the {n_bumps} midpoints, shape ({n_bumps},), to shape ({n_bumps},), got {tuple(heights.shape)}"
        )
    w = float(sharpness) * n_bumps
    step_at = torch.stack([edges[:-1], edges[1:]], dim=1).reshape(-1)  # e_0, e_1, e_1, e_2, ..., e_N
    hidden_weight = torch.full((2 * n_bumps, 1), w, dtype=torch.float64)
    hidden_bias = -w * step_at
    output_weight = torch.stack([heights, -heights], dim=1).reshape(1, -1)  # h_0, -h_0, h_1, -h_1, ...
    output_bias = torch.zeros(1, dtype=torch.float64)
    return [hidden_weight, output_weight], [hidden_bias, output_bias]


def bump_network(f: Callable[[Tensor], Tensor], n_bumps: int, sharpness: float = 20.0, dtype=torch.float64) -> MLP:
    """g_N as an `MLP` with widths [1, 2N, 1] and sigmoid activation (see `bump_weights`)."""
    weights, biases = bump_weights(f, n_bumps, sharpness)
    return MLP.from_weights(weights, biases, activation="sigmoid", dtype=dtype)


def relu_hat(x: Tensor, left: float, centre: float, right: float) -> Tensor:
    r"""Three ReLUs make a hat: 0 up to ``left``, 1 at ``centre``, 0 from ``right`` on, straight between.

        hat(x) = ReLU(x - left) / (centre - left)
                 - ReLU(x - centre) (1 / (centre - left) + 1 / (right - centre))
                 + ReLU(x - right) / (right - centre),

    with ReLU(t) = max(0, t).
    """
    if not left < centre < right:
        raise ValueError(f"relu_hat needs left < centre < right, got {left!r}, {centre!r}, {right!r}")
    rise, fall = centre - left, right - centre
    return (torch.relu(x - left) / rise - torch.relu(x - centre) * (1 / rise + 1 / fall)
            + torch.relu(x - right) / fall)


def hat_knots(n_pieces: int) -> Tensor:
    """The N + 1 knots t_i = i / N of the hats (float64), i = 0 .. N."""
    if isinstance(n_pieces, bool) or not isinstance(n_pieces, int) or n_pieces < 1:
        raise ValueError(f"n_pieces must be an integer >= 1, got {n_pieces!r}")
    return torch.arange(n_pieces + 1, dtype=torch.float64) / n_pieces


def hat_weights(f: Callable[[Tensor], Tensor], n_pieces: int):
    r"""The weights and biases of the ReLU network sum_i f(t_i) hat_i(x), the interpolant of f.

    Hat i (i = 0 .. N) is the hidden neurons (3i, 3i + 1, 3i + 2): ReLU((x - t) / h) at
    t = t_{i-1}, t_i, t_{i+1} (t_{-1} = -h and t_{N+1} = 1 + h lie outside [0, 1]), weighted
    f(t_i) * (1, -2, 1) by the output neuron, whose bias is 0.

    Args:
        f: maps a float64 tensor of shape (N + 1,) (the knots) to the N + 1 values f(t_i).
        n_pieces: N >= 1, the number of pieces of width h = 1 / N.

    Returns:
        ``(weights, biases)`` of shapes [(3(N + 1), 1), (1, 3(N + 1))] and [(3(N + 1),), (1,)],
        float64, for `kanlab.mlp.MLP.from_weights` with ``activation="relu"``.
    """
    knots = hat_knots(n_pieces)
    h = 1.0 / n_pieces
    values = torch.as_tensor(f(knots), dtype=torch.float64)
    if values.shape != (n_pieces + 1,):
        raise ValueError(
            f"f must map the {n_pieces + 1} knots, shape ({n_pieces + 1},), to shape ({n_pieces + 1},), "
            f"got {tuple(values.shape)}"
        )
    corners = torch.stack([knots - h, knots, knots + h], dim=1).reshape(-1)  # t_{i-1}, t_i, t_{i+1} per hat
    hidden_weight = torch.full((3 * (n_pieces + 1), 1), 1.0 / h, dtype=torch.float64)
    hidden_bias = -corners / h
    pattern = torch.tensor([1.0, -2.0, 1.0], dtype=torch.float64)
    output_weight = (values[:, None] * pattern).reshape(1, -1)
    return [hidden_weight, output_weight], [hidden_bias, torch.zeros(1, dtype=torch.float64)]


def hat_network(f: Callable[[Tensor], Tensor], n_pieces: int, dtype=torch.float64) -> MLP:
    """The interpolant of f at N + 1 knots as an `MLP` with widths [1, 3(N + 1), 1] and ReLU (see `hat_weights`)."""
    weights, biases = hat_weights(f, n_pieces)
    return MLP.from_weights(weights, biases, activation="relu", dtype=dtype)


def interpolation_bound(curvature: float, n_pieces: int) -> float:
    r"""h^2 M / 8 with h = 1 / N: the largest error of piecewise-linear interpolation at spacing h of
    an f with |f''| <= M (on each piece, f minus the chord is at most M (x - a)(b - x) / 2 <= M h^2 / 8)."""
    if not curvature >= 0:
        raise ValueError(f"curvature (a bound on |f''|) must be >= 0, got {curvature!r}")
    hat_knots(n_pieces)  # checks n_pieces
    return curvature / (8 * n_pieces**2)


def max_error(model: Callable[[Tensor], Tensor], f: Callable[[Tensor], Tensor], n_points: int = 10_001) -> float:
    r"""``max_x |model(x) - f(x)|`` over n_points equally spaced x in [0, 1], ends included.

    model maps (n, 1) to (n, 1) (an MLP, say); f maps (n,) to (n,). Both are evaluated in the
    model's dtype (float64 for plain functions).
    """
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
    parameter = next(iter(model.parameters()), None) if isinstance(model, torch.nn.Module) else None
    dtype = torch.float64 if parameter is None else parameter.dtype
    x = torch.linspace(0.0, 1.0, n_points, dtype=dtype)
    with torch.no_grad():
        return float((model(x[:, None])[:, 0] - f(x)).abs().max())


def loglog_slope(sizes: Sequence[float], errors: Sequence[float]) -> float:
    r"""The slope p of the least-squares line log(error) = p log(size) + c: error ~ size^p."""
    if len(sizes) != len(errors) or len(sizes) < 2:
        raise ValueError(
            f"sizes and errors must be equally long, with at least 2 entries, got {len(sizes)} and {len(errors)}"
        )
    if min(sizes) <= 0 or min(errors) <= 0:
        raise ValueError("sizes and errors must be positive to take logarithms")
    log_size = torch.tensor([math.log(s) for s in sizes], dtype=torch.float64)
    log_error = torch.tensor([math.log(e) for e in errors], dtype=torch.float64)
    centred = log_size - log_size.mean()
    return float((centred * (log_error - log_error.mean())).sum() / (centred**2).sum())


def fewest_bumps(f: Callable[[Tensor], Tensor], error: float, lipschitz: float) -> int:
    r"""The fewest bumps N for which ``max_error(bump_network(f, N), f) < error``.

    The search starts at N = ceil(L / (2 error)), where the bound L / (2N) reaches error, and moves
    down while N - 1 bumps still do and up while N do not: the construction's error of an
    L-Lipschitz f is close to L / (2N), so it takes a few steps. The network has 2N neurons.
    """
    if not error > 0:
        raise ValueError(f"error must be > 0, got {error!r}")
    if not lipschitz > 0:
        raise ValueError(f"lipschitz (a bound on |f'|) must be > 0, got {lipschitz!r}")
    n_bumps = math.ceil(lipschitz / (2 * error))
    while n_bumps > 1 and max_error(bump_network(f, n_bumps - 1), f) < error:
        n_bumps -= 1
    while max_error(bump_network(f, n_bumps), f) >= error:
        n_bumps += 1
    return n_bumps


def _check_n_bumps(n_bumps) -> None:
    if isinstance(n_bumps, bool) or not isinstance(n_bumps, int) or n_bumps < 1:
        raise ValueError(f"n_bumps must be an integer >= 1, got {n_bumps!r}")
