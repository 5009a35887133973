"""Chapter 7's B-spline figures: the spline editor, where one coefficient moves and the rest of the
spline stays put."""

import math

import torch

from kanlab import splines
from kanlab.plot.style import axes_or_new


def editor_coefficients(grid_size, spline_order):
    """The coefficients the editor starts from, c_b = 0.6 sin(2 pi b / (G + k - 1)) for b = 0 .. G + k - 1
    (one gentle wave); the editor replaces the middle one, `edited_index`."""
    size = grid_size + spline_order
    return [0.6 * math.sin(2 * math.pi * b / max(size - 1, 1)) for b in range(size)]


def edited_index(grid_size, spline_order):
    """The index m = (G + k - 1) // 2 of the coefficient the editor moves: the middle one."""
    return (grid_size + spline_order - 1) // 2


def spline_editor_picture(ax=None, spline_order=3, grid_size=6, coefficient=0.0):
    """A spline s(x) = sum_b c_b B_b(x) of order k on G intervals of [-1, 1], with the middle
    coefficient c_m set to `coefficient` and the others fixed (`editor_coefficients`).

    Drawn: every term c_b B_b(x) in grey, the edited term c_m B_m(x) in colour, s(x) in black, the
    grid points dotted, and the support of B_m (the k + 1 cells where it is non-zero, the only
    place c_m can change s) shaded. Plain-text labels keep each frame quick to draw.

    Returns:
        The Axes; its last line is s(x).
    """
    for name, value in (("spline_order", spline_order), ("grid_size", grid_size)):
        if float(value) != int(value) or int(value) < (0 if name == "spline_order" else 1):
            raise ValueError(f"spline_editor_picture: {name} must be a whole number >= "
                             f"{0 if name == 'spline_order' else 1}, got {value!r}")
    k, grid_size = int(spline_order), int(grid_size)
    ax = axes_or_new(ax, (5.5, 3.4))
    grid = splines.uniform_grid(grid_size, k, (-1.0, 1.0), dtype=torch.float64)
    x = torch.linspace(-1, 1, 401, dtype=torch.float64)
    basis = splines.basis(x[:, None], grid, k)[:, 0, :]  # (401, G + k)
    m = edited_index(grid_size, k)
    coefficients = torch.tensor(editor_coefficients(grid_size, k), dtype=torch.float64)
    coefficients[m] = float(coefficient)
    lo, hi = max(float(grid[0, m]), -1.0), min(float(grid[0, m + k + 1]), 1.0)
    ax.axvspan(lo, hi, color="#fde3cc", zorder=0, label=f"where B_{m} is non-zero")
    for knot in grid[0, k : k + grid_size + 1].tolist():
        ax.axvline(knot, color="#bbbbbb", linestyle=":", linewidth=1, zorder=0)
    for b in range(basis.shape[1]):
        if b != m:
            ax.plot(x, coefficients[b] * basis[:, b], color="#9a9a9a", linewidth=1)
    ax.plot(x, coefficients[m] * basis[:, m], color="#ff7f0e", linewidth=2, label=f"c_{m} B_{m}(x)")
    ax.plot(x, basis @ coefficients, color="black", linewidth=2.5, label="spline s(x)")
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1.25, 1.25)
    ax.set_xlabel("x (dotted: grid points)")
    ax.set_ylabel("c_b B_b(x) and s(x)")
    ax.set_title(f"k = {k}, G = {grid_size}: c_{m} = {float(coefficient):g} moves s only on "
                 f"[{lo:.2f}, {hi:.2f}]", fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    return ax
