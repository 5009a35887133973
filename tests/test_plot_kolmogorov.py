"""Chapter 6's figures in kanlab.plot: they draw what they say, with a title and labelled axes."""

import matplotlib.pyplot as plt
import pytest
import torch

from kanlab import plot
from kanlab.kolmogorov import Edge, Representation, koeppen_psi_exact, psi_zoom
from kanlab.widgets import interactive


def _has_title_and_labels(ax):
    return bool(ax.get_title()) and bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def exp_sin_square():
    return Representation([2, 1, 1], {
        (0, 0, 0): Edge(lambda t: torch.sin(torch.pi * t), r"\sin \pi t"),
        (0, 1, 0): Edge(lambda t: t**2, "t^2"),
        (1, 0, 0): Edge(torch.exp, "e^t"),
    })


def test_representation_diagram_has_one_box_per_edge_titled_with_its_label():
    x = torch.rand(100, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ax = plot.representation_diagram(exp_sin_square(), x, var_names=["$x$", "$y$"], output_names=["$f$"])
    assert sorted(box.get_title() for box in ax.child_axes) == sorted([r"$\sin \pi t$", "$t^2$", "$e^t$"])
    assert _has_title_and_labels(ax)
    assert {"$x$", "$y$", "$f$"} <= {text.get_text() for text in ax.texts}


def test_representation_diagram_box_spans_the_values_its_input_takes():
    x = torch.tensor([[0.0, 0.0], [0.5, 1.0]], dtype=torch.float64)
    ax = plot.representation_diagram(exp_sin_square(), x)
    outer = next(box for box in ax.child_axes if box.get_title() == "$e^t$")
    t = outer.lines[0].get_xdata()
    assert (min(t), max(t)) == pytest.approx((0.0, 2.0))  # sin(pi/2) + 1^2 = 2


def test_representation_diagram_rejects_the_wrong_number_of_names():
    with pytest.raises(ValueError, match="var_names needs 2 names"):
        plot.representation_diagram(exp_sin_square(), torch.zeros(3, 2), var_names=["$x$"])


def test_koeppen_levels_draws_one_curve_per_digit_count_and_the_diagonal():
    ax = plot.koeppen_levels(digits=(1, 3))
    assert len(ax.lines) == 3
    psi_at_012 = ax.lines[2].get_ydata()[480]  # t = 0.12 on the 4001-point grid
    assert psi_at_012 == pytest.approx(float(koeppen_psi_exact(12, 2)))
    assert _has_title_and_labels(ax)


def test_psi_zoom_picture_draws_psi_the_smooth_curve_and_the_diagonal():
    _, ax = plt.subplots()
    plot.psi_zoom_picture(ax, 3.0)
    _, rescaled, _, rise = psi_zoom(0.7071, 3, 3)
    assert len(ax.lines) == 3
    assert list(ax.lines[2].get_ydata()) == pytest.approx(rescaled.tolist())
    assert f"{float(rise):.3g}" in ax.get_title()
    assert _has_title_and_labels(ax)


def test_psi_zoom_slider_changes_the_picture_at_both_ends():
    figure = interactive(plot.psi_zoom_picture, figsize=(4.0, 3.0), level=(0, 2, 1))
    pictures = [figure.render_png(50, level=level) for level in (0.0, 1.0, 2.0)]
    assert len(set(pictures)) == 3


def test_square_images_picture_draws_twenty_squares_and_states_the_gap():
    ax = plot.square_images_picture(None, "psi")
    bars = [line for line in ax.lines if len(line.get_xdata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]]
    assert len(bars) == 20 and "smallest gap" in ax.get_title()
    assert bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def test_square_images_picture_says_when_the_squares_overlap():
    assert "overlap" in plot.square_images_picture(None, "identity").get_title()
