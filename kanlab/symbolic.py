r"""Symbolic regression of a KAN's edges: which known function is this learned curve?

Each edge of a KAN is a one-dimensional function phi(x). We compare it with a library of
candidates f, each fitted with an affine transform inside and outside:

    phi(x) ~ a * f(b * x + c) + d.

For every candidate, (b, c) are searched on a grid, then on finer and finer grids around the best
point, then polished by Levenberg-Marquardt on all four parameters; for each (b, c) the outer
pair (a, d) is the closed-form least-squares line from f(b * x + c) to phi(x). The quality of a fit
is its coefficient of determination R^2 = 1 - sum (phi - fit)^2 / sum (phi - mean phi)^2.

Functions whose domain is not the whole real line (log, sqrt, 1/x, tan) are only ever evaluated
where they are finite: the search skips every (b, c) that sends the samples outside the domain,
and when a fitted symbolic edge keeps training, its argument is clamped into the domain so that
no step can produce NaN.

On a KAN (edge (layer, i, j) joins input node i to output node j of ``model.layers[layer]``):
``suggest`` ranks the library for one edge, ``set_symbolic`` and ``auto_symbolic`` snap edges to
formulas (kept in the model's `SymbolicEdges`, whose a, b, c, d keep training), and ``formula``
writes the whole network as a sympy expression once every live edge is symbolic.

Your own functions: ``function(name, torch_fn, sympy_fn)`` builds a candidate for one call (pass it in
``lib=[*LIBRARY, f]`` to the ranking and snapping calls and to `kanlab.discovery.discover`), and
``add_function`` adds one to ``LIBRARY`` for the rest of the program (as pykan's ``add_symbolic``)::

    j0 = kanlab.symbolic.add_function("J0", torch.special.bessel_j0, lambda z: sympy.besselj(0, z))

A symbolic edge stores its function's name, not a position in the library, so the library's order
never matters; a saved model whose edges use an added function loads once that function is added
again (else `load` names the missing function).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import sympy
import torch
from torch import Tensor, nn

from kanlab.multiplication import node_expressions

__all__ = [
    "Candidate",
    "Fit",
    "FACTORS",
    "OUTER",
    "LIBRARY",
    "SymbolicEdges",
    "add_function",
    "auto_symbolic",
    "candidate",
    "fit_candidate",
    "formula",
    "function",
    "remove_function",
    "set_symbolic",
    "spline_edges",
    "suggest",
    "suggest_for_samples",
    "fit_complexity",
]

# How close to the edge of its domain a candidate's argument may come.
_DOMAIN_MARGIN = 1e-3


@dataclass(frozen=True)
class Candidate:
    """One library function f with what we need to fit, train and print it.

    Attributes:
        name: the name users pass, e.g. ``"x^2"`` or ``"sin"``.
        torch_fn: f on tensors, finite wherever ``inside`` holds.
        sympy_fn: f on sympy expressions.
        complexity: a small integer; among equally good fits the simplest is ranked first.
        inside: ``inside(low, high)`` is True (elementwise, on tensors) when the whole interval
            [low, high] lies where f is finite and smooth.
        clamp: maps any argument into the domain (identity where f is defined everywhere), so that
            a training step that moves b * x + c out of the domain gives a finite value.
    """

    name: str
    torch_fn: Callable[[Tensor], Tensor]
    sympy_fn: Callable[[sympy.Expr], sympy.Expr]
    complexity: int
    inside: Callable[[Tensor, Tensor], Tensor]
    clamp: Callable[[Tensor], Tensor]

    def __call__(self, z: Tensor) -> Tensor:
        """f(z) with z first clamped into f's domain: always finite, with finite gradients."""
        return self.torch_fn(self.clamp(z))


def _everywhere(low: Tensor, high: Tensor) -> Tensor:
    return torch.ones_like(low, dtype=torch.bool)


def _identity(z: Tensor) -> Tensor:
    return z


def _positive(low: Tensor, high: Tensor) -> Tensor:
    return low > _DOMAIN_MARGIN


def _clamp_positive(z: Tensor) -> Tensor:
    return z.clamp_min(_DOMAIN_MARGIN)


def _nonnegative(low: Tensor, high: Tensor) -> Tensor:
    return low >= 0


def _clamp_nonnegative(z: Tensor) -> Tensor:
    # Not 0 itself: sqrt'(0) is infinite, and clamp's zero gradient times infinity is NaN.
    return z.clamp_min(_DOMAIN_MARGIN**2)


def _away_from_zero(low: Tensor, high: Tensor) -> Tensor:
    return (low > _DOMAIN_MARGIN) | (high < -_DOMAIN_MARGIN)


def _clamp_away_from_zero(z: Tensor) -> Tensor:
    nearest_allowed = torch.where(z < 0, -_DOMAIN_MARGIN, _DOMAIN_MARGIN).to(z.dtype)
    return torch.where(z.abs() < _DOMAIN_MARGIN, nearest_allowed, z)


def _one_tan_branch(low: Tensor, high: Tensor) -> Tensor:
    # tan is smooth on each open interval (k pi - pi/2, k pi + pi/2).
    branch = torch.round((low + high) / 2 / math.pi)
    centre = branch * math.pi
    half_width = math.pi / 2 - _DOMAIN_MARGIN
    return (low > centre - half_width) & (high < centre + half_width)


def _clamp_principal_tan_branch(z: Tensor) -> Tensor:
    # Fitted tan edges are shifted onto the principal branch (see _canonical), so clamping there
    # changes nothing on the data and keeps training steps finite.
    half_width = math.pi / 2 - _DOMAIN_MARGIN
    return z.clamp(-half_width, half_width)


def _inside_unit_interval(low: Tensor, high: Tensor) -> Tensor:
    return (low > -1 + _DOMAIN_MARGIN) & (high < 1 - _DOMAIN_MARGIN)


