"""Chapter 6's figures: the Kolmogorov-Arnold representation. Hand-built representations drawn as
networks of one-variable functions, the inner function psi of Koeppen, whole and zoomed, and the
images of Sprecher's squares that psi keeps apart."""

import torch
from matplotlib.patches import Circle

from kanlab.kolmogorov import koeppen_psi, psi_zoom, smallest_gap, square_images
from kanlab.plot.style import LAYER_COLORS, axes_or_new, diagram_frame


@torch.no_grad()
def representation_diagram(representation, x, ax=None, var_names=None, output_names=None,
                           title="One-variable functions on the edges, sums on the nodes"):
    r"""A `kanlab.kolmogorov.Representation` as a network: each edge's function drawn in a small box.

    Layers go from the inputs (bottom) to the outputs (top); every node above the inputs adds what
    its edges bring (drawn as +). The box of edge i -> j shows :math:`\phi_{l,j,i}(t)` over the
    values t that node i takes on the samples x, titled with the edge's label.

    Args:
        representation: the `Representation` to draw.
        x: samples (batch, n_0) that set each box's range of t.
        var_names, output_names: labels under the inputs and over the outputs.

    Returns:
        The Axes; ``ax.child_axes`` holds one box per edge.
    """
    widths = representation.widths
    var_names = list(var_names) if var_names is not None else [f"$x_{{{i + 1}}}$" for i in range(widths[0])]
    output_names = list(output_names) if output_names is not None else ["$f$"] * widths[-1]
    if len(var_names) != widths[0] or len(output_names) != widths[-1]:
        raise ValueError(
            f"representation_diagram: var_names needs {widths[0]} names and output_names {widths[-1]}, "
            f"got {len(var_names)} and {len(output_names)}"
        )
    values = representation.node_values(x)
    slots = max(max(widths), max(sum(1 for key in representation.edges if key[0] == l) for l in range(len(widths) - 1)))
    width, gap = 1.1 * slots, 1.7
    ax = axes_or_new(ax, (max(4.0, 1.2 * width + 0.6), 1.9 * len(widths)))
    ax.set_xlim(0, width)
    ax.set_ylim(-0.6, gap * (len(widths) - 1) + 0.6)

    def node_position(layer, node):
        return (node + 0.5) * width / widths[layer], layer * gap

    for layer, n_nodes in enumerate(widths):
        kind = "input" if layer == 0 else "output" if layer == len(widths) - 1 else "hidden"
        for node in range(n_nodes):
            centre = node_position(layer, node)
            ax.add_patch(Circle(centre, 0.12, facecolor=LAYER_COLORS[kind], edgecolor="black", zorder=3))
            if layer > 0:
                ax.text(*centre, "+", ha="center", va="center", fontsize=12, zorder=4)
    for i, name in enumerate(var_names):
        ax.text(node_position(0, i)[0], -0.2, name, ha="center", va="top", fontsize=11)
    for j, name in enumerate(output_names):
        ax.text(node_position(len(widths) - 1, j)[0], gap * (len(widths) - 1) + 0.2, name,
                ha="center", va="bottom", fontsize=11)

    box_height = 0.42 * gap
    for layer in range(len(widths) - 1):
        layer_edges = sorted((i, j) for (l, i, j) in representation.edges if l == layer)
        box_width = min(0.75 * width / len(layer_edges), 0.95)
        y_mid = layer * gap + gap / 2
        for slot, (i, j) in enumerate(layer_edges):
            edge = representation.edges[(layer, i, j)]
            centre = (slot + 0.5) * width / len(layer_edges)
            (x_from, y_from), (x_to, y_to) = node_position(layer, i), node_position(layer + 1, j)
            ax.plot([x_from, centre], [y_from + 0.12, y_mid - box_height / 2], color="black", linewidth=1, zorder=1)
            ax.plot([centre, x_to], [y_mid + box_height / 2, y_to - 0.12], color="black", linewidth=1, zorder=1)
            box = ax.inset_axes([centre - box_width / 2, y_mid - box_height / 2, box_width, box_height],
                                transform=ax.transData)
            inputs = values[layer][:, i]
            t = torch.linspace(float(inputs.min()), float(inputs.max()), 200, dtype=inputs.dtype)
            box.plot(t, edge.function(t), color="#d62728", linewidth=1.5)
            box.set_xticks([])
            box.set_yticks([])
            box.set_title(f"${edge.label}$", fontsize=9, pad=2)
    return diagram_frame(ax, title, xlabel="each box: an edge's function of $t$, over the values its input takes",
                         ylabel="layers (inputs at the bottom)")


