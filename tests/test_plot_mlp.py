"""Specification of chapter 4's figures (kanlab.plot.mlp): they draw what they claim, where they claim."""

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure

from kanlab import plot
from kanlab.mlp import MLP, ClassifierHistory


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def moons_like(dtype=torch.float64):
    """Four points of each class, far apart: class 0 above x2 = 0.25, class 1 below."""
    X = torch.tensor([[-1.0, 1.0], [0.0, 1.2], [1.0, 1.0], [2.0, 0.8],
                      [-1.0, -0.5], [0.0, -0.6], [1.0, -0.5], [2.0, -0.4]], dtype=dtype)
    y = torch.tensor([0.0] * 4 + [1.0] * 4, dtype=dtype)
    return X, y


def two_by_two(dtype=torch.float64):
    """A [2, 2, 2, 1] tanh network with chosen weights: layer 1 the identity, layer 2 swaps the axes."""
    return MLP.from_weights([torch.eye(2), [[0.0, 1.0], [1.0, 0.0]], [[0.0, -1.0]]], [[0.0, 0.0], [0.0, 0.0], [0.0]],
                            activation="tanh", dtype=dtype)


def scattered_points(ax):
    """The data drawn (the scatters labelled by class), as sorted (x, y) pairs."""
    return sorted(tuple(map(float, offset)) for collection in ax.collections
                  if isinstance(collection, PathCollection) and collection.get_label().startswith("class")
                  for offset in collection.get_offsets())


def test_decision_regions_states_the_accuracy_and_draws_every_point():
    X, y = moons_like()
    model = MLP.from_weights([[[0.0, -1.0]]], [[0.25]], activation="identity", dtype=torch.float64)  # 0.25 - x2
    ax = plot.decision_regions(model, X, y)
    assert ax.get_title() == "input space: 100.0% right"
    assert scattered_points(ax) == sorted(map(tuple, X.tolist()))
    assert ax.get_xlabel() and ax.get_ylabel()
    # the shading: orange (1) below the line x2 = 0.25, blue (0) above
    shading = ax.get_images()[0].get_array()
    assert shading[0, 0] == 1 and shading[-1, 0] == 0


def test_decision_regions_refuses_a_model_that_is_not_two_in_one_out():
    with pytest.raises(ValueError, match="2 inputs and 1 output"):
        plot.decision_regions(MLP([3, 2, 1]), *moons_like())


def test_space_picture_of_a_hidden_space_puts_each_point_where_the_layers_carry_it():
    X, y = moons_like()
    model = two_by_two()
    ax = plot.space_picture(model, X, y, 1)
    assert scattered_points(ax) == sorted(map(tuple, torch.tanh(X).tolist()))
    assert ax.get_title() == "hidden space 1"


def test_space_picture_carries_the_grid_of_the_box_into_the_space():
    X, y = moons_like()
    ax = plot.space_picture(two_by_two(), X, y, 1, box=((-1.0, 1.0), (-2.0, 2.0)))
    (grid,) = [collection for collection in ax.collections if isinstance(collection, LineCollection)]
    corners = {tuple(round(float(value), 6) for value in point) for segment in grid.get_segments()
               for point in (segment[0], segment[-1])}
    image = torch.tanh(torch.tensor([1.0, 2.0])).tolist()
    assert (round(image[0], 6), round(image[1], 6)) in corners and (round(-image[0], 6), round(-image[1], 6)) in corners


def test_space_picture_draws_the_next_layers_lines_where_their_scores_are_zero():
    X, y = moons_like()
    model = two_by_two()
    ax = plot.space_picture(model, X, y, 1)
    units = [line for line in ax.lines if line.get_label().startswith("line of unit")]
    assert len(units) == 2
    for line, weight in zip(units, model.layers[1].weight.tolist()):
        for h1, h2 in zip(*line.get_data()):
            assert weight[0] * h1 + weight[1] * h2 == pytest.approx(0.0, abs=1e-9)


def test_space_picture_of_the_last_hidden_space_draws_the_outputs_line():
    X, y = moons_like()
    ax = plot.space_picture(two_by_two(), X, y, 2)
    (output_line,) = [line for line in ax.lines if line.get_label() == "output's line"]
    assert all(h2 == pytest.approx(0.0, abs=1e-9) for h2 in output_line.get_ydata())  # the output is -h2


def test_space_picture_refuses_a_space_wider_than_a_plane():
    X, y = moons_like()
    with pytest.raises(ValueError, match="2 units"):
        plot.space_picture(MLP([2, 3, 2, 1]), X, y, 1)
    with pytest.raises(ValueError, match="space must be an integer from 0 to 2"):
        plot.space_picture(two_by_two(), X, y, 3)


