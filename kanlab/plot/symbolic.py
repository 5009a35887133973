r"""Chapter 8's figures: reading a KAN. Which library function is each learned edge, how sure can we
be, what `kanlab.discovery.discover` found from several initialisations, what an MLP's weights say
about the same target, and how a formula, a KAN and an MLP fare outside the samples' box.

An edge's candidates come from `kanlab.symbolic.suggest` (or `suggest_for_samples`): for each library
function f, the best a * f(b * t + c) + d and its R^2. R^2 is shown as its "nines",
-log10(1 - R^2): 2 for R^2 = 0.99, 4 for 0.9999; capped at 8, where float rounding begins.
"""

import math

import torch

from kanlab import symbolic
from kanlab.plot.kan import kan
from kanlab.plot.style import axes_or_new
from kanlab.regularization import model_edge_scales
from kanlab.widgets import interactive

MAX_NINES = 8.0


def nines(r2):
    """-log10(1 - R^2), the number of leading nines of R^2, between 0 and 8 (R^2 <= 0 gives 0)."""
    if r2 >= 1.0:
        return MAX_NINES
    return min(MAX_NINES, max(0.0, -math.log10(1.0 - r2)))


def edge_candidates(t, y, fits, ax=None, title="A learned edge and its best library fits"):
    r"""The samples (t, phi(t)) of one edge and, dashed over them, each fit a * f(b t + c) + d.

    Args:
        t, y: the edge's inputs and values, shape (n,) each.
        fits: `kanlab.symbolic.Fit` s, drawn in the order given (best first), labelled with R^2.

    Returns:
        The Axes: the edge as ``ax.lines[0]``, then one dashed line per fit.
    """
    t = torch.as_tensor(t).detach().to(torch.float64).cpu()
    y = torch.as_tensor(y).detach().to(torch.float64).cpu()
    if t.ndim != 1 or t.shape != y.shape:
        raise ValueError(
            f"edge_candidates: t and y must be 1-D of one length, got {tuple(t.shape)} and {tuple(y.shape)}"
        )
    ax = axes_or_new(ax, (5.5, 3.5))
    order = torch.argsort(t)
    t, y = t[order], y[order]
    ax.plot(t, y, color="black", linewidth=4, alpha=0.35, label="learned edge")
    for fit in fits:
        a, b, c, d = fit.params
        curve = a * symbolic.candidate(fit.name)(b * t + c) + d
        ax.plot(t, curve, linestyle="--", linewidth=1.5, label=f"{fit.name}: $R^2$ = {fit.r2:.6f}")
    ax.set_xlabel("$t$, the edge's input")
    ax.set_ylabel(r"$\phi(t)$")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title)
    return ax


def candidate_ranking(fits_by_edge, top=4, ax=None, title="Which function is each edge? Best candidates first"):
    r"""For every edge, its `top` best candidates as bars of R^2's nines (longer is better).

    Args:
        fits_by_edge: {edge name or (layer, i, j): list of `Fit`, best first}.
        top: candidates shown per edge.

    Returns:
        The Axes; one bar per (edge, candidate), each labelled with the candidate's name and R^2.
    """
    if not fits_by_edge:
        raise ValueError("candidate_ranking: fits_by_edge holds no edges")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"candidate_ranking: top must be an integer >= 1, got {top!r}")
    rows = len(fits_by_edge) * (top + 1)
    ax = axes_or_new(ax, (6.5, 0.28 * rows + 1.0))
    position, ticks, labels = 0, [], []
    for group, (edge, fits) in enumerate(fits_by_edge.items()):
        for rank, fit in enumerate(fits[:top]):
            score = nines(fit.r2)
            ax.barh(position, score, color=f"C{group}", alpha=1.0 if rank == 0 else 0.45)
            ax.text(score + 0.1, position, f"{fit.name}  ({fit.r2:.6f})", va="center", fontsize=8)
            ticks.append(position)
            labels.append(f"edge {edge}" if rank == 0 else "")
            position += 1
        position += 1
    ax.set_yticks(ticks, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, MAX_NINES + 3)
    ax.axvline(3, color="#bbbbbb", linestyle=":", linewidth=1)  # R^2 = 0.999, auto_symbolic's default
    ax.set_xlabel(r"nines of $R^2$: $-\log_{10}(1 - R^2)$ (dotted: $R^2 = 0.999$)")
    ax.set_ylabel("edge (layer, in, out), best first")
    ax.set_title(title)
    return ax