def koeppen_levels(digits=(1, 2, 3), ax=None, title=r"Köppen's $\psi$ ($n = 2$, base $\gamma = 10$), digit by digit"):
    r""":math:`\psi` on [0, 1] computed to each number of digits in ``digits`` (exact at the digit
    points, straight in between), with the diagonal for scale."""
    ax = axes_or_new(ax, (6.0, 4.5))
    t = torch.linspace(0, 1, 4001, dtype=torch.float64)
    ax.plot(t, t, color="#bbbbbb", linestyle=":", linewidth=1, label="the diagonal $t$")
    for k in digits:
        ax.plot(t, koeppen_psi(t, k), linewidth=1.3, label=f"{k} digit{'s' if k > 1 else ''}")
    ax.set_xlabel("$t$")
    ax.set_ylabel(r"$\psi(t)$")
    ax.legend(loc="upper left")
    ax.set_title(title)
    return ax


def psi_zoom_picture(ax, level, x=0.7071, resolution=3):
    r"""Koeppen's :math:`\psi` on the width-:math:`10^{-m}` cell around x, rescaled to the unit square,
    beside the smooth :math:`t^2` rescaled the same way (for :func:`kanlab.widgets.interactive`).

    Args:
        ax: the Axes to draw on.
        level: m, the zoom (a whole number; sliders pass floats such as 3.0).
        x: the point zoomed in on.
        resolution: digits beyond m at which psi is evaluated.
    """
    level = int(round(level))
    s, rescaled, left, rise = psi_zoom(x, level, resolution)
    t = float(left) + s * 10.0**-level
    smooth = (t**2 - t[0] ** 2) / (t[-1] ** 2 - t[0] ** 2)
    ax.plot(s, s, color="#bbbbbb", linestyle=":", linewidth=1, label="a straight line")
    ax.plot(s, smooth, color="#1f77b4", linewidth=1.5, label=r"smooth: $t^2$")
    # joined by straight lines, as psi is continuous (a step plot would draw jumps it does not have)
    ax.plot(s, rescaled, color="#d62728", linewidth=1.5, label=r"Köppen's $\psi$")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(f"position in the window $[a, a + 10^{{-{level}}}]$, $a = {float(left):.{max(level, 1)}f}$")
    ax.set_ylabel("rise so far / rise over the window")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(rf"zoom $10^{{{level}}}\times$: $\psi$ rises by {float(rise):.3g} over the window", fontsize=10)
    return ax


def square_images_picture(ax, inner="psi", first_digits=(0, 1)):
    r"""Where :math:`\xi = \psi(x_1) + \lambda_2 \psi(x_2)` (or :math:`x_1 + \lambda_2 x_2` with
    ``inner="identity"``) sends Sprecher's one-digit squares :math:`E(0.i) \times E(0.j)`.

    One row per j (the digit of :math:`x_2`); each square is a bar over the interval of values it is
    sent to, solid for the first digit of :math:`x_1` in ``first_digits``, dashed for the second.
    Dotted vertical lines mark the ends of the bars: with :math:`\psi` no two bars share any
    stretch of the axis; without it they overlap. The title states the smallest gap over all 100 squares.
    """
    ax = axes_or_new(ax, (6.0, 3.6))
    images = square_images(1, inner=inner)
    styles = ("-", "--")
    for style, i in zip(styles, first_digits):
        for j in range(10):
            low, high = (float(v) for v in images[10 * i + j])
            ax.plot([low, high], [j, j], style, color="#d62728" if inner == "psi" else "#1f77b4", linewidth=2.5,
                    solid_capstyle="butt", label=f"$x_1$ in $E(0.{i})$" if j == 0 else None)
            for end in (low, high):
                ax.axvline(end, color="#bbbbbb", linestyle=":", linewidth=0.6)
    gap = float(smallest_gap(images))
    name = r"$\psi(x_1) + \lambda_2\psi(x_2)$" if inner == "psi" else r"$x_1 + \lambda_2 x_2$"
    verdict = f"smallest gap {gap:.1e}" if gap > 0 else "the squares overlap"
    ax.set(xlim=(-0.005, 0.2), ylim=(-0.7, 9.7), yticks=range(10), yticklabels=[f"E(0.{j})" for j in range(10)],
           xlabel=f"value of {name}", ylabel="$x_2$ in", title=f"{name}: 100 squares, {verdict}")
    ax.legend(loc="lower right", fontsize=8)
    return ax
