"""Chapter 9's figures: KANs on tables of measurements. Test errors over several seeds against model
size beside a baseline, an additive KAN's curves over the data (`kanlab.additive`), feature rankings
side by side, and training and test error against a knob such as the grid size.
"""

import itertools
import math
import statistics

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import LogLocator, ScalarFormatter

from kanlab.additive import curve_spread, feature_curves
from kanlab.plot.style import axes_or_new


def _mean_and_spread(values):
    """The mean and the sample standard deviation sqrt(sum (v - mean)^2 / (n - 1)) (0 for one value)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("errors_over_seeds: every entry needs at least one error")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def errors_over_seeds(results, baseline=None, ax=None, ylabel="test error",
                      title="Test error against the number of parameters"):
    """Mean test error over seeds (a marker) and its spread (a bar of one sample standard deviation,
    with n - 1, each way) against the parameter count, one line per kind of model; a baseline as a
    horizontal band. The bars show how much one run varies, not how well the mean is known (that is
    the standard error, smaller by sqrt(n)).

    Args:
        results: {label: {parameter count: [test error of each seed]}}.
        baseline: optional (label, [test error of each seed]), drawn as its mean (dashed) and a band of
            one sample standard deviation each way.

    Returns:
        The Axes: one errorbar container per entry of results (``ax.containers``), then the baseline's
        line (``ax.lines[-1]``) when given.
    """
    if not results:
        raise ValueError("errors_over_seeds: results holds no models")
    ax = axes_or_new(ax, (5.0, 3.4))
    for (label, by_count), marker in zip(results.items(), itertools.cycle("osD^v")):
        counts = sorted(by_count)
        means, spreads = zip(*(_mean_and_spread(by_count[count]) for count in counts))
        ax.errorbar(counts, means, yerr=spreads, marker=marker, capsize=3, label=label)
    if baseline is not None:
        label, errors = baseline
        mean, spread = _mean_and_spread(errors)
        ax.axhspan(mean - spread, mean + spread, color="0.85", zorder=0)
        ax.axhline(mean, color="0.3", linestyle="--", label=label)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.minorticks_off()
    ax.set_xlabel("trainable parameters (log scale)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    return ax


def additive_curves(model, x, feature_names=None, columns=2, title="What each feature adds to the output",
                    ylabel="added to the output", xlabel="the feature's value (ticks: the samples)"):
    """The learned curve of every feature of a [n, 1] KAN, over its samples' range, largest spread first.

    Each panel draws phi_i about its mean over the samples (`kanlab.additive.feature_curves`), with the
    samples as a rug of ticks beneath, so that a reader sees where the curve is backed by data; every
    panel shares the vertical scale, so the curves' sizes compare at a glance. Each panel's title
    names the feature and the spread of its curve (`kanlab.additive.curve_spread`).

    Args:
        model: a `kanlab.KAN` of widths [n, 1].
        x: the samples (n_samples, n), e.g. the training inputs.
        feature_names: n names (default x_1, ..., x_n).
        columns: panels per row.
        ylabel, xlabel: the label of each row's vertical axis, and the figure's horizontal label.

    Returns:
        The Figure; its first n Axes are the features in order of decreasing spread.
    """
    spread = curve_spread(model, x)  # checks model and x
    n = x.shape[1]
    names = list(feature_names) if feature_names is not None else [f"$x_{{{i + 1}}}$" for i in range(n)]
    if len(names) != n:
        raise ValueError(f"feature_names must hold {n} names, got {len(names)}")
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be an integer >= 1, got {columns!r}")
    t, curves = feature_curves(model, x)
    x, t, curves = (v.detach().to(torch.float64).cpu() for v in (x, t, curves))
    rows = math.ceil(n / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.5 * columns, 1.6 * rows + 0.6), sharey=True,
                                squeeze=False)
    low, high = float(curves.min()), float(curves.max())
    rug = low - 0.12 * (high - low)
    for ax, i in zip(axes.flat, spread.argsort(descending=True).tolist()):
        ax.plot(t[:, i], curves[:, i], color="C0", linewidth=2)
        ax.plot(x[:, i], torch.full_like(x[:, i], rug), "|", color="0.35", alpha=0.35, markersize=7)
        ax.axhline(0, color="0.75", linewidth=0.8, zorder=0)
        ax.set_title(f"{names[i]}  (spread {float(spread[i]):.2g})", fontsize=10)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel(ylabel, fontsize=9)
    figure.suptitle(title)
    figure.supxlabel(xlabel, fontsize=10)
    figure.tight_layout()
    return figure


def rankings_side_by_side(importances, feature_names, title="Which features matter, by three measures"):
    """Horizontal bars of several importance measures of the same features, each scaled to its largest.

    Args:
        importances: {label: n non-negative importances}; the features are ordered by the first entry.
        feature_names: the n feature names.

    Returns:
        The array of Axes, one per measure, left to right in the order of importances.
    """
    if not importances:
        raise ValueError("rankings_side_by_side: importances holds no measures")
    values = {label: torch.as_tensor(v, dtype=torch.float64).detach().cpu().reshape(-1)
              for label, v in importances.items()}
    n = len(feature_names)
    for label, v in values.items():
        if len(v) != n:
            raise ValueError(f"rankings_side_by_side: {label!r} has {len(v)} values for {n} features")
    order = next(iter(values.values())).argsort(descending=True).tolist()
    figure, axes = plt.subplots(1, len(values), figsize=(1.5 * len(values) + 0.9, 0.3 * n + 1.4),
                                sharey=True, squeeze=False)
    axes = axes[0]
    positions = range(n)
    for index, (ax, (label, v)) in enumerate(zip(axes, values.items())):
        colour = f"C{index}"
        scaled = v / v.max() if float(v.max()) > 0 else v
        ax.barh(list(positions), [float(scaled[i]) for i in order], color=colour)
        ax.set_title(label, fontsize=10)
        ax.set_xlim(0, 1.05)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
        ax.set_xlabel("share of the largest", fontsize=9)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(list(positions), [feature_names[i] for i in order])
    axes[0].invert_yaxis()
    figure.suptitle(title)
    figure.tight_layout()
    return axes


def train_and_test_errors(values, curves, reference=None, ax=None, xlabel="grid size $G$", ylabel="RMSE",
                          title="Training and test error"):
    """Training (dashed) and test (solid) error against a knob, one colour per setting, both axes on
    log scales.

    Args:
        values: the knob's values (the x axis), e.g. grid sizes.
        curves: {label: (training errors, test errors)}, one of each per value.
        reference: optional (label, error), drawn as a grey horizontal line (a baseline's test error).

    Returns:
        The Axes: for each entry of curves, its training line, then its test line; then the reference.
    """
    if not curves:
        raise ValueError("train_and_test_errors: curves holds no settings")
    ax = axes_or_new(ax, (5.0, 3.4))
    values = list(values)
    for index, (label, (train, test)) in enumerate(curves.items()):
        colour = f"C{index}"
        if len(train) != len(values) or len(test) != len(values):
            raise ValueError(f"train_and_test_errors: {label!r} needs {len(values)} training and test errors")
        ax.plot(values, list(train), "--", marker="o", color=colour, label=f"{label}: training")
        ax.plot(values, list(test), "-", marker="s", color=colour, label=f"{label}: test")
    if reference is not None:
        ax.axhline(reference[1], color="0.4", linestyle=":", label=reference[0])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(values, [str(v) for v in values])
    ax.minorticks_off()
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel} (log scale)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    return ax