@torch.no_grad()
def edge_explorer(model, x, lib=None, top=3, figsize=(6.5, 4.0)):
    r"""An interactive figure over every live spline edge of a KAN: its curve and best fits.

    The slider ``edge`` picks an edge by its index k in `kanlab.symbolic.spline_edges(model)`; the
    title names it (layer, i, j) with its importance (normalised scale). Everything is fitted once,
    here, so both the live and the static face only draw.

    Args:
        model: a `kanlab.KAN` with at least two spline edges.
        x: samples (batch, n_0) at which the edges are read.
        lib: library names for `kanlab.symbolic.suggest_for_samples` (None: the whole library).
        top: fits drawn per edge.

    Returns:
        a `kanlab.widgets.Interactive` with one frame per edge.
    """
    edges = symbolic.spline_edges(model)
    if len(edges) < 2:
        raise ValueError(f"edge_explorer needs a KAN with at least 2 spline edges, got {len(edges)}")
    x = x.to(device=model.layers[0].grid.device, dtype=model.layers[0].grid.dtype)
    inputs, activations = model.layer_inputs(x), model.edge_activations(x)
    scales = model_edge_scales(model, x)
    panels = []
    for layer, i, j in edges:
        t, y = inputs[layer][:, i], activations[layer][:, j, i]
        fits = symbolic.suggest_for_samples(t, y, lib)[:top]
        panels.append((t, y, fits, f"edge {(layer, i, j)}, importance {float(scales[layer][j, i]):.3f}"))

    def draw(ax, edge):
        t, y, fits, title = panels[int(round(edge))]
        edge_candidates(t, y, fits, ax=ax, title=title)

    return interactive(draw, figsize=figsize, edge=(0, len(edges) - 1, 1))


def kans_side_by_side(models, x, titles, var_names=None, output_names=None, scores=False, figsize=None):
    """Several KAN diagrams in one row (e.g. before and after pruning), each drawn by `kanlab.plot.kan`.

    The diagrams share one x label (under the row) and one y label (on the left).

    Returns:
        the list of Axes, one per model.
    """
    import matplotlib.pyplot as plt

    if len(models) != len(titles) or len(models) == 0:
        raise ValueError(f"kans_side_by_side: one title per model, got {len(models)} models, {len(titles)} titles")
    # Each diagram as wide as its widest row of boxes (but room for a title), so nodes stay round.
    slots = [max(4, max(model.widths), max(a * b for a, b in zip(model.widths, model.widths[1:]))) for model in models]
    _, axes = plt.subplots(1, len(models), figsize=figsize or (0.55 * sum(slots) + 1.0, 4.6),
                           gridspec_kw={"width_ratios": slots})
    axes = list(axes) if len(models) > 1 else [axes]
    for ax, model, title in zip(axes, models, titles):
        kan(model, x, ax=ax, var_names=var_names, output_names=output_names, title=title, scores=scores)
    for ax in axes[1:]:
        ax.set_ylabel("")
    for ax in axes[:-1]:
        ax.set_xlabel("")
    if len(axes) > 1:  # one label for the row, centred under it, instead of labels overlapping their neighbours
        axes[-1].figure.supxlabel(axes[-1].get_xlabel(), fontsize=10)
        axes[-1].set_xlabel("")
    return axes


def mlp_weights(model, ax=None, title="An MLP's weights, layer by layer"):
    r"""Every weight matrix W_l of a `kanlab.mlp.MLP` as a heat map, side by side, one colour scale.

    Rows are a layer's outputs, columns its inputs; red is positive, blue negative. Biases are left out.

    Returns:
        The Axes; ``ax.child_axes`` holds one image per layer.
    """
    weights = [layer.weight.detach().to(torch.float64).cpu() for layer in model.layers]
    ax = axes_or_new(ax, (8.0, 4.0))
    limit = max(float(w.abs().max()) for w in weights)
    total = sum(w.shape[1] for w in weights) + 2 * (len(weights) - 1)
    tallest = max(w.shape[0] for w in weights)
    left = 0
    for index, w in enumerate(weights):
        inset = ax.inset_axes([left / total, 0.05, w.shape[1] / total, 0.8 * w.shape[0] / tallest])
        image = inset.imshow(w.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
        inset.set_title(f"$W_{{{index + 1}}}$: {w.shape[0]}x{w.shape[1]}", fontsize=9)
        inset.set_xticks([])
        inset.set_yticks([])
        left += w.shape[1] + 2
    ax.figure.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label="weight")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("each block: rows = a layer's outputs, columns = its inputs")
    ax.set_ylabel("weights")
    ax.set_title(title)
    return ax


