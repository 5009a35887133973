"""Figures of the book: network diagrams, perceptron decision lines, learning histories.

Every function draws on a matplotlib Axes (made for you when ``ax`` is None) and returns it,
so a notebook cell stays one call long.
"""

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Circle, FancyArrowPatch, Polygon
from matplotlib.ticker import MaxNLocator

from kanlab import splines
from kanlab.data import logic_gate
from kanlab.perceptron import Perceptron, heaviside
from kanlab.pruning import input_box_samples
from kanlab.regularization import model_edge_scales

# Colours for the perceptron's two classes and for "exactly on the line".
CLASS_COLORS = {0.0: "#1f77b4", 0.5: "#7f7f7f", 1.0: "#ff7f0e"}
SHADE_COLORS = {0.0: "#d6e6f4", 1.0: "#fde3cc"}
LAYER_COLORS = {"input": "#9ecae1", "hidden": "#c7e9c0", "output": "#fdd0a2"}


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _layer_positions(widths, layer_gap=1.0):
    """Centres (x, y) of every neuron: layer l at x = l * layer_gap, neurons 1 apart, centred on y = 0."""
    return [[(layer * layer_gap, (width - 1) / 2 - i) for i in range(width)] for layer, width in enumerate(widths)]


def network_diagram(widths, ax=None, radius=0.22, title="A fully connected neural network"):
    """Draw a layered, fully connected network: neurons as circles, edges (synapses) as lines.

    Args:
        widths: neurons per layer, input layer first, e.g. ``[3, 4, 4, 2]``; at least two layers.
        ax: the Axes to draw on (a new figure when None).
        radius: circle radius in layer units.
        title: the figure's title.

    Returns:
        The Axes, holding exactly ``sum(widths)`` circles and ``sum(w_l * w_{l+1})`` edges.
    """
    if not isinstance(widths, (list, tuple)) or len(widths) < 2:
        raise ValueError(f"network_diagram: widths must be a list of at least two layer sizes, got {widths!r}")
    if not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths):
        raise ValueError(f"network_diagram: every width must be a positive int, got {widths!r}")
    gap = 1.8
    ax = _axes(ax, (1.3 * len(widths) + 0.6, 0.6 * max(widths) + 1.4))
    positions = _layer_positions(widths, layer_gap=gap)
    for left, right in zip(positions, positions[1:]):
        for x0, y0 in left:
            for x1, y1 in right:
                ax.plot([x0, x1], [y0, y1], color="#888888", linewidth=0.8, zorder=1)
    last = len(widths) - 1
    bottom = -max(widths) / 2 - 0.3
    for layer, neurons in enumerate(positions):
        kind = "input" if layer == 0 else "output" if layer == last else "hidden"
        for x, y in neurons:
            ax.add_patch(Circle((x, y), radius, facecolor=LAYER_COLORS[kind], edgecolor="black", zorder=2))
        name = kind if kind != "hidden" else f"hidden {layer}" if last > 2 else "hidden"
        count = f"{len(neurons)} neurons" if len(neurons) > 1 else "1 neuron"
        ax.text(layer * gap, bottom, f"{name}\n{count}", ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.6, last * gap + 0.6)
    ax.set_ylim(bottom - 0.8, max(widths) / 2 + 0.1)
    ax.set_aspect("equal")
    return _diagram_frame(ax, title, xlabel="signals flow from left to right")


