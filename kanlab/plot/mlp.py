"""Chapter 4's figures: multi-layer perceptrons on a data set no line separates. Decision regions, every
space of a network with two units per layer (the input box's grid bent into it, the next layer's lines
drawn in it), a training frame for the epoch slider, the loss over training, and accuracies compared."""

import matplotlib.pyplot as plt
import torch
from matplotlib.collections import LineCollection

from matplotlib.patches import Circle

from kanlab.mlp import MLP, accuracy, backprop_trace, classification_loss
from kanlab.plot.perceptron import _line_segment
from kanlab.plot.style import CLASS_COLORS, LAYER_COLORS, diagram_frame
from kanlab.plot.xor import CLASS_MARKERS, UNIT_COLORS, UNIT_DASHES, _shade, _unit_line

# The box of the input plane that the figures show and whose grid they carry into the hidden spaces:
# it holds every point of kanlab.data.two_moons with its default noise.
MOONS_BOX = ((-1.5, 2.5), (-1.0, 1.5))
GRID_COLOR = "#555555"


def _axes_or_new(ax, figsize):
    """``ax`` itself, or the Axes of a new figure whose layout keeps outside legends and labels in view."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _dtype_of(model):
    return next(model.parameters()).dtype


def _points(ax, X, y, size=14):
    """The data, coloured and shaped by class (blue circles 0, orange squares 1)."""
    for value in (0.0, 1.0):
        chosen = X[y == value]
        ax.scatter(chosen[:, 0], chosen[:, 1], s=size, color=CLASS_COLORS[value], marker=CLASS_MARKERS[value],
                   edgecolor="black", linewidth=0.4, zorder=4, label=f"class {int(value)}")


def _check_model(model, caller):
    if not isinstance(model, MLP) or model.in_features != 2 or model.out_features != 1:
        got = model.widths if isinstance(model, MLP) else type(model).__name__
        raise ValueError(f"{caller}: model must be an MLP with 2 inputs and 1 output, got {got}")


def decision_regions(model, X, y, ax=None, title=None, box=MOONS_BOX, legend=True):
    """Input space shaded by the model's answer (orange where its score is > 0), with the data on top.

    Args:
        model: a :class:`kanlab.mlp.MLP` with widths [2, ..., 1]; X: (N, 2) points; y: (N,) classes 0/1.
        title: replaces the default, which states the accuracy on (X, y).
        box: ((x1 low, x1 high), (x2 low, x2 high)), the part of the plane shown.

    Returns:
        The Axes.
    """
    _check_model(model, "decision_regions")
    ax = _axes_or_new(ax, (5.0, 3.6))
    xlim, ylim = box
    _shade(ax, lambda points: model(points)[:, 0] > 0, xlim, ylim, dtype=_dtype_of(model))
    _points(ax, X, y)
    if title is None:
        title = f"input space: {accuracy(model, X, y):.1%} right"
    ax.set(xlim=xlim, ylim=ylim, xlabel="$x_1$", ylabel="$x_2$", title=title, aspect="equal")
    if legend:
        ax.legend(loc="upper right", fontsize=8)
    return ax


def _box_grid(box, lines=13, samples=121, dtype=torch.float32):
    """Grid lines of the box, each sampled at ``samples`` points: a list of (samples, 2) tensors."""
    (x_low, x_high), (y_low, y_high) = box
    grid = []
    for k in torch.linspace(0, 1, lines, dtype=dtype):
        s = torch.linspace(0, 1, samples, dtype=dtype)
        along_x = torch.stack([x_low + s * (x_high - x_low), torch.full_like(s, y_low + k * (y_high - y_low))], dim=1)
        along_y = torch.stack([torch.full_like(s, x_low + k * (x_high - x_low)), y_low + s * (y_high - y_low)], dim=1)
        grid += [along_x, along_y]
    return grid


def carried(model, points, space):
    """Where the points of the input plane land in space ``space`` (0: they stay; l: the l-th hidden space)."""
    if space == 0:
        return points
    with torch.no_grad():
        return model.hidden_spaces(points)[space - 1]


def space_limits(model, space, box=MOONS_BOX):
    """A box, padded by 8%, that holds the input box's image in space ``space``."""
    if space == 0:
        return box
    image = carried(model, torch.cat(_box_grid(box, dtype=_dtype_of(model))), space)
    low, high = image.min(dim=0).values, image.max(dim=0).values
    pad = 0.08 * (high - low).clamp(min=1e-3)
    return tuple((float(low[i] - pad[i]), float(high[i] + pad[i])) for i in range(2))