def _outputs(model, x):
    """A model's (or a plain function's) values at x (n, n_0) as a float64 vector, computed in its dtype."""
    parameters = list(model.parameters()) if hasattr(model, "parameters") else []
    if parameters:
        x = x.to(device=parameters[0].device, dtype=parameters[0].dtype)
    with torch.no_grad():
        values = model(x)
    return torch.as_tensor(values).detach().to(torch.float64).cpu().reshape(len(x))


def extrapolation(models, target, along=0, at=0.0, span=(-2.0, 2.0), trained=(-1.0, 1.0), n_points=401,
                  var_names=("x", "y"), ax=None, title=None):
    r"""Several models and the target along one input, the other inputs held at ``at``, inside and
    outside the interval the samples came from (shaded).

    Args:
        models: {label: model}; a model maps points (n, n_0) to (n, 1) or (n,) (a KAN, an MLP, or a
            plain function of a tensor).
        target: the true function, with the same signature.
        along: index of the input that varies over ``span``.
        at: the value of every other input.
        trained: the interval of the training samples along that input, shaded.
        var_names: names of the inputs, for the axis label and the title.

    Returns:
        The Axes: the target as ``ax.lines[0]``, then one line per model, in order, each with its own
        line style (not only its colour). The vertical range is the target's, with a margin: a model
        that runs away leaves the frame.
    """
    if not models:
        raise ValueError("extrapolation: models holds no model")
    n_inputs = len(var_names)
    if isinstance(along, bool) or not isinstance(along, int) or not 0 <= along < n_inputs:
        raise ValueError(f"extrapolation: along must be an input index in [0, {n_inputs}), got {along!r}")
    if not span[0] < span[1]:
        raise ValueError(f"extrapolation: span must be (low, high) with low < high, got {span!r}")
    t = torch.linspace(span[0], span[1], n_points, dtype=torch.float64)
    x = torch.full((n_points, n_inputs), float(at), dtype=torch.float64)
    x[:, along] = t
    ax = axes_or_new(ax, (6.0, 3.8))
    ax.axvspan(*trained, color="#eeeeee", zorder=0, label="where the samples were")
    truth = _outputs(target, x)
    ax.plot(t, truth, color="black", linewidth=4, alpha=0.35, label="target")
    styles = ["--", ":", "-.", (0, (5, 1, 1, 1))]
    for index, (label, model) in enumerate(models.items()):
        ax.plot(t, _outputs(model, x), linestyle=styles[index % len(styles)], linewidth=2, color=f"C{index}",
                label=label)
    low, high = float(truth.min()), float(truth.max())
    margin = 0.25 * (high - low) + 1e-9
    ax.set_ylim(low - margin, high + margin)
    ax.set_xlim(*span)
    others = ", ".join(f"{name} = {at:g}" for k, name in enumerate(var_names) if k != along)
    ax.set_xlabel(f"${var_names[along]}$" + (f" (with {others})" if others else ""))
    ax.set_ylabel("output")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title or f"Along ${var_names[along]}$, beyond the samples")
    return ax


def _latex_cell(expression) -> str:
    import sympy

    return "$" + sympy.latex(expression).replace("|", r"\vert ") + "$"


def discovery_table(runs, target, x, label="seed"):
    r"""A Markdown table of `kanlab.discovery.discover` results, one row per run.

    Each row gives the run's label, the formula it printed (constants to 4 decimals) or why it gave
    none, the final widths, whether the formula passed `discover`'s own check (``found``), and the
    largest error |model(x) - target(x)| of its final model on the points x: when every edge is
    symbolic, the model *is* the formula with every constant as trained.

    Args:
        runs: {label: Discovery}, e.g. one per seed.
        target: the true function, points (n, n_0) -> (n,) or (n, 1).
        x: the points (n, n_0) where the largest error is taken.
        label: the first column's heading.

    Returns:
        the table as a Markdown string (show it with ``IPython.display.Markdown``).
    """
    if not runs:
        raise ValueError("discovery_table: runs holds no run")
    truth = _outputs(target, x)
    lines = [f"| {label} | formula | widths | check | largest error |", "|---|---|---|---|---|"]
    for name, run in runs.items():
        if run.formula is not None:
            formula = _latex_cell(run.formula)
        else:
            edges = ", ".join(f"{miss.edge} (closest: {miss.candidates[0].name})" for miss in run.unmatched)
            formula = f"none: edge {edges} matched no candidate" if edges else "none"
        error = float((_outputs(run.model, x) - truth).abs().max())
        check = "found" if run.found else "not found"
        lines.append(f"| {name} | {formula} | {run.model.widths} | {check} | {error:.1e} |")
    return "\n".join(lines)
