"""Chapter 3's figures: XOR with a hidden layer. Two lines instead of one, a small network drawn with
its weights, the four corners in input space and in hidden space, the square carried from one space
to the other, decision regions, loss curves, and what a hundred training runs ended as."""

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.patches import Circle, FancyArrowPatch

from kanlab.data import logic_gate
from kanlab.mlp import MLP, dead_units, predict
from kanlab.plot.perceptron import _line_segment, decision_line
from kanlab.plot.style import CLASS_COLORS, LAYER_COLORS, SHADE_COLORS, axes_or_new, diagram_frame

# One colour per hidden unit, far from the classes' orange and blue: purple and green for the two lines.
UNIT_COLORS = ("#7b3294", "#2ca02c", "#d4a017", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
_REGIONS = ListedColormap([SHADE_COLORS[0.0], SHADE_COLORS[1.0]])
_SQUARE = ((0.0, 1.0), (0.0, 1.0))
# Each class has a shape as well as a colour, so that the figures read without colour.
CLASS_MARKERS = {0.0: "o", 1.0: "s"}
# Each unit's line has its own dash pattern as well as its colour.
UNIT_DASHES = ("--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (3, 3)), (0, (1, 3)), (0, (8, 2)), (0, (2, 1)))


def _dtype_of(model):
    return next(model.parameters()).dtype


def _shade(ax, answer, xlim, ylim, dtype=torch.float32, resolution=241):
    """Colour the box by ``answer(points)``, a 0/1 tensor for points of shape (M, 2): orange 1, blue 0."""
    xs = torch.linspace(xlim[0], xlim[1], resolution, dtype=dtype)
    ys = torch.linspace(ylim[0], ylim[1], resolution, dtype=dtype)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)
    values = answer(grid).reshape(resolution, resolution).float().numpy()
    ax.imshow(values, origin="lower", extent=(*xlim, *ylim), cmap=_REGIONS, vmin=0, vmax=1, aspect="auto",
              interpolation="nearest", zorder=0)


def _unit_line(ax, w, b, color, label, xlim, ylim, linestyle="--"):
    """The line w . p + b = 0 across the box, with a short arrow towards its positive side.

    Returns whether the line crosses the box (a line outside it is drawn as an empty legend entry)."""
    segment = _line_segment(w, b, xlim, ylim)
    if segment is None:
        ax.plot([], [], color=color, linewidth=2, linestyle=linestyle, label=label)
        return False
    (x0, y0), (x1, y1) = segment
    ax.plot([x0, x1], [y0, y1], color=color, linewidth=2.5, linestyle=linestyle, label=label, zorder=2)
    norm = math.hypot(*w)
    start = (x0 + 0.8 * (x1 - x0), y0 + 0.8 * (y1 - y0))
    end = (start[0] + 0.2 * w[0] / norm, start[1] + 0.2 * w[1] / norm)
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=color, zorder=2))
    return True


def _corners(ax, points, y, wrong=None, labels=None, merge_within=1e-6):
    """The four corners (or their images) coloured by target, red rings on the wrong ones, labelled;
    points closer than ``merge_within`` share one label: "(0,1) = (1,0)", or with \u2248 when only near."""
    for value in (0.0, 1.0):
        chosen = points[y == value]
        ax.scatter(chosen[:, 0], chosen[:, 1], s=110, color=CLASS_COLORS[value], marker=CLASS_MARKERS[value],
                   edgecolor="black", zorder=4, label=f"target {int(value)}")
    if wrong is not None and bool(wrong.any()):
        ax.scatter(points[wrong, 0], points[wrong, 1], s=330, facecolor="none", edgecolor="red", linewidth=2,
                   zorder=5, label="answered wrong")
    if labels is not None:
        groups = []  # [(first point, [labels of the points near it], all of them exactly on it)]
        for point, label in zip(points.tolist(), labels):
            near = [group for group in groups if math.dist(group[0], point) < merge_within]
            if near:
                near[0][1].append(label)
                near[0][2].append(near[0][0] == point)
            else:
                groups.append((point, [label], []))
        for (px, py), names, exact in groups:
            ax.annotate((" = " if all(exact) else " \u2248 ").join(names), (px, py),
                        textcoords="offset points", xytext=(8, 8), fontsize=9, zorder=6)


