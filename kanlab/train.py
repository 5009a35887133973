r"""One fit loop for every model in the book: Adam or LBFGS, full or mini-batch, optional grid updates.

Each step minimises `objective`, the mean squared error

    L = (1 / n) sum_s ||model(x_s) - y_s||^2   (+ penalty(model, x) when a penalty is given),

then records the root-mean-square error sqrt(mean (model(x) - y)^2) on the whole training and
test sets. Nothing is written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from kanlab import regularization

__all__ = ["History", "objective", "fit"]


@dataclass
class History:
    """Per-step root-mean-square errors on the training and test sets, and the grid-update steps."""

    train_rmse: list = field(default_factory=list)
    test_rmse: list = field(default_factory=list)
    grid_updates: list = field(default_factory=list)


def objective(model, x, y, penalty=None):
    """The training loss: mean squared error of model(x) against y, plus penalty(model, x) if given."""
    loss = torch.mean((model(x) - y) ** 2)
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
    update_grid_every=None,
    update_grid_until=50,
    grid_eps=0.02,
    penalty=None,
    lamb=0.0,
    lamb_l1=1.0,
    lamb_entropy=2.0,
    seed=0,
    progress=True,
):
    """Train model on data in place and return its `History`.

    Args:
        model: any nn.Module mapping (n, n_in) to (n, n_out); grid updates need a `KAN`.
        data: an object with x_train, y_train, x_test, y_test (e.g. `kanlab.data.function_dataset`);
            they are moved to the model's device and dtype.
        steps: number of optimiser steps. One LBFGS step runs up to 20 iterations with a
            strong-Wolfe line search (torch.optim.LBFGS defaults otherwise, history 10).
        optimizer: "lbfgs" or "adam".
        lr: learning rate; default 1 for LBFGS, 1e-2 for Adam.
        batch_size: samples per step, drawn afresh each step; None uses the whole training set.
        update_grid_every: if set, call model.update_grid(x_train, grid_eps) before every
            update_grid_every-th step while step < update_grid_until (the optimiser restarts then,
            since its memory refers to the old grid).
        penalty: optional function penalty(model, x) -> scalar added to the loss.
        lamb, lamb_l1, lamb_entropy: when lamb > 0, the KAN paper's sparsity penalty
            lamb * (lamb_l1 * sum_l |Phi_l|_1 + lamb_entropy * sum_l S(Phi_l)) is added to the loss
            (`kanlab.regularization.sparse_objective`; needs a `KAN`).
        seed: seeds the local generator drawing mini-batches.
        progress: show a tqdm.auto progress bar (a widget in notebooks, text in terminals).

    Raises:
        FloatingPointError: the loss became NaN or infinite (lower lr, or check the data).
    """
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f'optimizer must be "lbfgs" or "adam", got {optimizer!r}')
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be None or an integer >= 1, got {batch_size!r}")
    if update_grid_every is not None:
        if not isinstance(update_grid_every, int) or update_grid_every < 1:
            raise ValueError(f"update_grid_every must be None or an integer >= 1, got {update_grid_every!r}")
        if not hasattr(model, "update_grid"):
            raise TypeError(f"update_grid_every needs a model with update_grid (a KAN), got {type(model).__name__}")
    parameter = next(model.parameters())
    x_train, y_train, x_test, y_test = (
        _as_model_tensor(getattr(data, name), name, parameter) for name in ("x_train", "y_train", "x_test", "y_test")
    )
    loss_function = regularization.sparse_objective(lamb, lamb_l1, lamb_entropy) if lamb else objective
    generator = torch.Generator().manual_seed(seed)
    history = History()
    solver = _make_optimizer(model, optimizer, lr)
    for step in tqdm(range(steps), disable=not progress, desc="fit"):
        if update_grid_every is not None and step < update_grid_until and step % update_grid_every == 0:
            model.update_grid(x_train, grid_eps)
            history.grid_updates.append(step)
            solver = _make_optimizer(model, optimizer, lr)
        x, y = x_train, y_train
        if batch_size is not None and batch_size < len(x_train):
            chosen = torch.randperm(len(x_train), generator=generator)[:batch_size].to(x_train.device)
            x, y = x_train[chosen], y_train[chosen]

        def closure():
            solver.zero_grad()
            loss = loss_function(model, x, y, penalty)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss.item()} at step {step}; lower lr or check the data for outliers"
                )
            loss.backward()
            return loss

        solver.step(closure)
        history.train_rmse.append(_rmse(model, x_train, y_train))
        history.test_rmse.append(_rmse(model, x_test, y_test))
    return history


def _make_optimizer(model, name, lr):
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=1e-2 if lr is None else lr)
    return torch.optim.LBFGS(
        model.parameters(),
        lr=1.0 if lr is None else lr,
        history_size=10,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-32,
        tolerance_change=1e-32,
    )


@torch.no_grad()
def _rmse(model, x, y):
    return torch.sqrt(torch.mean((model(x) - y) ** 2)).item()


def _as_model_tensor(value, name, parameter):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"data.{name} must be a torch.Tensor, got {type(value).__name__}")
    return value.to(device=parameter.device, dtype=parameter.dtype)
