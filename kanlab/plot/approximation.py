"""Chapter 5's figures: universal approximation by construction. A sigmoid becoming a step, two
steps making a bump, N bumps following a function with their error, and the error against width
of the construction beside trained networks."""

import torch

from kanlab.approximation import bump, bump_network, sigmoid_step
from kanlab.plot.style import axes_or_new

_X = torch.linspace(0.0, 1.0, 801, dtype=torch.float64)
_TARGET_COLOR, _NETWORK_COLOR, _TRAINED_COLOR = "#555555", "#ff7f0e", "#1f77b4"


def sigmoid_step_picture(ax, weight, bias):
    """sigma(w x + b) on [0, 1], with the step it tends to (dashed) at s = -b / w when w > 0."""
    ax = axes_or_new(ax, (5.0, 3.4))
    ax.plot(_X, sigmoid_step(_X, weight, bias), color=_NETWORK_COLOR, linewidth=2, label=r"$\sigma(wx + b)$")
    title = f"w = {weight:g}, b = {bias:g}"  # plain text: mathtext, new in every frame, doubles the cost
    if weight > 0:
        position = -bias / weight
        title += f": step at s = -b/w = {position:.2f}"
        ideal = (_X > position).double()
        ax.plot(_X, ideal, "--", color=_TARGET_COLOR, linewidth=1, label=f"step at s = {position:.2f}")
    ax.set(xlim=(0, 1), ylim=(-0.05, 1.05), xlabel="input $x$", ylabel="hidden neuron's output", title=title,
           xticks=[0, 0.25, 0.5, 0.75, 1], yticks=[0, 0.5, 1])  # few tick labels: most of a frame's cost is text
    ax.legend(loc="upper left", fontsize=8)
    return ax


def bump_picture(ax, left, right, height=0.8, steepness=200.0):
    """The two weighted steps h sigma(w (x - left)) and -h sigma(w (x - right)) (dashed) and their sum, a bump."""
    ax = axes_or_new(ax, (5.0, 3.4))
    up = height * torch.sigmoid(steepness * (_X - left))
    down = -height * torch.sigmoid(steepness * (_X - right))
    ax.plot(_X, up, "--", color="#2ca02c", linewidth=1, label=rf"$h\,\sigma(w(x - {left:g}))$")
    ax.plot(_X, down, "--", color="#9467bd", linewidth=1, label=rf"$-h\,\sigma(w(x - {right:g}))$")
    ax.plot(_X, bump(_X, left, right, height, steepness), color=_NETWORK_COLOR, linewidth=2, label="their sum")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set(xlim=(0, 1), ylim=(-1.0, 1.0), xlabel="input $x$", ylabel="output neuron's value",
           title=rf"two steps, $h = {height:g}$: a bump on [{left:g}, {right:g}]")
    ax.legend(loc="lower left", fontsize=8)
    return ax


def bump_approximation_picture(ax, f, n_bumps, lipschitz=None, sharpness=20.0):
    """f and its N-bump network g_N on [0, 1], the largest error marked and stated in the title.

    Args:
        f: the target, maps a float64 tensor (n,) to (n,).
        n_bumps: N.
        lipschitz: optional Lipschitz constant L of f: the title then also states the bound L / (2N).
        sharpness: of the steps, as in `kanlab.approximation.bump_weights`.
    """
    ax = axes_or_new(ax, (6.0, 4.0))
    model = bump_network(f, n_bumps, sharpness)
    with torch.no_grad():
        approximation = model(_X[:, None])[:, 0]
    target = f(_X)
    worst = int((approximation - target).abs().argmax())
    error = float((approximation - target).abs().max())
    title = f"N = {n_bumps} bumps: max error {error:.3f}"
    if lipschitz is not None:
        title += f", bound L/(2N) = {lipschitz / (2 * n_bumps):.3f}"
    ax.plot(_X, target, color=_TARGET_COLOR, linewidth=2.5, label="target $f$")
    ax.plot(_X, approximation, color=_NETWORK_COLOR, linewidth=1.5, label=f"network: {2 * n_bumps} hidden neurons")
    ax.plot([_X[worst]] * 2, [target[worst], approximation[worst]], color="red", linewidth=3, label="largest error")
    # a little room beyond [0, 1]: the largest error often sits at an end, where a bar would be clipped
    ax.set(xlim=(-0.02, 1.02), ylim=(-2.0, 2.0), xlabel="input $x$", ylabel="$f(x)$ and $g_N(x)$", title=title,
           xticks=[0, 0.25, 0.5, 0.75, 1], yticks=[-2, -1, 0, 1, 2])
    ax.legend(loc="lower left", fontsize=8)
    return ax


def bump_errors_picture(ax, errors, lipschitz):
    """Log-log: the construction's largest error ``{N: error}`` against N, beside the bound L / (2N)."""
    ax = axes_or_new(ax, (6.0, 4.0))
    sizes = sorted(errors)
    measured = [errors[n] for n in sizes]
    bound = [lipschitz / (2 * n) for n in sizes]
    ax.loglog(sizes, measured, "o-", color=_NETWORK_COLOR, markersize=3, label="measured max error")
    ax.loglog(sizes, bound, "--", color=_TARGET_COLOR, label=f"bound L/(2N), L = {lipschitz:.1f}")
    ax.set(xlabel="number of bumps N", ylabel="max error on [0, 1]", title="The construction's error falls like 1/N")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend()
    return ax


def error_against_width(ax, construction, trained, title="Largest error against hidden neurons"):
    """Log-log: the construction's and trained networks' errors, each ``{hidden neurons: error}``."""
    ax = axes_or_new(ax, (6.0, 4.0))
    curves = ((construction, _NETWORK_COLOR, "bump construction"), (trained, _TRAINED_COLOR, "trained MLP"))
    for errors, color, label in curves:
        widths = sorted(errors)
        ax.loglog(widths, [errors[w] for w in widths], "o-", color=color, label=label)
    ax.set(xlabel="hidden neurons (width)", ylabel="max error on [0, 1]", title=title)
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend()
    return ax