def perceptron_diagram(n_inputs=2, ax=None, title="A perceptron: $y = f(\\mathbf{w}\\cdot\\mathbf{x} + b)$"):
    """Draw a perceptron: inputs x_i, edges carrying weights w_i, one output neuron that adds
    the bias b and applies the activation f, and the output y.

    Returns:
        The Axes, holding ``n_inputs + 1`` circles (the inputs and the output neuron).
    """
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or not 1 <= n_inputs <= 6:
        raise ValueError(f"perceptron_diagram: n_inputs must be an int from 1 to 6, got {n_inputs!r}")
    ax = _axes(ax, (5.0, 1.0 + 0.8 * n_inputs))
    neuron = (2.0, 0.0)
    inputs = _layer_positions([n_inputs])[0]
    for i, (x, y) in enumerate(inputs, start=1):
        ax.add_patch(Circle((x, y), 0.25, facecolor=LAYER_COLORS["input"], edgecolor="black", zorder=2))
        ax.text(x, y, f"$x_{i}$", ha="center", va="center", fontsize=12, zorder=3)
        ax.plot([x, neuron[0]], [y, neuron[1]], color="#888888", zorder=1)
        ax.text(x + 0.8, y + (neuron[1] - y) * 0.4 + 0.08, f"$w_{i}$", ha="center", va="bottom", fontsize=11)
    ax.add_patch(Circle(neuron, 0.38, facecolor=LAYER_COLORS["output"], edgecolor="black", zorder=2))
    ax.text(*neuron, "$\\Sigma$, $f$", ha="center", va="center", fontsize=12, zorder=3)
    ax.text(neuron[0], neuron[1] - 0.5, "$+\\,b$", ha="center", va="top", fontsize=11)
    ax.add_patch(FancyArrowPatch((neuron[0] + 0.38, 0), (3.3, 0), arrowstyle="-|>", mutation_scale=15, color="black"))
    ax.text(3.4, 0, "$y$", ha="left", va="center", fontsize=13)
    half_height = max(n_inputs / 2, 1.0)
    ax.set_xlim(-0.5, 3.8)
    ax.set_ylim(-half_height - 0.2, half_height + 0.1)
    ax.set_aspect("equal")
    return _diagram_frame(ax, title, xlabel="input layer (left) and output neuron (right)")


