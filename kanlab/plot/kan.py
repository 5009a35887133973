"""Chapters 7 and 8's figures: Kolmogorov-Arnold networks. B-spline bases, training curves, a KAN's
diagram with the learned function of every edge beside an MLP's, grid extension and its scaling law,
error against parameter count, and continual learning."""

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Circle
from matplotlib.ticker import NullFormatter

from kanlab import splines
from kanlab.plot.networks import network_diagram
from kanlab.plot.style import LAYER_COLORS, axes_or_new, diagram_frame
from kanlab.pruning import input_box_samples
from kanlab.regularization import model_edge_scales


def spline_basis(grid_size=5, spline_order=3, grid_range=(-1.0, 1.0), ax=None, title=None):
    """Every B-spline B_b of order k on a uniform grid of G intervals, and their sum (which is 1).

    Returns:
        The Axes, holding G + k basis curves, the dashed sum, and dotted lines at the grid points.
    """
    ax = axes_or_new(ax, (6.0, 3.0))
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
    ax = axes_or_new(ax, (6.0, 3.5))
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
def kan(model, x=None, ax=None, var_names=None, output_names=None, title="A KAN and the function on each edge",
        scores=False):
    r"""The network diagram of a KAN with each live edge's learned curve phi_{j,i} in a small inset.

    Layers go from the inputs (bottom) to the outputs (top). Every edge i -> j of a layer has its
    own inset in the row between the two layers, showing phi_{j,i} over the values its input takes
    on the samples x; its lines and curve are as opaque as the edge is important (its normalised
    scale, `kanlab.regularization.model_edge_scales`, relative to the largest in its layer).
    Symbolic edges are drawn in red and labelled with their function. Pruned edges are not drawn.
    A multiplication node (`kanlab.multiplication`) is drawn with a "x" marker; the edges below it
    end in small dots, one per factor (each factor is a sum of those edges), joined to the node.

    Args:
        model: a `kanlab.KAN`.
        x: samples (batch, n_0); None draws 1000 from the input grid box.
        var_names, output_names: labels under the inputs and over the outputs
            (default $x_1, ...$ and $y_1, ...$).
        scores: write each edge's normalised scale (the number pruning compares with its
            thresholds) under its inset.

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

    sums = [layer.out_features for layer in model.layers]  # the edges' ends: a + r m per node layer above
    slots = max(max(widths), max(a * b for a, b in zip(widths, sums)))
    width = 0.7 * slots
    gap = 1.6  # vertical distance between layers
    ax = axes_or_new(ax, (max(6.0, 1.1 * width + 1.0), 1.8 * len(widths)))  # at least most of the text column
    ax.set_xlim(0, width)
    ax.set_ylim(-0.6, gap * (len(widths) - 1) + 0.6)

    def node_x(layer, node):
        return (node + 0.5) * width / widths[layer]

    for layer, n in enumerate(widths):
        kind = "input" if layer == 0 else "output" if layer == len(widths) - 1 else "hidden"
        for node in range(n):
            ax.add_patch(Circle((node_x(layer, node), layer * gap), 0.09, facecolor=LAYER_COLORS[kind],
                                edgecolor="black", zorder=3))
    sum_end = _draw_products(ax, model, node_x, gap)
    for i, name in enumerate(var_names):
        ax.text(node_x(0, i), -0.2, name, ha="center", va="top", fontsize=11)
    for j, name in enumerate(output_names):
        ax.text(node_x(len(widths) - 1, j), gap * (len(widths) - 1) + 0.2, name, ha="center", va="bottom", fontsize=11)

    for layer, (layer_module, symbolic) in enumerate(zip(model.layers, model.symbolic)):
        n_in, n_out = widths[layer], sums[layer]
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
                end_x, end_y = sum_end(layer + 1, j)
                ax.plot([centre, end_x], [y_mid + inset_height / 2, end_y], color=color, alpha=alpha, linewidth=1, zorder=1)
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
                if scores:
                    ax.text(centre, y_mid - inset_height / 2 - 0.03, f"{float(scales[layer][j, i]):.2f}",
                            ha="center", va="top", fontsize=7, color="#555555")
    return diagram_frame(
        ax, title,
        xlabel="nodes; each edge's learned function in its box (red: symbolic)",
        ylabel="layers (inputs at the bottom)",
    )


def _draw_products(ax, model, node_x, gap):
    """Mark every multiplication node with a "x" and draw a dot for each of its factors, joined to it.

    Returns sum_end(layer, q): where the edges into sum q of node layer `layer` end (the node's
    bottom for a sum node, the factor's dot for a product's factor).
    """
    products = getattr(model, "products", [0] * len(model.widths))
    arities = getattr(model, "arities", [2] * len(model.widths))
    spacing = 0.18

    def sum_end(layer, q):
        n_sum = model.widths[layer] - products[layer]
        if q < n_sum:
            return node_x(layer, q), layer * gap - 0.09
        node, factor = n_sum + (q - n_sum) // arities[layer], (q - n_sum) % arities[layer]
        return node_x(layer, node) + (factor - (arities[layer] - 1) / 2) * spacing, layer * gap - 0.3

    for layer, (n_nodes, n_product) in enumerate(zip(model.widths, products)):
        for node in range(n_nodes - n_product, n_nodes):
            x, y = node_x(layer, node), layer * gap
            ax.plot([x], [y], marker="x", markersize=6, markeredgewidth=1.5, color="black", zorder=4)
            first = n_nodes - n_product + (node - n_nodes + n_product) * arities[layer]
            for q in range(first, first + arities[layer]):
                dot_x, dot_y = sum_end(layer, q)
                ax.plot([dot_x, x], [dot_y, y - 0.09], color="black", linewidth=1, zorder=2)
                ax.plot([dot_x], [dot_y], marker="o", markersize=3, color="black", zorder=3)
    return sum_end


def mlp_versus_kan(model, axes=None):
    """An MLP of the same widths as the KAN `model` (left) beside the KAN with its edges' functions (right).

    Returns:
        The two Axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained", width_ratios=(1, 1.5))
    network_diagram(list(model.widths), ax=axes[0],
                    title="MLP: a weight on each edge,\nthe fixed activation on each node")
    kan(model, ax=axes[1], title="KAN: a learned function on each edge,\na sum on each node")
    return axes