def _line_equation(w, b):
    """w1 x1 + w2 x2 + b = 0 as a reader writes it: "$x_1 + x_2 - 0.5 = 0$" (no coefficient 1, no "+ -")."""
    terms = ""
    for index, weight in enumerate(w, start=1):
        if weight == 0:
            continue
        size = "" if abs(weight) == 1 else f"{abs(weight):g}\\,"
        sign = ("-" if weight < 0 else "") if not terms else (" - " if weight < 0 else " + ")
        terms += f"{sign}{size}x_{index}"
    if b != 0 or not terms:
        terms += f" {'-' if b < 0 else '+'} {abs(b):g}" if terms else f"{b:g}"
    return f"${terms} = 0$"


def _corner_names(X):
    return [f"({int(a)},{int(b)})" for a, b in X.tolist()]


def _check_two_hidden_units(model, caller):
    if not isinstance(model, MLP) or len(model.widths) != 3 or model.widths[0] != 2 or model.widths[2] != 1:
        got = model.widths if isinstance(model, MLP) else type(model).__name__
        raise ValueError(f"{caller}: model must be an MLP with widths [2, n, 1], got {got}")


def two_lines_picture(first, second, ax=None, gate="xor",
                      title="XOR: above the first line and below the second"):
    r"""The corners of a logic gate over two perceptrons' lines, with the band between them shaded:
    orange where the first answers 1 and the second 0, i.e. :math:`H(z_1)\,(1 - H(z_2)) = 1`.

    Args:
        first, second: two-input :class:`kanlab.perceptron.Perceptron` s.
        gate: the gate whose corners are drawn (see :func:`kanlab.data.logic_gate`).

    Returns:
        The Axes.
    """
    ax = axes_or_new(ax, (5.5, 4.2))
    xlim = ylim = (-0.5, 1.5)
    X, y = logic_gate(gate, dtype=first.weight.dtype)

    def in_band(points):
        with torch.no_grad():
            return (first.score(points) > 0) & (second.score(points) < 0)

    _shade(ax, in_band, xlim, ylim, dtype=first.weight.dtype)
    for perceptron, color, name in ((first, UNIT_COLORS[0], "first"), (second, UNIT_COLORS[1], "second")):
        w, b = perceptron.weight.tolist(), float(perceptron.bias)
        _unit_line(ax, w, b, color, f"{name} line: {_line_equation(w, b)}", xlim, ylim,
                   linestyle=UNIT_DASHES[0 if name == "first" else 1])
    _corners(ax, X, y, labels=_corner_names(X))
    ax.set(xlim=xlim, ylim=ylim, xlabel="$x_1$", ylabel="$x_2$", title=title, aspect="equal")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
              title="arrows: the side\nwhere z > 0", title_fontsize=8)
    return ax