def _clamp_unit_interval(z: Tensor) -> Tensor:
    return z.clamp(-1 + _DOMAIN_MARGIN, 1 - _DOMAIN_MARGIN)


def _zero(z: Tensor) -> Tensor:
    return torch.zeros_like(z)


# Complexity orders the candidates a person would try first: a constant, a line, low powers, then
# the transcendental functions, then those with poles or kinks. Among fits of about the same quality
# the ranking (`suggest_for_samples`) prefers the lower complexity, which a fit can raise by one
# (`fit_complexity`). Symbolic edges store their function's name (`SymbolicEdges`), so the order
# may change; `add_function` appends.
LIBRARY: dict[str, Candidate] = {
    c.name: c
    for c in [
        Candidate("0", _zero, lambda z: sympy.Integer(0), 0, _everywhere, _identity),
        Candidate("x", _identity, lambda z: z, 1, _everywhere, _identity),
        Candidate("x^2", torch.square, lambda z: z**2, 2, _everywhere, _identity),
        Candidate("x^3", lambda z: z**3, lambda z: z**3, 3, _everywhere, _identity),
        Candidate("x^4", lambda z: z**4, lambda z: z**4, 4, _everywhere, _identity),
        Candidate("1/x", torch.reciprocal, lambda z: 1 / z, 3, _away_from_zero, _clamp_away_from_zero),
        Candidate("sqrt", torch.sqrt, sympy.sqrt, 3, _nonnegative, _clamp_nonnegative),
        Candidate("exp", torch.exp, sympy.exp, 3, _everywhere, _identity),
        Candidate("log", torch.log, sympy.log, 3, _positive, _clamp_positive),
        Candidate("sin", torch.sin, sympy.sin, 3, _everywhere, _identity),
        Candidate("cos", torch.cos, sympy.cos, 3, _everywhere, _identity),
        Candidate("tanh", torch.tanh, sympy.tanh, 3, _everywhere, _identity),
        Candidate("tan", torch.tan, sympy.tan, 4, _one_tan_branch, _clamp_principal_tan_branch),
        Candidate("abs", torch.abs, sympy.Abs, 4, _everywhere, _identity),
        Candidate("artanh", torch.atanh, sympy.atanh, 4, _inside_unit_interval, _clamp_unit_interval),
    ]
}


# The built-in functions, in the order of the first checkpoints (whose edges stored positions here).
_BUILTIN_NAMES = tuple(LIBRARY)

def _no_multiple_of_pi(shift: float) -> Callable[[Tensor, Tensor], Tensor]:
    """inside(low, high) for 1/sin (shift 0) and 1/cos (shift pi/2): no zero k pi + shift in the interval."""

    def inside(low: Tensor, high: Tensor) -> Tensor:
        k = torch.ceil((low - shift - _DOMAIN_MARGIN) / math.pi)  # the first zero at or above low
        return k * math.pi + shift > high + _DOMAIN_MARGIN

    return inside


def _positive_not_one(low: Tensor, high: Tensor) -> Tensor:
    return (low > _DOMAIN_MARGIN) & ((high < 1 - _DOMAIN_MARGIN) | (low > 1 + _DOMAIN_MARGIN))


