"""Chapter 5's figures: universal approximation by construction. A sigmoid becoming a step, two
steps making a bump, N bumps following a function with their error, ReLU hats (the degree-1
B-splines) and their interpolant, and the error against width of the construction beside trained
networks."""

import torch

from kanlab.approximation import bump, bump_network, hat_knots, hat_network, interpolation_bound, relu_hat, sigmoid_step
from kanlab.plot.style import axes_or_new
from kanlab.splines import basis, uniform_grid

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


def hat_basis_picture(ax, n_pieces=4):
    """The N + 1 hats on [0, 1], each drawn from its three ReLUs (lines), and kanlab's B-spline basis of
    degree 1 on the same knots (dots on top): the two are the same functions."""
    ax = axes_or_new(ax, (6.0, 3.4))
    knots = hat_knots(n_pieces)
    h = 1.0 / n_pieces
    grid = uniform_grid(n_pieces, 1, (0.0, 1.0), dtype=torch.float64)
    dots = torch.linspace(0.0, 1.0, 4 * n_pieces + 1, dtype=torch.float64)
    splines = basis(dots[:, None], grid, 1)[:, 0, :]  # (dots, N + 1): B_0 .. B_N
    for i, knot in enumerate(knots.tolist()):
        color = f"C{i % 10}"
        ax.plot(_X, relu_hat(_X, knot - h, knot, knot + h), color=color, linewidth=2,
                label="hats from three ReLUs" if i == 0 else None)
        ax.plot(dots, splines[:, i], "o", color="black", markersize=3,
                label="B-splines of degree 1" if i == 0 else None)
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.05, 1.3), xlabel="input $x$", ylabel="hat$_i(x)$",
           title=f"N = {n_pieces}: {n_pieces + 1} hats, one per knot $t_i = i/{n_pieces}$",
           xticks=knots.tolist(), yticks=[0, 0.5, 1])
    ax.legend(loc="upper center", ncol=2)
    return ax


def hat_interpolation_picture(ax, f, n_pieces, curvature=None):
    """f, its N-piece ReLU hat network (the interpolant at the knots, dots) and the weighted hats
    f(t_i) hat_i(x) (thin), the largest error in the title (with the bound h^2 M / 8 when the
    curvature bound M >= |f''| is given)."""
    ax = axes_or_new(ax, (6.0, 3.4))
    knots = hat_knots(n_pieces)
    h = 1.0 / n_pieces
    target = f(_X)
    with torch.no_grad():
        approximation = hat_network(f, n_pieces)(_X[:, None])[:, 0]
    for i, (knot, value) in enumerate(zip(knots.tolist(), f(knots).tolist())):
        ax.plot(_X, value * relu_hat(_X, knot - h, knot, knot + h), color="#2ca02c", linewidth=0.8,
                label=r"weighted hats $f(t_i)\,$hat$_i(x)$" if i == 0 else None)
    ax.plot(_X, target, color=_TARGET_COLOR, linewidth=2.5, label="target $f$")
    ax.plot(_X, approximation, color=_NETWORK_COLOR, linewidth=1.5,
            label=f"network: {3 * (n_pieces + 1)} ReLU neurons")
    ax.plot(knots, f(knots), "o", color="black", markersize=4, label="knots $(t_i, f(t_i))$")
    title = f"N = {n_pieces} pieces: max error {float((approximation - target).abs().max()):.3f}"
    if curvature is not None:
        title += f", bound $h^2M/8$ = {interpolation_bound(curvature, n_pieces):.3f}"
    ax.set(xlim=(-0.02, 1.02), ylim=(-2.0, 2.0), xlabel="input $x$", ylabel="$f(x)$ and $g(x)$", title=title)
    ax.legend(loc="lower left", fontsize=9)
    return ax


def hat_errors_picture(ax, step_errors, hat_errors, lipschitz, curvature):
    """Log-log: the largest errors of the bump construction and of the hats, each ``{N: error}``,
    beside their bounds L / (2N) and M / (8 N^2)."""
    ax = axes_or_new(ax, (6.0, 4.0))
    for errors, bound, marker, color, label, bound_label in (
        (step_errors, lambda n: lipschitz / (2 * n), "o-", _NETWORK_COLOR, "sigmoid steps (bumps)", "L/(2N)"),
        (hat_errors, lambda n: interpolation_bound(curvature, n), "s-", _TRAINED_COLOR, "ReLU hats", "M/(8N²)"),
    ):
        sizes = sorted(errors)
        ax.loglog(sizes, [errors[n] for n in sizes], marker, color=color, markersize=3, label=label)
        ax.loglog(sizes, [bound(n) for n in sizes], "--", color=color, linewidth=1, label=f"bound {bound_label}")
    ax.set(xlabel="pieces N (bumps or hats)", ylabel="max error on [0, 1]",
           title="Steps: error ~ 1/N; hats: error ~ 1/N²")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=8)
    return ax


def error_against_width(ax, construction, trained, title="Largest error against hidden neurons", trained_all=None):
    """Log-log: the construction's and trained networks' errors, each ``{hidden neurons: error}``;
    ``trained_all`` (``{hidden neurons: [error of every start]}``), if given, adds every start as a cross."""
    ax = axes_or_new(ax, (6.0, 4.0))
    trained_label = "trained MLP" if trained_all is None else "trained MLP, the start chosen on validation"
    curves = ((construction, _NETWORK_COLOR, "bump construction"), (trained, _TRAINED_COLOR, trained_label))
    for errors, color, label in curves:
        widths = sorted(errors)
        ax.loglog(widths, [errors[w] for w in widths], "o-", color=color, label=label)
    if trained_all is not None:
        widths = [w for w in sorted(trained_all) for _ in trained_all[w]]
        ax.loglog(widths, [e for w in sorted(trained_all) for e in trained_all[w]], "x", color=_TRAINED_COLOR,
                  markersize=6, label="trained MLP, every start")
    ax.set(xlabel="hidden neurons (width)", ylabel="max error on [0, 1]", title=title)
    ax.grid(True, which="both", linewidth=0.3)
    # below the axes: the curves fill every corner of the plot
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
    return ax