def network_with_weights(model, ax=None, title="The network, with its weights and biases",
                         activations=("ReLU", "H")):
    """A small MLP drawn as a diagram: every edge labelled with its weight (blue positive, red
    negative, thicker for larger), every neuron with its bias and its activation.

    Args:
        model: a :class:`kanlab.mlp.MLP` with at most 4 neurons per layer.
        activations: the names written in the hidden neurons and in the output neuron.

    Returns:
        The Axes, with one circle per neuron and one line per weight.
    """
    if not isinstance(model, MLP) or max(model.widths) > 4:
        got = model.widths if isinstance(model, MLP) else type(model).__name__
        raise ValueError(f"network_with_weights: model must be an MLP with at most 4 neurons per layer, got {got}")
    widths, gap = model.widths, 3.0
    ax = axes_or_new(ax, (2.6 * len(widths), 1.0 + 1.3 * max(widths)))
    positions = [[(layer * gap, 1.4 * ((width - 1) / 2 - i)) for i in range(width)]
                 for layer, width in enumerate(widths)]
    largest = max(float(linear.weight.detach().abs().max()) for linear in model.layers)
    for layer, linear in enumerate(model.layers):
        for j, (xj, yj) in enumerate(positions[layer + 1]):
            for i, (xi, yi) in enumerate(positions[layer]):
                weight = float(linear.weight[j, i].detach())
                color = "#1f77b4" if weight >= 0 else "#d62728"
                ax.plot([xi, xj], [yi, yj], color=color, linewidth=0.8 + 2.5 * abs(weight) / largest, zorder=1)
                # Labels a third of the way along, so that crossing edges keep theirs apart.
                ax.text(xi + (xj - xi) / 3, yi + (yj - yi) / 3, f"{weight:.3g}", ha="center", va="center",
                        fontsize=10, color=color, zorder=3,
                        bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"))
            bias = float(linear.bias[j].detach())
            ax.text(xj, yj - 0.45, f"b = {bias:.3g}", ha="center", va="top", fontsize=9, zorder=3)
    last = len(widths) - 1
    for layer, neurons in enumerate(positions):
        kind = "input" if layer == 0 else "output" if layer == last else "hidden"
        for n, (x, y) in enumerate(neurons, start=1):
            ax.add_patch(Circle((x, y), 0.36, facecolor=LAYER_COLORS[kind], edgecolor="black", zorder=2))
            name = {"input": f"$x_{n}$", "hidden": f"$h_{n}$\n{activations[0]}", "output": f"{activations[1]}"}[kind]
            ax.text(x, y, name, ha="center", va="center", fontsize=10, zorder=4)
    ax.text(last * gap + 0.5, 0, "$y$", ha="left", va="center", fontsize=13)
    top = 1.4 * (max(widths) - 1) / 2
    ax.set_xlim(-0.6, last * gap + 1.0)
    ax.set_ylim(-top - 1.1, top + 0.6)
    ax.set_aspect("equal")
    return diagram_frame(ax, title, xlabel="input layer, hidden layer (ReLU), output perceptron (Heaviside step)")


def hidden_unit_lines(model, ax=None, gate="xor", title=None, xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), legend=True):
    """Input space: the network's decision regions (orange where its score is > 0), the line
    w_j . x + b_j = 0 of every hidden unit j with an arrow to the side where it is active, and the
    gate's corners, a red ring on each one the network answers wrong.

    Args:
        model: a :class:`kanlab.mlp.MLP` with widths [2, n, 1].
        gate: the gate whose corners are drawn.
        title: replaces the default, which counts the right answers.

    Returns:
        The Axes.
    """
    _check_two_hidden_units(model, "hidden_unit_lines")
    ax = axes_or_new(ax, (5.0, 4.0))
    X, y = logic_gate(gate, dtype=_dtype_of(model))
    _shade(ax, lambda points: predict(model, points), xlim, ylim, dtype=_dtype_of(model))
    (dead,) = dead_units(model, X)
    first = model.layers[0]
    for j in range(model.widths[1]):
        w, b = first.weight[j].tolist(), float(first.bias[j].detach())
        label = f"unit {j + 1}" + (" (dead: 0 on all corners)" if dead[j] else "")
        _unit_line(ax, w, b, UNIT_COLORS[j % len(UNIT_COLORS)], label, xlim, ylim,
                   linestyle=UNIT_DASHES[j % len(UNIT_DASHES)])
    wrong = predict(model, X) != y.long()
    _corners(ax, X, y, wrong=wrong)
    if title is None:
        title = f"input space: {int((~wrong).sum())}/4 right"
    ax.set(xlim=xlim, ylim=ylim, xlabel="$x_1$", ylabel="$x_2$", title=title, aspect="equal")
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return ax


