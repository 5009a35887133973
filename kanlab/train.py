r"""One fit loop for every model in the book: Adam, LBFGS or Levenberg-Marquardt, full or mini-batch,
grid updates during the first steps (on by default for a KAN, as in the KAN paper).

Each step minimises `objective`, the mean squared error

    L = (1 / n) sum_s ||model(x_s) - y_s||^2   (+ penalty(model, x) when a penalty is given),

then records the root-mean-square error sqrt(mean (model(x) - y)^2) on the whole training and
test sets. Nothing is written to disk.

A model wrapped in torch's DistributedDataParallel trains on the union of every process's data,
and every process ends with the same model: see `kanlab.distributed`.
"""

from __future__ import annotations

import math
import time
import timeit
from dataclasses import dataclass, field

import torch
from torch.optim.lbfgs import _strong_wolfe
from torch.optim.optimizer import (
    _device_dtype_check_for_fused,
    _global_optimizer_post_hooks,
    _global_optimizer_pre_hooks,
)
from tqdm.auto import tqdm

from kanlab import distributed, kan, regularization
from kanlab.data import check_dataset
from kanlab.loss import mean_squared_error

__all__ = ["History", "objective", "fit", "adam", "FusedAdam", "LBFGS", "LevenbergMarquardt", "grid_extension",
           "fit_in_turn", "loglog_slope", "seconds_per_step"]


@dataclass
class History:
    """Per-step root-mean-square errors on the training and test sets, and the grid-update steps."""

    train_rmse: list = field(default_factory=list)
    test_rmse: list = field(default_factory=list)
    grid_updates: list = field(default_factory=list)


def objective(model, x, y, penalty=None):
    """The training loss: mean squared error of model(x) against y (same shapes, never broadcast), plus
    penalty(model, x) if given."""
    loss = mean_squared_error(model(x), y)
    if penalty is not None:
        loss = loss + penalty(model, x)
    return loss


