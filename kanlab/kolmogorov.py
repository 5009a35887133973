r"""The Kolmogorov-Arnold representation: many-variable functions from one-variable functions and sums.

Kolmogorov (1957) and Arnold (1957): every continuous :math:`f : [0, 1]^n \to \mathbb{R}` is

.. math::
    f(x_1, \dots, x_n) = \sum_{q=0}^{2n} \Phi_q\Big(\sum_{p=1}^{n} \phi_{q,p}(x_p)\Big)

with continuous one-variable functions :math:`\Phi_q` (outer) and :math:`\phi_{q,p}` (inner).

This module holds two things chapter 6 needs:

* :class:`Representation`, a network of named one-variable functions on edges and sums on nodes,
  in which the chapter builds x + y, x * y, x / y and exp(sin(pi x) + y^2) by hand;
* the inner function :math:`\psi` of Sprecher's construction in Koeppen's corrected form
  (:func:`koeppen_psi_exact`, :func:`koeppen_psi`, :func:`psi_zoom`, :func:`cell_rises`,
  :func:`rise_concentration`): every inner function :math:`\phi_{q,p}(x) = \lambda_p \psi(x + q a)`
  of that construction is a copy of it, and :func:`sprecher_lambda` with :func:`square_images`
  show why: the sums :math:`\sum_p \lambda_p \psi(x_p)` send the little squares of a grid to
  intervals that do not overlap, so that an outer function can tell the squares apart.

Koeppen's :math:`\psi` for dimension :math:`n \ge 2` and base :math:`\gamma \ge 2n + 2` is defined on
the numbers with :math:`k` base-:math:`\gamma` digits, :math:`d_k = \sum_{r=1}^{k} i_r \gamma^{-r}`, by

.. math::
    \psi_k(d_k) = \begin{cases}
        d_k & k = 1, \\
        \psi_{k-1}(d_k - i_k \gamma^{-k}) + i_k \gamma^{-\beta(k)} & k > 1,\ i_k < \gamma - 1, \\
        \tfrac12 \big(\psi_k(d_k - \gamma^{-k}) + \psi_{k-1}(d_k + \gamma^{-k})\big) & k > 1,\ i_k = \gamma - 1,
    \end{cases}
    \qquad \beta(k) = \frac{n^k - 1}{n - 1},

and :math:`\psi` is the continuous extension to :math:`[0, 1]` (Braun and Griebel, 2009, proved it
exists and is strictly increasing). A last digit 0 changes nothing, so :math:`\psi = \psi_k` on the
:math:`k`-digit numbers: the values here are :math:`\psi`'s own, exactly.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import torch
from torch import Tensor

MAX_TABLE_DIGITS = 7  # gamma^digits + 1 table entries: 10^7 float64 values are 80 MB


@dataclass(frozen=True)
class Edge:
    """One edge of a :class:`Representation`: a one-variable function and how to write it.

    Attributes:
        function: maps a tensor elementwise to a tensor of the same shape.
        label: the function in LaTeX, with ``t`` for its argument (shown on diagrams).
    """

    function: Callable[[Tensor], Tensor]
    label: str


class Representation:
    r"""A network of one-variable functions on edges and plain sums on nodes.

    Node :math:`j` of layer :math:`l + 1` adds what its incoming edges give,
    :math:`h^{(l+1)}_j = \sum_i \phi_{l,j,i}\big(h^{(l)}_i\big)`; an edge that is not listed is absent
    (contributes nothing). The Kolmogorov-Arnold theorem says widths :math:`[n, 2n + 1, 1]` suffice
    for every continuous :math:`f` on :math:`[0, 1]^n`; chapter 7's KANs learn the edge functions.

    Args:
        widths: nodes per layer, inputs first, e.g. ``[2, 2, 1]``.
        edges: ``{(layer, i, j): Edge}`` for the edge from node ``i`` of ``layer`` to node ``j`` of
            ``layer + 1``.

    Shape:
        Input :math:`(N, n_0)`; output :math:`(N, n_L)`.

    Example:
        >>> identity = Edge(lambda t: t, "t")
        >>> add = Representation([2, 1], {(0, 0, 0): identity, (0, 1, 0): identity})
        >>> add(torch.tensor([[1.0, 2.0]])).tolist()
        [[3.0]]
    """

    def __init__(self, widths, edges: Mapping[tuple[int, int, int], Edge]):
        widths = list(widths)
        if len(widths) < 2 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(f"Representation: widths must be two or more positive ints, got {widths!r}")
        for key, edge in edges.items():
            if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(v, int) for v in key)):
                raise TypeError(f"Representation: edge keys must be (layer, i, j) ints, got {key!r}")
            layer, i, j = key
            if not (0 <= layer < len(widths) - 1 and 0 <= i < widths[layer] and 0 <= j < widths[layer + 1]):
                raise ValueError(f"Representation: edge {key} does not fit widths {widths}")
            if not isinstance(edge, Edge):
                raise TypeError(f"Representation: edge {key} must be an Edge, got {type(edge).__name__}")
        self.widths = widths
        self.edges = dict(edges)

    def node_values(self, x: Tensor) -> list[Tensor]:
        """Every layer's node values on the batch x: a list of (N, n_l) tensors, x first."""
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.widths[0]:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"Representation: x must be a (batch, {self.widths[0]}) tensor, got {shape}")
        values = [x]
        for layer, n_out in enumerate(self.widths[1:]):
            h = values[-1]
            columns = [h.new_zeros(h.shape[0]) for _ in range(n_out)]
            for (edge_layer, i, j), edge in self.edges.items():
                if edge_layer == layer:
                    columns[j] = columns[j] + edge.function(h[:, i])
            values.append(torch.stack(columns, dim=1))
        return values

    def __call__(self, x: Tensor) -> Tensor:
        return self.node_values(x)[-1]

    @property
    def n_edges(self) -> int:
        """How many one-variable functions the representation uses."""
        return len(self.edges)

    def __repr__(self) -> str:
        return f"Representation(widths={self.widths}, edges={self.n_edges})"