def corners_in_hidden_space(model, ax=None, gate="xor", title="hidden space: one line separates them",
                            legend=True):
    """Hidden space: where the gate's corners land, h = ReLU(W_1 x + b_1), labelled by the corner
    they came from, over the output perceptron's line v . h + c = 0 and its two shaded sides.

    Args:
        model: a :class:`kanlab.mlp.MLP` with widths [2, 2, 1] (two hidden units, so a plane).

    Returns:
        The Axes.
    """
    _check_two_hidden_units(model, "corners_in_hidden_space")
    if model.widths[1] != 2:
        raise ValueError(f"corners_in_hidden_space: model must have two hidden units (a plane), got {model.widths[1]}")
    ax = axes_or_new(ax, (5.0, 4.0))
    X, y = logic_gate(gate, dtype=_dtype_of(model))
    with torch.no_grad():
        (h,) = model.hidden_spaces(X)
    top = max(float(h.max()), 1.0) * 1.25
    xlim = ylim = (-0.2 * top, top)
    output = model.layers[-1]
    decision_line(ax, output.weight[0].tolist(), float(output.bias[0].detach()), xlim=xlim, ylim=ylim, normal=False,
                  label="output line v\u00b7h + c = 0")
    _corners(ax, h, y, labels=_corner_names(X), merge_within=0.04 * top)
    ax.set(xlim=xlim, ylim=ylim, xlabel="$h_1$ (unit 1)", ylabel="$h_2$ (unit 2)", title=title, aspect="equal")
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return ax


def _square_grid(lines=11, samples=101, dtype=torch.float32):
    """Grid lines of the unit square, each sampled at ``samples`` points: a list of (samples, 2) tensors."""
    s = torch.linspace(0, 1, samples, dtype=dtype)
    grid = []
    for k in torch.linspace(0, 1, lines, dtype=dtype):
        grid.append(torch.stack([s, torch.full_like(s, k)], dim=1))
        grid.append(torch.stack([torch.full_like(s, k), s], dim=1))
    return grid


def _carried(model, points, t):
    """(1 - t) x + t h(x) for points x of shape (M, 2)."""
    with torch.no_grad():
        (h,) = model.hidden_spaces(points)
    return (1 - t) * points + t * h


def morph_limits(model):
    """Box that holds the unit square and its image in hidden space (fixed for every frame)."""
    points = torch.cat(_square_grid(lines=3, dtype=_dtype_of(model)))
    with torch.no_grad():
        (h,) = model.hidden_spaces(points)
    both = torch.cat([points, h])
    low, high = both.min(dim=0).values, both.max(dim=0).values
    pad = 0.12 * float((high - low).max())
    return (float(low[0]) - pad, float(high[0]) + pad), (float(low[1]) - pad, float(high[1]) + pad)


def morph_picture(ax, model, t, gate="xor", limits=None):
    """The unit square carried from input space (t = 0) to hidden space (t = 1), every point x drawn
    at (1 - t) x + t h(x): its grid, the hidden units' lines (the creases), and the gate's corners.
    The output perceptron's line, which lives in hidden space, fades in as t reaches 1.

    This is the drawing function of chapter 3's interactive figure (plain-text labels: it is drawn
    once per slider frame).

    Args:
        ax: the Axes; model: a :class:`kanlab.mlp.MLP` with widths [2, 2, 1]; t: in [0, 1].
        limits: (xlim, ylim) of the box, the same in every frame (default: `morph_limits`).

    Returns:
        The Axes.
    """
    _check_two_hidden_units(model, "morph_picture")
    if model.widths[1] != 2:
        raise ValueError(f"morph_picture: model must have two hidden units, got {model.widths[1]}")
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"morph_picture: t must lie in [0, 1], got {t!r}")
    xlim, ylim = limits if limits is not None else morph_limits(model)
    # Each short piece of a grid line is coloured by the network's answer where it starts.
    pieces, colors = [], []
    dtype = _dtype_of(model)
    for line in _square_grid(dtype=dtype):
        moved = _carried(model, line, t)
        pieces.extend(torch.stack([moved[:-1], moved[1:]], dim=1).tolist())
        colors.extend(CLASS_COLORS[float(answer)] for answer in predict(model, line[:-1]))
    # Not antialiased: the static player keeps 64 colours, and blends of the grid would crowd out the lines.
    ax.add_collection(LineCollection(pieces, colors=colors, linewidths=0.6, antialiaseds=False, zorder=1))
    ax.plot([], [], color="#999999", linewidth=0.9, label="grid of the square\n(coloured by the answer)")
    first = model.layers[0]
    for j in range(2):
        w, b = first.weight[j].tolist(), float(first.bias[j].detach())
        segment = _line_segment(w, b, *_SQUARE)
        if segment is not None:
            start, end = torch.tensor(segment, dtype=dtype)
            s = torch.linspace(0, 1, 51, dtype=dtype).unsqueeze(1)
            crease = _carried(model, start + s * (end - start), t)
            # No legend entry: the static player's 64-colour palette loses a colour this rare.
            ax.plot(crease[:, 0], crease[:, 1], color=UNIT_COLORS[j], linewidth=3, linestyle=UNIT_DASHES[j], zorder=2)
    output = model.layers[-1]
    v, c = output.weight[0].tolist(), float(output.bias[0].detach())
    segment = _line_segment(v, c, xlim, ylim)
    if segment is not None and t > 0:
        (x0, y0), (x1, y1) = segment
        ax.plot([x0, x1], [y0, y1], color="black", linewidth=2, alpha=t ** 2, zorder=3,
                label="output line (hidden space)")
    X, y = logic_gate(gate, dtype=dtype)
    _corners(ax, _carried(model, X, t), y)
    ax.set(xlim=xlim, ylim=ylim, aspect="equal", title=f"t = {t:.2f}:  (1 - t) x + t h(x)\ndashed and dotted: the units' lines",
           xlabel="x1 at t = 0, h1 at t = 1", ylabel="x2 at t = 0, h2 at t = 1")
    # Under the axes rather than beside them, so that the square keeps the column's width.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return ax


