r"""From samples to a formula: the KAN paper's interpretability pipeline as one call, step by step.

    result = kanlab.discovery.discover(kanlab.KAN([2, 5, 1]), data)
    print(result)            # the formula (or NOT FOUND), every edge's fit, the errors, the time of each step

`discover` runs the steps below; each is public, so a chapter can show them one at a time.

1. ``sparsify``: train with the sparsity penalty (`kanlab.fit(..., lamb=...)`) and prune
   (`KAN.prune`), again until pruning removes nothing.
2. ``shrink`` (after training without the penalty): try to remove the remaining hidden nodes, the one
   carrying least first, and keep a removal when a short retraining brings the error back. A target
   such as sin(2x) + y^2 needs one hidden node, but pruning may leave two that share the work, each
   edge holding part of a function, and no edge then looks like anything in the library.
3. ``train``: refine the grid (`KAN.refine`) and train without penalty.
4. ``snap``: turn edges into library functions a * f(b t + c) + d, the clearest edges first, and
   retrain the rest after each round so that they adapt to the formulas already fixed. Where a simpler
   candidate fits almost as well as the best, both are tried and the simpler is kept unless it trains
   clearly worse. An edge whose every candidate stays below ``r2_min`` stays a spline, and the result
   says which edge it is and which candidates came closest. The edges into a multiplication node's
   factors are first tried as lines, all of one node's at once (``_linear_factors``).
5. train the formula's constants a, b, c, d, and read the formula (`kanlab.symbolic.formula`).
6. ``check``: evaluate the formula on the test samples and compare it with the targets' spread and with
   the spline network it was read from; ``result.found`` is False, and ``print(result)`` says NOT
   FOUND with both errors and what to try next, when it misfits the test samples.

Pruning (steps 1 and 2) never removes an input that the samples need (`data_need`, `input_needed`).

Candidates are ranked by fit and simplicity (`kanlab.symbolic.suggest_for_samples`): a straight line or
a square wins over a sine or an exponential that fits about as well.

Products. An additive network builds x y from sums and squares, and training rarely finds that
spelling. So `discover`, by default (``multiply="auto"``), also tries a *separable product*
(`product_model`): a network with one multiplication node (`kanlab.multiplication`) whose factor k
reads input x_k alone, y = a f_1(x_1) ... f_n(x_n) + d, built from the model given (same grid, seed,
dtype, device). It runs the steps above on it (train, snap, read, check; nothing to prune), with
`kanlab.symbolic.FACTORS` added to the library: the powers 1/x^2, 1/x^3 and 1/sqrt, reciprocals of
library functions and of cosh (1/sin, 1/cos, 1/log, 1/tanh, 1/cosh: n / (2 cosh a) is a product with
the factor 1/cosh), cosh, and arcsin for the output edge only (`kanlab.symbolic.OUTER`: near the
ends of its domain it bends like a square root, and as a factor it copies shapes it is not). A law
that is a function of a product, such as asin(n sin t) or n a / (1 - n a / 3), needs the output
edge free as well: the *function of a product* network (``product_model(model, "spline")``),
y = a g(b f_1(x_1) ... f_n(x_n) + c) + d, whose
output edge g is snapped like any other edge (the factors are tried as lines first, which undoes
the power that g and the factors can trade: x y = (sqrt(x) sqrt(y))^2).

A law that is a sum plus a product, such as cos a + b cos^2 a, 1 + a + 2 sqrt(a) cos d or
a + c b, is neither: the *sum plus product* network (`sum_product_model`), y = sum_k g_k(x_k) +
c f_1(x_1) ... f_n(x_n) + d, whose hidden layer holds n sum nodes (sum k reads x_k alone) and one
product node (factor k reads x_k alone), the output edges lines. A sum node that carries nothing
(b's in cos a + b cos^2 a) is removed before snapping (`_drop_flat_sums`).

A law of one sign whose logarithm is a sum plus a product, such as a Gaussian whose width is an
input, exp(-x^2 / (2 s^2)) / (sqrt(2 pi) s), with log y = -log s - x^2 (1 / s^2) / 2 - log sqrt(2 pi),
or a Boltzmann factor with a prefactor, A(T) exp(-E / T), gets the *exp of a sum plus product*
(``sum_product_model(model, "exp", sign)``), y = sign exp(sum_k g_k(x_k) + c f_1(x_1) ... f_n(x_n) + d).
Its inner sum plus product is trained on log|y| (a least-squares problem of a hundred or so
numbers, which Levenberg-Marquardt solves to the data's precision where LBFGS stalls), its factors
are snapped without constant terms (`_factors_without_offsets`: (x^2 + e) / s^2 is also a valid
spelling, and leaves e / s^2 in the sum's edge, which then fits no library function), the rest is
snapped on log|y|, and the constants are trained on log|y|, then, under the exp edge, on y.

Which networks run, and in which order, is decided by tests on the samples that take
milliseconds (`looks_like_product`: a product of one-variable polynomials fits them far better than
a sum; `looks_like_sum_product`: a sum plus a product of them fits far better than either alone),
and the second is read only when the first is not found:

- the samples look like a product: the separable product ("product"), then the model given ("given");
- they look like a sum plus a product: the model given, then the sum plus product ("sum+product");
  the model given first, because some laws that a sum plus a product of polynomials fits well on
  the box, such as sqrt(1 + a^2 + b^2), are functions of a sum, which an additive network finds;
- the samples have one sign and log|y| looks like a sum plus a product (`looks_like_exp_sum_product`):
  the exp of a sum plus product ("exp(sum+product)"), then the model given (an additive network
  would have to build the product inside the exp from sums);
- otherwise: the model given, then the function of a product ("g(product)"): samples of g(x y) with
  a curved g fit neither a sum nor a product of polynomials well. The product's output is then not
  fixed to a line, which costs accuracy on plain products (the factors and g can share the work in
  more ways, and training finds the exact spelling less often), so plain products keep the line.

The order changes in one case: when the samples look like a sum plus a product and the model given,
once trained, misfits the test samples by more than ``max_error`` of their spread, the sum plus
product network is trained and read first, and the model given is snapped and read only when that
is not found. Snapping is the slowest step, and on such samples a misfitting additive network is
usually snapped in vain: on 1 + a + 2 sqrt(a) cos d it may spend half of the run snapping and fail,
before the sum plus product network finds the law. Not always in vain: training the snapped
constants can take a formula far below the network's error, and sqrt(1 + a^2 + b^2) is then read
second, a few seconds later. For the other orders that is common, so they keep theirs.

Two networks at most, which keeps a two-variable target within about 15 s of CPU on one thread. The
result is the one that passed `check` (else the more accurate one, marked not found).
``result.method`` says which ("given", "product", "sum+product", "exp(sum+product)" or "g(product)"),
``result.tried`` what each gave, and ``result.timings`` holds the steps of each. ``multiply=False``
runs the model given alone, ``multiply=True`` the separable product alone. A model given with
multiplication nodes, e.g. ``KAN([2, (0, 1), 1])``, is used as it is. A product of three or four
inputs (m g z, q v B / p) is one node with three or four factors; a law of none of these shapes
(a Gaussian with a mean and a width, exp(-(t - m)^2 / (2 s^2)) / s: its logarithm holds
(t - m)^2, which is no product of one-variable functions) is found by none, and the result then
says NOT FOUND.

When every edge is symbolic, the formula's constants are trained by Levenberg-Marquardt
(`kanlab.train.LevenbergMarquardt`, a few dozen numbers), which takes them to the data's precision
(0.5 x_1 x_2^2 rather than 0.4998 ...).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import torch

from kanlab import symbolic
from kanlab.data import check_dataset
from kanlab.loss import root_mean_squared_error
from kanlab.regularization import model_edge_scales
from kanlab.train import LevenbergMarquardt, fit

__all__ = [
    "Discovery", "Unmatched", "check", "discover", "formula_rmse", "input_needed",
    "looks_like_exp_sum_product", "looks_like_product", "looks_like_sum_product", "product_model",
    "separable_errors", "sum_product_error", "sum_product_model", "shrink", "snap", "sparsify",
    "train",
]


@dataclass(frozen=True)
class Unmatched:
    """An edge (layer, i, j) that stayed a spline: every candidate's fit (highest R^2 first) and why."""

    edge: tuple[int, int, int]
    candidates: list[symbolic.Fit]
    reason: str