def fit(
    model,
    data,
    steps=100,
    optimizer="lbfgs",
    lr=None,
    batch_size=None,
    update_grid=True,
    update_grid_every=None,
    update_grid_until=50,
    update_grid_from=None,
    grid_eps=1.0,
    grid_samples=None,
    penalty=None,
    lamb=0.0,
    lamb_l1=1.0,
    lamb_entropy=2.0,
    seed=0,
    progress=True,
):
    """Train model on data in place and return its `History`.

    Args:
        model: any nn.Module mapping (n, n_in) to (n, n_out); grid updates need a `KAN`. It may be
            wrapped in torch.nn.parallel.DistributedDataParallel (DDP): each process then passes
            its own shard of the data, and they train together (see below).
        data: an object with x_train, y_train, x_test, y_test (e.g. `kanlab.data.function_dataset`):
            x of shape (n, n_in), y of shape (n, n_out), or (n,) for a one-output model (reshaped to
            (n, 1)); each set non-empty and finite. They are checked by `kanlab.data.check_dataset`
            (under DDP, every process raises when one process's data fails) and moved to the
            model's device and dtype.
        steps: number of optimiser steps. One LBFGS step runs up to 20 iterations with a
            strong-Wolfe line search and a memory of 10 curvature pairs (`LBFGS`); one
            Levenberg-Marquardt step is one damped Gauss-Newton update (see `LevenbergMarquardt`).
        optimizer: "lbfgs", "adam" or "lm" (Levenberg-Marquardt: for small models only, since it
            builds the Jacobian, samples * outputs by parameters; the loss must be the plain mean
            squared error, without penalty or lamb).
        lr: learning rate; default 1 for LBFGS, 1e-2 for Adam; not used by "lm".
        batch_size: samples per step, drawn afresh each step; None uses the whole training set.
        update_grid: whether a `KAN`'s grids follow its layers' inputs during the first steps, as in
            the KAN paper (ignored for models without update_grid, such as an MLP). By default,
            model.update_grid(grid_samples, grid_eps) runs before steps 5, 10, ..., 45: nine updates
            while step < update_grid_until. Not at step 0: from a fresh KAN that update would fit the
            later layers' grids to the hidden nodes' small initial range, where LBFGS then settles in
            a poor minimum (see `KAN`'s hidden_grid_range). The optimiser restarts after each update,
            since its memory refers to the old grid.
        update_grid_every: if set, grid updates run before every update_grid_every-th step (step 0
            included, unless update_grid_from says otherwise) while step < update_grid_until;
            None: the default schedule above (every 5 steps from step 5) when update_grid is True.
        update_grid_until: no grid update at this step or later.
        update_grid_from: no grid update before this step; None: 5 for the default schedule, 0 when
            update_grid_every is given.
        grid_eps: where the updates put the knots: 1 (default) spaces them evenly over the samples'
            range, 0.02 (the KAN paper's code) puts them near the samples' quantiles; see
            `KANLayer.update_grid` for what the quantiles' jitter costs.
        grid_samples: the inputs (m, n_in) that grid updates follow; None uses x_train. Samples
            spanning the whole input domain (x_train plus a lattice of the domain, say) keep points
            that the training set misses, near the domain's edges, inside every layer's grid.
        penalty: optional function penalty(model, x) -> scalar added to the loss.
        lamb, lamb_l1, lamb_entropy: when lamb > 0, the KAN paper's sparsity penalty
            lamb * (lamb_l1 * sum_l |Phi_l|_1 + lamb_entropy * sum_l S(Phi_l)) is added to the loss
            (`kanlab.regularization.sparse_objective`; needs a `KAN`).
        seed: seeds the local generator drawing mini-batches.
        progress: show a tqdm.auto progress bar (a widget in notebooks, text in terminals).

    Under DDP (`kanlab.distributed`), every process calls fit with the same arguments and its own
    data. The loss is the mean over every process's samples: each process weights its own mean by
    its share of the samples, DDP averages the gradients, and LBFGS's line search compares the
    all-reduced loss, the same number on every process. Levenberg-Marquardt sums J^T J and J^T r
    over the processes. Grid updates follow every process's grid_samples (gathered), the history's
    errors are over every process's training and test sets, and batch_size counts one process's
    samples. The KAN inside the wrapper (its `.module`) is what the grid updates, penalty and lamb
    see; a penalty (and lamb's) is each process's on its own samples, weighted and averaged as the
    loss is. Only the process of rank 0 shows a progress bar. Afterwards every process holds the
    same parameters and grids, bit for bit.

    Raises:
        ValueError: data that does not fit the model (shapes, an empty set, NaN or inf), naming the
            argument (``y_train``, ``x_test``, ...), what was expected and what was given; or a KAN
            whose grids no update will move (update_grid=False, or too few steps) while most of one
            feature's training values lie outside its first layer's grid, where its splines are zero
            and never learn (unstandardised features, say). With the default grid updates such
            features are handled: the first update moves every grid onto its inputs' range.
        FloatingPointError: the loss became NaN or infinite (lower lr). LBFGS reads every loss for
            its line search and stops at once; with Adam the losses stay on the device and are
            checked together every `CHECK_EVERY` steps, before a grid update and at the end, so
            it stops there, naming the first step whose loss was not finite.

    Between those checks a step reads nothing back from the device with Adam: the history's
    errors are kept as tensors and converted at each check, and the mini-batches' indices, drawn
    on the CPU from the seeded generator (the same batches on every device), go to the device
    `CHECK_EVERY` steps' worth at a time (LBFGS and Levenberg-Marquardt read the loss to take
    their decisions, so they wait for it at every step).
    """
    if optimizer not in ("lbfgs", "adam", "lm"):
        raise ValueError(f'optimizer must be "lbfgs", "adam" or "lm", got {optimizer!r}')
    if optimizer == "lm" and (penalty is not None or lamb):
        raise ValueError('optimizer "lm" minimises the mean squared error alone; use "lbfgs" or "adam" with penalty or lamb')
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be None or an integer >= 1, got {batch_size!r}")
    if update_grid_every is not None:
        if not isinstance(update_grid_every, int) or update_grid_every < 1:
            raise ValueError(f"update_grid_every must be None or an integer >= 1, got {update_grid_every!r}")
        if not hasattr(distributed.unwrap(model), "update_grid"):
            raise TypeError(f"update_grid_every needs a model with update_grid (a KAN), got {type(model).__name__}")
    if update_grid_from is not None and (not isinstance(update_grid_from, int) or update_grid_from < 0):
        raise ValueError(f"update_grid_from must be None or an integer >= 0, got {update_grid_from!r}")
    grid_steps = _grid_update_steps(model, update_grid, update_grid_every, update_grid_until, update_grid_from)
    parameter = next(model.parameters())
    network, replicas = distributed.unwrap(model), distributed.Replicas(model)
    data = _checked_on_every_process(data, model, replicas, parameter.device)
    x_train, y_train, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    if steps and not any(step < steps for step in grid_steps):
        replicas.raise_together(_inputs_outside_grid(network, x_train), parameter.device)
    if grid_samples is not None:
        grid_samples = _as_model_tensor(grid_samples, "grid_samples", parameter)
    else:
        grid_samples = x_train
    if grid_steps:
        grid_samples = replicas.gather(grid_samples)
    loss_function, penalty = _loss_for(model, lamb, lamb_l1, lamb_entropy, penalty)
    share = replicas.share(len(x_train) if batch_size is None else min(batch_size, len(x_train)), x_train.device)
    generator = torch.Generator().manual_seed(seed)
    history = History()
    pending, batches = _Pending(), []
    solver = _make_optimizer(network, optimizer, lr, replicas)
    with kan.inputs_checked_upstream():  # the data were checked, and the losses are watched
        for step in tqdm(range(steps), disable=not progress or replicas.rank != 0, desc="fit"):
            if step in grid_steps:
                pending.settle(history)
                network.update_grid(grid_samples, grid_eps)
                replicas.broadcast(network)
                history.grid_updates.append(step)
                solver = _make_optimizer(network, optimizer, lr, replicas)
            x, y = x_train, y_train
            if batch_size is not None and batch_size < len(x_train):
                if step % CHECK_EVERY == 0:  # the next batches in one copy to the device
                    batches = _draw_batches(len(x_train), batch_size, min(CHECK_EVERY, steps - step), generator)
                    batches = list(batches.to(x_train.device).unbind(0))
                chosen = batches.pop(0)
                x, y = x_train[chosen], y_train[chosen]

            def closure():
                solver.zero_grad()
                loss = loss_function(model, x, y, penalty)
                if share != 1:
                    loss = loss * share
                loss.backward()  # under DDP, the gradient of the mean loss over every process
                loss = replicas.sum(loss.detach().clone()) / replicas.size if replicas.distributed else loss
                if optimizer == "lbfgs" and not torch.isfinite(loss):  # LBFGS reads the loss anyway
                    raise _not_finite(loss.item(), step)
                return loss

            if optimizer == "lm":
                solver.step(x, y)
            else:
                loss = solver.step(closure)
                if optimizer == "adam":
                    pending.losses.append((step, loss.detach()))
            pending.errors.append(
                (replicas.rmse_tensor(network, x_train, y_train), replicas.rmse_tensor(network, x_test, y_test))
            )
            if (step + 1) % CHECK_EVERY == 0:
                pending.settle(history)
        pending.settle(history)
    return history