def space_picture(model, X, y, space, ax=None, box=MOONS_BOX, limits=None, title=None, legend=True):
    r"""One space of a network whose layers up to ``space`` have two units each, as the next layer sees it.

    Drawn: the grid of the input box carried into this space (straight in the input space, bent in a
    hidden one), the data carried with it, the space shaded by what the rest of the network answers
    there (``model.from_space``), and the lines the next layer draws here: one dashed line per unit,
    :math:`\mathbf{w}_j\cdot\mathbf{h} + b_j = 0` with an arrow to its positive side, or the output's
    line in black when the next layer is the output.

    Args:
        model: a :class:`kanlab.mlp.MLP` with widths [2, 2, ..., 1] (two units up to ``space``).
        X, y: the data, (N, 2) and (N,) with classes 0/1.
        space: 0 for the input space, l for the l-th hidden space.
        box: the part of the input plane whose grid is carried.
        limits: (xlim, ylim) of the picture (default: `space_limits`).

    Returns:
        The Axes.
    """
    _check_model(model, "space_picture")
    if isinstance(space, bool) or not isinstance(space, int) or not 0 <= space < len(model.layers):
        raise ValueError(f"space_picture: space must be an integer from 0 to {len(model.layers) - 1}, got {space!r}")
    if any(width != 2 for width in model.widths[: space + 1]):
        raise ValueError(f"space_picture: every layer up to space {space} must have 2 units to be drawn in a plane, "
                         f"got widths {model.widths}")
    ax = _axes_or_new(ax, (4.2, 4.0))
    dtype = _dtype_of(model)
    xlim, ylim = limits if limits is not None else space_limits(model, space, box)
    with torch.no_grad():
        _shade(ax, lambda h: model.from_space(h, space)[:, 0] > 0, xlim, ylim, dtype=dtype)
    pieces = [carried(model, line, space).tolist() for line in _box_grid(box, dtype=dtype)]
    # Not antialiased: the static player keeps 64 colours, and blends of the grid would crowd out the lines.
    ax.add_collection(LineCollection(pieces, colors=GRID_COLOR, linewidths=0.5, antialiaseds=False, zorder=1))
    _points(ax, carried(model, X.to(dtype), space), y)
    following = model.layers[space]
    if space == len(model.layers) - 1:
        segment = _line_segment(following.weight[0].tolist(), float(following.bias[0].detach()), xlim, ylim)
        if segment is not None:
            (x0, y0), (x1, y1) = segment
            ax.plot([x0, x1], [y0, y1], color="black", linewidth=2.5, zorder=3, label="output's line")
    else:
        for j in range(following.out_features):
            w, b = following.weight[j].tolist(), float(following.bias[j].detach())
            _unit_line(ax, w, b, UNIT_COLORS[j % len(UNIT_COLORS)], f"line of unit {j + 1}, layer {space + 1}",
                       xlim, ylim, linestyle=UNIT_DASHES[j % len(UNIT_DASHES)])
    name = "input space" if space == 0 else f"hidden space {space}"
    axis = ("x", "") if space == 0 else ("h", f"^{{({space})}}")
    ax.set(xlim=xlim, ylim=ylim, title=title or name, xlabel=f"${axis[0]}_1{axis[1]}$",
           ylabel=f"${axis[0]}_2{axis[1]}$")
    if legend:
        # The lines only: the classes' colours are the same in every panel.
        ax.legend(handles=[line for line in ax.get_lines() if not line.get_label().startswith("_")],
                  loc="lower center", bbox_to_anchor=(0.5, 1.1), ncol=1)
    return ax


