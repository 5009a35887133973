"""Chapter 9's figures (kanlab.plot.tabular): they draw what they claim, with titles and labels."""

import pytest
import torch

import kanlab
from kanlab import plot


def additive_kan():
    model = kanlab.KAN([3, 1], grid_size=5, seed=0, dtype=torch.float64)
    with torch.no_grad():
        model.layers[0].spline_weight.normal_(generator=torch.Generator().manual_seed(0))
        model.layers[0].spline_scale[0] = torch.tensor([0.1, 2.0, 1.0], dtype=torch.float64)
    return model


def samples():
    return 2 * torch.rand(100, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) - 1


def test_additive_curves_draws_a_panel_per_feature_largest_spread_first():
    model, x = additive_kan(), samples()
    figure = plot.additive_curves(model, x, feature_names=["age", "bmi", "bp"])
    spread = kanlab.additive.curve_spread(model, x)
    titles = [ax.get_title().split()[0] for ax in figure.axes if ax.get_visible()]
    assert titles == [["age", "bmi", "bp"][i] for i in spread.argsort(descending=True).tolist()]
    assert figure.get_suptitle() and figure.axes[0].get_ylabel()


def test_additive_curves_puts_a_rug_tick_under_every_sample_on_a_shared_scale():
    figure = plot.additive_curves(additive_kan(), samples())
    first = figure.axes[0]
    curve, rug = first.lines[0], first.lines[1]
    assert len(rug.get_xdata()) == 100 and rug.get_marker() == "|"
    assert max(rug.get_ydata()) < min(curve.get_ydata())
    assert figure.axes[1].get_shared_y_axes().joined(figure.axes[0], figure.axes[1])


def test_additive_curves_hides_the_panels_left_over_in_the_last_row():
    figure = plot.additive_curves(additive_kan(), samples(), columns=2)
    assert [ax.get_visible() for ax in figure.axes] == [True, True, True, False]


def test_additive_curves_refuses_the_wrong_number_of_names():
    with pytest.raises(ValueError, match="feature_names must hold 3 names, got 2"):
        plot.additive_curves(additive_kan(), samples(), feature_names=["a", "b"])


def test_errors_over_seeds_draws_each_mean_with_its_spread_and_the_baseline():
    # means 2 and 2; sample standard deviations (n - 1) 1 and 0; the baseline's mean 5
    ax = plot.errors_over_seeds({"KAN": {80: [1.0, 2.0, 3.0], 160: [2.0, 2.0]}}, baseline=("linear", [4.0, 6.0]))
    line, _, (bars,) = ax.containers[0]
    assert list(line.get_ydata()) == [2.0, 2.0] and list(line.get_xdata()) == [80, 160]
    segments = bars.get_segments()
    assert [tuple(s[:, 1]) for s in segments] == [(1.0, 3.0), (2.0, 2.0)]
    assert list(ax.lines[-1].get_ydata()) == [5.0, 5.0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_rankings_side_by_side_orders_the_features_by_the_first_measure_and_scales_each_to_one():
    axes = plot.rankings_side_by_side({"KAN": [1.0, 3.0, 2.0], "linear": [10.0, 5.0, 20.0]}, ["a", "b", "c"])
    assert [label.get_text() for label in axes[0].get_yticklabels()] == ["b", "c", "a"]
    assert [bar.get_width() for bar in axes[1].patches] == [0.25, 1.0, 0.5]
    assert [ax.get_title() for ax in axes] == ["KAN", "linear"]


def test_train_and_test_errors_draws_a_dashed_training_line_and_a_solid_test_line_per_setting():
    ax = plot.train_and_test_errors([3, 10], {"no penalty": ([1.0, 0.5], [1.2, 1.4])})
    train, test = ax.lines
    assert train.get_linestyle() == "--" and test.get_linestyle() == "-"
    assert list(test.get_ydata()) == [1.2, 1.4]
    assert ax.get_yscale() == "log" and ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_train_and_test_errors_draws_the_reference_as_a_horizontal_line():
    ax = plot.train_and_test_errors([3, 10], {"no penalty": ([1.0, 0.5], [1.2, 1.4])}, reference=("linear", 1.1))
    assert list(ax.lines[-1].get_ydata()) == [1.1, 1.1] and ax.lines[-1].get_label() == "linear"


def test_every_setting_is_drawn_however_many_there_are():
    curves = {f"lambda {k}": ([1.0, 0.5], [1.2, 1.4]) for k in range(6)}
    assert len(plot.train_and_test_errors([3, 10], curves).lines) == 12
    results = {f"model {k}": {80: [1.0, 2.0]} for k in range(6)}
    assert len(plot.errors_over_seeds(results).containers) == 6
    axes = plot.rankings_side_by_side({f"measure {k}": [1.0, 2.0] for k in range(6)}, ["a", "b"])
    assert all(len(ax.patches) == 2 for ax in axes)
