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


def test_mlp_versus_kan_draws_the_mlp_of_the_same_widths_beside_the_kan():
    model = kanlab.KAN([2, 3, 1], seed=0, dtype=torch.float64)
    mlp_ax, kan_ax = plot.mlp_versus_kan(model)
    edges = [line for line in mlp_ax.lines]
    assert len(edges) == 2 * 3 + 3 * 1 and len(mlp_ax.patches) == 2 + 3 + 1
    assert len(kan_ax.child_axes) == 2 * 3 + 3 * 1
    assert "MLP" in mlp_ax.get_title() and "KAN" in kan_ax.get_title()


def test_grid_extension_curves_join_the_stages_and_mark_each_refinement():
    stages = [(kanlab.KAN([1, 1], grid_size=g), History(train_rmse=[1.0, 0.5], test_rmse=[1.1, 0.6]))
              for g in (3, 5, 10)]
    ax = plot.grid_extension_curves(stages)
    train = next(line for line in ax.lines if line.get_label() == "train RMSE")
    assert list(train.get_ydata()) == [1.0, 0.5] * 3
    assert [text.get_text() for text in ax.texts] == ["G=3", "G=5", "G=10"]
    assert len([line for line in ax.lines if line.get_linestyle() == ":"]) == 2
    assert ax.get_yscale() == "log" and _has_title_and_labels(ax)
    with pytest.raises(ValueError, match="stages"):
        plot.grid_extension_curves([])


def test_scaling_law_reference_line_has_the_given_slope_through_the_points_geometric_mean():
    grid_sizes, errors = [3, 5, 10, 20], [1e-2, 2e-3, 1e-4, 8e-6]
    ax = plot.scaling_law(grid_sizes, errors, order=4, slope=-3.8)
    measured, reference = ax.lines[:2]
    g, r = torch.tensor(reference.get_xdata()), torch.tensor(reference.get_ydata())
    assert torch.allclose(r.log().diff() / g.log().diff(), torch.tensor(-4.0, dtype=torch.float64))
    assert torch.isclose(r.log().mean(), torch.tensor(errors, dtype=torch.float64).log().mean())
    assert "-3.80" in measured.get_label()
    assert ax.get_xscale() == ax.get_yscale() == "log" and _has_title_and_labels(ax)
    with pytest.raises(ValueError, match="same length"):
        plot.scaling_law([3, 5], [1e-2])


def test_error_against_parameters_draws_one_line_per_model_kind():
    ax = plot.error_against_parameters({"KAN": ([24, 30], [1e-2, 1e-3]), "MLP": ([37, 105, 337], [0.2, 0.01, 0.03])})
    assert [line.get_label() for line in ax.lines] == ["KAN", "MLP"]
    assert list(ax.lines[1].get_xdata()) == [37, 105, 337]
    assert _has_title_and_labels(ax)
    with pytest.raises(ValueError, match="2 counts and 1 errors"):
        plot.error_against_parameters({"KAN": ([1, 2], [0.1])})


def test_continual_learning_has_one_row_per_model_and_one_panel_per_phase():
    x = torch.linspace(-1, 1, 11)
    predictions = {"KAN": torch.zeros(3, 11, 1), "MLP": torch.ones(3, 11)}
    axes = plot.continual_learning(x, torch.sin(x), predictions, [(-1, -1 / 3), (-1 / 3, 1 / 3), (1 / 3, 1)])
    assert axes.shape == (2, 3)
    assert list(axes[1][2].lines[1].get_ydata()) == [1.0] * 11
    assert axes[0][1].get_title() == "KAN, after phase 2"
    with pytest.raises(ValueError, match="one row per region"):
        plot.continual_learning(x, torch.sin(x), {"KAN": torch.zeros(2, 11)}, [(-1, 0), (0, 0.5), (0.5, 1)])