def _reciprocal(f: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """1 / f(z), with f(z) kept at least _DOMAIN_MARGIN away from 0 (finite values and gradients
    when a training step moves the argument onto a zero of f)."""

    def torch_fn(z: Tensor) -> Tensor:
        value = f(z)
        nearest_allowed = torch.where(value < 0, -_DOMAIN_MARGIN, _DOMAIN_MARGIN).to(value.dtype)
        return 1 / torch.where(value.abs() < _DOMAIN_MARGIN, nearest_allowed, value)

    return torch_fn


# Functions that a factor of a product, or the function applied to a product, often is, which the
# library reads only as a chain of two edges or not at all: `kanlab.discovery` adds them to the library
# for a separable product's edges (`kanlab.discovery.product_model`). Powers (an inverse square law,
# 1/sqrt), reciprocals 1/f of library functions and of cosh (quotients are the commonest shape of a
# law: n / (2 cosh a), a / sin t), and arcsin (Snell's law, asin(n sin t), is a function of a
# product). Not in LIBRARY (an additive network builds them from 1/x and x^2, or does not need them,
# and a larger library makes its ranking slower and less sure); an edge may still use them by name.
FACTORS: dict[str, Candidate] = {
    c.name: c
    for c in [
        Candidate("1/x^2", lambda z: z**-2, lambda z: z**-2, 3, _away_from_zero, _clamp_away_from_zero),
        Candidate("1/sqrt", torch.rsqrt, lambda z: 1 / sympy.sqrt(z), 3, _positive, _clamp_positive),
        Candidate("1/x^3", lambda z: z**-3, lambda z: z**-3, 4, _away_from_zero, _clamp_away_from_zero),
        Candidate("cosh", torch.cosh, sympy.cosh, 4, _everywhere, _identity),  # above exp: its tail copies exp
        Candidate("1/cosh", _reciprocal(torch.cosh), lambda z: 1 / sympy.cosh(z), 4, _everywhere, _identity),
        Candidate("1/sin", _reciprocal(torch.sin), lambda z: 1 / sympy.sin(z), 4, _no_multiple_of_pi(0.0), _identity),
        Candidate("1/cos", _reciprocal(torch.cos), lambda z: 1 / sympy.cos(z), 4, _no_multiple_of_pi(math.pi / 2),
                  _identity),
        Candidate("1/log", _reciprocal(torch.log), lambda z: 1 / sympy.log(z), 4, _positive_not_one, _clamp_positive),
        Candidate("1/tanh", _reciprocal(torch.tanh), lambda z: 1 / sympy.tanh(z), 4, _away_from_zero, _identity),
        Candidate("asin", torch.asin, sympy.asin, 4, _inside_unit_interval, _clamp_unit_interval),
    ]
}

# The functions of FACTORS that `kanlab.discovery` offers only to a product's output edge, not to its
# factors: arcsin bends like a square root near the ends of its domain and, as a factor, copies
# curves that are not arcsines.
OUTER: tuple[str, ...] = ("asin",)


def _built_in(name: str) -> Candidate | None:
    """The entry of LIBRARY called ``name``, else that of FACTORS, else None."""
    return LIBRARY[name] if name in LIBRARY else FACTORS.get(name)


def candidate(name: str | Candidate) -> Candidate:
    """The entry called ``name`` in LIBRARY, else in FACTORS (a `Candidate` is returned as it is); a
    clear ValueError for a name in neither."""
    if isinstance(name, Candidate):
        return name
    if not isinstance(name, str):
        raise TypeError(f"function name must be a str or a Candidate, got {type(name).__name__}")
    found = _built_in(name)
    if found is None:
        raise ValueError(f"unknown function name {name!r}; expected one of {sorted(LIBRARY)} (or {sorted(FACTORS)})")
    return found


def _with_derivative(torch_fn: Callable[[Tensor], Tensor], derivative: Callable[[Tensor], Tensor] | None):
    """torch_fn made differentiable: f'(z) from ``derivative``, or else by central differences in float64,
    (f(z + h) - f(z - h)) / (2 h) with h = 1e-5 (1 + |z|) (an error near 1e-10 for a smooth f)."""

    def slope(z: Tensor) -> Tensor:
        if derivative is not None:
            return derivative(z)
        z64 = z.detach().to(torch.float64)
        h = 1e-5 * (1 + z64.abs())
        return torch.nan_to_num((torch_fn(z64 + h) - torch_fn(z64 - h)) / (2 * h)).to(z.dtype)

    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return torch_fn(z)

        @staticmethod
        def backward(ctx, grad):
            (z,) = ctx.saved_tensors
            return grad * slope(z)

    return _Function.apply


def function(name: str, torch_fn: Callable[[Tensor], Tensor], sympy_fn: Callable[[sympy.Expr], sympy.Expr],
             complexity: int = 3, domain: tuple[float, float] | None = None,
             derivative: Callable[[Tensor], Tensor] | None = None) -> Candidate:
    """Your own candidate f for ``lib=`` (one call); `add_function` adds it to ``LIBRARY`` for good.

    Args:
        name: how fits and edges call it; not a built-in name (``"sin"``, ...).
        torch_fn: f on tensors, elementwise, finite on the domain.
        sympy_fn: f on sympy expressions, e.g. ``lambda z: sympy.besselj(0, z)``; required, since the
            formula is written with it.
        complexity: its rank among equally good fits (built-ins: 1 for x, 2 for x^2, 3 for sin, exp,
            log, 4 for tan, abs, artanh).
        domain: (low, high) where f is finite and smooth; None: everywhere. Fits keep b t + c inside.
        derivative: f' on tensors, used in training when torch_fn has no autograd (as
            torch.special.bessel_j0); None: central differences.

    Checks, on 2001 points of the domain within [-10, 10]: torch_fn gives finite numbers (NaN or inf
    is refused, naming f and the point: give a narrower ``domain``), and sympy_fn agrees with it at 7
    of them (to 1e-6 relative).

    Raises:
        ValueError or TypeError naming the function.
    """
    if not isinstance(name, str) or not name or "\n" in name:
        raise ValueError(f"name must be a non-empty one-line str, got {name!r}")
    if name in _BUILTIN_NAMES:
        raise ValueError(f"{name!r} is a built-in function of the library; give your function another name")
    if not callable(torch_fn):
        raise TypeError(f"torch_fn of function {name!r} must be callable, got {type(torch_fn).__name__}")
    if sympy_fn is None or not callable(sympy_fn):
        raise ValueError(f"function {name!r} needs sympy_fn, its sympy form (e.g. lambda z: sympy.besselj(0, z)): "
                         "a formula is written with it")
    if isinstance(complexity, bool) or not isinstance(complexity, int) or complexity < 0:
        raise ValueError(f"complexity of function {name!r} must be an integer >= 0, got {complexity!r}")
    low, high = (-math.inf, math.inf) if domain is None else domain
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and low < high):
        raise ValueError(f"domain of function {name!r} must be (low, high) with low < high, got {domain!r}")
    points = torch.linspace(max(low + _DOMAIN_MARGIN, -10.0), min(high - _DOMAIN_MARGIN, 10.0), 2001,
                            dtype=torch.float64)
    try:
        values = torch.as_tensor(torch_fn(points))
    except Exception as error:
        raise ValueError(f"torch_fn of function {name!r} fails on a float64 tensor: {error}") from error
    if values.shape != points.shape:
        raise ValueError(f"torch_fn of function {name!r} must be elementwise: shape {tuple(values.shape)} for "
                         f"input {tuple(points.shape)}")
    bad = ~torch.isfinite(values)
    if bad.any():
        where = float(points[bad.nonzero()[0, 0]])
        raise ValueError(f"function {name!r} gives {float(values[bad][0])} at {where:.4g} (checked on "
                         f"[{float(points[0]):.4g}, {float(points[-1]):.4g}]); give domain=(low, high) where it is finite")
    symbol = sympy.Symbol("z", real=True)
    try:
        expression = sympy.sympify(sympy_fn(symbol))
    except Exception as error:
        raise ValueError(f"sympy_fn of function {name!r} fails on a sympy symbol: {error}") from error
    if symbol not in expression.free_symbols:
        raise ValueError(f"sympy_fn of function {name!r} must depend on its argument, got {expression}")
    for k in torch.linspace(0, len(points) - 1, 7).round().long().tolist():
        point, value = float(points[k]), float(values[k])
        try:
            exact = float(expression.subs(symbol, point).evalf())
        except (TypeError, ValueError) as error:
            raise ValueError(f"sympy_fn of function {name!r} gives no number at {point:.4g}: {error}") from error
        if not abs(exact - value) <= 1e-6 * (1 + abs(value)):
            raise ValueError(f"torch_fn and sympy_fn of function {name!r} disagree at {point:.4g}: "
                             f"{value:.8g} and {exact:.8g}")
    probe = points[:2].clone().requires_grad_(True)
    if derivative is not None or not torch_fn(probe).requires_grad:
        torch_fn = _with_derivative(torch_fn, derivative)
    if domain is None:
        return Candidate(name, torch_fn, sympy_fn, complexity, _everywhere, _identity)
    lo, hi = low + _DOMAIN_MARGIN, high - _DOMAIN_MARGIN
    return Candidate(name, torch_fn, sympy_fn, complexity, lambda a, b: (a >= lo) & (b <= hi),
                     lambda z: z.clamp(lo, hi))