def beta(k: int, n: int) -> int:
    r"""The exponent :math:`\beta(k) = (n^k - 1)/(n - 1) = 1 + n + \dots + n^{k-1}` of digit k's weight."""
    return (n**k - 1) // (n - 1)


def _check_construction(n, gamma) -> None:
    for name, value in (("n", n), ("gamma", gamma)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if n < 2:
        raise ValueError(f"n (the dimension) must be at least 2, got {n}")
    if gamma < 2 * n + 2:
        raise ValueError(f"gamma (the base) must be at least 2n + 2 = {2 * n + 2} for n = {n}, got {gamma}")


def _check_digits(digits, largest=None) -> None:
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise ValueError(f"digits must be a positive int, got {digits!r}")
    if largest is not None and digits > largest:
        raise ValueError(f"digits must be at most {largest} here, got {digits}")


def koeppen_psi_exact(numerator: int, digits: int, n: int = 2, gamma: int = 10) -> Fraction:
    r"""Koeppen's :math:`\psi` at :math:`d = \text{numerator} / \gamma^{\text{digits}}`, as an exact fraction.

    Args:
        numerator: an int in :math:`[0, \gamma^{\text{digits}}]`, so :math:`d \in [0, 1]`.
        digits: :math:`k \ge 1`, the number of base-:math:`\gamma` digits of :math:`d`.
        n, gamma: the dimension and the base of the construction (:math:`\gamma \ge 2n + 2`).

    Example:
        >>> koeppen_psi_exact(12, 2)  # psi(0.12) = 1/10 + 2/10^3
        Fraction(51, 500)
    """
    _check_construction(n, gamma)
    _check_digits(digits)
    if isinstance(numerator, bool) or not isinstance(numerator, int) or not 0 <= numerator <= gamma**digits:
        raise ValueError(f"numerator must be an int in [0, gamma^digits = {gamma**digits}], got {numerator!r}")
    return _psi(numerator, digits, n, gamma)


@lru_cache(maxsize=65536)
def _psi(numerator: int, k: int, n: int, gamma: int) -> Fraction:
    if k == 1:
        return Fraction(numerator, gamma)
    coarse, last_digit = divmod(numerator, gamma)
    if last_digit < gamma - 1:
        return _psi(coarse, k - 1, n, gamma) + Fraction(last_digit, gamma ** beta(k, n))
    # The last digit gamma - 1 sits halfway (in value) between its left neighbour and the next
    # (k-1)-digit number: this average is Koeppen's correction that keeps psi continuous.
    return (_psi(numerator - 1, k, n, gamma) + _psi(coarse + 1, k - 1, n, gamma)) / 2


def koeppen_table(digits: int, n: int = 2, gamma: int = 10, dtype=torch.float64) -> Tensor:
    r""":math:`\psi` at every :math:`k`-digit number :math:`j / \gamma^k`, :math:`j = 0, \dots, \gamma^k`.

    Built level by level with the recursion of the module docstring, all numbers of a level at once.
    In float64 the digits beyond :math:`\beta(k) \approx 15` base-10 places are rounded away, so the
    values are :math:`\psi`'s to about 1e-16, not exactly (use :func:`koeppen_psi_exact` for that).

    Returns:
        A tensor of shape :math:`(\gamma^k + 1,)`.
    """
    _check_construction(n, gamma)
    _check_digits(digits, MAX_TABLE_DIGITS)
    table = torch.arange(gamma + 1, dtype=dtype) / gamma  # psi_1(d) = d
    for k in range(2, digits + 1):
        coarse = torch.arange(gamma ** (k - 1), dtype=torch.long)
        last_digit = torch.arange(gamma - 1, dtype=dtype)
        weight = float(gamma) ** -beta(k, n)
        cells = table[:-1, None] + last_digit * weight  # digits 0 .. gamma - 2 of each cell
        nines = (cells[:, -1] + table[coarse + 1]) / 2  # the last digit gamma - 1
        table = torch.cat([torch.cat([cells, nines[:, None]], dim=1).reshape(-1), table[-1:]])
    return table


def koeppen_psi(x: Tensor, digits: int, n: int = 2, gamma: int = 10) -> Tensor:
    r""":math:`\psi` computed to ``digits`` base-:math:`\gamma` digits: exact at the :math:`k`-digit
    numbers, joined by straight lines in between.

    This approximation is continuous and increasing like :math:`\psi` itself, and within
    :math:`\omega(\gamma^{-k})` of it, the largest rise of :math:`\psi` over one :math:`k`-digit cell
    (which halves with each digit; see :func:`largest_rise`).

    Args:
        x: a floating-point tensor with values in [0, 1], any shape.
        digits: :math:`k`, at most 7.

    Returns:
        A tensor of x's shape, dtype and device.
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        given = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"x must be a floating-point tensor, got {given}")
    if torch.isnan(x).any() or (x < 0).any() or (x > 1).any():
        raise ValueError("x must lie in [0, 1] (Koeppen's psi is drawn on the unit interval)")
    table = koeppen_table(digits, n, gamma).to(device=x.device)
    position = x.to(torch.float64) * gamma**digits
    left = position.floor().clamp(max=gamma**digits - 1).long()
    fraction = position - left
    return (table[left] + fraction * (table[left + 1] - table[left])).to(x.dtype)


def cell_rises(digits: int, n: int = 2, gamma: int = 10) -> list[Fraction]:
    r"""The rises :math:`\psi((j+1)\gamma^{-k}) - \psi(j\gamma^{-k})`, :math:`j = 0, \dots, \gamma^k - 1`, exactly.

    A cell whose last digit is below :math:`\gamma - 2` rises by exactly :math:`\gamma^{-\beta(k)}`;
    the last two cells of every parent cell share the rest of its rise.
    """
    _check_digits(digits, 5)
    _check_construction(n, gamma)
    return list(_cell_rises(digits, n, gamma))


@lru_cache(maxsize=8)
def _cell_rises(digits: int, n: int, gamma: int) -> tuple[Fraction, ...]:
    values = [_psi(j, digits, n, gamma) for j in range(gamma**digits + 1)]
    return tuple(b - a for a, b in zip(values, values[1:]))


def largest_rise(digits: int, n: int = 2, gamma: int = 10) -> Fraction:
    r""":math:`\omega(\gamma^{-k}) = \max_j \big(\psi((j+1)\gamma^{-k}) - \psi(j\gamma^{-k})\big)`, exactly.

    How much :math:`\psi` can climb over one cell of width :math:`\gamma^{-k}`. A Lipschitz
    function's would shrink like :math:`\gamma^{-k}`. For :math:`\psi` the averaging at each digit
    :math:`\gamma - 1` splits the steepest cell's rise, less the :math:`(\gamma - 2)\gamma^{-\beta(k)}` its first
    :math:`\gamma - 2` sub-cells take, into two halves:
    :math:`\omega(\gamma^{-k}) = \big(\omega(\gamma^{-k+1}) - (\gamma - 2)\gamma^{-\beta(k)}\big) / 2`,
    so :math:`\omega(\delta) \approx C \delta^{\log_\gamma 2}` (Hoelder exponent :math:`\log_\gamma 2`): no slope bound holds.
    """
    return max(cell_rises(digits, n, gamma))


def rise_concentration(digits: int, share: float, n: int = 2, gamma: int = 10) -> int:
    r"""The fewest width-:math:`\gamma^{-k}` cells that together carry at least ``share`` of
    :math:`\psi`'s rise :math:`\psi(1) - \psi(0) = 1` (their total length is this count times :math:`\gamma^{-k}`).
    A float share is taken as written in decimal (0.92 is 92/100).

    For a function with a bounded positive slope this count is a fixed fraction of all cells; for
    :math:`\psi`, whose derivative is 0 almost everywhere, their length shrinks to 0 as k grows.
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share!r}")
    target, carried = Fraction(repr(share)) if isinstance(share, float) else Fraction(share), Fraction(0)  # 0.92 as written
    for count, rise in enumerate(sorted(cell_rises(digits, n, gamma), reverse=True), start=1):
        carried += rise
        if carried >= target:
            return count
    raise AssertionError("the rises add up to psi(1) - psi(0) = 1")  # pragma: no cover