def seed_loss_curves(histories, ax=None, title="Training loss, from four seeds"):
    r"""The training loss of several runs over the epochs (log scale), with the two levels where the
    chapter's stuck runs stop: :math:`\ln 2` (the score is 0 on every corner) and :math:`\tfrac12\ln 2`
    (0 on two corners of different classes, right on the other two).

    Args:
        histories: ``{label: ClassifierHistory}``.

    Returns:
        The Axes.
    """
    ax = axes_or_new(ax, (6.0, 4.2))
    styles = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)))
    for index, (label, history) in enumerate(histories.items()):
        ax.plot(range(1, len(history.loss) + 1), history.loss, linewidth=2, linestyle=styles[index % len(styles)],
                label=label)
    for level, name in ((math.log(2), "ln 2"), (math.log(2) / 2, "(ln 2)/2")):
        ax.axhline(level, color="black", linestyle=":", linewidth=1)
        ax.text(1, level, name, va="bottom", ha="left")
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="cross-entropy loss", title=title)
    # Under the axes rather than beside them, so that the curves keep the column's width.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    ax.grid(alpha=0.3)
    return ax


def seed_outcomes(counts, ax=None, title="How 100 training runs end, by hidden width"):
    """Stacked horizontal bars: for each hidden width, how many runs ended in each outcome.

    Args:
        counts: ``{width: {outcome: number of runs}}``, the same outcomes (in the same order) for
            every width; the first outcome is drawn in orange, the others in shades of blue, each with
            its own hatching.

    Returns:
        The Axes.
    """
    ax = axes_or_new(ax, (6.0, 0.6 * len(counts) + 2.2))
    widths = list(counts)
    outcomes = list(counts[widths[0]])
    colors = [CLASS_COLORS[1.0]] + [plt.get_cmap("Blues")(0.8 - 0.5 * k / max(len(outcomes) - 2, 1))
                                    for k in range(len(outcomes) - 1)]
    hatches = [""] + ["//", "..", "xx", "\\\\", "++"][: len(outcomes) - 1]
    left = [0] * len(widths)
    for outcome, color, hatch in zip(outcomes, colors, hatches):
        sizes = [counts[width][outcome] for width in widths]
        bars = ax.barh([str(width) for width in widths], sizes, left=left, color=color, edgecolor="white",
                       hatch=hatch, label=outcome)
        ax.bar_label(bars, labels=[str(n) if n >= 3 else "" for n in sizes], label_type="center")
        left = [a + b for a, b in zip(left, sizes)]
    ax.invert_yaxis()
    ax.set(xlabel="runs (seeds 0 to 99)", ylabel="hidden units", title=title, xlim=(0, max(left)))
    # Under the axes rather than beside them, so that the bars keep the column's width.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    return ax