def grid_extension_curves(stages, ax=None, title="Grid extension: the error drops at every refinement"):
    """Training and test RMSE over all steps of a sequence of grids, one after the other.

    Args:
        stages: a list of (model, History) in training order, e.g. the first fit followed by
            `kanlab.train.grid_extension`'s result; each model's grid_size labels its stretch.

    Returns:
        The Axes; a dotted line marks each change of grid.
    """
    if len(stages) == 0:
        raise ValueError("grid_extension_curves: stages holds no (model, history) pairs")
    ax = axes_or_new(ax, (7.0, 3.6))
    train, test, start = [], [], 0
    for index, (model, history) in enumerate(stages):
        steps = len(history.train_rmse)
        if index:
            ax.axvline(start + 0.5, color="#bbbbbb", linestyle=":", linewidth=1, zorder=0)
        ax.text(start + steps / 2 + 0.5, 1.0, f"G={model.grid_size}", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=9)
        train += history.train_rmse
        test += history.test_rmse
        start += steps
    steps = range(1, start + 1)
    ax.plot(steps, train, label="train RMSE")
    ax.plot(steps, test, linestyle="--", label="test RMSE")
    ax.set_yscale("log")
    ax.set_xlabel("training step (all grids, one after the other)")
    ax.set_ylabel("RMSE (log scale)")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title, pad=18)
    return ax


