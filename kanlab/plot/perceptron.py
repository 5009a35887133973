"""Chapter 2's figures: the perceptron. Its decision line on the plane with the logic gates'
corners, Rosenblatt's rule update by update, and the voting-age example."""

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyArrowPatch, Polygon
from matplotlib.ticker import MaxNLocator

from kanlab.data import logic_gate
from kanlab.perceptron import Perceptron
from kanlab.plot.style import CLASS_COLORS, SHADE_COLORS, axes_or_new


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
    ax = axes_or_new(ax, (4.5, 4.5))
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
    ax = axes_or_new(ax, (6.0, 3.0))
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
    ax = axes_or_new(ax, (6.0, 3.0))
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

