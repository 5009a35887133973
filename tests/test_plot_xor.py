"""Specification of chapter 3's figures (kanlab.plot.xor): they draw what they claim, where they claim."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.patches import Circle

from kanlab import plot
from kanlab.data import logic_gate
from kanlab.mlp import MLP, ClassifierHistory
from kanlab.perceptron import Perceptron


def hand_built_xor(dtype=torch.float64):
    """The chapter's network: ReLU(x1 + x2 - 0.5), ReLU(x1 + x2 - 1.5), then h1 - 3 h2 - 1/4."""
    return MLP.from_weights([[[1.0, 1.0], [1.0, 1.0]], [[1.0, -3.0]]], [[-0.5, -1.5], [-0.25]], dtype=dtype)


def corner_points(ax):
    """The points drawn as the gate's corners (the scatters labelled by target), as (x, y) pairs, sorted."""
    points = [tuple(map(float, offset)) for collection in ax.collections
              if isinstance(collection, PathCollection) and collection.get_label().startswith("target")
              for offset in collection.get_offsets()]
    return sorted(points)


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_two_lines_picture_draws_each_perceptron_line_where_its_score_is_zero():
    first = Perceptron.from_weights([1.0, 1.0], -0.5)
    second = Perceptron.from_weights([1.0, 1.0], -1.5)
    ax = plot.two_lines_picture(first, second)
    drawn = [line for line in ax.lines if len(line.get_xdata()) == 2]
    assert len(drawn) == 2
    for line, bias in zip(drawn, (-0.5, -1.5)):
        for x1, x2 in zip(*line.get_data()):
            assert x1 + x2 + bias == pytest.approx(0.0, abs=1e-9)
    assert corner_points(ax) == [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_two_lines_picture_writes_each_line_as_an_equation_a_reader_writes():
    first = Perceptron.from_weights([1.0, 1.0], -0.5)
    second = Perceptron.from_weights([1.0, -2.0], 1.5)
    labels = legend_texts(plot.two_lines_picture(first, second))
    assert "first line: $x_1 + x_2 - 0.5 = 0$" in labels
    assert "second line: $x_1 - 2\\,x_2 + 1.5 = 0$" in labels


def test_network_with_weights_writes_every_weight_and_bias():
    ax = plot.network_with_weights(hand_built_xor())
    texts = [text.get_text() for text in ax.texts]
    assert texts.count("1") == 5 and texts.count("-3") == 1  # four input weights and v_1, then v_2
    assert {"b = -0.5", "b = -1.5", "b = -0.25"} <= set(texts)
    assert len([p for p in ax.patches if isinstance(p, Circle)]) == 5
    assert len(ax.lines) == 2 * 2 + 2 * 1


def test_network_with_weights_refuses_a_layer_too_wide_to_label():
    with pytest.raises(ValueError, match="at most 4 neurons"):
        plot.network_with_weights(MLP([2, 5, 1]))


def test_hidden_unit_lines_draws_one_line_per_unit_and_counts_the_right_answers():
    ax = plot.hidden_unit_lines(hand_built_xor())
    units = [line for line in ax.lines if line.get_label().startswith("unit") and len(line.get_xdata()) == 2]
    assert len(units) == 2
    for line, bias in zip(units, (-0.5, -1.5)):
        x1, x2 = line.get_data()
        assert x1[0] + x2[0] + bias == pytest.approx(0.0, abs=1e-9)
    assert ax.get_title() == "input space: 4/4 right"


def test_hidden_unit_lines_names_a_dead_unit_in_its_legend():
    # unit 2, relu(-x1 - x2 - 1), is 0 on the whole square
    model = MLP.from_weights([[[1.0, 1.0], [-1.0, -1.0]], [[1.0, 1.0]]], [[-0.5, -1.0], [0.0]])
    ax = plot.hidden_unit_lines(model)
    assert "unit 2 (dead: 0 on all corners)" in legend_texts(ax)
    assert "unit 1" in legend_texts(ax)


def test_corners_in_hidden_space_puts_each_corner_at_its_hidden_point():
    model = hand_built_xor()
    ax = plot.corners_in_hidden_space(model)
    assert corner_points(ax) == [(0.0, 0.0), (0.5, 0.0), (0.5, 0.0), (1.5, 0.5)]
    assert "(0,1) = (1,0)" in [text.get_text() for text in ax.texts]


def test_corners_in_hidden_space_needs_a_plane_of_two_hidden_units():
    with pytest.raises(ValueError, match="two hidden units"):
        plot.corners_in_hidden_space(MLP([2, 3, 1]))


@pytest.mark.parametrize("t", [0.0, 0.5, 1.0])
def test_morph_picture_draws_each_corner_at_the_mix_of_input_and_hidden_point(t):
    model = hand_built_xor()
    X, _ = logic_gate("xor", dtype=torch.float64)
    (h,) = model.hidden_spaces(X)
    _, ax = plt.subplots()
    plot.morph_picture(ax, model, t)
    expected = sorted(tuple(map(float, point)) for point in (1 - t) * X + t * h.detach())
    assert [c for point in corner_points(ax) for c in point] == pytest.approx([c for point in expected for c in point])


def test_morph_picture_shows_the_output_line_only_once_t_leaves_zero():
    _, (start, end) = plt.subplots(1, 2)
    plot.morph_picture(start, hand_built_xor(), 0.0)
    plot.morph_picture(end, hand_built_xor(), 1.0)
    assert "output line (hidden space)" not in legend_texts(start)
    assert "output line (hidden space)" in legend_texts(end)


def test_morph_picture_refuses_t_outside_zero_to_one():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="t must lie in"):
        plot.morph_picture(ax, hand_built_xor(), 1.5)