def _diagram_frame(ax, title, xlabel="", ylabel=""):
    """A diagram's axes: no ticks or frame, only the title and a label that says how to read it."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title)
    return ax


def _half_plane(w, b, xlim, ylim, sign):
    """Corners of the part of the box xlim x ylim where sign * (w . p + b) >= 0 (may be empty)."""
    box = [(xlim[0], ylim[0]), (xlim[1], ylim[0]), (xlim[1], ylim[1]), (xlim[0], ylim[1])]
    values = [sign * (w[0] * x + w[1] * y + b) for x, y in box]
    corners = []
    for (p, vp), (q, vq) in zip(zip(box, values), zip(box[1:] + box[:1], values[1:] + values[:1])):
        if vp >= 0:
            corners.append(p)
        if (vp >= 0) != (vq >= 0):  # the line crosses this side of the box
            t = vp / (vp - vq)
            corners.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return corners


def _line_segment(w, b, xlim, ylim):
    """Two end points of the line w . p + b = 0 across the box, or None if it misses the box."""
    if w[0] == 0 and w[1] == 0:
        return None
    corners = _half_plane(w, b, xlim, ylim, 1.0)
    on_line = [p for p in corners if abs(w[0] * p[0] + w[1] * p[1] + b) < 1e-9]
    # A line through a corner of the box meets it there twice; keep the two farthest points.
    pairs = [(math.dist(p, q), p, q) for i, p in enumerate(on_line) for q in on_line[i + 1 :]]
    if not pairs or max(pairs)[0] == 0:
        return None
    _, p, q = max(pairs)
    return p, q


def decision_line(ax, w, b, X=None, y=None, xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), shade=True, normal=True,
                  color="black", label="$\\mathbf{w}\\cdot\\mathbf{x} + b = 0$"):
    r"""Draw the line :math:`w_1 x_1 + w_2 x_2 + b = 0` and, if ``shade``, its two half-planes
    (orange where :math:`\mathbf{w}\cdot\mathbf{x} + b > 0`, blue where it is negative).

    Args:
        ax: the Axes.
        w: two weights (sequence or tensor); b: the bias.
        X, y: optional points of shape (N, 2) and their 0/1 labels, drawn coloured by label.
        xlim, ylim: the box shown.
        shade: colour the two half-planes.
        normal: draw the weight vector as an arrow from the line towards the positive side.
        color, label: of the line (the label is its legend entry).

    Returns:
        The Axes.
    """
    w = [float(v) for v in w]
    if len(w) != 2:
        raise ValueError(f"decision_line: w must hold two weights, got {len(w)}")
    b = float(b)
    if shade:
        for side, sign in ((1.0, 1.0), (0.0, -1.0)):
            corners = _half_plane(w, b, xlim, ylim, sign)
            if len(corners) >= 3:
                ax.add_patch(Polygon(corners, closed=True, facecolor=SHADE_COLORS[side], edgecolor="none", zorder=0))
    segment = _line_segment(w, b, xlim, ylim)
    if segment is not None:
        (x0, y0), (x1, y1) = segment
        ax.plot([x0, x1], [y0, y1], color=color, linewidth=2, label=label, zorder=2)
        if normal:
            norm = math.hypot(*w)
            start = ((x0 + x1) / 2, (y0 + y1) / 2)
            end = (start[0] + 0.3 * w[0] / norm, start[1] + 0.3 * w[1] / norm)
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=color, zorder=2))
            ax.text(end[0], end[1], " w", fontsize=11, fontweight="bold", ha="left", va="bottom", clip_on=True)
    if X is not None:
        _labelled_points(ax, X, y)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def _labelled_points(ax, X, y):
    """Scatter points coloured by their 0/1 label, with a legend entry per class."""
    for value in (0.0, 1.0):
        chosen = X[y == value]
        ax.scatter(chosen[:, 0], chosen[:, 1], s=90, color=CLASS_COLORS[value], edgecolor="black", zorder=3,
                   label=f"target {int(value)}")


def perceptron_picture(ax, w1, w2, b, gate="or", legend=True, title=None, also=()):
    r"""The four inputs of a logic gate, each coloured by what the perceptron
    :math:`H(w_1 x_1 + w_2 x_2 + b)` predicts for it, over the decision line and its shaded sides.

    A point the perceptron gets wrong is circled in red; the default title counts the correct
    ones. This is the drawing function of chapter 2's interactive figure.

    Args:
        ax: the Axes; w1, w2, b: the perceptron's weights and bias.
        gate: the logic gate whose truth table is drawn (see :func:`kanlab.data.logic_gate`).
        legend: draw the legend (to the right of the Axes).
        title: replaces the default title.
        also: names of more gates whose number of right answers the default title reports too.

    Returns:
        The Axes.
    """
    X, y = logic_gate(gate, dtype=torch.float64)
    perceptron = Perceptron.from_weights(torch.tensor([w1, w2], dtype=torch.float64), b)
    y_hat = perceptron(X)
    # Plain text rather than mathtext, few ticks: this picture is drawn once per slider frame.
    decision_line(ax, (w1, w2), b, label="w\u00b7x + b = 0")
    for value, name in ((0.0, "predicts 0"), (0.5, "on the line: 1/2"), (1.0, "predicts 1")):
        chosen = X[y_hat == value]
        ax.scatter(chosen[:, 0], chosen[:, 1], s=110, color=CLASS_COLORS[value], edgecolor="black", zorder=3,
                   label=name)
    wrong = X[y_hat != y]
    ax.scatter(wrong[:, 0], wrong[:, 1], s=330, facecolor="none", edgecolor="red", linewidth=2, zorder=4,
               label="wrong")
    for (x1, x2), target in zip(X.tolist(), y.tolist()):
        ax.annotate(f"y={int(target)}", (x1, x2), textcoords="offset points", xytext=(0, 12), ha="center",
                    fontsize=9, zorder=5)
    if title is None:
        counts = []
        for name in (gate, *also):
            _, targets = logic_gate(name, dtype=torch.float64)
            counts.append(f"{name.upper()} {int((y_hat == targets).sum())}/4")
        title = f"w = ({w1:g}, {w2:g}), b = {b:g}\nright: {', '.join(counts)}"
    ax.set_xticks([0, 1])
    ax.set_yticks([0, 1])
    ax.set_title(title, fontsize=10)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    return ax


def rule_steps(history, gate, ncols=3):
    """One small picture per step of Rosenblatt's rule on a logic gate: the start, then the
    line after each update, with the example that caused the update marked by a black cross.

    Args:
        history: a :class:`kanlab.perceptron.RuleHistory` of the rule run on ``gate``.
        gate: the logic gate's name.
        ncols: pictures per row.

    Returns:
        The figure.
    """
    X, _ = logic_gate(gate)
    steps = history.num_updates + 1
    nrows = math.ceil(steps / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.8 * nrows), squeeze=False, layout="constrained")
    for step, ax in enumerate(axes.flat):
        if step >= steps:
            ax.set_visible(False)
            continue
        w1, w2 = history.weights[step].tolist()
        b = float(history.biases[step])
        if step == 0:
            title = "start"
        else:
            epoch, sample = int(history.update_epochs[step - 1]), int(history.update_samples[step - 1])
            title = f"update {step} (epoch {epoch})"
            x1, x2 = X[sample].tolist()
            ax.scatter([x1], [x2], marker="x", s=160, color="black", linewidth=2, zorder=6)
        perceptron_picture(ax, w1, w2, b, gate=gate, legend=False, title=title)
        ax.set_xlabel("$x_1$", fontsize=8)
        ax.set_ylabel("$x_2$", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"Rosenblatt's rule on {gate.upper()}: the line after each update\n"
                 "(cross: the example that caused it)")
    return fig


def rule_updates(history, X, y, ax=None, title="Rosenblatt's rule, update by update", xlim=(-0.5, 1.5),
                 ylim=(-0.5, 1.5)):
    """Draw the decision line after every update of Rosenblatt's rule, from pale (early) to dark
    (late), the final line in black with its shaded sides, over the labelled data.

    Args:
        history: a :class:`kanlab.perceptron.RuleHistory` of a two-input perceptron.
        X, y: the data it was trained on, shapes (N, 2) and (N,).

    Returns:
        The Axes.
    """
    if history.weights.shape[1] != 2:
        raise ValueError(f"rule_updates: needs a two-input perceptron, got {history.weights.shape[1]} inputs")
    ax = _axes(ax, (4.5, 4.5))
    decision_line(ax, history.weights[-1], history.biases[-1], X, y, xlim=xlim, ylim=ylim, normal=False,
                  label=f"final line (after update {history.num_updates})")
    colormap = plt.get_cmap("Purples")
    for update in range(1, history.num_updates):  # the last update is the final line, drawn above
        segment = _line_segment(history.weights[update].tolist(), float(history.biases[update]), xlim, ylim)
        if segment is not None:
            (x0, y0), (x1, y1) = segment
            ax.plot([x0, x1], [y0, y1], color=colormap(0.25 + 0.7 * update / history.num_updates), linewidth=1.2,
                    linestyle="--", zorder=1)
    ax.plot([], [], color=colormap(0.6), linestyle="--", label="earlier lines\n(pale = early)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    ax.set_title(title, fontsize=10)
    return ax


def mistakes_per_epoch(history, ax=None, title="Mistakes in each epoch"):
    """Plot how many examples the rule got wrong in each epoch (a converged run ends at 0)."""
    ax = _axes(ax, (6.0, 3.0))
    epochs = range(1, history.epochs + 1)
    ax.plot(epochs, history.mistakes_per_epoch, marker="o" if history.epochs <= 40 else None, markersize=4)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mistakes")
    ax.set_ylim(-0.2, max(history.mistakes_per_epoch) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def heaviside_plot(ax=None, title="Heaviside's step $H(z)$"):
    """Plot H on [-3, 3]: 0 on the left, 1 on the right, the filled dot H(0) = 1/2 on the step."""
    ax = _axes(ax, (4.0, 3.0))
    ax.plot([-3, 0], [0, 0], color=CLASS_COLORS[0.0], linewidth=2, label="$H(z) = 0$ for $z < 0$")
    ax.plot([0, 3], [1, 1], color=CLASS_COLORS[1.0], linewidth=2, label="$H(z) = 1$ for $z > 0$")
    ax.scatter([0, 0], [0, 1], s=40, facecolor="white", edgecolor="black", zorder=3)
    value_at_zero = float(heaviside(torch.zeros(1))[0])
    ax.scatter([0], [value_at_zero], s=40, color="black", zorder=3, label=f"$H(0) = {value_at_zero:g}$")
    ax.set_xlabel("$z = \\mathbf{w}\\cdot\\mathbf{x} + b$")
    ax.set_ylabel("$H(z)$")
    ax.set_ylim(-0.15, 1.15)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def neuron_response(ax, w, b, activation="sigmoid", xlim=(-4.0, 4.0)):
    r"""The output :math:`f(w x + b)` of a one-input neuron over :math:`x`, with the input
    :math:`x = -b / w` where :math:`w x + b = 0` marked (there the output is :math:`f(0)`).

    Args:
        ax: the Axes; w, b: the neuron's weight and bias.
        activation: ``"sigmoid"`` or ``"step"``.
        xlim: the range of inputs shown.

    Returns:
        The Axes.
    """
    functions = {"sigmoid": torch.sigmoid, "step": heaviside}
    if activation not in functions:
        raise ValueError(f"neuron_response: activation must be one of {sorted(functions)}, got {activation!r}")
    x = torch.linspace(xlim[0], xlim[1], 401, dtype=torch.float64)
    # Plain-text labels: this picture is drawn once per slider frame, and mathtext is slow.
    ax.plot(x, functions[activation](w * x + b), linewidth=2, label=f"{activation}(w x + b)")
    if w != 0 and xlim[0] <= -b / w <= xlim[1]:
        ax.axvline(-b / w, color="black", linestyle="--", linewidth=1, label=f"w x + b = 0 at x = {-b / w:.3g}")
    ax.set_xlim(*xlim)
    ax.set_ylim(-0.08, 1.08)
    ax.set_xlabel("input x")
    ax.set_ylabel("output")
    ax.set_title(f"w = {w:g}, b = {b:g}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def activation_functions(axes=None):
    """Three common activations side by side: Heaviside's step, the sigmoid and ReLU.

    Returns:
        The three Axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
    z = torch.linspace(-3, 3, 301)
    heaviside_plot(axes[0], title="step: $H(z)$")
    for ax, values, title in ((axes[1], torch.sigmoid(z), "sigmoid: $1/(1+e^{-z})$"),
                              (axes[2], torch.relu(z), "ReLU: $\\max(0, z)$")):
        ax.plot(z, values, linewidth=2)
        ax.set_xlabel("$z$")
        ax.set_ylabel("$f(z)$")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].set_xlabel("$z$")
    return axes