def add_function(name: str, torch_fn: Callable[[Tensor], Tensor], sympy_fn: Callable[[sympy.Expr], sympy.Expr],
                 complexity: int = 3, domain: tuple[float, float] | None = None,
                 derivative: Callable[[Tensor], Tensor] | None = None) -> Candidate:
    """Add your own function to ``LIBRARY`` for the rest of the program (pykan's ``add_symbolic``).

    From then on every call whose ``lib`` is None ranks it too, and ``lib`` may name it. Arguments
    and checks as for `function`; adding a name again replaces your earlier function. Returns the
    `Candidate`.
    """
    cand = function(name, torch_fn, sympy_fn, complexity, domain, derivative)
    LIBRARY[name] = cand
    return cand


def remove_function(name: str) -> None:
    """Take a function added by `add_function` out of ``LIBRARY`` again (built-ins stay)."""
    if name in _BUILTIN_NAMES:
        raise ValueError(f"{name!r} is a built-in function of the library and cannot be removed")
    if name not in LIBRARY:
        raise ValueError(f"no added function is called {name!r}; added: {sorted(set(LIBRARY) - set(_BUILTIN_NAMES))}")
    del LIBRARY[name]


@dataclass(frozen=True)
class Fit:
    """The best fit y ~ a * f(b * x + c) + d of one candidate f, and its R^2 on the samples."""

    name: str
    r2: float
    params: tuple[float, float, float, float]  # (a, b, c, d)
    function: Candidate | None = field(default=None, compare=False, repr=False)  # None: LIBRARY[name]