def training_frame(ax, model, X, y, epoch, spaces=None, limits=((-1.05, 1.05), (-1.05, 1.05)), box=MOONS_BOX):
    """One frame of the training slider: the decision regions in the input space (on ``ax``, across the
    top), and under them, side by side, hidden spaces with their bent grids and the next layer's lines.

    Stacked rather than in one row, so that a frame about 6 inches wide holds three panels whose
    labels stay legible on a phone's column.

    Args:
        ax: the Axes the interactive figure gives; it becomes the top panel.
        model: a :class:`kanlab.mlp.MLP` with two units in every hidden layer drawn, holding the weights of ``epoch``.
        X, y: the training data; the title states the accuracy and the cross-entropy loss on it.
        epoch: written in the title.
        spaces: the hidden spaces drawn under it (default: the last one, where the output draws its line).
        limits: of the hidden panels, the same in every frame (tanh keeps hidden points in [-1, 1]^2).

    Returns:
        The list of Axes: the input space, then the hidden spaces left to right.
    """
    _check_model(model, "training_frame")
    spaces = [len(model.layers) - 1] if spaces is None else list(spaces)
    panels = ax.get_subplotspec().subgridspec(2, len(spaces))
    ax.set_subplotspec(panels[0, :])
    with torch.no_grad():
        loss = float(classification_loss(model(X), y))
    decision_regions(model, X, y, ax=ax, box=box, legend=False,
                     title=f"epoch {epoch}: {accuracy(model, X, y):.1%} right, loss {loss:.3f}")
    axes = [ax]
    for index, space in enumerate(spaces):
        axes.append(ax.figure.add_subplot(panels[1, index]))
        following = "the output's line" if space == len(model.layers) - 1 else f"layer {space + 1}'s lines"
        space_picture(model, X, y, space, ax=axes[-1], box=box, limits=limits, legend=False,
                      title=f"hidden space {space}\nwith {following}")
    return axes


def loss_curve(history, ax=None, title="Training: loss and accuracy, epoch by epoch"):
    """The cross-entropy loss (log scale, left axis) and the training accuracy (right axis) after each epoch.

    Args:
        history: a :class:`kanlab.mlp.ClassifierHistory`.

    Returns:
        (the loss Axes, the accuracy Axes).
    """
    if len(history.loss) == 0:
        raise ValueError("loss_curve: history holds no epochs")
    ax = _axes_or_new(ax, (6.0, 3.6))
    epochs = range(1, len(history.loss) + 1)
    ax.plot(epochs, history.loss, color="black", linewidth=2, label="loss")
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="cross-entropy loss (log scale)", title=title)
    ax.grid(alpha=0.3)
    right = ax.twinx()
    right.plot(epochs, history.accuracy, color=CLASS_COLORS[1.0], linewidth=2, linestyle="--", label="training accuracy")
    right.set(ylabel="training accuracy", ylim=(0.4, 1.02))
    lines = ax.get_lines() + right.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    return ax, right


def accuracy_comparison(results, ax=None, baseline=None, title="Test accuracy on two moons, over seeds"):
    """Horizontal bars: the mean test accuracy of each network, with a whisker from its worst to its best run.

    Args:
        results: ``{label: [accuracy of each run]}``, drawn top to bottom in this order.
        baseline: if given, a dotted vertical line at this accuracy (e.g. a single neuron's).

    Returns:
        The Axes.
    """
    if not results or any(len(runs) == 0 for runs in results.values()):
        raise ValueError("accuracy_comparison: results must map each label to a non-empty list of accuracies")
    ax = _axes_or_new(ax, (6.0, 0.42 * len(results) + 1.9))
    labels = list(results)
    means = [sum(runs) / len(runs) for runs in results.values()]
    # max(0, .): a mean of equal accuracies can round to just above or below them.
    low = [max(0.0, mean - min(runs)) for mean, runs in zip(means, results.values())]
    high = [max(0.0, max(runs) - mean) for mean, runs in zip(means, results.values())]
    bars = ax.barh(labels, means, xerr=[low, high], color=CLASS_COLORS[0.0], capsize=3, ecolor="black")
    ax.bar_label(bars, labels=[f"{mean:.1%}" for mean in means], padding=12)
    if baseline is not None:
        ax.axvline(baseline, color="black", linestyle=":", linewidth=1.2, label=f"one neuron (a line): {baseline:.1%}")
        # Under the figure rather than beside the bars, so that the bars keep the column's width.
        ax.figure.legend(handles=ax.get_lines()[-1:], loc="outside lower center")
    ax.invert_yaxis()
    ax.set(xlim=(0.5, 1.08), xlabel="test accuracy (bar: mean; whisker: worst to best run)", ylabel="network",
           title=title)
    return ax