def test_morph_limits_hold_the_square_and_its_image_in_hidden_space():
    (x_low, x_high), (y_low, y_high) = plot.morph_limits(hand_built_xor())
    # the square is [0, 1]^2; its image reaches h = (1.5, 0.5) at the corner (1, 1)
    assert x_low < 0 and x_high > 1.5 and y_low < 0 and y_high > 1


def test_seed_outcomes_stacks_the_counts_of_each_width():
    counts = {2: {"solved": 24, "stuck": 76}, 8: {"solved": 95, "stuck": 5}}
    ax = plot.seed_outcomes(counts)
    bars = sorted((round(bar.get_y(), 6), bar.get_x(), bar.get_width()) for bar in ax.patches)
    assert [(left, width) for _, left, width in bars] == [(0, 24), (24, 76), (0, 95), (95, 5)]
    assert legend_texts(ax) == ["solved", "stuck"]


def test_seed_loss_curves_draws_one_curve_per_run_beside_the_level_ln_2():
    histories = {"a": ClassifierHistory(loss=[0.7, 0.5, 0.2]), "b": ClassifierHistory(loss=[0.7, 0.69, 0.69])}
    ax = plot.seed_loss_curves(histories)
    curves = [line for line in ax.lines if line.get_label() in histories]
    assert [list(line.get_ydata()) for line in curves] == [[0.7, 0.5, 0.2], [0.7, 0.69, 0.69]]
    levels = [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":"]
    assert levels == pytest.approx([math.log(2), math.log(2) / 2])


def test_the_two_targets_differ_in_shape_as_well_as_colour():
    ax = plot.hidden_unit_lines(hand_built_xor())
    shapes = {collection.get_label(): collection.get_paths()[0].vertices.round(3).tobytes()
              for collection in ax.collections
              if isinstance(collection, PathCollection) and collection.get_label().startswith("target")}
    assert set(shapes) == {"target 0", "target 1"} and shapes["target 0"] != shapes["target 1"]


def test_the_units_lines_differ_in_dash_pattern_as_well_as_colour():
    ax = plot.hidden_unit_lines(hand_built_xor())
    units = [line for line in ax.lines if line.get_label().startswith("unit")]
    assert len(units) == 2 and units[0].get_linestyle() != units[1].get_linestyle()


def test_seed_outcomes_hatches_every_failure_differently():
    counts = {2: {"solved": 1, "a": 2, "b": 3}, 8: {"solved": 5, "a": 1, "b": 0}}
    ax = plot.seed_outcomes(counts)
    hatches = {container.get_label(): container.patches[0].get_hatch() for container in ax.containers}
    assert hatches["a"] and hatches["b"] and hatches["a"] != hatches["b"]


def test_seed_loss_curves_differ_in_line_style():
    ax = plot.seed_loss_curves({"one": ClassifierHistory(loss=[0.7, 0.5]), "two": ClassifierHistory(loss=[0.7, 0.6])})
    curves = [line for line in ax.lines if line.get_label() in ("one", "two")]
    assert curves[0].get_linestyle() != curves[1].get_linestyle()
