"""Specification of chapter 1-2 figures in kanlab.plot: they draw what they claim, with titles and labels."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import Circle, Polygon

from kanlab import plot
from kanlab.data import logic_gate, voting_age
from kanlab.perceptron import Perceptron, rosenblatt_rule


def circles(ax):
    return [patch for patch in ax.patches if isinstance(patch, Circle)]


def has_title_and_labels(ax):
    return bool(ax.get_title()) and bool(ax.get_xlabel()) and (bool(ax.get_ylabel()) or not ax.get_yticks().size)


def history_of(gate, max_epochs=100):
    X, y = logic_gate(gate)
    return rosenblatt_rule(Perceptron(2), X, y, max_epochs=max_epochs), X, y


@pytest.mark.parametrize("widths", [[2, 1], [3, 4, 4, 2], [1, 5, 1]])
def test_network_diagram_draws_one_circle_per_neuron_and_one_line_per_edge(widths):
    ax = plot.network_diagram(widths)
    assert len(circles(ax)) == sum(widths)
    assert len(ax.lines) == sum(a * b for a, b in zip(widths, widths[1:]))


def test_network_diagram_names_input_hidden_and_output_layers():
    ax = plot.network_diagram([3, 4, 2])
    texts = " ".join(text.get_text() for text in ax.texts)
    assert "input" in texts and "hidden" in texts and "output" in texts
    assert has_title_and_labels(ax)


@pytest.mark.parametrize("widths", [[3], [3, 0], "3,2", [2, 1.5]])
def test_network_diagram_rejects_bad_widths(widths):
    with pytest.raises(ValueError, match="widths|width"):
        plot.network_diagram(widths)


def test_perceptron_diagram_draws_the_inputs_and_one_output_neuron():
    ax = plot.perceptron_diagram(3)
    assert len(circles(ax)) == 4
    assert {"$w_1$", "$w_2$", "$w_3$"} <= {text.get_text() for text in ax.texts}
    assert has_title_and_labels(ax)


def test_decision_line_lies_on_the_line_it_draws():
    _, ax = plt.subplots()
    w, b = (1.0, 2.0), -1.0
    plot.decision_line(ax, w, b)
    (xs, ys), = [line.get_data() for line in ax.lines]
    for x, y in zip(xs, ys):
        assert w[0] * x + w[1] * y + b == pytest.approx(0.0, abs=1e-12)


def test_decision_line_through_two_corners_of_the_box_spans_the_diagonal():
    _, ax = plt.subplots()
    plot.decision_line(ax, (1.0, -1.0), 0.0, xlim=(-0.5, 1.5), ylim=(-0.5, 1.5))
    (xs, ys), = [line.get_data() for line in ax.lines]
    assert sorted(zip(xs, ys)) == [(-0.5, -0.5), (1.5, 1.5)]


def test_decision_line_touching_only_a_corner_draws_no_line():
    _, ax = plt.subplots()
    plot.decision_line(ax, (1.0, 1.0), 1.0, xlim=(-0.5, 1.5), ylim=(-0.5, 1.5))
    assert not ax.lines


def test_decision_line_draws_a_vertical_line_when_w2_is_zero():
    _, ax = plt.subplots()
    plot.decision_line(ax, (2.0, 0.0), -1.0)
    (xs, _), = [line.get_data() for line in ax.lines]
    assert list(xs) == pytest.approx([0.5, 0.5])


def test_decision_line_shades_each_side_on_its_own_side():
    _, ax = plt.subplots()
    w, b = (1.0, 1.0), -0.5
    plot.decision_line(ax, w, b)
    shaded = [patch for patch in ax.patches if isinstance(patch, Polygon)]
    assert len(shaded) == 2
    signs = set()
    for patch in shaded:
        corners = patch.get_xy()[:-1]
        x, y = corners.mean(axis=0)
        signs.add(w[0] * x + w[1] * y + b > 0)
    assert signs == {True, False}


def test_decision_line_with_zero_weights_draws_no_line_and_one_shaded_side():
    _, ax = plt.subplots()
    plot.decision_line(ax, (0.0, 0.0), -1.0)
    assert not ax.lines
    assert len([patch for patch in ax.patches if isinstance(patch, Polygon)]) == 1


def test_perceptron_picture_counts_the_right_predictions_in_its_title():
    _, ax = plt.subplots()
    plot.perceptron_picture(ax, 1.0, 1.0, -0.5, gate="or")
    assert "OR 4/4" in ax.get_title()
    _, ax = plt.subplots()
    plot.perceptron_picture(ax, 1.0, 1.0, -0.5, gate="and", also=("or", "xor"))
    assert "AND 2/4, OR 4/4, XOR 3/4" in ax.get_title()
    assert has_title_and_labels(ax) and ax.get_legend() is not None


def test_rule_updates_draws_the_final_line_and_a_legend():
    history, X, y = history_of("and")
    ax = plot.rule_updates(history, X, y)
    assert has_title_and_labels(ax) and ax.get_legend() is not None
    assert any("final line" in text.get_text() for text in ax.get_legend().get_texts())


def test_rule_steps_draws_one_picture_per_update_plus_the_start():
    history, _, _ = history_of("or")
    fig = plot.rule_steps(history, "or")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == history.num_updates + 1
    assert visible[0].get_title() == "start" and fig._suptitle is not None


def test_mistakes_per_epoch_plots_one_point_per_epoch():
    history, _, _ = history_of("xor", max_epochs=30)
    ax = plot.mistakes_per_epoch(history)
    assert list(ax.lines[0].get_ydata()) == history.mistakes_per_epoch
    assert has_title_and_labels(ax)


def test_heaviside_plot_marks_one_half_at_zero():
    ax = plot.heaviside_plot()
    assert any("0.5" in text.get_text() for text in ax.get_legend().get_texts())
    assert has_title_and_labels(ax)


def test_activation_functions_draws_three_labelled_panels():
    axes = plot.activation_functions()
    assert len(axes) == 3 and all(has_title_and_labels(ax) for ax in axes)


@pytest.mark.parametrize("activation", ["sigmoid", "step"])
def test_neuron_response_marks_where_w_x_plus_b_is_zero(activation):
    _, ax = plt.subplots()
    plot.neuron_response(ax, 2.0, -1.0, activation=activation)
    assert list(ax.lines[1].get_xdata()) == [0.5, 0.5]
    assert has_title_and_labels(ax)


def test_neuron_response_with_zero_weight_draws_a_flat_line_and_no_marker():
    _, ax = plt.subplots()
    plot.neuron_response(ax, 0.0, 1.0)
    assert len(ax.lines) == 1 and len(set(ax.lines[0].get_ydata())) == 1


def test_neuron_response_rejects_an_unknown_activation():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="activation"):
        plot.neuron_response(ax, 1.0, 0.0, activation="relu")


def test_voting_picture_marks_the_threshold_age():
    ages, allowed = voting_age()
    ax = plot.voting_picture(Perceptron.from_weights([1.0], -18.0), ages, allowed)
    assert any("18" in text.get_text() for text in ax.get_legend().get_texts())
    assert has_title_and_labels(ax)


def test_voting_picture_rejects_a_two_input_perceptron():
    ages, allowed = voting_age()
    with pytest.raises(ValueError, match="one-input"):
        plot.voting_picture(Perceptron(2), ages, allowed)