def backprop_graph(model, x, y, ax=None, title=None, activation_name=None):
    r"""The computational graph of a [n_in, n, 1] MLP on one input, with every number of one backward pass.

    The graph runs down the page, inputs at the top, so that it fits a phone's column with legible
    numbers. Forward (black): x inside the input nodes, each hidden unit's z_j and h_j = phi(z_j)
    beside it (above its centre), the score z, p = s(z) (the logistic sigmoid) and the loss l of this
    input. Backward (dark red, each number named by what it differentiates): dl/dz = p - y at the
    output, dl/dh_j = v_j dl/dz and dl/dz_j = dl/dh_j phi'(z_j) beside each hidden unit (below its
    centre; dl/dz_j is also dl/db_j), and on every edge its weight (w_ji from input i to unit j, v_j
    from unit j to the output) over dl/dw (the backward number at its head times the forward number
    at its tail). The numbers are those of :func:`kanlab.mlp.backprop_trace` for this one input.

    Args:
        model: a :class:`kanlab.mlp.MLP` with widths [n_in, n, 1], n_in and n at most 4.
        x: one input, shape (n_in,) or (1, n_in); y: its class, 0 or 1.
        activation_name: written in the hidden nodes (default: the model's activation, e.g. ReLU).

    Returns:
        The Axes.
    """
    if not isinstance(model, MLP) or len(model.widths) != 3 or model.out_features != 1 or max(model.widths) > 4:
        got = model.widths if isinstance(model, MLP) else type(model).__name__
        raise ValueError(f"backprop_graph: model must be an MLP with widths [n_in, n, 1], n_in, n <= 4, got {got}")
    dtype = _dtype_of(model)
    x = torch.as_tensor(x, dtype=dtype).reshape(1, -1)
    target = torch.as_tensor([float(y)], dtype=dtype)
    if float(target) not in (0.0, 1.0):
        raise ValueError(f"backprop_graph: y must be 0 or 1, got {y!r}")
    trace = backprop_trace(model, x, target)
    name = activation_name or {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid", "identity": "id"}[model.activation]
    n_in, n_hidden = model.widths[0], model.widths[1]
    # Data units are inches: nodes 2.8 apart in a row, 1.6 on each side for the labels beside them.
    gap, radius, red = 2.8, 0.3, "#a50f15"
    half_width = gap * (max(n_in, n_hidden) - 1) / 2 + 1.6
    ax = _axes_or_new(ax, (2 * half_width, 6.4))

    def row(count, height):
        return [(gap * (i - (count - 1) / 2), height) for i in range(count)]

    inputs, hidden = row(n_in, 0.0), row(n_hidden, -2.6)
    score, prob = (0.0, -4.4), (1.5, -4.4)
    first, last = (linear.weight.detach() for linear in model.layers)
    z_hidden, h_hidden = trace.pre_activations[0][0], trace.inputs[1][0]
    delta_hidden, dl_dh = trace.deltas[0][0], trace.input_gradients[1][0]
    (dW1, _), (dW2, _) = trace.gradients
    box = dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none")

    def edge(tail, head, symbol, weight, gradient, along):
        ax.plot([tail[0], head[0]], [tail[1], head[1]], color="#888888", linewidth=1.2, zorder=1)
        px, py = tail[0] + along * (head[0] - tail[0]), tail[1] + along * (head[1] - tail[1])
        ax.text(px, py, f"{symbol} = {weight:.3g}", ha="center", va="bottom", color="black", bbox=box, zorder=3)
        ax.text(px, py, f"\u2202\u2113/\u2202{symbol} = {gradient:.3g}", ha="center", va="top", color=red,
                bbox=box, zorder=3)

    for j, head in enumerate(hidden):
        for i, tail in enumerate(inputs):
            # Low on a vertical edge, high on a slanted one, so that crossing edges keep their labels apart.
            edge(tail, head, f"$w_{{{j + 1}{i + 1}}}$", float(first[j, i]), float(dW1[j, i]),
                 0.62 if tail[0] == head[0] else 0.24)
        edge(head, score, f"$v_{j + 1}$", float(last[0, j]), float(dW2[0, j]), 0.45)
    ax.plot([score[0], prob[0] + 0.8], [score[1], score[1]], color="#888888", linewidth=1.2, zorder=1)

    def node(position, text, kind, size=10):
        ax.add_patch(Circle(position, radius, facecolor=LAYER_COLORS[kind], edgecolor="black", zorder=2))
        ax.text(position[0], position[1], text, ha="center", va="center", fontsize=size, zorder=4)

    def beside(position, text, color, above):
        """Text beside a node, on the outer side of its row (the left for a node left of the centre)."""
        outward = -1 if position[0] < 0 else 1
        ax.text(position[0] + outward * (radius + 0.1), position[1] + (0.02 if above else -0.02), text,
                ha="right" if outward < 0 else "left", va="bottom" if above else "top", color=color, zorder=4)

    for i, position in enumerate(inputs):
        node(position, f"$x_{i + 1}$\n{float(x[0, i]):.3g}", "input")
    for j, position in enumerate(hidden):
        node(position, name, "hidden", size=10 if len(name) <= 4 else 7)  # "sigmoid" fits the circle at 7 pt
        beside(position, f"$z_{j + 1}$ = {float(z_hidden[j]):.3g}\n$h_{j + 1}$ = {name}($z_{j + 1}$)\n"
               f"   = {float(h_hidden[j]):.3g}", "black", above=True)
        beside(position, f"\u2202\u2113/\u2202$h_{j + 1}$ = {float(dl_dh[j]):.3g}\n"
               f"\u2202\u2113/\u2202$z_{j + 1}$ = \u2202\u2113/\u2202$b_{j + 1}$\n   = {float(delta_hidden[j]):.3g}",
               red, above=False)
    z_out, delta_out = float(trace.pre_activations[1][0, 0]), float(trace.deltas[1][0, 0])
    p = float(torch.sigmoid(trace.pre_activations[1][0, 0]))
    ax.text(score[0] - radius - 0.1, score[1], f"z = {z_out:.3g}", ha="right", va="center", zorder=4, bbox=box)
    node(score, "+", "output")
    ax.text(score[0], score[1] - radius - 0.1, f"\u2202\u2113/\u2202z = p \u2212 y\n= {delta_out:.3g}", ha="center",
            va="top", color=red, zorder=4, bbox=box)
    ax.text(prob[0], prob[1] + radius + 0.1, f"p = \u03c3(z) = {p:.3g}\ny = {int(target)}", ha="center", va="bottom",
            zorder=4, bbox=box)
    node(prob, "\u03c3", "output")
    ax.text(prob[0] + 0.9, prob[1], f"\u2113 = {trace.loss:.3g}", ha="left", va="center", fontsize=11)
    ax.set_xlim(-half_width, half_width)
    ax.set_ylim(score[1] - 1.0, radius + 0.15)
    ax.set_aspect("equal")
    if title is None:
        title = (f"One input, x = {tuple(round(float(v), 3) for v in x[0])}:\n"
                 "forward (black) and backward (red, \u2202\u2113/\u2202\u00b7)")
    return diagram_frame(ax, title, xlabel="\u2113 = \u2212[y log p + (1 \u2212 y) log(1 \u2212 p)]\neach red number: "
                         "how much \u2113 changes\nper unit nudge of what it names")