# how many of Adam's steps fit runs between two reads of the device (losses' finiteness, errors)
CHECK_EVERY = 10


@dataclass
class _Pending:
    """What `fit` has computed on the device since its last check: (step, loss) of Adam's steps
    and (train, test) root-mean-square errors, all tensors."""

    losses: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def settle(self, history):
        """Raise FloatingPointError at the first loss that is not finite; else move the errors
        into history as floats. Two reads of the device."""
        if self.losses:
            steps, losses = zip(*self.losses)
            losses = torch.stack(losses)
            finite = torch.isfinite(losses)
            if not bool(finite.all()):
                first = int((~finite).nonzero()[0, 0])
                raise _not_finite(losses[first].item(), steps[first])
            self.losses.clear()
        if self.errors:
            errors = torch.stack([torch.stack(pair) for pair in self.errors]).double().tolist()
            history.train_rmse.extend(train for train, _ in errors)
            history.test_rmse.extend(test for _, test in errors)
            self.errors.clear()


def _draw_batches(n, batch_size, count, generator):
    """count mini-batches of batch_size indices out of n, (count, batch_size): the first
    batch_size of a fresh permutation each, drawn on the CPU in turn (the same batches, one at a
    time or several at once)."""
    return torch.stack([torch.randperm(n, generator=generator)[:batch_size] for _ in range(count)])


def _not_finite(value, step):
    return FloatingPointError(f"the loss became {value} at step {step}; lower lr (the data were checked: finite)")


def grid_extension(model, data, grid_sizes, steps=10, **fit_options):
    """Grid extension: refine a trained KAN to each grid size in turn and train it there.

    For each G in grid_sizes, `KAN.refine` makes a copy on G intervals that computes the same
    function (up to a least-squares fit), and `fit` trains the copy for `steps` steps with
    fit_options; the next grid starts from it. model itself is left as it is. A KAN wrapped in
    DistributedDataParallel is refined inside its wrapper (the same on every process, since the
    processes hold the same grids and coefficients), and each copy is wrapped anew on the same
    devices and process group (`kanlab.distributed.rewrap`).

    Returns:
        a list of (model on grid G, its `History`), one pair per grid size, in order; under DDP
        the models are wrapped.
    """
    if not hasattr(distributed.unwrap(model), "refine"):
        raise TypeError(f"grid_extension needs a model with refine (a KAN), got {type(model).__name__}")
    sizes = list(grid_sizes)
    if not sizes or any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in sizes):
        raise ValueError(f"grid_sizes must be a non-empty list of integers >= 1, got {grid_sizes!r}")
    stages = []
    for grid_size in sizes:
        model = distributed.rewrap(model, distributed.unwrap(model).refine(grid_size))
        stages.append((model, fit(model, data, steps=steps, **fit_options)))
    return stages