def sprecher_lambda(p: int, n: int = 2, gamma: int = 10, terms: int = 4) -> Fraction:
    r"""Sprecher's multiplier :math:`\lambda_p`: :math:`\lambda_1 = 1` and, for :math:`p > 1`,
    :math:`\lambda_p = \sum_{r=1}^{\infty} \gamma^{-(p-1)\beta(r)}`, summed to ``terms`` terms.

    The terms fall so fast that the tail left out is below :math:`\gamma^{1 - (p-1)\beta(\text{terms} + 1)}`
    (for n = 2, gamma = 10, p = 2 and 4 terms: below 1e-30).
    """
    _check_construction(n, gamma)
    if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= n:
        raise ValueError(f"p must be an int in 1..n = {n}, got {p!r}")
    _check_digits(terms)
    if p == 1:
        return Fraction(1)
    return sum((Fraction(1, gamma ** ((p - 1) * beta(r, n))) for r in range(1, terms + 1)), Fraction(0))


def square_images(digits: int, n: int = 2, gamma: int = 10, inner: str = "psi") -> list[tuple[Fraction, Fraction]]:
    r"""Intervals that hold the images of Sprecher's level-k squares under :math:`\xi(x) = \sum_p \lambda_p\, g(x_p)`.

    A square is :math:`E(d_1) \times \dots \times E(d_n)` for k-digit numbers :math:`d_p` in [0, 1), with
    :math:`E(d) = [d, d + \delta_k]`, :math:`\delta_k = \frac{\gamma - 2}{\gamma - 1}\gamma^{-k}`: the first
    :math:`(\gamma - 2)/(\gamma - 1)` of d's cell, up to the number whose further digits are all
    :math:`\gamma - 2`, where :math:`\psi`'s climbs begin. With ``inner="psi"``, g is
    Koeppen's :math:`\psi` (which rises on E(d) by :math:`\sum_{r > k} (\gamma - 2)\gamma^{-\beta(r)}`); with
    ``inner="identity"``, g(t) = t. Since :math:`\xi` increases in every coordinate, the image of a
    square is the interval between the images of its two extreme corners. The infinite sums
    (:math:`\lambda_p` and the rise) are bounded from both sides, so every returned interval
    contains the exact image: if these intervals do not overlap, neither do the images.

    Returns:
        ``(low, high)`` exact fractions, one pair per square, :math:`\gamma^{kn}` of them, in the
        order of the digits :math:`(d_1, \dots, d_n)`.
    """
    _check_construction(n, gamma)
    _check_digits(digits, 2 if n == 2 else 1)
    if inner not in ("psi", "identity"):
        raise ValueError(f"inner must be 'psi' or 'identity', got {inner!r}")
    terms = 5  # lambda_p and the rise of psi on E(d), to 5 terms, with their tails bounded
    lambdas_low = [sprecher_lambda(p, n, gamma, terms) for p in range(1, n + 1)]
    lambdas_high = [lam if p == 1 else lam + Fraction(gamma, gamma ** ((p - 1) * beta(terms + 1, n)))
                    for p, lam in enumerate(lambdas_low, start=1)]
    width = Fraction(gamma - 2, (gamma - 1) * gamma**digits)
    cells = range(gamma**digits)
    if inner == "psi":
        low_at = [koeppen_psi_exact(j, digits, n, gamma) for j in cells]
        rise = sum(Fraction(gamma - 2, gamma ** beta(r, n)) for r in range(digits + 1, digits + terms + 1))
        high_at = [value + rise + Fraction(gamma, gamma ** beta(digits + terms + 1, n)) for value in low_at]
    else:
        low_at = [Fraction(j, gamma**digits) for j in cells]
        high_at = [value + width for value in low_at]
    images = [(Fraction(0), Fraction(0))]
    for p in range(n):  # add lambda_p g(x_p), coordinate by coordinate: gamma^k times more squares each time
        images = [(low + lambdas_low[p] * low_at[j], high + lambdas_high[p] * high_at[j])
                  for low, high in images for j in cells]
    return images