def _r2_and_line(f: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Least-squares line y ~ a * f + d along the last dimension, and its R^2.

    Shapes: f (..., n), y (n,) -> r2, a, d of shape (...). A constant f gives a = 0 (the line is
    the mean of y); a constant y is fitted exactly (R^2 = 1).
    """
    f_centred = f - f.mean(-1, keepdim=True)
    y_centred = y - y.mean()
    var_f = (f_centred**2).sum(-1)
    cov = (f_centred * y_centred).sum(-1)
    ss_total = (y_centred**2).sum()
    tiny = torch.finfo(f.dtype).tiny
    a = torch.where(var_f > tiny, cov / var_f.clamp_min(tiny), torch.zeros_like(cov))
    d = y.mean() - a * f.mean(-1)
    if ss_total <= tiny:
        return torch.ones_like(a), a, d
    r2 = a * cov / ss_total  # explained variance cov^2 / (var_f * ss_total)
    return r2, a, d


def _grid_search(cand: Candidate, x: Tensor, y: Tensor, b: Tensor, c: Tensor) -> tuple[float, float, float]:
    """Best (R^2, b, c) over the grid b x c, skipping points whose b*x+c leaves f's domain."""
    low = torch.minimum(b[:, None] * x.min(), b[:, None] * x.max()) + c[None, :]  # (nb, nc)
    high = torch.maximum(b[:, None] * x.min(), b[:, None] * x.max()) + c[None, :]
    allowed = cand.inside(low, high)
    z = b[:, None, None] * x + c[None, :, None]  # (nb, nc, n)
    r2, _, _ = _r2_and_line(cand(z), y)
    r2 = torch.where(allowed & torch.isfinite(r2), r2, torch.full_like(r2, -math.inf))
    best = int(torch.argmax(r2))
    i, j = divmod(best, len(c))
    return float(r2[i, j]), float(b[i]), float(c[j])


def _search_affine(cand: Candidate, x: Tensor, y: Tensor, scale: float, points: int, zooms: int) -> tuple[float, float]:
    """(b, c) by a coarse grid on [-scale, scale]^2, then `zooms` finer grids around the best."""
    b = torch.linspace(-scale, scale, points, dtype=x.dtype)
    c = torch.linspace(-scale, scale, points, dtype=x.dtype)
    step = 2 * scale / (points - 1)
    best_r2, best_b, best_c = _grid_search(cand, x, y, b, c)
    for _ in range(zooms):
        b = torch.linspace(best_b - 2 * step, best_b + 2 * step, 21, dtype=x.dtype)
        c = torch.linspace(best_c - 2 * step, best_c + 2 * step, 21, dtype=x.dtype)
        step = 4 * step / 20
        r2, b_new, c_new = _grid_search(cand, x, y, b, c)
        if r2 > best_r2:
            best_r2, best_b, best_c = r2, b_new, c_new
    return best_b, best_c


def _polish(cand: Candidate, x: Tensor, y: Tensor, params: Tensor, steps: int = 30) -> Tensor:
    """Levenberg-Marquardt on (a, b, c, d) for sum (a f(b x + c) + d - y)^2, staying in the domain.

    Jacobian columns of the residual r = a f(z) + d - y, z = b x + c: f(z), a f'(z) x, a f'(z), 1.
    """

    def residual_and_jacobian(p: Tensor) -> tuple[Tensor, Tensor]:
        z = (p[1] * x + p[2]).requires_grad_(True)
        with torch.enable_grad():
            f = cand.torch_fn(z)
            (slope,) = torch.autograd.grad(f.sum(), z)  # f is elementwise, so this is f'(z)
        f = f.detach()
        jacobian = torch.stack([f, p[0] * slope * x, p[0] * slope, torch.ones_like(x)], dim=1)  # (n, 4)
        return p[0] * f + p[3] - y, jacobian

    def loss_if_admissible(p: Tensor) -> float:
        z = p[1] * x + p[2]
        if not bool(cand.inside(z.min(), z.max())):
            return math.inf
        loss = float(((p[0] * cand.torch_fn(z) + p[3] - y) ** 2).sum())
        return loss if math.isfinite(loss) else math.inf

    damping = 1e-3
    loss = loss_if_admissible(params)
    for _ in range(steps):
        residual, jacobian = residual_and_jacobian(params)
        gradient = jacobian.T @ residual
        normal = jacobian.T @ jacobian
        if not torch.isfinite(normal).all():
            break
        while damping < 1e12:
            damped = normal + damping * torch.diag(normal.diagonal().clamp_min(1e-12))
            step, info = torch.linalg.solve_ex(damped, -gradient)
            trial_loss = loss_if_admissible(params + step) if info == 0 else math.inf
            if trial_loss < loss:
                params, loss = params + step, trial_loss
                damping = max(damping / 10, 1e-12)
                break
            damping *= 10
        else:
            break
    return params


def _canonical(name: str, a: float, b: float, c: float, d: float) -> tuple[float, float, float, float]:
    """The same function with the parameters a reader expects: no redundant scale, no periodic shift.

    For instance a (b x + c)^2 = (a b^2) (x + c/b)^2, a exp(b x + c) = (a e^c) exp(b x) and
    a log(b x + c) = a log(sign(b) x + c/|b|) + a log|b|.
    """
    if name == "0":
        return 0.0, 1.0, 0.0, d
    if name == "x":
        return a * b, 1.0, 0.0, a * c + d
    if b == 0:
        return a, b, c, d
    powers = {"x^2": 2, "x^3": 3, "x^4": 4, "1/x": -1, "1/x^2": -2, "1/x^3": -3}
    if name in powers:
        return a * b ** powers[name], 1.0, c / b, d
    if name == "abs":
        return a * abs(b), 1.0, c / b, d
    if name == "sqrt":
        return a * math.sqrt(abs(b)), math.copysign(1.0, b), c / abs(b), d
    if name == "log":
        return a, math.copysign(1.0, b), c / abs(b), d + a * math.log(abs(b))
    if name == "exp":
        return a * math.exp(c), b, 0.0, d
    if name in ("sin", "cos", "1/sin", "1/cos"):
        return a, b, math.remainder(c, 2 * math.pi), d
    if name in ("cosh", "1/cosh"):  # even: b > 0
        return a, abs(b), math.copysign(1.0, b) * c, d
    if name == "tan":
        return a, b, math.remainder(c, math.pi), d
    return a, b, c, d


def fit_candidate(
    x: Tensor,
    y: Tensor,
    name: str,
    scale: float = 10.0,
    points: int = 41,
    zooms: int = 4,
    max_search_samples: int = 128,
) -> Fit:
    """Fit y ~ a * f(b * x + c) + d for the library function ``name``.

    Args:
        x, y: samples of the curve, shape (n,) each; computed in float64.
        name: a key of :data:`LIBRARY`, or a `Candidate` (`function`).
        scale: the coarse grid covers b, c in [-scale, scale].
        points: grid points per axis of the coarse grid.
        zooms: how many finer grids follow the coarse one.
        max_search_samples: the grid search and the polish use at most this many evenly spaced samples
            (sorted by x); the reported R^2 uses all of them.

    Returns:
        a :class:`Fit`; R^2 = -inf when no (b, c) keeps the samples inside f's domain.
    """
    cand = candidate(name)
    name = cand.name
    x, y = _as_samples(x, y)
    if float(y.max() - y.min()) <= 1e-12 * max(1.0, float(y.abs().max())):
        return Fit(name, 1.0, (0.0, 1.0, 0.0, float(y.mean())), cand)  # a constant: every candidate with a = 0
    order = torch.argsort(x)
    x, y = x[order], y[order]
    keep = torch.linspace(0, len(x) - 1, min(len(x), max_search_samples)).round().long()
    if name in ("0", "x"):
        b, c = 1.0, 0.0
    else:
        b, c = _search_affine(cand, x[keep], y[keep], scale, points, zooms)
    z = b * x + c
    if not bool(cand.inside(z.min(), z.max())):
        return Fit(name, -math.inf, (0.0, b, c, float(y.mean())), cand)
    _, a, d = _r2_and_line(cand(z), y)
    params = torch.tensor([float(a), b, c, float(d)], dtype=x.dtype)
    if name not in ("0", "x"):  # a and d of "0" and "x" are already least squares on all the samples
        params = _polish(cand, x[keep], y[keep], params)
    a, b, c, d = _canonical(name, *(float(p) for p in params))
    prediction = a * cand(b * x + c) + d
    ss_total = float(((y - y.mean()) ** 2).sum())
    ss_residual = float(((y - prediction) ** 2).sum())
    r2 = 1.0 - ss_residual / ss_total if ss_total > 0 else float(ss_residual == 0)
    return Fit(name, r2, (a, b, c, d), cand)


def fit_complexity(fit: Fit, x: Tensor) -> int:
    r"""The complexity of the fit a f(b x + c) + d on the samples x: its candidate's, plus one for a
    tanh whose argument b x + c keeps one sign on x.

    Such a tanh never reaches its inflection point: it is a monotone curve bent one way, and its
    tail, tanh u = 1 - 2 e^{-2u} + O(e^{-4u}), is an exponential. With a large a and c it copies
    e^t to R^2 = 1 - 1e-6 (a trained hello-KAN's output edge once read 37.4 tanh(...)), so exp,
    the simpler reading, must win the tie. A tanh that crosses zero keeps its S shape and its
    candidate's complexity.
    """
    complexity = (fit.function or candidate(fit.name)).complexity
    if fit.name == "tanh":
        _, b, c, _ = fit.params
        x = torch.as_tensor(x)
        low, high = float(x.min()), float(x.max())
        if (b * low + c) * (b * high + c) > 0:
            return complexity + 1
    return complexity


def suggest_for_samples(
    x: Tensor, y: Tensor, lib: Sequence[str] | None = None, complexity_weight: float = 0.5, tolerance: float = 1e-6
) -> list[Fit]:
    """Every candidate of ``lib`` (names or `Candidate` objects; default: the whole library) fitted to (x, y), best first.

    Ranking: by the score log10(max(1 - R^2, tolerance)) plus ``complexity_weight`` times the
    fit's complexity (`fit_complexity`); lower is better. Fits whose unexplained share 1 - R^2 is below
    ``tolerance`` count as exact, so among them the simplest wins: a line bent by a few parts in a
    thousand is reported as "x" although sin(b x) with small b fits it better still. Above the
    tolerance, one step of complexity costs a factor 10^complexity_weight in 1 - R^2: "x^2" with
    1 - R^2 = 2e-5 beats "sin" with 1e-5, but not "sin" with 1e-6.
    """
    names = list(LIBRARY) if lib is None else _check_lib(lib)
    for name, value in (("complexity_weight", complexity_weight), ("tolerance", tolerance)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    fits = [fit_candidate(x, y, name) for name in names]
    floor = max(tolerance, 1e-15)

    def score(fit: Fit) -> float:
        if fit.r2 == -math.inf:
            return math.inf
        return math.log10(max(1.0 - fit.r2, floor)) + complexity_weight * fit_complexity(fit, x)

    return sorted(fits, key=lambda fit: (score(fit), -fit.r2))  # equal scores: the better fit first


def _check_lib(lib: Sequence[str]) -> list[str]:
    if isinstance(lib, str) or not isinstance(lib, Sequence) or len(lib) == 0:
        raise ValueError(f"lib must be a non-empty list of function names, got {lib!r}")
    for name in lib:
        candidate(name)
    return list(lib)


def _as_samples(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    x = torch.as_tensor(x).detach().to(torch.float64).cpu()
    y = torch.as_tensor(y).detach().to(torch.float64).cpu()
    if x.ndim != 1 or y.shape != x.shape or len(x) < 2:
        raise ValueError(
            f"x and y must be 1-D with the same length >= 2, got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("x and y must be finite (found NaN or inf)")
    return x, y


def _encode_names(names: Sequence[str]) -> Tensor:
    return torch.tensor(list("\n".join(names).encode("utf-8")), dtype=torch.uint8)


def _decode_names(table: Tensor) -> list[str]:
    return bytes(table.tolist()).decode("utf-8").split("\n") if len(table) else []


class SymbolicEdges(nn.Module):
    r"""The symbolic edges of one KAN layer: phi_{j,i}(x_i) = a * f(b * x_i + c) + d, exactly.

    Edge (i, j) joins input i to output j. The KAN adds this module's output to its layer's, and
    switches the layer's spline off on these edges (``edge_mask`` 0), so each edge is either a
    spline or a formula. a, b, c, d stay trainable; the function f is fixed. Only the symbolic
    edges are stored, so a KAN without any costs nothing here.

    Args:
        in_features, out_features: the layer's size.

    Shape:
        Input (*, in_features); output (*, out_features), the sum over inputs of the symbolic
        edges; :meth:`edge_activations` gives (batch, out_features, in_features), zero on
        non-symbolic edges.

    Attributes:
        affine: (n_edges, 4), the (a, b, c, d) of each symbolic edge; it requires no gradient
            while it is empty, since no loss reaches it then (DistributedDataParallel's defaults
            refuse a trainable parameter that the loss does not use).
        edges: (n_edges, 2) long buffer, the (i, j) of each symbolic edge.
        function_index: (n_edges,) long buffer, each edge's position in ``function_names``.
        function_names: the names of the functions this layer has used, in the order they came; saved
            with the model (as the UTF-8 bytes of the names joined by newlines, the uint8 buffer
            ``function_table``), so loading never depends on the library's order. A checkpoint
            without it dates from the fixed library and reads its indices there.
    """

    def __init__(self, in_features: int, out_features: int, device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.affine = _affine(torch.zeros(0, 4, device=device, dtype=dtype))
        self.register_buffer("edges", torch.zeros(0, 2, dtype=torch.long, device=device))
        self.register_buffer("function_index", torch.zeros(0, dtype=torch.long, device=device))
        self.register_buffer("function_table", torch.zeros(0, dtype=torch.uint8, device=device))
        self.function_names: list[str] = []
        self._functions: dict[str, Candidate] = {}  # those given to set_edge, also when not in LIBRARY

    def function_at(self, index: int) -> Candidate:
        """The function of ``function_names[index]``: as given to `set_edge`, else ``LIBRARY``'s, else
        ``FACTORS``'s."""
        name = self.function_names[index]
        if name in self._functions:
            return self._functions[name]
        found = _built_in(name)
        if found is None:
            raise ValueError(
                f"these symbolic edges use the function {name!r}, which is not in the library; add it with "
                f"kanlab.symbolic.add_function({name!r}, torch_fn, sympy_fn) before loading or using this model"
            )
        return found

    def _row(self, i: int, j: int) -> int | None:
        matches = ((self.edges[:, 0] == i) & (self.edges[:, 1] == j)).nonzero()
        return int(matches[0, 0]) if len(matches) else None

    def set_edge(self, i: int, j: int, name: str | Candidate, params: Sequence[float]) -> None:
        """Make edge (input i -> output j) a * f(b * x + c) + d with f = ``name`` (a library name or a
        `Candidate`), params = (a, b, c, d).

        Replaces ``affine`` by a new Parameter: build optimisers after snapping edges.
        """
        cand = candidate(name)
        if cand.name not in self.function_names:
            self.function_names.append(cand.name)
            self.function_table = _encode_names(self.function_names).to(self.function_table.device)
        self._functions[cand.name] = cand
        index = self.function_names.index(cand.name)
        params = torch.as_tensor(params, dtype=self.affine.dtype, device=self.affine.device).reshape(1, 4)
        row = self._row(i, j)
        keep = torch.ones(len(self.edges), dtype=torch.bool, device=self.edges.device)
        if row is not None:
            keep[row] = False
        new_edge = torch.tensor([[i, j]], dtype=torch.long, device=self.edges.device)
        self.edges = torch.cat([self.edges[keep], new_edge])
        self.function_index = torch.cat([self.function_index[keep], new_edge.new_tensor([index])])
        self.affine = _affine(torch.cat([self.affine.detach()[keep], params]))

    def remove_edge(self, i: int, j: int) -> None:
        """Forget edge (input i -> output j) if it is symbolic."""
        row = self._row(i, j)
        if row is not None:
            keep = torch.arange(len(self.edges), device=self.edges.device) != row
            self.edges = self.edges[keep]
            self.function_index = self.function_index[keep]
            self.affine = _affine(self.affine.detach()[keep])

    def function_name(self, i: int, j: int) -> str | None:
        """The library name of edge (input i -> output j), or None when it is not symbolic."""
        row = self._row(i, j)
        return None if row is None else self.function_names[int(self.function_index[row])]

    def is_symbolic(self) -> Tensor:
        """(out_features, in_features) bool: which edges are symbolic."""
        mask = torch.zeros(self.out_features, self.in_features, dtype=torch.bool, device=self.edges.device)
        mask[self.edges[:, 1], self.edges[:, 0]] = True
        return mask

    def _values(self, x: Tensor) -> Tensor:
        """a f(b x_i + c) + d of each symbolic edge: (batch, in) -> (batch, n_edges)."""
        a, b, c, d = self.affine.unbind(-1)
        z = b * x[:, self.edges[:, 0]] + c
        f = torch.zeros_like(z)
        for index in torch.unique(self.function_index).tolist():
            uses = self.function_index == index
            f = torch.where(uses, self.function_at(index)(z), f)
        return a * f + d

    def edge_activations(self, x: Tensor) -> Tensor:
        """Each edge's value, zero on non-symbolic edges: (batch, in) -> (batch, out, in)."""
        values = self._values(x)
        activations = x.new_zeros(x.shape[0], self.out_features, self.in_features)
        activations[:, self.edges[:, 1], self.edges[:, 0]] = values
        return activations

    def forward(self, x: Tensor) -> Tensor:
        flat = x.reshape(-1, self.in_features)
        y = flat.new_zeros(flat.shape[0], self.out_features)
        if len(self.edges):
            y = y.index_add(1, self.edges[:, 1], self._values(flat))
        return y.reshape(*x.shape[:-1], self.out_features)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint may hold any number of symbolic edges: take its sizes before loading.
        if prefix + "function_index" in state_dict and prefix + "function_table" not in state_dict:
            state_dict[prefix + "function_table"] = _encode_names(_BUILTIN_NAMES)  # saved before names were
        for name in ("edges", "function_index", "function_table"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name], device=self.edges.device))
        if prefix + "affine" in state_dict:
            shape = state_dict[prefix + "affine"].shape
            self.affine = _affine(self.affine.new_empty(shape))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.function_names = _decode_names(self.function_table)
        for index in torch.unique(self.function_index).tolist():
            self.function_at(index)  # a function missing from the library is named now, not at the first use

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, symbolic_edges={len(self.edges)}"



def _affine(values: Tensor) -> nn.Parameter:
    """The (a, b, c, d) rows as a Parameter, trainable only when it holds an edge."""
    return nn.Parameter(values, requires_grad=len(values) > 0)

# ----------------------------------------------------------------------------------------------
# The model-level API: name a KAN's edges, snap them to formulas, read the whole network's formula.
# Edge (layer, i, j) is the edge from input node i to output node j of model.layers[layer].


def _check_edge(model, layer: int, i: int, j: int) -> None:
    n_layers = len(model.layers)
    for name, value in (("layer", layer), ("i", i), ("j", j)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= layer < n_layers:
        raise ValueError(f"layer must be in [0, {n_layers}) for a KAN of widths {model.widths}, got {layer}")
    n_in, n_out = model.layers[layer].in_features, model.layers[layer].out_features
    if not 0 <= i < n_in:
        raise ValueError(f"i (input node of layer {layer}) must be in [0, {n_in}), got {i}")
    if not 0 <= j < n_out:
        raise ValueError(f"j (output node of layer {layer}) must be in [0, {n_out}), got {j}")


def _samples(model, x: Tensor | None) -> Tensor:
    from kanlab.pruning import input_box_samples  # here, not on top: kanlab.pruning imports this module

    if x is None:
        return input_box_samples(model)
    return x.to(device=model.layers[0].grid.device, dtype=model.layers[0].grid.dtype)


@torch.no_grad()
def _edge_curves(model, x: Tensor) -> list[tuple[Tensor, Tensor]]:
    """Per layer: the inputs (batch, n_in) and every edge's values (batch, n_out, n_in) on x."""
    inputs = model.layer_inputs(x)
    return list(zip(inputs, model.edge_activations(x)))


def spline_edges(model) -> list[tuple[int, int, int]]:
    """The live edges (layer, i, j) that are still splines: not pruned, not symbolic."""
    edges = []
    for l, (layer, symbolic) in enumerate(zip(model.layers, model.symbolic)):
        alive = (layer.edge_mask != 0) & ~symbolic.is_symbolic()
        edges += [(l, i, j) for j, i in alive.nonzero().tolist()]
    return edges


def suggest(model, layer: int, i: int, j: int, lib: Sequence[str] | None = None, x: Tensor | None = None) -> list[Fit]:
    """Library functions ranked by how well a f(b t + c) + d fits edge (layer, i, j), best first.

    The edge is sampled at the layer's inputs for the samples x (batch, n_0); None draws 1000
    points from the input grid box. See :func:`suggest_for_samples` for the ranking.
    """
    _check_edge(model, layer, i, j)
    inputs, values = _edge_curves(model, _samples(model, x))[layer]
    return suggest_for_samples(inputs[:, i], values[:, j, i], lib)


def set_symbolic(model, layer: int, i: int, j: int, name: str, x: Tensor | None = None) -> Fit:
    """Snap edge (layer, i, j) to a f(b t + c) + d with f = ``name``, fitted to the edge on x.

    From then on the edge is that formula exactly (its spline masked off) with trainable a, b, c, d.
    Returns the :class:`Fit`.
    """
    _check_edge(model, layer, i, j)
    candidate(name)
    inputs, values = _edge_curves(model, _samples(model, x))[layer]
    fit = fit_candidate(inputs[:, i], values[:, j, i], name)
    _snap(model, layer, i, j, fit)
    return fit


def _snap(model, layer: int, i: int, j: int, fit: Fit) -> None:
    model.symbolic[layer].set_edge(i, j, fit.function or fit.name, fit.params)
    model.layers[layer].edge_mask[j, i] = 0


def auto_symbolic(
    model, lib: Sequence[str] | None = None, r2_threshold: float = 0.999, x: Tensor | None = None
) -> dict[tuple[int, int, int], Fit]:
    """Snap every spline edge whose best library fit reaches R^2 >= r2_threshold.

    Each edge gets the first of :func:`suggest`'s ranking; edges below the threshold stay splines
    (see :func:`spline_edges`). The edges are fitted on the samples x, all from one pass.

    Returns:
        {(layer, i, j): best Fit} for every edge that was a spline, snapped or not; compare
        ``fit.r2`` with the threshold to see which.
    """
    lib = list(LIBRARY) if lib is None else _check_lib(lib)
    if not isinstance(r2_threshold, (int, float)) or r2_threshold < 0:
        raise ValueError(f"r2_threshold must be a number >= 0, got {r2_threshold!r}")
    curves = _edge_curves(model, _samples(model, x))
    best = {}
    for layer, i, j in spline_edges(model):
        inputs, values = curves[layer]
        best[(layer, i, j)] = suggest_for_samples(inputs[:, i], values[:, j, i], lib)[0]
        if best[(layer, i, j)].r2 >= r2_threshold:
            _snap(model, layer, i, j, best[(layer, i, j)])
    return best


def formula(model, var_names: Sequence[str] | None = None, digits: int | None = 4):
    """The network's function as sympy expressions, once every live edge is symbolic.

    Each symbolic edge contributes a * f(b t + c) + d to its output sum; pruned edges contribute
    nothing. A multiplication node's expression is the product of its sums
    (`kanlab.multiplication`). The expression is expanded (so that constants split over several edges meet), every
    number is rounded to ``digits`` decimal places (numbers that round to 0 vanish; None keeps
    them all), and exponentials are merged again.

    Args:
        var_names: names of the n_0 inputs; default x_1, ..., x_{n_0}.
        digits: decimal places kept, or None.

    Returns:
        one sympy expression when the model has one output, else a list (one per output).

    Raises:
        ValueError: some live edges are still splines (they are listed), or bad var_names/digits.
    """
    remaining = spline_edges(model)
    if remaining:
        raise ValueError(
            f"formula needs every live edge to be symbolic; these (layer, i, j) edges are still splines: {remaining} "
            "(snap them with set_symbolic or auto_symbolic, or prune them)"
        )
    n_inputs = model.widths[0]
    if var_names is None:
        var_names = [f"x_{k + 1}" for k in range(n_inputs)]
    if isinstance(var_names, str) or len(var_names) != n_inputs:
        raise ValueError(f"var_names must be a list of {n_inputs} names, got {var_names!r}")
    if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int) or digits < 0):
        raise ValueError(f"digits must be None or an integer >= 0, got {digits!r}")
    values = [sympy.Symbol(name, real=True) for name in var_names]
    for layer, symbolic in enumerate(model.symbolic):
        outputs = [sympy.Integer(0)] * symbolic.out_features
        affine = symbolic.affine.detach().tolist()
        for (i, j), index, params in zip(symbolic.edges.tolist(), symbolic.function_index.tolist(), affine):
            a, b, c, d = (sympy.Float(p, 17) for p in params)
            f = symbolic.function_at(index).sympy_fn
            outputs[j] = outputs[j] + a * f(b * values[i] + c) + d
        values = node_expressions(model, layer + 1, outputs)  # products, where the nodes above multiply
    expressions = [_rounded(sympy.expand(v), digits) for v in values]
    return expressions[0] if len(expressions) == 1 else expressions


def _rounded(expression: sympy.Expr, digits: int | None) -> sympy.Expr:
    """Every number rounded to `digits` decimal places, bottom-up; whole numbers become integers.

    Exponentials are merged (powsimp) between two roundings: the first keeps 15 significant digits so
    that a merged exponent such as 0.8123 + 1.5 is not cut to the shorter number's precision, the
    second rounds the merged numbers again and gives each Float exactly the significant digits it
    shows, so that printing (str, LaTeX) writes at most `digits` decimals (0.2506, not 0.2506000).
    """
    if digits is None:
        return sympy.powsimp(expression)

    def round_number(number: sympy.Float) -> sympy.Expr:
        value = round(float(number), digits)
        return sympy.Integer(int(value)) if value == int(value) else sympy.Float(value, 15)

    def shortest(number: sympy.Float) -> sympy.Expr:
        value = round(float(number), digits)
        if value == int(value):
            return sympy.Integer(int(value))
        text = f"{value:.{digits}f}".rstrip("0")
        significant = len(text.replace("-", "").replace(".", "").lstrip("0"))
        return sympy.Float(text, max(significant, 1))

    merged = sympy.powsimp(expression.replace(lambda e: isinstance(e, sympy.Float), round_number))
    return merged.replace(lambda e: isinstance(e, sympy.Float), shortest)