def scaling_law(grid_sizes, errors, order=4, slope=None, ax=None, title=None):
    """Test RMSE against grid size G on log-log axes, with the reference line C G^(-order) through
    the points' geometric mean.

    Args:
        grid_sizes, errors: the grid sizes and the test RMSE reached on each.
        order: the exponent of the reference line (4 for cubic splines: k + 1).
        slope: the measured slope, to be named in the legend (optional).

    Returns:
        The Axes; its first line is the measurements, its second the reference.
    """
    grid = torch.as_tensor(grid_sizes, dtype=torch.float64)
    error = torch.as_tensor(errors, dtype=torch.float64)
    if grid.ndim != 1 or grid.shape != error.shape or len(grid) < 2:
        raise ValueError(f"scaling_law: grid_sizes and errors must be two lists of the same length >= 2, "
                         f"got {len(grid_sizes)} and {len(errors)}")
    ax = axes_or_new(ax, (5.0, 3.8))
    label = "KAN, test RMSE" + (f" (slope {slope:.2f})" if slope is not None else "")
    ax.plot(grid, error, marker="o", label=label)
    constant = torch.exp(error.log().mean() + order * grid.log().mean())
    ax.plot(grid, constant * grid ** (-order), color="black", linestyle="--", label=f"$G^{{-{order}}}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(grid.tolist(), [f"{g:g}" for g in grid.tolist()])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("grid size $G$ (log scale)")
    ax.set_ylabel("test RMSE (log scale)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title or f"The scaling law: error $\\propto G^{{-{order}}}$")
    return ax


def error_against_parameters(results, ax=None, title="Test error against the number of parameters"):
    """Test RMSE against parameter count on log-log axes, one line per kind of model.

    Args:
        results: {label: (parameter counts, test RMSEs)}, e.g. {"KAN [2, 1, 1]": ([24, 30], [1e-2, 1e-3])}.

    Returns:
        The Axes, one line per entry of results.
    """
    if not results:
        raise ValueError("error_against_parameters: results holds no models")
    ax = axes_or_new(ax, (5.0, 3.8))
    for (label, (counts, errors)), marker in zip(results.items(), "osD^v"):
        if len(counts) != len(errors):
            raise ValueError(f"error_against_parameters: {label!r} has {len(counts)} counts and {len(errors)} errors")
        ax.plot(counts, errors, marker=marker, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("trainable parameters (log scale)")
    ax.set_ylabel("test RMSE (log scale)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8)  # below the axes: it hides no point
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title)
    return ax


def continual_learning(x, target, predictions, regions, axes=None, ylim=(-0.6, 1.6)):
    """Models trained on one region after another: one row per model, one column per phase.

    Args:
        x: (n,) or (n, 1) the inputs at which target and predictions are given.
        target: (n,) the function to learn, drawn dashed in every panel.
        predictions: {label: (P, n) or (P, n, 1)}, each model's output after each of the P phases.
        regions: the P regions (lo, hi) in training order; phase p's is shaded.
        ylim: the vertical range of every panel (a model that strays further leaves the panel).

    Returns:
        The array of Axes, shape (len(predictions), P).
    """
    x = torch.as_tensor(x).reshape(-1)
    count = len(regions)
    if any(prediction.shape[0] != count for prediction in predictions.values()):
        raise ValueError(f"continual_learning: every prediction needs one row per region ({count})")
    if axes is None:
        _, axes = plt.subplots(len(predictions), count, figsize=(2.3 * count, 2.0 * len(predictions) + 0.6),
                               layout="constrained", sharex=True, sharey=True, squeeze=False)
    for row, (label, prediction) in enumerate(predictions.items()):
        for phase, (lo, hi) in enumerate(regions):
            ax = axes[row][phase]
            ax.axvspan(lo, hi, color="#fde3cc", zorder=0)
            ax.plot(x, target, color="black", linestyle="--", linewidth=1)
            ax.plot(x, prediction[phase].reshape(-1), color="#1f77b4", linewidth=1.5)
            ax.set_ylim(*ylim)
            ax.set_title(f"{label}, after phase {phase + 1}", fontsize=9)
            if row == len(predictions) - 1:
                ax.set_xlabel("x")
            if phase == 0:
                ax.set_ylabel("f(x) and the model")
    return axes