def fit_in_turn(model, phases, x_plot, **fit_options):
    """Continual learning: train model on each data set of phases in turn, never revisiting one.

    After phase p, errors[p, r] is the root-mean-square error on phase r's test set, and
    predictions[p] is model(x_plot). Forgetting of phase r shows as errors[-1, r] > errors[r, r].

    Args:
        model: any nn.Module, or one wrapped in DistributedDataParallel (the errors are then over
            every process's test sets); trained in place.
        phases: a list of data sets (x_train, y_train, x_test, y_test), as `kanlab.data.peak_phases` makes.
        x_plot: inputs (n, n_in) at which to record the model after each phase.
        fit_options: passed to `fit` for every phase (steps, optimizer, ...).

    Returns:
        (errors, predictions): tensors of shape (P, P) and (P, n, n_out), P = len(phases).
    """
    if len(phases) == 0:
        raise ValueError("fit_in_turn: phases must hold at least one data set")
    parameter = next(model.parameters())
    x_plot = _as_model_tensor(x_plot, "x_plot", parameter)
    network, replicas = distributed.unwrap(model), distributed.Replicas(model)
    phases = [_checked_on_every_process(phase, model, replicas, parameter.device) for phase in phases]
    errors, predictions = [], []
    for phase in phases:
        fit(model, phase, **fit_options)
        errors.append([replicas.rmse(network, p.x_test, p.y_test) for p in phases])
        with torch.no_grad():
            predictions.append(network(x_plot))
    return torch.tensor(errors, dtype=torch.float64), torch.stack(predictions)


def loglog_slope(x, y):
    """The least-squares slope of log y against log x: the exponent p of a power law y ~ C x^p."""
    x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"loglog_slope: x and y must be two 1-D sequences of the same length >= 2, "
                         f"got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    if not bool((x > 0).all() and (y > 0).all()):
        raise ValueError("loglog_slope: x and y must be positive (their logarithms are taken)")
    u, v = x.log() - x.log().mean(), y.log() - y.log().mean()
    return float((u * v).sum() / (u * u).sum())


def seconds_per_step(forward, x, y, number=10, repeat=5):
    """The shortest time of one training step's work: forward(x), the mean squared error against y,
    and backward. Each of `repeat` rounds times `number` steps; the fastest round, per step, is
    returned (the least disturbed by whatever else the machine runs). The time is this process's
    CPU time, which other programs on a busy machine disturb far less than the wall clock; with one
    thread (torch.set_num_threads(1)) on a CPU it is the step's own time. (On a GPU, which works
    while the host waits, the wall clock is the measure: time such steps with torch.cuda.Event.)

    forward is any callable: a model, or a function of x whose tensors require gradients.
    """
    for name, value in (("number", number), ("repeat", repeat)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"seconds_per_step: {name} must be an integer >= 1, got {value!r}")

    def step():
        torch.mean((forward(x) - y) ** 2).backward()

    step()  # a first call pays for one-off work (allocations, caches)
    return min(timeit.repeat(step, timer=time.process_time, number=number, repeat=repeat)) / number


def _inputs_outside_grid(model, x_train):
    """The ValueError to raise when most of one feature's training values lie outside a KAN's
    first-layer grid and no grid update will move it (else None): there every B-spline is zero, so
    that edge is w^b silu(x) alone and its spline never learns (unstandardised features on the
    default grid [-1, 1], say). Under DDP, fit raises on every process when one has it."""
    layers = getattr(model, "layers", None)
    if not layers or not hasattr(layers[0], "grid_range"):
        return None  # not a KAN
    lo, hi = layers[0].grid_range
    outside = ((x_train < lo) | (x_train > hi)).to(x_train.dtype).mean(dim=0)
    feature = int(outside.argmax())
    if outside[feature] <= 0.5:
        return None
    return ValueError(
        f"x_train: {100 * float(outside[feature]):.0f}% of the values of feature {feature} lie outside the "
        f"first layer's grid [{float(lo[feature]):.3g}, {float(hi[feature]):.3g}], where its splines are zero "
        "and cannot learn, and no grid update runs; standardise the features, or let fit move the grids "
        f"(update_grid=True and more than {_DEFAULT_GRID_UPDATE_EVERY} steps), or build the KAN with a "
        "grid_range that covers them"
    )


def _grid_update_steps(model, update_grid, every, until, start):
    """The steps before which fit updates the grids (see `fit`'s update_grid arguments)."""
    model = distributed.unwrap(model)
    if every is None:
        if not update_grid or not hasattr(model, "update_grid"):
            return set()
        every, start = _DEFAULT_GRID_UPDATE_EVERY, _DEFAULT_GRID_UPDATE_EVERY if start is None else start
    start = 0 if start is None else start
    return {step for step in range(start, until) if step % every == 0}


