"""The KAN figures of kanlab.plot: they draw, with a title, labelled axes, and one inset per live edge."""

import pytest
import torch

import kanlab
from kanlab import plot
from kanlab.train import History


def _has_title_and_labels(ax):
    return bool(ax.get_title()) and bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def test_kan_diagram_has_one_inset_per_live_edge_and_names_symbolic_ones():
    model = kanlab.KAN([2, 3, 1], seed=0, dtype=torch.float64)
    model.layers[0].edge_mask[2, 1] = 0  # pruned: no inset
    model.symbolic[1].set_edge(0, 0, "sin", (1.0, 2.0, 0.0, 0.0))  # symbolic: an inset titled "sin"
    model.layers[1].edge_mask[0, 0] = 0
    ax = plot.kan(model, var_names=["$x$", "$y$"], output_names=["$f$"])
    assert len(ax.child_axes) == 2 * 3 - 1 + 3
    assert [inset.get_title() for inset in ax.child_axes].count("sin") == 1
    assert _has_title_and_labels(ax)
    assert {"$x$", "$y$", "$f$"} <= {text.get_text() for text in ax.texts}


def test_kan_diagram_rejects_the_wrong_number_of_names():
    with pytest.raises(ValueError, match="var_names needs 2 names"):
        plot.kan(kanlab.KAN([2, 1], seed=0), var_names=["x"])


def test_spline_basis_draws_g_plus_k_functions_and_their_sum():
    ax = plot.spline_basis(grid_size=4, spline_order=2)
    assert len(ax.lines) == 4 + 2 + 1 + 5  # basis functions, their sum, the 5 grid points
    assert max(ax.lines[4 + 2].get_ydata()) == pytest.approx(1.0)
    assert _has_title_and_labels(ax)


def test_training_curves_are_on_a_log_scale_with_both_errors():
    history = History(train_rmse=[1.0, 0.1, 0.01], test_rmse=[1.1, 0.2, 0.02], grid_updates=[0])
    ax = plot.training_curves(history)
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.lines[:2]] == ["train RMSE", "test RMSE"]
    assert _has_title_and_labels(ax)
    with pytest.raises(ValueError, match="no steps"):
        plot.training_curves(History())