def voting_picture(perceptron, ages, allowed, ax=None, title="A perceptron that checks the voting age"):
    """Each age's target (may vote or not) and the one-input perceptron's output for it.

    Args:
        perceptron: a :class:`kanlab.perceptron.Perceptron` with one input.
        ages: shape (N, 1); allowed: shape (N,), 0 or 1.

    Returns:
        The Axes.
    """
    if perceptron.in_features != 1:
        raise ValueError(f"voting_picture: needs a one-input perceptron, got in_features={perceptron.in_features}")
    ax = _axes(ax, (6.0, 3.0))
    outputs = perceptron(ages)
    ax.scatter(ages[:, 0], allowed, s=120, facecolor="none", edgecolor="black", label="target: may vote?")
    ax.scatter(ages[:, 0], outputs, s=30, color=[CLASS_COLORS[float(v)] for v in outputs], zorder=3,
               label="perceptron's output")
    threshold = -float(perceptron.bias) / float(perceptron.weight[0])
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"$w x + b = 0$ at age {threshold:g}")
    ax.set_xlabel("age (years)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("output")
    ax.set_yticks([0, 0.5, 1])
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


# ----------------------------------------------------------------------------------------------
# Kolmogorov-Arnold networks: B-spline bases, training curves, and the network with its curves.


def spline_basis(grid_size=5, spline_order=3, grid_range=(-1.0, 1.0), ax=None, title=None):
    """Every B-spline B_b of order k on a uniform grid of G intervals, and their sum (which is 1).

    Returns:
        The Axes, holding G + k basis curves, the dashed sum, and dotted lines at the grid points.
    """
    ax = _axes(ax, (6.0, 3.0))
    grid = splines.uniform_grid(grid_size, spline_order, grid_range, dtype=torch.float64)
    lo, hi = float(grid_range[0]), float(grid_range[1])
    x = torch.linspace(lo, hi, 401, dtype=torch.float64)
    values = splines.basis(x[:, None], grid, spline_order)[:, 0, :]  # (401, G + k)
    for b in range(values.shape[1]):
        ax.plot(x, values[:, b], linewidth=1.5, label=f"$B_{{{b}}}$")
    ax.plot(x, values.sum(dim=1), color="black", linestyle="--", linewidth=1, label="sum")
    for knot in grid[0, spline_order : spline_order + grid_size + 1].tolist():
        ax.axvline(knot, color="#bbbbbb", linestyle=":", linewidth=1, zorder=0)
    ax.set_xlabel("$x$ (dotted: grid points)")
    ax.set_ylabel("$B_b(x)$")
    ax.set_ylim(-0.05, 1.1)
    if values.shape[1] <= 12:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    ax.set_title(title or f"B-splines of order $k={spline_order}$ on $G={grid_size}$ intervals")
    return ax


def training_curves(history, ax=None, title="Training and test error"):
    """Root-mean-square error on the training and test sets after every step, on a log scale.

    Args:
        history: a `kanlab.train.History` (train_rmse, test_rmse, grid_updates).

    Returns:
        The Axes; grid updates are marked by dotted vertical lines.
    """
    if len(history.train_rmse) == 0:
        raise ValueError("training_curves: history holds no steps")
    ax = _axes(ax, (6.0, 3.5))
    steps = range(1, len(history.train_rmse) + 1)
    ax.plot(steps, history.train_rmse, label="train RMSE")
    ax.plot(steps, history.test_rmse, linestyle="--", label="test RMSE")
    for step in history.grid_updates:
        ax.axvline(step + 1, color="#bbbbbb", linestyle=":", linewidth=1, zorder=0)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("RMSE (log scale)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title)
    return ax


@torch.no_grad()
def kan(model, x=None, ax=None, var_names=None, output_names=None, title="A KAN and the function on each edge"):
    r"""The network diagram of a KAN with each live edge's learned curve phi_{j,i} in a small inset.

    Layers go from the inputs (bottom) to the outputs (top). Every edge i -> j of a layer has its
    own inset in the row between the two layers, showing phi_{j,i} over the values its input takes
    on the samples x; its lines and curve are as opaque as the edge is important (its normalised
    scale, `kanlab.regularization.model_edge_scales`, relative to the largest in its layer).
    Symbolic edges are drawn in red and labelled with their function. Pruned edges are not drawn.

    Args:
        model: a `kanlab.KAN`.
        x: samples (batch, n_0); None draws 1000 from the input grid box.
        var_names, output_names: labels under the inputs and over the outputs
            (default $x_1, ...$ and $y_1, ...$).

    Returns:
        The Axes; ``ax.child_axes`` holds one inset per live edge.
    """
    widths = list(model.widths)
    var_names = list(var_names) if var_names is not None else [f"$x_{{{i + 1}}}$" for i in range(widths[0])]
    output_names = list(output_names) if output_names is not None else [f"$y_{{{j + 1}}}$" for j in range(widths[-1])]
    if len(var_names) != widths[0] or len(output_names) != widths[-1]:
        raise ValueError(
            f"kan: var_names needs {widths[0]} names and output_names {widths[-1]}, "
            f"got {len(var_names)} and {len(output_names)}"
        )
    if x is None:
        x = input_box_samples(model)
    x = x.to(device=model.layers[0].grid.device, dtype=model.layers[0].grid.dtype)
    inputs, activations = model.layer_inputs(x), model.edge_activations(x)
    scales = model_edge_scales(model, x)

    slots = max(max(widths), max(a * b for a, b in zip(widths, widths[1:])))
    width = 0.7 * slots
    gap = 1.6  # vertical distance between layers
    ax = _axes(ax, (max(4.0, 1.1 * width + 1.0), 1.8 * len(widths)))
    ax.set_xlim(0, width)
    ax.set_ylim(-0.6, gap * (len(widths) - 1) + 0.6)

    def node_x(layer, node):
        return (node + 0.5) * width / widths[layer]

    for layer, n in enumerate(widths):
        kind = "input" if layer == 0 else "output" if layer == len(widths) - 1 else "hidden"
        for node in range(n):
            ax.add_patch(Circle((node_x(layer, node), layer * gap), 0.09, facecolor=LAYER_COLORS[kind],
                                edgecolor="black", zorder=3))
    for i, name in enumerate(var_names):
        ax.text(node_x(0, i), -0.2, name, ha="center", va="top", fontsize=11)
    for j, name in enumerate(output_names):
        ax.text(node_x(len(widths) - 1, j), gap * (len(widths) - 1) + 0.2, name, ha="center", va="bottom", fontsize=11)

    for layer, (layer_module, symbolic) in enumerate(zip(model.layers, model.symbolic)):
        n_in, n_out = widths[layer], widths[layer + 1]
        live = (layer_module.edge_mask != 0) | symbolic.is_symbolic()  # (out, in)
        importance = scales[layer] / scales[layer].max().clamp_min(1e-12)
        inset_width = min(0.8 * width / (n_in * n_out), 0.9)
        inset_height = 0.45 * gap
        y_mid = layer * gap + gap / 2
        order = torch.argsort(inputs[layer], dim=0)
        for i in range(n_in):
            for j in range(n_out):
                if not bool(live[j, i]):
                    continue
                alpha = float(importance[j, i].clamp(0.15, 1.0))
                name = symbolic.function_name(i, j)
                color = "red" if name else "black"
                centre = (i * n_out + j + 0.5) * width / (n_in * n_out)
                ax.plot([node_x(layer, i), centre], [layer * gap + 0.09, y_mid - inset_height / 2],
                        color=color, alpha=alpha, linewidth=1, zorder=1)
                ax.plot([centre, node_x(layer + 1, j)], [y_mid + inset_height / 2, (layer + 1) * gap - 0.09],
                        color=color, alpha=alpha, linewidth=1, zorder=1)
                inset = ax.inset_axes([centre - inset_width / 2, y_mid - inset_height / 2, inset_width, inset_height],
                                      transform=ax.transData)
                t = inputs[layer][order[:, i], i].cpu()
                inset.plot(t, activations[layer][order[:, i], j, i].cpu(), color=color, alpha=alpha, linewidth=1.5)
                inset.set_xticks([])
                inset.set_yticks([])
                for spine in inset.spines.values():
                    spine.set_alpha(alpha)
                if name:
                    inset.set_title(name, fontsize=8, color="red", pad=2)
    return _diagram_frame(
        ax, title,
        xlabel="nodes; each edge's learned function in its box (red: symbolic)",
        ylabel="layers (inputs at the bottom)",
    )