def smallest_gap(intervals) -> Fraction:
    """The smallest distance between neighbouring intervals ``(low, high)`` once sorted by low end;
    negative when two of them overlap."""
    ordered = sorted(intervals)
    if len(ordered) < 2:
        raise ValueError(f"intervals must hold at least two (low, high) pairs, got {len(ordered)}")
    return min(later[0] - earlier[1] for earlier, later in zip(ordered, ordered[1:]))


def psi_zoom(
    x: float, level: int, resolution: int = 2, n: int = 2, gamma: int = 10
) -> tuple[Tensor, Tensor, Fraction, Fraction]:
    r""":math:`\psi` on the width-:math:`\gamma^{-m}` cell :math:`[a, a + \gamma^{-m}]` that holds x,
    rescaled to the unit square, computed exactly.

    With :math:`s = (t - a)\gamma^{m}` and :math:`b = a + \gamma^{-m}`, it returns
    :math:`\big(\psi(t) - \psi(a)\big) / \big(\psi(b) - \psi(a)\big)` at the
    :math:`\gamma^{\text{resolution}} + 1` points :math:`t` with ``level + resolution`` digits.
    A function with a continuous derivative that is not 0 at x, seen this way, tends to the diagonal
    as m grows; :math:`\psi` never does.

    Args:
        x: a number in [0, 1) that picks the cell, taken as written in decimal (0.7071 is
            7071/10000, not the binary float just below it).
        level: :math:`m \ge 0`, how many digits the window is zoomed in by.
        resolution: digits beyond m at which :math:`\psi` is evaluated.

    Returns:
        (s, rescaled psi), two float64 tensors of :math:`\gamma^{\text{resolution}} + 1` values, then
        the cell's left end :math:`a` and the rise :math:`\psi(b) - \psi(a)`, as exact fractions.
    """
    if not isinstance(x, (int, float)) or not 0 <= x < 1:
        raise ValueError(f"x must be a number in [0, 1), got {x!r}")
    if isinstance(level, bool) or not isinstance(level, int) or level < 0:
        raise ValueError(f"level must be an int >= 0, got {level!r}")
    _check_digits(resolution, 4)
    digits = level + resolution
    cell = int(Fraction(repr(float(x))) * gamma**level)  # a = cell / gamma^level
    start = cell * gamma**resolution  # a, as a numerator over gamma^digits
    values = [koeppen_psi_exact(start + j, digits, n, gamma) for j in range(gamma**resolution + 1)]
    rise = values[-1] - values[0]
    s = torch.arange(gamma**resolution + 1, dtype=torch.float64) / gamma**resolution
    rescaled = torch.tensor([float((value - values[0]) / rise) for value in values], dtype=torch.float64)
    return s, rescaled, Fraction(cell, gamma**level), rise