def test_training_frame_adds_one_panel_per_hidden_space_and_titles_the_epoch():
    X, y = moons_like(torch.float32)
    figure = Figure()
    left = figure.add_subplot()
    axes = plot.training_frame(left, two_by_two(torch.float32), X, y, 40, spaces=(1, 2))
    assert len(figure.axes) == 3 and axes[0] is left
    assert left.get_title().startswith("epoch 40: ")
    assert [ax.get_title().splitlines()[0] for ax in axes[1:]] == ["hidden space 1", "hidden space 2"]


def test_training_frame_puts_the_input_space_across_the_top_and_the_hidden_spaces_side_by_side_under_it():
    X, y = moons_like(torch.float32)
    figure = Figure(figsize=(6.0, 6.4))
    top, *hidden = plot.training_frame(figure.add_subplot(), two_by_two(torch.float32), X, y, 40, spaces=(1, 2))
    top_box, (left_box, right_box) = top.get_position(), (ax.get_position() for ax in hidden)
    assert top_box.y0 > left_box.y1 and top_box.y0 > right_box.y1
    assert left_box.y0 == pytest.approx(right_box.y0) and left_box.x1 < right_box.x0
    assert (top_box.x0 + top_box.x1) / 2 == pytest.approx((left_box.x0 + right_box.x1) / 2)  # centred over both


def test_loss_curve_draws_the_loss_and_the_accuracy_of_every_epoch():
    history = ClassifierHistory(loss=[0.7, 0.5, 0.2], accuracy=[0.5, 0.75, 1.0])
    ax, right = plot.loss_curve(history)
    assert list(ax.get_lines()[0].get_ydata()) == [0.7, 0.5, 0.2]
    assert list(right.get_lines()[0].get_ydata()) == [0.5, 0.75, 1.0]
    assert ax.get_yscale() == "log" and ax.get_title() and ax.get_xlabel() == "epoch"


def test_loss_curve_refuses_an_empty_history():
    with pytest.raises(ValueError, match="no epochs"):
        plot.loss_curve(ClassifierHistory())


def test_accuracy_comparison_draws_each_mean_with_its_worst_and_best_run():
    results = {"narrow": [0.8, 0.9], "wide": [0.95, 0.99, 1.0]}
    ax = plot.accuracy_comparison(results, baseline=0.88)
    widths = [patch.get_width() for patch in ax.patches]
    assert widths == pytest.approx([0.85, 0.98])
    assert [text.get_text() for text in ax.texts] == ["85.0%", "98.0%"]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["narrow", "wide"]
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [0.88]


def test_accuracy_comparison_refuses_a_label_without_runs():
    with pytest.raises(ValueError, match="non-empty list"):
        plot.accuracy_comparison({"none": []})


def test_accuracy_comparison_draws_runs_of_equal_accuracy_without_a_whisker():
    ax = plot.accuracy_comparison({"linear": [0.886] * 10})
    assert ax.patches[0].get_width() == pytest.approx(0.886)


def hand_built_xor(dtype=torch.float64):
    return MLP.from_weights([[[1.0, 1.0], [1.0, 1.0]], [[1.0, -3.0]]], [[-0.5, -1.5], [-0.25]], dtype=dtype)


def texts(ax):
    return [text.get_text() for text in ax.texts]


def test_backprop_graph_writes_each_edges_weight_and_its_derivative_from_the_trace():
    from kanlab.mlp import backprop_trace
    model, x = hand_built_xor(), torch.tensor([1.0, 1.0], dtype=torch.float64)
    ax = plot.backprop_graph(model, x, 0)
    trace = backprop_trace(model, x[None], torch.zeros(1, dtype=torch.float64))
    written = texts(ax)
    assert "$v_{2}$ = -3" in written or "$v_2$ = -3" in written
    assert f"\u2202\u2113/\u2202$v_2$ = {float(trace.gradients[1][0][0, 1]):.3g}" in written
    assert f"\u2202\u2113/\u2202$w_{{21}}$ = {float(trace.gradients[0][0][1, 0]):.3g}" in written
    assert f"\u2113 = {trace.loss:.3g}" in written


def test_backprop_graph_writes_the_outputs_error_p_minus_y():
    ax = plot.backprop_graph(hand_built_xor(), torch.tensor([1.0, 1.0], dtype=torch.float64), 0)
    p = float(torch.sigmoid(torch.tensor(-0.25, dtype=torch.float64)))
    assert any(text.endswith(f"= {p:.3g}") and "p \u2212 y" in text for text in texts(ax))


def test_backprop_graph_refuses_a_network_with_two_hidden_layers():
    with pytest.raises(ValueError, match="widths"):
        plot.backprop_graph(MLP([2, 2, 2, 1]), torch.zeros(2), 0)


def test_backprop_graph_refuses_a_class_other_than_0_or_1():
    with pytest.raises(ValueError, match="y must be 0 or 1"):
        plot.backprop_graph(hand_built_xor(), torch.zeros(2, dtype=torch.float64), 2)