# pykan's default: ten updates spread over the first 50 steps (here nine, the one at step 0 left out)
_DEFAULT_GRID_UPDATE_EVERY = 5


def _loss_for(model, lamb, lamb_l1, lamb_entropy, penalty):
    """fit's loss(model, x, y, penalty) and the penalty it passes: with DDP, the prediction goes
    through the wrapper (whose forward arms the gradients' averaging), while the penalty and the
    sparsity penalty get the KAN inside; without DDP, as given."""
    if not isinstance(model, distributed.DistributedDataParallel):
        return (regularization.sparse_objective(lamb, lamb_l1, lamb_entropy) if lamb else objective), penalty
    network = distributed.unwrap(model)

    def network_penalty(wrapper, x):
        total = penalty(network, x) if penalty is not None else 0.0
        if lamb:  # a second pass through the KAN, for its edges' scales
            scales = regularization.model_edge_scales(network, x)
            total = total + lamb * regularization.sparsity_penalty(scales, lamb_l1, lamb_entropy)
        return total

    return objective, network_penalty if penalty is not None or lamb else None


def adam(parameters, lr):
    """`FusedAdam` where PyTorch's fused kernel takes the parameters (floating point, on a device
    that has it, such as the CPU, CUDA or MPS), else torch.optim.Adam (complex parameters, say), whose
    default implementation runs about ten operations per parameter tensor from Python. Both take the
    same steps, to rounding."""
    parameters = list(parameters)
    try:
        return FusedAdam(parameters, lr=lr)
    except RuntimeError:  # "`fused=True` requires all the params to be floating point Tensors of supported devices"
        return torch.optim.Adam(parameters, lr=lr)