@dataclass
class Discovery:
    """What `discover` found.

    Attributes:
        formula: the network as a sympy expression with constants rounded to 4 decimals, or None when
            some edge stayed a spline (see ``unmatched``).
        exact: the same with every constant as trained (for evaluating it).
        model: the final KAN (pruned, its edges symbolic where they matched).
        fits: {(layer, i, j): Fit} for every snapped edge: the function's name, R^2 when snapped.
        unmatched: the edges that stayed splines, with their closest candidates.
        test_rmse: the formula's root-mean-square error on the test set (``exact`` in float64; the
            final model's, in its dtype, when there is no formula or numpy cannot evaluate it).
        timings: {step: seconds}, in the order the steps ran; when `discover` trained two networks,
            each network's steps, named "<method>: <step>", the first network trained first.
        spline_rmse: the spline network's RMSE on the test set before any edge was snapped.
        target_std: the standard deviation of the test targets.
        found: whether the formula passed `check` (accurate on the test set, and as good as the
            network); False also when there is no formula.
        verdict: `check`'s sentence: the two errors, and what to try next when not found.
        undefined_at: a point of the data's box where the formula is NaN or infinite, or None.
        method: which network the formula was read from: "given" (the model passed to `discover`,
            pruned), "product" (the separable product built from it, `product_model`),
            "g(product)" (the same with its output edge snapped to any function,
            ``product_model(model, "spline")``), "sum+product" (`sum_product_model`) or
            "exp(sum+product)" (``sum_product_model(model, "exp", sign)``).
        tried: {method: (found, test RMSE)} for each network whose formula `discover` read, in the
            order read.
    """

    formula: object
    exact: object
    model: object
    fits: dict
    unmatched: list
    test_rmse: float
    timings: dict = field(default_factory=dict)
    spline_rmse: float = math.nan
    target_std: float = math.nan
    found: bool = False
    verdict: str = ""
    undefined_at: tuple | None = None
    method: str = "given"
    tried: dict = field(default_factory=dict)

    def __str__(self) -> str:
        if self.formula is None:
            lines = ["formula: none (see unmatched edges)"]
        elif self.found:
            lines = [f"formula: {self.formula}"]
        else:
            lines = [f"NOT FOUND: the formula read misfits the data (below): {self.formula}"]
        if self.verdict:
            lines.append(self.verdict)
        lines.append(f"widths {self.model.config()['widths']}, test RMSE {self.test_rmse:.2e}")
        if len(self.tried) > 1:
            lines.append("networks tried: " + ", ".join(
                f"{name} ({'found' if found else 'not found'}, test RMSE {rmse:.2e})" for name, (found, rmse) in self.tried.items())
                + f"; the formula is the {self.method} network's")
        for edge, fit_ in self.fits.items():
            lines.append(f"  edge {edge}: {fit_.name:6s} R^2 = {fit_.r2:.6f}")
        for miss in self.unmatched:
            closest = ", ".join(f"{c.name} (R^2 {c.r2:.4f})" for c in miss.candidates[:3])
            lines.append(f"  edge {miss.edge}: unmatched, {miss.reason}; closest: {closest}")
        lines.append("time: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.timings.items()))
        return "\n".join(lines)


def _as_model(data, model):
    """The training set, checked against the model by `kanlab.data.check_dataset` (each step is public)."""
    data = check_dataset(data, model)
    return data.x_train, data.y_train


def _live_inputs(model) -> set[int]:
    """The inputs x_i that still reach the first layer through a live edge (spline or formula)."""
    return set(_live(model, 0).any(dim=0).nonzero()[:, 0].tolist())


def _neighbour_rmse(x, y, k: int = 3) -> float:
    """Leave-one-out RMSE of predicting each y by the mean of its k nearest neighbours' (inputs scaled to [0, 1])."""
    if x.shape[1] == 0:
        return float(y.std())
    low, high = x.amin(dim=0), x.amax(dim=0)
    scaled = (x - low) / (high - low).clamp_min(torch.finfo(x.dtype).tiny)
    distances = torch.cdist(scaled, scaled)
    distances.fill_diagonal_(math.inf)
    nearest = distances.topk(k, largest=False).indices
    return float(torch.sqrt(torch.mean((y[nearest].mean(dim=1) - y) ** 2)))


def data_need(x, y, i: int, k: int = 3, n_max: int = 2000) -> float:
    r"""How much the samples (x, y) need input x_i: the ratio of two nearest-neighbour errors,

        (leave-one-out RMSE of the mean of the k nearest neighbours, found without x_i)
        / (the same, found with every input).

    No network is involved, so a network that lost x_i cannot hide it. An input the targets do not
    depend on gives a ratio below 1 (without it, neighbours are closer); x y^2 / 2 on [0, 1] x [-1, 1]
    gives 9 for x, x / (2 (1 + y)) 11 for y, and each input of x^2 + y^2 + z^2 + w^2 (4 inputs,
    1000 samples: neighbours are far) only 1.6. At most ``n_max`` samples are used.
    """
    x, y = x[:n_max].detach(), y[:n_max].detach().reshape(len(x[:n_max]), -1)
    rest = [j for j in range(x.shape[1]) if j != i]
    return _neighbour_rmse(x[:, rest], y, k) / max(_neighbour_rmse(x, y, k), torch.finfo(x.dtype).tiny)


def input_needed(model, pruned, data, steps: int = 10, tolerance: float = 2.0, floor: float = 1e-3,
                 need: float = 1.25) -> bool:
    r"""Whether an input that ``pruned`` lost (compared with ``model``) is needed by the data.

    Needed when either test says so:

    - the samples: `data_need` of the input is above ``need`` (1.25: the targets vary with it);
    - the networks: copies of both train ``steps`` LBFGS steps without the penalty (which may have
      shrunk the input's edges before pruning looked at them), and
      RMSE_train(pruned) > tolerance * RMSE_train(model) + floor * std(y).

    The first catches an input that the penalised network had already given up, the second a weak
    dependence that neighbours cannot resolve. Neither network given is changed.
    """
    x, y = _as_model(data, model)
    lost = _live_inputs(model) - _live_inputs(pruned)
    if not lost:
        return False
    if any(data_need(x, y, i) > need for i in lost):
        return True
    errors = []
    for network in (model, pruned):
        trial = copy.deepcopy(network)
        _retrain(trial, data, steps)
        errors.append(root_mean_squared_error(trial, x, y))
    return errors[1] > tolerance * errors[0] + floor * float(y.std())


def sparsify(model, data, steps: int = 10, lamb: float = 3e-3, lamb_entropy: float = 2.0, rounds: int = 2,
             node_threshold: float = 1e-2, edge_threshold: float = 3e-2, tolerance: float = 1.5):
    """Train with the sparsity penalty and prune, up to ``rounds`` times or until pruning removes nothing.

    Each round is `kanlab.fit` for ``steps`` LBFGS steps with penalty weight ``lamb`` (grid updates
    every 5 steps), then `KAN.prune` with the thresholds, on the training inputs; the rounds stop early
    when every hidden layer is down to one node. A pruning that raises the training RMSE above
    ``tolerance`` times its value before (plus 1e-3 of the targets' spread) is tried again with
    thresholds 3 times lower, and else not done: the penalty shrinks scales, and a node whose edges
    in are small but whose edge out is steep still carries the fit (x * y loses one of its two nodes so).

    A pruning that removes an input is done only when the data do not need it (`input_needed`). The
    penalty weighs the same whatever the targets' scale, so on a target of small spread (x / (4 pi y^2),
    0.05) it can flatten an input's edges before pruning looks at them, and the error with the input
    is then no better than without it. When an input is needed, the network as before the pruning is
    retrained without the penalty (which brings the flattened edges back), pruned once more if that
    keeps every input, and returned.
    Returns the pruned KAN (the model given is trained in place).
    """
    x, y = _as_model(data, model)
    floor = 1e-3 * float(y.std())

    def pruned(model, inputs_checked):
        """The pruned network that passes (lower thresholds tried next), or None when an input is needed."""
        limit = tolerance * root_mean_squared_error(model, x, y) + floor
        for scale in (1.0, 1 / 3):
            try:
                trial = model.prune(node_threshold=scale * node_threshold, edge_threshold=scale * edge_threshold, x=x)
            except ValueError:  # no hidden node passes both thresholds: try lower ones
                continue
            if _live_inputs(trial) != _live_inputs(model):
                if inputs_checked or input_needed(model, trial, data, steps):
                    return None
            if root_mean_squared_error(trial, x, y) <= limit:
                return trial
        return model

    for _ in range(rounds):
        fit(model, data, steps=steps, optimizer="lbfgs", lr=1.0, lamb=lamb, lamb_entropy=lamb_entropy,
            update_grid_every=5, update_grid_until=steps, progress=False)
        smaller = pruned(model, inputs_checked=False)
        if smaller is None:  # the penalty flattened an input the data need: retrain without it, prune once more
            _retrain(model, data, steps)
            return pruned(model, inputs_checked=True) or model
        if smaller.widths == model.widths or all(width == 1 for width in smaller.widths[1:-1]):
            return smaller
        model = smaller
    return model


def shrink(model, data, steps: int = 10, tolerance: float = 2.0, floor: float = 3e-3, need: float = 1.25):
    """Remove hidden nodes one at a time while the network still fits without them.

    For each hidden layer wider than one node, the node carrying the least (the smallest outgoing
    normalised edge scale) is pruned and the rest retrained for ``steps`` LBFGS steps; the removal is
    kept when the training RMSE is at most ``tolerance`` times the RMSE before plus ``floor`` times the
    targets' standard deviation (ten steps rarely finish the work that the remaining nodes take over),
    and when no input the samples need is lost with it (`data_need` above ``need``).
    Returns the smallest KAN that passed (the model given may be trained in place).
    """
    x, y = _as_model(data, model)
    floor = floor * float(y.std())
    before = root_mean_squared_error(model, x, y)
    for layer in range(1, len(model.widths) - 1):
        while model.widths[layer] > 1:
            with torch.no_grad():
                outgoing = model_edge_scales(model, x)[layer].amax(dim=0)
            weakest = int(outgoing.argmin())
            trial = copy.deepcopy(model)
            trial.layers[layer].edge_mask[:, weakest] = 0
            for j in range(trial.layers[layer].out_features):
                trial.symbolic[layer].remove_edge(weakest, j)
            trial = trial.prune(node_threshold=0.0, edge_threshold=0.0, x=x)
            if any(data_need(x, y, i) > need for i in _live_inputs(model) - _live_inputs(trial)):
                break  # the last node carrying an input the samples need
            fit(trial, data, steps=steps, optimizer="lbfgs", lr=1.0, update_grid_every=5, update_grid_until=steps,
                progress=False)
            after = root_mean_squared_error(trial, x, y)
            if not after <= tolerance * before + floor:
                break
            model, before = trial, after
    return model


def train(model, data, steps: int = 10, grid_size: int | None = 10):
    """Refine the grid to ``grid_size`` intervals (when that is finer than the model's; `KAN.refine`),
    then train without penalty for ``steps`` LBFGS steps. Returns the trained KAN."""
    if grid_size is not None and grid_size > model.grid_size:
        model = model.refine(grid_size)
    fit(model, data, steps=steps, optimizer="lbfgs", lr=1.0, update_grid_every=5, update_grid_until=steps,
        progress=False)
    return model


def _live(model, layer: int):
    """(n_out, n_in) bool: the edges of a layer that are splines or formulas (not pruned)."""
    return (model.layers[layer].edge_mask != 0) | model.symbolic[layer].is_symbolic()


def _chains(model):
    """[(layer, i, n, j)]: hidden node n (an input of layer `layer`) whose only live edges are one spline in,
    (layer - 1, i, n), and one spline out, (layer, n, j). Such a node passes one function of x_i on."""
    chains = []
    for layer in range(1, len(model.layers)):
        incoming, outgoing = _live(model, layer - 1), _live(model, layer)
        splines_in = (model.layers[layer - 1].edge_mask != 0) & ~model.symbolic[layer - 1].is_symbolic()
        splines_out = (model.layers[layer].edge_mask != 0) & ~model.symbolic[layer].is_symbolic()
        for n in range(model.widths[layer] - model.products[layer]):  # a product node passes no single function on
            ins, outs = incoming[n].nonzero()[:, 0], outgoing[:, n].nonzero()[:, 0]
            if len(ins) == 1 and len(outs) == 1 and splines_in[n, ins[0]] and splines_out[outs[0], n]:
                chains.append((layer, int(ins[0]), n, int(outs[0])))
    return chains


def _merge_chains(model, data, lib, complexity_weight, steps, limit):
    """Snap each chain x_i -> node -> output as one function: the inner edge becomes the best candidate
    for the composed function h(g(x_i)), the outer edge the identity. Kept when, after ``steps`` LBFGS
    steps, the training RMSE is at most ``limit``; else the chain is left as it was. Returns the
    snapped {edge: Fit}."""
    merged = {}
    x, y = _as_model(data, model)
    for layer, i, n, j in _chains(model):
        curves = symbolic._edge_curves(model, x)
        composed = curves[layer][1][:, j, n]  # the outer edge's values, a function of x_i alone
        best = symbolic.suggest_for_samples(curves[layer - 1][0][:, i], composed, lib, complexity_weight)[0]
        identity = symbolic.Fit("x", 1.0, (1.0, 1.0, 0.0, 0.0))
        saved = copy.deepcopy(model.state_dict())
        symbolic._snap(model, layer - 1, i, n, best)
        symbolic._snap(model, layer, n, j, identity)
        if _retrain(model, data, steps) and root_mean_squared_error(model, x, y) <= limit:
            merged[(layer - 1, i, n)], merged[(layer, n, j)] = best, identity
        else:
            model.load_state_dict(saved)
    return merged


def _linear_factors(model, data, steps, limit):
    """Snap the spline edges into each multiplication node's factors to lines a t + d, all of one node's
    at once, kept when after ``steps`` LBFGS steps the training RMSE is at most ``limit``; else the
    node's edges are left as they were. Returns the snapped {edge: Fit}.

    A product's factors are defined only up to a change of variables that the edge above it undoes:
    x y is also (sqrt(x) sqrt(y))^2, and a network trained on x y may carry either. Lines, when they
    fit, are what a reader expects (the edge above then becomes a line too).
    """
    snapped = {}
    x, y = _as_model(data, model)
    for layer in range(len(model.layers)):
        n_sum = model.widths[layer + 1] - model.products[layer + 1]
        arity = model.arities[layer + 1]
        for node in range(model.products[layer + 1]):
            factors = range(n_sum + arity * node, n_sum + arity * (node + 1))
            edges = [(l, i, j) for l, i, j in symbolic.spline_edges(model) if l == layer and j in factors]
            if not edges:
                continue
            inputs, values = symbolic._edge_curves(model, x)[layer]
            lines = {(l, i, j): symbolic.fit_candidate(inputs[:, i], values[:, j, i], "x") for l, i, j in edges}
            saved = copy.deepcopy(model.state_dict())
            for edge, line in lines.items():
                symbolic._snap(model, *edge, line)
            if _retrain(model, data, steps) and root_mean_squared_error(model, x, y) <= limit:
                snapped.update(lines)
            else:
                model.load_state_dict(saved)
    return snapped


def _retrain(model, data, steps: int) -> bool:
    """`fit` for ``steps`` LBFGS steps, the grids first moved to the layers' inputs (a snapped edge's
    values may leave the next layer's grid); False (and the model as before) when the loss or a
    layer's input became NaN or infinite (a line search may try a step that sends exp(...) to infinity)."""
    saved = copy.deepcopy(model.state_dict())
    try:
        fit(model, data, steps=steps, optimizer="lbfgs", lr=1.0, update_grid_every=max(steps, 1), update_grid_until=1,
            progress=False)
    except (FloatingPointError, ValueError):
        model.load_state_dict(saved)
        return False
    return True


def _simplest(fits: list, r2_min: float, x):
    """The least complex of the fits reaching r2_min on the samples x (the better one among equally
    complex), or None."""
    good = [f for f in fits if f.r2 >= r2_min]
    return min(good, key=lambda f: (symbolic.fit_complexity(f, x), -f.r2), default=None)


def snap(model, data, lib: Sequence[str] | None = None, r2_threshold: float = 0.999, r2_min: float = 0.99,
         steps: int = 10, complexity_weight: float = 0.5, tolerance: float = 3.0,
         output_lib: Sequence[str] | None = None):
    """Snap every spline edge to a library function, the clearest edges first, checking doubtful choices.

    First, a hidden node with one spline edge in and one out only passes one function of its input on
    (pruning may split sin(2 x) into tanh inside and tan outside, neither exact alone): the inner edge
    is tried as the best candidate for the composed function, the outer edge as the identity, and kept
    when after ``steps`` LBFGS steps the training RMSE is at most ``tolerance`` times what it was
    before snapping (plus 1e-4 of the targets' spread).

    Then the edges are snapped layer by layer, from the inputs up (an edge's best function depends on
    what the edges below it compute), in rounds. Each round ranks the library for every spline edge of
    the lowest layer that still has some (`kanlab.symbolic.suggest_for_samples`, on the training
    inputs). An edge whose every candidate stays below ``r2_min`` is looked at again after the next
    snap in its layer, and left a spline (and reported) when none is left to snap there. An
    edge is *clear* when its best candidate reaches ``r2_threshold`` and no simpler candidate reaches
    ``r2_min``; all clear edges are snapped at once, and the model trains ``steps`` LBFGS steps so that
    the remaining splines adapt to the formulas. Otherwise one doubtful edge is settled (the one whose
    simplest candidate reaching ``r2_min`` fits best): when a simpler candidate than the best reaches
    ``r2_min`` (a line where artanh fits a little better, since the splines on either side of the edge
    share the work), both are snapped and trained in turn, and the simpler one is kept unless its
    training RMSE is more than ``tolerance`` times the other's.

    ``output_lib`` (None: ``lib``) are the candidates for the last layer's edges.

    Returns:
        (fits, unmatched): {(layer, i, j): Fit} of the snapped edges, and an `Unmatched` for each edge
        left a spline.
    """
    lib = list(symbolic.LIBRARY) if lib is None else symbolic._check_lib(lib)
    output_lib = lib if output_lib is None else symbolic._check_lib(output_lib)
    for name, value in (("r2_threshold", r2_threshold), ("r2_min", r2_min)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    x, y = _as_model(data, model)
    limit = tolerance * root_mean_squared_error(model, x, y) + 1e-4 * float(y.std())
    fits = _merge_chains(model, data, lib, complexity_weight, steps, limit)
    fits.update(_linear_factors(model, data, steps, limit))
    ranked = {}

    def settle(edge, choice):
        symbolic._snap(model, *edge, choice)
        fits[edge] = choice
        del ranked[edge]

    unmatched = {}
    while any(edge not in unmatched for edge in symbolic.spline_edges(model)):
        curves = symbolic._edge_curves(model, x)
        layer = min(edge[0] for edge in symbolic.spline_edges(model) if edge not in unmatched)
        inputs, values = curves[layer]
        ranked = {
            edge: symbolic.suggest_for_samples(inputs[:, edge[1]], values[:, edge[2], edge[1]],
                                               output_lib if layer == len(model.layers) - 1 else lib, complexity_weight)
            for edge in symbolic.spline_edges(model) if edge[0] == layer
        }
        simplest = {edge: _simplest(candidates, r2_min, inputs[:, edge[1]]) for edge, candidates in ranked.items()}
        for edge, candidates in list(ranked.items()):
            if simplest[edge] is None:  # nothing reaches r2_min: left a spline; the layers above go on
                unmatched[edge] = sorted(candidates, key=lambda f: -f.r2)
                del ranked[edge]
        if not ranked:
            continue
        for edge in [e for e in unmatched if e[0] == layer]:  # after this round's snaps, look again
            del unmatched[edge]
        clear = [e for e, c in ranked.items() if c[0].r2 >= r2_threshold and simplest[e].name == c[0].name]
        if clear:
            for edge in clear:
                settle(edge, ranked[edge][0])
        else:
            edge = max(ranked, key=lambda e: simplest[e].r2)
            best, simple = ranked[edge][0], simplest[edge]
            if simple.name != best.name:  # try both; the simpler wins unless clearly worse after training
                before = copy.deepcopy(model.state_dict())
                symbolic._snap(model, *edge, simple)
                simple_rmse = root_mean_squared_error(model, x, y) if _retrain(model, data, steps) else math.inf
                with_simple = copy.deepcopy(model.state_dict())
                model.load_state_dict(before)
                settle(edge, best)
                best_rmse = root_mean_squared_error(model, x, y) if _retrain(model, data, steps) else math.inf
                if simple_rmse <= tolerance * best_rmse + 1e-7 * float(y.std()):
                    model.load_state_dict(with_simple)
                    fits[edge] = simple
                continue
            settle(edge, best)
        _retrain(model, data, steps)
    return fits, [
        Unmatched(edge, closest, f"its best fit has R^2 {closest[0].r2:.4f} < r2_min = {r2_min}")
        for edge, closest in unmatched.items()
    ]


def discover(model, data, lib: Sequence[str] | None = None, var_names: Sequence[str] | None = None,
             sparsify_steps: int = 10, lamb: float = 3e-3, train_steps: int = 10, grid_size: int | None = 10,
             r2_threshold: float = 0.999, r2_min: float = 0.99, final_steps: int = 10,
             max_error: float = 1e-4, max_factor: float = 3.0, multiply="auto") -> Discovery:
    """The formula behind the samples ``data``, found by a KAN: sparsify, shrink, train, snap, read.

    Args:
        model: a `kanlab.KAN` whose input and output widths match the data, e.g. ``KAN([2, 5, 1])``; it
            is trained in place when it runs, and the final (smaller) model is in the result. A model with
            multiplication nodes, e.g. ``KAN([2, (0, 1), 1])`` (`kanlab.multiplication`), is used as
            it is; for one without, ``multiply`` says when a separable product is tried too.
        data: x_train, y_train, x_test, y_test as from `kanlab.data.function_dataset`: x (n, n_in),
            y (n, n_out) or (n,) for one output, both sets non-empty and finite (`kanlab.data.check_dataset`).
        lib: candidate functions, names in `kanlab.symbolic.LIBRARY` or your own
            (`kanlab.symbolic.function`), e.g. ``[*kanlab.symbolic.LIBRARY, j0]``; None: the whole library,
            with the functions added by `kanlab.symbolic.add_function`.
        var_names: names of the inputs in the formula; default x_1, ..., x_n.
        sparsify_steps, lamb: steps per round and weight of the sparsity penalty (`sparsify`).
        train_steps, grid_size: training before snapping, and the finer grid (`train`).
        r2_threshold, r2_min: when an edge is snapped (`snap`).
        final_steps: steps that train the formula's constants (Levenberg-Marquardt when every edge
            is symbolic, LBFGS otherwise).
        max_error, max_factor: when the formula counts as found (`check`).
        multiply: "auto" (default): the model given and a network with a multiplication node built
            from it (`product_model`, a separable product with a line or any function as the output
            edge, or `sum_product_model`, a sum plus a product, or the exp of one), which and in which
            order `looks_like_product`, `looks_like_sum_product` and `looks_like_exp_sum_product` pick
            (see the module's docstring), the second read only when the first was not found (and,
            for a sum plus a product, first when the model given misfits the samples); True: the
            separable product (output a line) alone; False: the model given alone.
            A model with multiplication nodes, or with one input or several outputs, is used as given.

    Returns:
        a `Discovery`. When some edge matches no candidate, its ``formula`` is None and ``unmatched``
        names the edge and its closest candidates; the rest of the result is still filled in. Its
        ``found`` says whether the formula passed `check`; when not, the formula is kept (it is what
        the network computes, and often a useful approximation), ``print(result)`` says NOT FOUND
        with the two errors and what to try next. ``method`` says which network it was read from,
        ``tried`` what each network read gave; ``timings`` holds the steps of both when both ran
        (``"given: snap"``, ``"product: snap"``, ...).
    """
    if not (hasattr(model, "layers") and hasattr(model, "symbolic")):
        raise TypeError(f"model must be a kanlab.KAN, got {type(model).__name__}")
    lib = None if lib is None else symbolic._check_lib(lib)  # before any training: a typo fails at once
    if var_names is not None and (isinstance(var_names, str) or len(var_names) != model.widths[0]):
        raise ValueError(f"var_names must be a list of {model.widths[0]} names, got {var_names!r}")
    if not (multiply == "auto" or isinstance(multiply, bool)):
        raise ValueError(f'multiply must be "auto", True or False, got {multiply!r}')
    data = check_dataset(data, model)  # before any training: data the model would misread fails at once
    training = dict(lib=lib, sparsify_steps=sparsify_steps, lamb=lamb, train_steps=train_steps, grid_size=grid_size)
    reading = dict(var_names=var_names, r2_threshold=r2_threshold, r2_min=r2_min, final_steps=final_steps,
                   max_error=max_error, max_factor=max_factor)
    separable = model.widths[0] >= 2 and model.widths[-1] == 1 and not any(model.products)
    if multiply is False or not separable:
        return _read_formula(_train_network(model, data, "given", **training), data, **reading)
    if multiply is True:
        return _read_formula(_train_network(product_model(model), data, "product", **training), data, **reading)
    if looks_like_product(data.x_train, data.y_train):
        order = ["product", "given"]
    elif looks_like_sum_product(data.x_train, data.y_train):
        order = ["given", "sum+product"]
    elif looks_like_exp_sum_product(data.x_train, data.y_train):
        order = ["exp(sum+product)", "given"]
    else:
        order = ["given", "g(product)"]

    trained = []  # in the order trained

    def train_network(method):
        trained.append(_train_network(_network(model, method), data, method, **training))
        return trained[-1]

    first, second = train_network(order[0]), None
    if order[1] == "sum+product" and first.spline_rmse > max_error * float(data.y_test.double().std()):
        first, second = train_network(order[1]), first  # the additive network misfits: read the sum plus product first
    results = [_read_formula(first, data, **reading)]
    if not results[0].found:
        results.append(_read_formula(second or train_network(order[1]), data, **reading))
    chosen = results[-1] if results[-1].found else min(results, key=lambda r: r.test_rmse)
    chosen.tried = {r.method: r.tried[r.method] for r in results}
    if len(trained) > 1:  # each network's steps; a network trained but not read, its training's
        read = {r.method: r.timings for r in results}
        chosen.timings = {f"{t.method}: {step}": seconds for t in trained
                          for step, seconds in read.get(t.method, t.timings).items()}
    return chosen


def _network(model, method: str):
    """The network that ``method`` names, built from ``model`` (the model itself for "given")."""
    if method == "given":
        return model
    if method in ("sum+product", "exp(sum+product)"):
        return sum_product_model(model)
    return product_model(model, "line" if method == "product" else "spline")


def _chebyshev(x, degree: int):
    """(n, degree + 1) Chebyshev polynomials T_0..T_degree of the samples x (n,), scaled to [-1, 1]."""
    t = 2 * (x - x.min()) / (x.max() - x.min()).clamp_min(1e-300) - 1
    columns = [torch.ones_like(t), t]
    while len(columns) <= degree:
        columns.append(2 * t * columns[-1] - columns[-2])
    return torch.stack(columns[: degree + 1], dim=1)


def _least_squares(columns, y):
    """The coefficients c minimising |columns c - y|^2, from the normal equations with a tiny ridge."""
    gram = columns.T @ columns
    ridge = 1e-12 * float(gram.diagonal().sum()) * torch.eye(len(gram), dtype=gram.dtype)
    return torch.linalg.solve(gram + ridge, columns.T @ y)


def _polynomial_problem(x, y, degree: int):
    """y as a float64 vector, its spread std(y), each input's Chebyshev basis up to ``degree``, and a
    column of ones: what the polynomial tests below fit."""
    x, y = x.detach().cpu().double(), y.detach().cpu().double().reshape(-1)
    bases = [_chebyshev(x[:, k], degree) for k in range(x.shape[1])]
    return y, max(float(y.std()), 1e-300), bases, torch.ones(len(y), 1, dtype=torch.float64)


def separable_errors(x, y, degree: int = 6, sweeps: int = 30) -> tuple[float, float]:
    r"""How well the samples fit a sum and a product of one-variable polynomials (degree ``degree``),
    as RMSEs over std(y):

        y ~ sum_k p_k(x_k)                 (least squares), and
        y ~ d + prod_k q_k(x_k)            (alternating least squares, ``sweeps`` rounds).

    No network: a few small least-squares problems (milliseconds)."""
    y, scale, bases, ones = _polynomial_problem(x, y, degree)
    design = torch.cat([ones] + [b[:, 1:] for b in bases], dim=1)
    additive = design @ _least_squares(design, y)
    factors = [torch.ones_like(y) for _ in bases]
    d = torch.zeros((), dtype=torch.float64)
    for _ in range(sweeps):
        for k, basis in enumerate(bases):
            others = math.prod((f for j, f in enumerate(factors) if j != k), start=torch.ones_like(y))
            columns = torch.cat([ones, basis * others[:, None]], dim=1)
            solution = _least_squares(columns, y)
            d, factors[k] = solution[0], basis @ solution[1:]
    rms = lambda fit: float(torch.sqrt(torch.mean((fit - y) ** 2))) / scale  # noqa: E731
    return rms(additive), rms(d + math.prod(factors))


def sum_product_error(x, y, degree: int = 6, sweeps: int = 30) -> float:
    r"""How well the samples fit a sum plus a product of one-variable polynomials (degree ``degree``),
    as the RMSE over std(y):

        y ~ d + sum_k p_k(x_k) + prod_k q_k(x_k)

    by alternating least squares: with every q_j but q_k fixed the fit is linear in d, the p's and
    q_k together. The q's start as the lines through the samples' box (q_k = x_k, scaled to [-1, 1]).
    No network: a few small least-squares problems (milliseconds)."""
    y, scale, bases, ones = _polynomial_problem(x, y, degree)
    additive = torch.cat([ones] + [b[:, 1:] for b in bases], dim=1)
    factors = [b[:, 1] for b in bases]
    fitted = torch.zeros_like(y)
    for _ in range(sweeps):
        for k, basis in enumerate(bases):
            others = math.prod((f for j, f in enumerate(factors) if j != k), start=torch.ones_like(y))
            columns = torch.cat([additive, basis * others[:, None]], dim=1)
            solution = _least_squares(columns, y)
            factors[k] = basis @ solution[additive.shape[1]:]
            fitted = columns @ solution
    return float(torch.sqrt(torch.mean((fitted - y) ** 2))) / scale


def looks_like_product(x, y, ratio: float = 0.1, limit: float = 1e-2) -> bool:
    """Whether the samples look like a separable product rather than a sum (`separable_errors`): the
    product's relative RMSE is below ``limit`` and below ``ratio`` times the sum's."""
    if x.shape[1] < 2:
        return False
    additive, product = separable_errors(x, y)
    return product < limit and product < ratio * additive


def looks_like_sum_product(x, y, ratio: float = 0.1, limit: float = 1e-3, degree: int = 10) -> bool:
    """Whether the samples look like a sum plus a product rather than either alone
    (`sum_product_error`, `separable_errors`, polynomials of degree ``degree``): the sum plus
    product's relative RMSE is below ``limit`` and below ``ratio`` times both the sum's and the
    product's. (Degree 10 rather than 6: cos(a) + b cos(a)^2 on a wide box needs it. A limit of 1e-3
    rather than `looks_like_product`'s 1e-2: the laws of this shape fit to about 4e-4 or better, and
    a Gaussian whose width is the second input, at about 3e-3, would pay for a network that cannot
    hold it.)"""
    if x.shape[1] < 2:
        return False
    additive, product = separable_errors(x, y, degree)
    both = sum_product_error(x, y, degree)
    return both < limit and both < ratio * min(additive, product)


def looks_like_exp_sum_product(x, y) -> bool:
    """Whether the samples have one sign and log|y| looks like a sum plus a product
    (`looks_like_sum_product`): y = sign exp(sum_k g_k(x_k) + c f_1(x_1) ... f_n(x_n) + d), such as a
    Gaussian whose width is an input, exp(-x^2 / (2 s^2)) / (sqrt(2 pi) s)."""
    y = y.detach().reshape(-1)
    if not (bool((y > 0).all()) or bool((y < 0).all())):
        return False
    return looks_like_sum_product(x, y.abs().log())


@dataclass
class _Trained:
    """A network after `_train_network`, ready for `_read_formula`: ``fitted`` is the data it was
    trained on (log|y| for "exp(sum+product)", with the samples' ``sign``), ``fits`` the edges
    already snapped, ``lib`` and ``output_lib`` the candidates for its edges."""

    model: object
    method: str
    fitted: object
    sign: float
    fits: dict
    spline_rmse: float
    lib: Sequence[str] | None
    output_lib: Sequence[str] | None
    timings: dict


def _stopwatch(timings: dict):
    """A function that writes the seconds since its last call (or since now) into ``timings[name]``."""
    last = time.perf_counter()

    def timed(name):
        nonlocal last
        now = time.perf_counter()
        timings[name] = now - last
        last = now

    return timed


def _train_network(model, data, method, lib, sparsify_steps, lamb, train_steps, grid_size) -> _Trained:
    """The first half of discover's steps on one network: ``method`` "given" (sparsify, shrink, train)
    or "product" / "g(product)" / "sum+product" (a `product_model` or `sum_product_model`: train), or
    "exp(sum+product)" (a `sum_product_model` trained on log|y|); then the spline network's test RMSE."""
    timings = {}
    timed = _stopwatch(timings)
    exp = method == "exp(sum+product)"  # its sum plus product is fitted to log|y| (`_logarithm`), then put under exp
    fitted, sign = (_logarithm(data), 1.0 if float(data.y_train.sum()) > 0 else -1.0) if exp else (data, 1.0)
    if method == "given":  # "product", "g(product)", "sum+product" or "exp(sum+product)": nothing to prune
        model = sparsify(model, data, steps=sparsify_steps, lamb=lamb)
        timed("sparsify and prune")
        if any(width > 1 for width in model.widths[1:-1]):  # shrink compares fits without the penalty
            fit(model, data, steps=train_steps, optimizer="lbfgs", lr=1.0, update_grid_every=5,
                update_grid_until=train_steps, progress=False)
            model = shrink(model, data)
        timed("shrink")
    else:
        fit(model, fitted, steps=2 * train_steps, optimizer="lbfgs", lr=1.0, update_grid_every=5,
            update_grid_until=2 * train_steps, progress=False)
    model = train(model, fitted, steps=train_steps if method == "given" else 2 * train_steps, grid_size=grid_size)
    output_lib = None
    if method != "given" and lib is None:
        lib = [*symbolic.LIBRARY, *(name for name in symbolic.FACTORS if name not in symbolic.OUTER)]
        output_lib = [*symbolic.LIBRARY, *symbolic.FACTORS]
    fits = {}
    if exp:
        _levenberg_marquardt(model, fitted, train_steps)
        fits = _factors_without_offsets(model, fitted, lib, train_steps)
    if method in ("sum+product", "exp(sum+product)"):
        _drop_flat_sums(model, fitted, train_steps, retrain=_levenberg_marquardt if exp else None)
    spline_rmse = root_mean_squared_error(_exp_of(model, sign) if exp else model, data.x_test, data.y_test)
    timed("train")
    return _Trained(model, method, fitted, sign, fits, spline_rmse, lib, output_lib, timings)


def _read_formula(trained: _Trained, data, var_names, r2_threshold, r2_min, final_steps, max_error,
                  max_factor) -> Discovery:
    """The second half: snap the trained network's edges, train the constants, read the formula and
    `check` it."""
    model, method, fitted, timings = trained.model, trained.method, trained.fitted, dict(trained.timings)
    timed = _stopwatch(timings)
    exp = method == "exp(sum+product)"
    fits = dict(trained.fits)
    snapped, unmatched = snap(model, fitted, trained.lib, r2_threshold=r2_threshold, r2_min=r2_min,
                              output_lib=trained.output_lib)
    fits.update(snapped)
    timed("snap")
    # inside exp, more steps: the constants (several redundant) converge slowly, and exp turns their error into y's
    _polish(model, fitted, 4 * final_steps if exp else final_steps)
    if exp:
        model = _exp_of(model, trained.sign)
        _polish(model, data, final_steps)
    timed("train constants")
    formula = exact = None
    if not unmatched:
        formula = symbolic.formula(model, var_names, digits=4)
        exact = symbolic.formula(model, var_names, digits=None)
    test_rmse = root_mean_squared_error(model, data.x_test, data.y_test)
    if exact is not None:
        names = var_names or [f"x_{k + 1}" for k in range(model.widths[0])]
        test_rmse = formula_rmse(exact, names, data.x_test, data.y_test, default=test_rmse)
    result = Discovery(formula, exact, model, fits, unmatched, test_rmse, timings, trained.spline_rmse,
                       float(data.y_test.double().std()), method=method)
    if exact is not None:
        result.undefined_at = undefined_point(exact, names, data.x_train)
    result.found, result.verdict = check(result, max_error, max_factor)
    result.tried = {method: (result.found, result.test_rmse)}
    timed("formula")
    return result


def _drop_flat_sums(model, data, steps: int, flat: float = 1e-3, tolerance: float = 2.0, retrain=None) -> None:
    """In a `sum_product_model`, remove the sum nodes that carry (almost) nothing: the edge into sum
    node k, whose contribution to the node above varies by less than ``flat`` times that node's
    value, such as the sum node of b in cos(a) + b cos(a)^2 (left in, its spline is noise that no
    candidate fits). A removal is kept when, after ``steps`` of ``retrain`` (None: `_retrain`,
    LBFGS), the error stays within ``tolerance`` times what it was (plus 1e-7 std(y))."""
    x, y = _as_model(data, model)
    n = model.widths[0]
    with torch.no_grad():
        contributions = model.edge_activations(x)[1][:, 0]  # the n sums' and the product's, into one node
    flats = [k for k in range(n) if float(contributions[:, k].std()) < flat * float(contributions.sum(dim=1).std())]
    if not flats:
        return
    before = copy.deepcopy(model.state_dict())
    rmse = root_mean_squared_error(model, x, y)
    with torch.no_grad():
        for k in flats:
            model.layers[0].edge_mask[k, k] = 0
    kept = (retrain or _retrain)(model, data, steps)
    if not (kept and root_mean_squared_error(model, x, y) <= tolerance * rmse + 1e-7 * float(y.std())):
        model.load_state_dict(before)


def _logarithm(data):
    """The samples with log|y| for y (a `kanlab.data.FunctionDataset`): what the sum plus product inside
    sign exp(...) is fitted to."""
    return type(data)(data.x_train, data.y_train.abs().log(), data.x_test, data.y_test.abs().log())


def _exp_of(model, sign: float):
    """The `sum_product_model` ``model`` (its layers, not copies) under an exp edge: sign exp(model(x))."""
    network = sum_product_model(model, "exp", sign)
    for layer in (0, 1):
        network.layers[layer], network.symbolic[layer] = model.layers[layer], model.symbolic[layer]
    return network


def _factors_without_offsets(model, data, lib, steps: int, tolerance: float = 3.0) -> dict:
    """Snap the product's factors of a `sum_product_model` to their best candidates without a constant,
    a f(b t + c) (d = 0), all at once, and train the splines ``steps`` Levenberg-Marquardt steps
    (`_levenberg_marquardt`); kept when the training RMSE is then at most ``tolerance`` times what it was
    (plus 1e-4 std(y)), else the factors are left as they were. Returns the snapped {edge: Fit}.

    A sum plus a product has many spellings: with two inputs, (f_1 + e) f_2 + g_2 = f_1 f_2 + (g_2 + e f_2)
    for any e, and training lands on any of them. In the one a law is written in, a factor has no
    constant term (log of a Gaussian with its width: -x^2 (1 / s^2) / 2 - log s, not
    -(x^2 + e) (1 / s^2) / 2 - log s + e / (2 s^2)), and only there is the sum's edge, log s, a
    library function. With the constants out and the formulas fixed, the sums' splines take back
    what the factors held (a linear least-squares problem: Levenberg-Marquardt solves it in a step or two).
    """
    x, y = _as_model(data, model)
    n = model.widths[0]
    edges = [(0, k, n + k) for k in range(n) if model.layers[0].edge_mask[n + k, k] != 0]
    inputs, values = symbolic._edge_curves(model, x)[0]
    fits = {}
    for edge in edges:
        best = symbolic.suggest_for_samples(inputs[:, edge[1]], values[:, edge[2], edge[1]], lib)[0]
        fits[edge] = symbolic.Fit(best.name, best.r2, (*best.params[:3], 0.0), best.function)
    limit = tolerance * root_mean_squared_error(model, x, y) + 1e-4 * float(y.std())
    saved = copy.deepcopy(model.state_dict())
    for edge, fit_ in fits.items():
        symbolic._snap(model, *edge, fit_)
    if _levenberg_marquardt(model, data, steps, train="splines") and root_mean_squared_error(model, x, y) <= limit:
        return fits
    model.load_state_dict(saved)
    return {}


def _polish(model, data, steps: int) -> None:
    """Train the formula's constants: Levenberg-Marquardt on the symbolic edges' a, b, c, d when every
    live edge is symbolic (a few dozen numbers: it converges where LBFGS stalls), else `_retrain`."""
    if symbolic.spline_edges(model) or steps <= 0:
        _retrain(model, data, steps)
        return
    _levenberg_marquardt(model, data, steps, train="formulas")


def _levenberg_marquardt(model, data, steps: int, train: str = "all") -> bool:
    """Up to ``steps`` Levenberg-Marquardt steps (`kanlab.train.LevenbergMarquardt`), stopping when a
    step lowers the squared error by less than 1e-4 of it, on the parameters ``train`` names: "all",
    "formulas" (the symbolic edges' a, b, c, d) or "splines" (the rest). False (and the model as
    before) when a step failed."""
    x, y = _as_model(data, model)
    y = y.reshape(len(y), -1)
    fixed = {"all": [], "formulas": model.layers, "splines": model.symbolic}[train]
    frozen = [p for module in fixed for p in module.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    saved = copy.deepcopy(model.state_dict())
    try:
        solver = LevenbergMarquardt(model)
        error = math.inf
        for _ in range(steps):
            after = solver.step(x, y)
            if not after < (1 - 1e-4) * error:
                break
            error = after
    except (FloatingPointError, ValueError, RuntimeError):
        model.load_state_dict(saved)
        return False
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return True


def _evaluate(expression, var_names: Sequence[str], x):
    """A sympy expression of the inputs ``var_names`` on the rows of x, in float64 (numpy); None when
    numpy cannot evaluate it (a function with no numpy form)."""
    import numpy
    import sympy

    symbols = [sympy.Symbol(name, real=True) for name in var_names]
    x64 = x.detach().cpu().double().numpy()
    try:
        with numpy.errstate(all="ignore"):
            values = sympy.lambdify(symbols, expression, modules="numpy")(*x64.T)
        return torch.as_tensor(values, dtype=torch.float64) * torch.ones(len(x64), dtype=torch.float64)
    except (NameError, TypeError, ValueError, AttributeError):
        return None


def formula_rmse(expression, var_names: Sequence[str], x, y, default: float = math.nan) -> float:
    """The RMSE of a sympy expression of the inputs ``var_names`` on samples (x, y), in float64 (numpy);
    inf where it is NaN or infinite on some sample, ``default`` when numpy cannot evaluate it."""
    values = _evaluate(expression, var_names, x)
    if values is None:
        return default
    error = float(torch.sqrt(torch.mean((values - y.detach().cpu().double().reshape(-1)) ** 2)))
    return error if math.isfinite(error) else math.inf


def undefined_point(expression, var_names: Sequence[str], x) -> tuple | None:
    """A point of the box the samples x come from where the expression is NaN or infinite; None when
    it is finite there (or numpy cannot evaluate it).

    The box is the samples' range on each axis with its ends rounded outwards to a multiple of a tenth
    of the range's power of ten (samples in [0.0002, 0.9996] give [0, 1], in [0.5004, 1.9991] give
    [0.5, 2]); it is checked on a regular grid with its corners (41 points per axis for one or two
    inputs, 15 for three, 9 for more). Samples rarely fall on the box's faces, where a formula such as
    (1.0117 x - 3.7e-5)^1.00003 is undefined."""
    low, high = x.detach().cpu().double().amin(dim=0), x.detach().cpu().double().amax(dim=0)
    unit = 10.0 ** (torch.floor(torch.log10((high - low).clamp_min(1e-300))) - 1)
    low, high = torch.floor(low / unit + 1e-9) * unit, torch.ceil(high / unit - 1e-9) * unit
    points = {1: 41, 2: 41, 3: 15}.get(len(low), 9)
    grid = torch.cartesian_prod(*[torch.linspace(float(a), float(b), points, dtype=torch.float64)
                                  for a, b in zip(low, high)]).reshape(-1, len(low))
    values = _evaluate(expression, var_names, grid)
    if values is None or bool(torch.isfinite(values).all()):
        return None
    return tuple(round(v, 6) for v in grid[~torch.isfinite(values)][0].tolist())


def check(result: Discovery, max_error: float = 1e-4, max_factor: float = 3.0) -> tuple[bool, str]:
    r"""Whether the formula of a `Discovery` can be trusted, and a sentence saying why (or why not).

    The formula (every constant as trained, in float64) is evaluated on the test samples; it counts as
    found when its RMSE there is at most

        max_error * std(y_test)                         (an absolute bound on the misfit), and
        max_factor * RMSE(spline network) + 1e-6 std    (no worse than the network it was read from).

    A formula that is NaN or infinite somewhere in the box of the samples (`undefined_point`) is not
    found either. The first bound is 1e-4 of the targets' standard deviation: a formula that misfits by that much
    is off by a few parts in ten thousand at most on the box (the largest error on a grid is about 3-5
    times the RMSE), and every exactly recovered formula of the panel is far below it; 1e-3 let
    formulas through that the panel's criterion (largest error 1e-3) calls wrong. The second asks for
    a formula about as good as the spline network it was read from (3 times its RMSE): an edge snapped
    to a nearby wrong function (a tanh for an exp) loses accuracy that the network had. The
    spline network's RMSE is measured after the training step, before any edge was snapped.
    """
    spread = result.target_std
    if result.formula is None:
        names = ", ".join(str(miss.edge) for miss in result.unmatched)
        return False, (f"No formula: edges {names} match no library function. Try adding the right function "
                       "(kanlab.symbolic.add_function), another seed, or a wider network")
    bound = min(max_error * spread, max_factor * result.spline_rmse + 1e-6 * spread)
    errors = (f"the formula's test RMSE is {result.test_rmse:.2e}, the spline network's {result.spline_rmse:.2e} "
              f"(bound {bound:.2e}: {max_error:g} of the targets' standard deviation {spread:.3g}, "
              f"and {max_factor:g} times the network's)")
    if result.undefined_at is not None:
        return False, (f"The formula is undefined (NaN or infinite) at {result.undefined_at}, inside the box of "
                       f"the samples, although {errors}: try another seed, or a library without the function "
                       "that fails there (lib=)")
    if result.test_rmse <= bound:
        return True, errors[0].upper() + errors[1:]
    if result.spline_rmse > max_error * spread:
        advice = ("the spline network itself does not fit the data that well, so no formula read from it can: "
                  "try another seed, a wider network (e.g. KAN([n, 10, 1])), more steps (train_steps, "
                  "sparsify_steps), a weaker penalty (lamb); a product may need a multiplication "
                  "node (e.g. KAN([2, (0, 1), 1]) or KAN([2, (2, 1), 1]))")
    else:
        advice = ("the network fits, but some edge snapped to the wrong function: look at result.fits and "
                  "the edges' candidates (kanlab.symbolic.suggest), add the right function to the library "
                  "(kanlab.symbolic.add_function), or try another seed")
    return False, errors[0].upper() + errors[1:] + ": " + advice


def _one_input_per_node(model, shape: str, widths, blocks: int):
    """A KAN of these ``widths`` with ``model``'s grid, spline order, ranges, noise, seed, dtype and
    device, whose first layer's nodes each read one input: node j reads x_(j mod n), for ``blocks``
    blocks of n nodes (the sums, then the product's factors). ``shape`` names the network in the
    error for a model with fewer than two inputs or more than one output."""
    if model.widths[-1] != 1 or model.widths[0] < 2:
        raise ValueError(f"{shape} needs at least two inputs and one output, got widths {model.config()['widths']}")
    parameter = next(model.parameters())
    options = model.config()
    options["widths"] = widths
    network = type(model)(**options, device=parameter.device, dtype=parameter.dtype)
    eye = torch.eye(model.widths[0], dtype=parameter.dtype, device=parameter.device)
    with torch.no_grad():
        network.layers[0].edge_mask.copy_(torch.cat([eye] * blocks))
    return network


def sum_product_model(model, output: str = "line", sign: float = 1.0):
    """The sum plus a product built from ``model``, with the model's grid, spline order, ranges,
    noise, seed, dtype and device. Its first hidden layer holds n sum nodes, sum k reading input x_k
    alone, and one product node whose factor k reads x_k alone. With ``output="line"`` it is
    ``KAN([n, (n, 1, n), 1])``, the output edges lines, so that it computes

        y = sum_k a_k g_k(x_k) + c f_1(x_1) f_2(x_2) ... f_n(x_n) + d,

    e.g. cos(a) + b cos(a)^2 or a + c b. With ``output="exp"`` it is ``KAN([n, (n, 1, n), 1, 1])``:
    lines add the same into one node, and the last edge is ``sign`` * exp(t) (a sign of +1 or -1, its
    constants trained like any edge's), so that it computes

        y = sign exp(sum_k a_k g_k(x_k) + c f_1(x_1) ... f_n(x_n) + d),

    e.g. a Gaussian whose width is an input, exp(-x^2 / (2 s^2)) / (sqrt(2 pi) s), whose logarithm
    is -log(s) - x^2 (1 / s^2) / 2 - log(sqrt(2 pi)).
    """
    if output not in ("line", "exp"):
        raise ValueError(f'output must be "line" or "exp", got {output!r}')
    if sign not in (1, -1):
        raise ValueError(f"sign must be 1 or -1, got {sign!r}")
    n = model.widths[0]
    network = _one_input_per_node(model, "a sum plus a product", [n, (n, 1, n), 1] + ([1] if output == "exp" else []), 2)
    for node in range(n + 1):
        symbolic._snap(network, 1, node, 0, symbolic.Fit("x", 1.0, (1.0, 1.0, 0.0, 0.0)))
    if output == "exp":
        symbolic._snap(network, 2, 0, 0, symbolic.Fit("exp", 1.0, (float(sign), 1.0, 0.0, 0.0)))
    return network


def product_model(model, output: str = "line"):
    """The separable product built from ``model``: ``KAN([n, (0, 1, n), 1])`` with the model's grid,
    spline order, ranges, noise, seed, dtype and device, in which factor k reads input x_k alone.
    With ``output="line"`` the output edge is the line a z + d, so that it computes

        y = a f_1(x_1) f_2(x_2) ... f_n(x_n) + d;

    with ``output="spline"`` the output edge is a spline like the others, to be snapped to any library
    function g: y = a g(b f_1(x_1) ... f_n(x_n) + c) + d, e.g. asin(x_1 / x_2).
    """
    if output not in ("line", "spline"):
        raise ValueError(f'output must be "line" or "spline", got {output!r}')
    n = model.widths[0]
    product = _one_input_per_node(model, "a separable product", [n, (0, 1, n), 1], 1)
    if output == "line":
        symbolic._snap(product, 1, 0, 0, symbolic.Fit("x", 1.0, (1.0, 1.0, 0.0, 0.0)))
    return product
