"""The spline editor of kanlab.plot.splines: one coefficient moves the spline only where its B-spline lives."""

import pytest
import torch

from kanlab import splines
from kanlab.plot.splines import edited_index, editor_coefficients, spline_editor_picture


def _spline(ax):
    return torch.tensor(ax.lines[-1].get_ydata())


@pytest.mark.parametrize("spline_order, grid_size", [(0, 3), (1, 6), (3, 9)])
def test_the_black_curve_is_the_spline_of_the_edited_coefficients(spline_order, grid_size):
    ax = spline_editor_picture(spline_order=spline_order, grid_size=grid_size, coefficient=0.7)
    coefficients = torch.tensor(editor_coefficients(grid_size, spline_order), dtype=torch.float64)
    coefficients[edited_index(grid_size, spline_order)] = 0.7
    x = torch.tensor(ax.lines[-1].get_xdata())[:, None]
    grid = splines.uniform_grid(grid_size, spline_order, dtype=torch.float64)
    torch.testing.assert_close(_spline(ax), splines.basis(x, grid, spline_order)[:, 0, :] @ coefficients)


def test_moving_the_coefficient_changes_the_spline_only_inside_the_shaded_band():
    before = spline_editor_picture(spline_order=2, grid_size=9, coefficient=-1.0)
    after = spline_editor_picture(spline_order=2, grid_size=9, coefficient=1.0)
    x = torch.tensor(after.lines[-1].get_xdata())
    changed = x[_spline(before) != _spline(after)]
    band = after.patches[0]  # the shaded support of the edited B-spline
    lo, hi = band.get_x(), band.get_x() + band.get_width()
    assert hi - lo == pytest.approx(3 * 2 / 9)  # k + 1 = 3 intervals of width 2/9
    assert lo <= changed.min() and changed.max() <= hi
    assert f"[{lo:.2f}, {hi:.2f}]" in after.get_title()


def test_the_editor_draws_every_term_the_edited_one_and_the_spline_with_labels():
    ax = spline_editor_picture(spline_order=3, grid_size=6, coefficient=0.5)
    terms = [line for line in ax.lines if line.get_linestyle() == "-"]
    assert len(terms) == 6 + 3 + 1  # G + k terms (one of them the edited one), then the spline
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_the_editor_rejects_a_fractional_order():
    with pytest.raises(ValueError, match="spline_order"):
        spline_editor_picture(spline_order=1.5)
