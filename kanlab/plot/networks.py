"""Chapter 1's figures: neurons and networks. Network and perceptron diagrams, activation
functions (Heaviside's step among them) and the response of a one-input neuron."""

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Circle, FancyArrowPatch

from kanlab.perceptron import heaviside
from kanlab.plot.style import CLASS_COLORS, LAYER_COLORS, axes_or_new, diagram_frame


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
    ax = axes_or_new(ax, (min(7.0, 1.7 * len(widths) + 0.8), 0.78 * max(widths) + 1.8))  # the text column
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
    return diagram_frame(ax, title, xlabel="signals flow from left to right")


def perceptron_diagram(n_inputs=2, ax=None, title="A perceptron: $y = f(\\mathbf{w}\\cdot\\mathbf{x} + b)$"):
    """Draw a perceptron: inputs x_i, edges carrying weights w_i, one output neuron that adds
    the bias b and applies the activation f, and the output y.

    Returns:
        The Axes, holding ``n_inputs + 1`` circles (the inputs and the output neuron).
    """
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or not 1 <= n_inputs <= 6:
        raise ValueError(f"perceptron_diagram: n_inputs must be an int from 1 to 6, got {n_inputs!r}")
    ax = axes_or_new(ax, (6.0, 1.2 + 0.96 * n_inputs))  # most of the text column
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
    return diagram_frame(ax, title, xlabel="input layer (left) and output neuron (right)")


def heaviside_plot(ax=None, title="Heaviside's step $H(z)$"):
    """Plot H on [-3, 3]: 0 on the left, 1 on the right, the filled dot H(0) = 1/2 on the step."""
    ax = axes_or_new(ax, (4.0, 3.0))
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

