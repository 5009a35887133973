r"""A KAN of widths [n, 1] read as a generalised additive model (GAM).

Such a KAN computes

    f(x) = sum_i phi_i(x_i),

one learned curve per feature, summed: the model class of Hastie and Tibshirani's generalised
additive models, which practitioners fit to tables of measurements because each curve can be drawn
and read. (A KAN has no intercept: the constant is shared among the curves, so only their shapes
are meaningful, and each is drawn about its mean over the samples.)

Ranking the features. A feature matters as much as its curve moves the output over the data:

    spread_i = std_s phi_i(x_{s,i})        (the population standard deviation over the samples s),

in the output's units. For a linear model f(x) = b + sum_i w_i x_i the same measure is
|w_i| std_s x_{s,i}, the size of a standardised coefficient, so the two rankings can be compared
directly.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["contributions", "curve_spread", "feature_curves"]


def _check_additive(model, x: Tensor) -> None:
    widths = getattr(model, "widths", None)
    if not (hasattr(model, "edge_activations") and isinstance(widths, list)):
        raise TypeError(f"model must be a kanlab.KAN of widths [n, 1], got {type(model).__name__}")
    if len(widths) != 2 or widths[1] != 1 or any(model.products):
        raise ValueError(f"model must be a KAN of widths [n, 1] (an additive model), got widths {widths}")
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != widths[0] or x.shape[0] < 2:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must be a tensor of shape (n_samples >= 2, {widths[0]}), got {shape}")


def _curves_at(model, x: Tensor) -> Tensor:
    """phi_i(x_{s,i}) for every sample s and feature i: (n_samples, n)."""
    return model.edge_activations(x)[0][:, 0, :]


@torch.no_grad()
def contributions(model, x: Tensor) -> Tensor:
    r"""What each feature adds to the output at each sample: phi_i(x_{s,i}).

    The rows sum to the model's output, f(x_s) = sum_i phi_i(x_{s,i}); column i plotted against
    x[:, i] traces feature i's curve at the samples.

    Args:
        model: a `kanlab.KAN` of widths [n, 1] (spline or snapped edges).
        x: the samples (n_samples, n).

    Returns:
        (n_samples, n): entry (s, i) is phi_i(x_{s,i}), in the output's units.
    """
    _check_additive(model, x)
    return _curves_at(model, x)


@torch.no_grad()
def curve_spread(model, x: Tensor) -> Tensor:
    r"""How much each feature's curve moves the output on the samples x: spread_i = std_s phi_i(x_{s,i}).

    Args:
        model: a `kanlab.KAN` of widths [n, 1] (spline or snapped edges).
        x: the samples (n_samples, n), e.g. the training inputs.

    Returns:
        (n,) the spread of every feature's curve, in the output's units (population standard deviation).
    """
    _check_additive(model, x)
    return _curves_at(model, x).std(dim=0, correction=0)


@torch.no_grad()
def feature_curves(model, x: Tensor, points: int = 200) -> tuple[Tensor, Tensor]:
    r"""Every feature's learned curve over the range its samples cover, centred on its mean over them.

    Args:
        model: a `kanlab.KAN` of widths [n, 1].
        x: the samples (n_samples, n) whose range and mean the curves are drawn over.
        points: how many points of each curve, evenly spaced from min x_i to max x_i.

    Returns:
        (t, curves), both (points, n): column i holds t_i and phi_i(t_i) - mean_s phi_i(x_{s,i}).
    """
    _check_additive(model, x)
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"points must be an integer >= 2, got {points!r}")
    lo, hi = x.min(dim=0).values, x.max(dim=0).values
    steps = torch.linspace(0, 1, points, dtype=x.dtype, device=x.device)[:, None]
    t = lo + (hi - lo) * steps
    return t, _curves_at(model, t) - _curves_at(model, x).mean(dim=0)