class FusedAdam(torch.optim.Adam):
    """torch.optim.Adam(fused=True) with a short path from `step` to its kernel. At step t the kernel
    makes, for every parameter with a gradient g (g + weight_decay theta where weight_decay is set),

        m <- b1 m + (1 - b1) g,            v <- b2 v + (1 - b2) g^2,
        m_hat = m / (1 - b1^t),            v_hat = v / (1 - b2^t),
        theta <- theta - lr m_hat / (sqrt(v_hat) + eps),

    in one call for all the tensors of a device and dtype. That is torch.optim.Adam(fused=True)'s
    kernel on its state (step, exp_avg, exp_avg_sq), with GradScaler's unscaling inside it, so the
    parameters agree with it to the bit. What goes is Python around the kernel: torch.optim.Adam's
    per-parameter checks for options this class refuses (amsgrad, maximize, capturable,
    differentiable, decoupled weight decay: ValueError) and the profiler ranges that
    torch.optim.Optimizer opens around every `step` and `zero_grad`, even with no profiler running.
    This class opens them, and runs the step hooks, only when a profiler runs or a hook is
    registered. In a training step of batch 4096 [2, 5, 1] on the CPU the ranges took about 40 us
    and the kernel 14 us, and the step got about a quarter shorter (`benchmarks/README.md`)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, fused=True)

    def add_param_group(self, param_group):
        """torch.optim.Adam's, for groups without the refused options (ValueError) and with floating
        point parameters on a device that has the fused kernel (RuntimeError, which torch.optim.Adam
        raises only at its first step)."""
        _check_options(param_group, fused=param_group.get("fused", True))
        super().add_param_group(param_group)
        try:
            for parameter in self.param_groups[-1]["params"]:
                _device_dtype_check_for_fused(parameter)
        except RuntimeError:
            self.param_groups.pop()
            raise

    def load_state_dict(self, state_dict):
        """torch.optim.Adam's, for the state dict of any Adam without the refused options (ValueError);
        the step counts of a non-fused one come back as the fused kernel reads them (float32, on the
        parameter's device)."""
        for group in state_dict["param_groups"]:
            _check_options(group)
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["fused"] = True
            for parameter in group["params"]:
                if parameter in self.state:
                    state = self.state[parameter]
                    state["step"] = state["step"].to(dtype=torch.float32, device=parameter.device)

    def step(self, *args, **kwargs):
        """One Adam step of every parameter that has a gradient, step(closure=None): returns
        closure()'s loss if given, computed with gradients on."""
        hooked = (torch._C._autograd._profiler_enabled() or self._optimizer_step_pre_hooks
                  or self._optimizer_step_post_hooks or _global_optimizer_pre_hooks or _global_optimizer_post_hooks)
        return (self._hooked_step if hooked else self._step)(*args, **kwargs)

    step.hooked = True  # (torch.optim.Optimizer wraps any other step in its profiler range and hooks)

    @torch.no_grad()
    def _step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            kinds = {}  # the kernel takes the tensors of one device and dtype at a time
            for parameter in group["params"]:
                if parameter.grad is not None:
                    kinds.setdefault((parameter.device, parameter.dtype), []).append(parameter)
            for (device, _), parameters in kinds.items():
                self._update(parameters, group, device)
        return loss

    _hooked_step = torch.optim.Optimizer.profile_hook_step(_step)

    def _update(self, parameters, group, device):
        if device.type == "cuda" and torch.cuda.is_current_stream_capturing():
            raise RuntimeError("FusedAdam's step cannot be captured in a CUDA graph (its lr and step count would "
                               "be those of the capture): use torch.optim.Adam(fused=True, capturable=True)")
        states = [self._state(parameter) for parameter in parameters]
        steps = [state["step"] for state in states]
        lr = group["lr"]  # (a tensor lr off the CPU goes to the parameters' device, as in torch.optim.Adam)
        lr = lr.to(device) if isinstance(lr, torch.Tensor) and lr.device.type != "cpu" else lr
        grad_scale, found_inf = (None if t is None else t.to(device) for t in (getattr(self, "grad_scale", None),
                                                                              getattr(self, "found_inf", None)))
        beta1, beta2 = group["betas"]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            parameters, [parameter.grad for parameter in parameters], [state["exp_avg"] for state in states],
            [state["exp_avg_sq"] for state in states], [], steps, amsgrad=False, lr=lr, beta1=beta1, beta2=beta2,
            weight_decay=group["weight_decay"], eps=group["eps"], maximize=False, grad_scale=grad_scale,
            found_inf=found_inf,
        )  # fmt: skip
        if found_inf is not None:  # a step GradScaler skipped does not count
            torch._foreach_sub_(steps, [found_inf] * len(steps))

    def _state(self, parameter):
        """The parameter's state, laid out as torch.optim.Adam(fused=True) lays it out at its first step."""
        state = self.state[parameter]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32, device=parameter.device)
            state["exp_avg"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
        return state

    def zero_grad(self, set_to_none=True):
        """Sets every parameter's gradient to None (with set_to_none=False, or while a profiler runs,
        torch.optim.Optimizer.zero_grad does the work)."""
        if not set_to_none or torch._C._autograd._profiler_enabled():
            return super().zero_grad(set_to_none)
        for group in self.param_groups:
            for parameter in group["params"]:
                parameter.grad = None


# options of torch.optim.Adam that FusedAdam refuses (each changes the update or how it runs)
_REFUSED_OPTIONS = ("amsgrad", "maximize", "capturable", "differentiable", "decoupled_weight_decay")


def _check_options(group, fused=True):
    """ValueError unless a parameter group's options are FusedAdam's: none of _REFUSED_OPTIONS, fused."""
    refused = [name for name in _REFUSED_OPTIONS if group.get(name)] + ([] if fused is True else [f"fused={fused}"])
    if refused:
        raise ValueError(f"FusedAdam takes lr, betas, eps and weight_decay only, got {', '.join(refused)}: "
                         "use torch.optim.Adam for the others")


def _make_optimizer(model, name, lr, replicas=None):
    if name == "lm":
        return LevenbergMarquardt(model, replicas=replicas)
    if name == "adam":
        return adam(model.parameters(), lr=1e-2 if lr is None else lr)
    return LBFGS(model.parameters(), lr=1.0 if lr is None else lr)


class LBFGS(torch.optim.LBFGS):
    r"""torch.optim.LBFGS with a strong-Wolfe line search, history 10, and every curvature pair kept.

    One step runs up to max_iter = 20 quasi-Newton iterations (and at most 25 loss evaluations). After each, the pair s = theta_new -
    theta_old, y = grad_new - grad_old enters the ten-pair memory if y^T s > tolerance_ys.
    torch.optim.LBFGS hard-codes that threshold at 1e-10: near a fine fit the squared error is ~1e-9
    or smaller and so is y^T s, so torch stops learning curvature exactly when it matters (measured on
    the [2, 1, 1] KAN of `tests/test_accuracy.py`, float64, seed 3: test RMSE 1.0e-3, 2.0e-4, 3.7e-5 at
    G = 10, 20, 50 with 1e-10, against 4.3e-4, 4.8e-5, 2.7e-6 with 1e-32). pykan's LBFGS uses 1e-32 too.
    The other tolerances default to 1e-32 as well, so a step always runs its iterations.

    When the line search finds no lower loss along the quasi-Newton direction (it returns t = 0),
    the memory is cleared and the next iteration starts again from steepest descent; torch.optim.LBFGS
    would keep that direction, and every later step would retry it without moving. In float32 that
    happens near a fine fit, where rounding hides the loss's decrease (measured on the grid extension
    of `tests/test_accuracy.py`, float32, seeds 0-4: test RMSE 1.8e-5 to 3.5e-5 at G = 20 and 1.6e-6
    to 6.8e-6 at G = 50 without the restart, 1.9e-5 to 2.1e-5 and 1.9e-6 to 3.3e-6 with it).
    """

    def __init__(self, params, lr=1.0, max_iter=20, history_size=10, tolerance_grad=1e-32, tolerance_change=1e-32,
                 tolerance_ys=1e-32):
        super().__init__(params, lr=lr, max_iter=max_iter, history_size=history_size, tolerance_grad=tolerance_grad,
                         tolerance_change=tolerance_change, line_search_fn="strong_wolfe")
        self.tolerance_ys = tolerance_ys

    @torch.no_grad()
    def step(self, closure):
        """Up to max_iter iterations on closure (which zeroes the gradients, computes the loss, calls
        backward and returns the loss); returns the loss before the first."""
        group = self.param_groups[0]
        lr, max_iter, history = group["lr"], group["max_iter"], group["history_size"]
        closure = torch.enable_grad()(closure)
        state = self.state[self._params[0]]
        state.setdefault("n_iter", 0)
        first_loss = closure()
        loss, grad, evaluations = float(first_loss), self._gather_flat_grad(), 1
        if grad.abs().max() <= group["tolerance_grad"]:
            return first_loss
        pairs = state.setdefault("pairs", [])  # (s, y, 1 / y^T s), oldest first
        for _ in range(max_iter):
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                direction, state["scale"] = grad.neg(), 1.0
            else:
                y, s = grad - state["previous_grad"], state["direction"] * state["t"]
                ys = y.dot(s)
                if ys > self.tolerance_ys:
                    if len(pairs) == history:
                        pairs.pop(0)
                    pairs.append((s, y, 1.0 / ys))
                    state["scale"] = ys / y.dot(y)
                direction = _two_loop(grad, pairs, state["scale"])
            state["previous_grad"], previous_loss = grad.clone(), loss
            t = min(1.0, 1.0 / float(grad.abs().sum())) * lr if state["n_iter"] == 1 else lr
            slope = grad.dot(direction)
            if slope > -group["tolerance_change"]:  # not a descent direction: stop here
                if state["n_iter"] == 1:  # steepest descent itself, so the gradient is ~0 and no direction was
                    state["n_iter"] = 0   # taken: the next step starts from steepest descent again
                break
            start = self._clone_param()
            loss, grad, t, searched = _strong_wolfe(
                lambda x, t, d: self._directional_evaluate(closure, x, t, d), start, t, direction, loss, grad, slope,
                max_ls=group["max_eval"] - evaluations,
            )
            self._add_grad(t, direction)
            state["direction"], state["t"] = direction, t
            evaluations += searched
            if t == 0:  # no point along the direction lowered the loss: the memory misleads, forget it
                if not pairs or evaluations >= group["max_eval"]:
                    break
                pairs.clear()
                state["n_iter"] = 0
                continue
            if (
                evaluations >= group["max_eval"]
                or grad.abs().max() <= group["tolerance_grad"]
                or direction.mul(t).abs().max() <= group["tolerance_change"]
                or abs(loss - previous_loss) < group["tolerance_change"]
            ):
                break
        return first_loss


def _two_loop(grad, pairs, scale):
    """The L-BFGS direction -H grad, with H the inverse-Hessian estimate built from the pairs
    (s, y, 1 / y^T s) on top of scale * I (Nocedal and Wright, algorithm 7.4)."""
    q = grad.neg()
    alphas = []
    for s, y, rho in reversed(pairs):
        alphas.append(s.dot(q) * rho)
        q.add_(y, alpha=-alphas[-1])
    r = q.mul(scale)
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        r.add_(s, alpha=alpha - y.dot(r) * rho)
    return r


class LevenbergMarquardt:
    r"""Levenberg-Marquardt steps on the squared error of a model: a Gauss-Newton method for least squares.

    With the residuals r = model(x) - y (flattened to n * n_out) and their Jacobian J (n * n_out, P)
    with respect to the P trainable parameters theta, one step proposes

        delta = -(J^T J + mu diag(J^T J))^{-1} J^T r,

    and keeps theta + delta if it lowers ||r||^2, trying again with a larger damping mu otherwise (up
    to 20 times, then theta stays). mu follows Nielsen's rule: with rho the actual decrease of
    ||r||^2 over the decrease delta^T (mu diag(J^T J) delta - J^T r) that the linear model predicts,
    an accepted step multiplies mu by max(1/3, 1 - (2 rho - 1)^3), a rejected one by 2, 4, 8, ...
    Small mu is Gauss-Newton, large mu a short gradient step scaled per parameter (Marquardt).
    Where the squared error has long, narrow valleys (a KAN on a fine grid), LBFGS's ten-pair memory
    of the curvature crawls along them while J^T J sees all P curvatures at once.

    Cost: J is (n * n_out, P), built by batched backward passes, and J^T J is P by P, so this suits
    small models (hundreds to a few thousand parameters, a few thousand samples). The linear solve
    runs in float64.

    With replicas (`kanlab.distributed.Replicas` of several processes, each with its own samples),
    J^T J, J^T r and ||r||^2 are summed over the processes' samples before every decision, so
    every process takes the step one process would take on all of them. model must then be the
    bare network, not its DistributedDataParallel wrapper, which cannot take a Jacobian
    (torch.autograd.grad leaves its gradient averaging waiting).
    """

    def __init__(self, model, damping=1e-3, replicas=None):
        if isinstance(model, distributed.DistributedDataParallel):
            raise TypeError("LevenbergMarquardt needs the network itself: pass model.module and "
                            "replicas=kanlab.distributed.Replicas(model)")
        self.model = model
        self.parameters = [p for p in model.parameters() if p.requires_grad]
        self.damping = damping
        self.replicas = replicas if replicas is not None and replicas.distributed else None

    def jacobian(self, x):
        """J (n * n_out, P): d model(x)_{s,o} / d theta, one row per residual, parameters flattened in order.

        Computed 64 samples at a time: one forward pass, then one batched backward pass (vmapped
        over the rows of the identity) for all of the chunk's residuals.
        """
        blocks = []
        for chunk in x.split(64):
            out = self.model(chunk).reshape(-1)
            rows = torch.eye(out.numel(), dtype=out.dtype, device=out.device)
            grads = torch.autograd.grad(out, self.parameters, rows, is_grads_batched=True, allow_unused=True)
            blocks.append(torch.cat([_flat(g, p, out.numel()) for g, p in zip(grads, self.parameters)], dim=1))
        return torch.cat(blocks)

    def step(self, x, y):
        """One Levenberg-Marquardt step on the samples (x, y); returns the squared error it leaves."""
        jacobian = self.jacobian(x).double()
        with torch.no_grad():
            prediction = self.model(x)
            mean_squared_error(prediction, y)  # the shapes must agree: raises rather than broadcast
            residual = (prediction - y).reshape(-1)
            error = float(self._total(residual.double().pow(2).sum()))
            if not math.isfinite(error):
                raise FloatingPointError(f"the squared error became {error}; check the data for outliers")
            curvature = self._total(jacobian.T @ jacobian)
            gradient = self._total(jacobian.T @ residual.double())
            # parameters the samples do not reach (zero columns) get a tiny scale, hence no step
            scale = curvature.diagonal().clamp_min(1e-12 * float(curvature.diagonal().max().clamp_min(1e-300)))
            start = [p.detach().clone() for p in self.parameters]
            growth = 2.0
            for _ in range(20):
                delta, info = torch.linalg.solve_ex(curvature + self.damping * torch.diag(scale), -gradient)
                if info == 0 and torch.isfinite(delta).all():
                    self._set(start, delta)
                    trial = float(self._total((self.model(x) - y).double().pow(2).sum()))  # NaN fails the test below
                    predicted = float(delta @ (self.damping * scale * delta - gradient))
                    if trial < error and predicted > 0:
                        gain = (error - trial) / predicted
                        self.damping = max(self.damping * max(1 / 3, 1 - (2 * gain - 1) ** 3), 1e-15)
                        return trial
                self.damping *= growth
                growth *= 2
            self._set(start)
            return error

    def _total(self, tensor):
        """tensor summed over the processes' samples (this process's alone without replicas)."""
        return tensor if self.replicas is None else self.replicas.sum(tensor)

    def _set(self, start, delta=None):
        """theta = start + delta (delta flattened in parameter order; None: theta = start)."""
        offset = 0
        for p, p0 in zip(self.parameters, start):
            p.copy_(p0)
            if delta is not None:
                p.add_(delta[offset : offset + p.numel()].view_as(p).to(p.dtype))
            offset += p.numel()


def _flat(gradient, parameter, rows):
    """A batched gradient (rows, *parameter.shape) as (rows, parameter.numel()); None is zeros."""
    if gradient is None:
        return parameter.new_zeros(rows, parameter.numel())
    return gradient.reshape(rows, -1)


def _checked_on_every_process(data, model, replicas, device):
    """`kanlab.data.check_dataset` of this process's data. Under DDP every process raises when any
    one's data fails the check: a process that raised alone would leave the others waiting in
    their next collective until its timeout."""
    try:
        checked, problem = check_dataset(data, model), None
    except (TypeError, ValueError) as error:
        checked, problem = None, error
    replicas.raise_together(problem, device)
    return checked


def _as_model_tensor(value, name, parameter):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value.to(device=parameter.device, dtype=parameter.dtype)
