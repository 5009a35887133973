"""The squared error of a prediction, refusing the broadcast that turns a shape slip into a number.

PyTorch broadcasts ``prediction - target``: an (n, 1) prediction against an (n,) target becomes an
(n, n) matrix of every prediction minus every target, whose mean is a finite number, and a model
trained on it learns nonsense without a word. Every loss and error in kanlab goes through here.
"""

import torch
from torch import Tensor

__all__ = ["mean_squared_error", "root_mean_squared_error"]


def mean_squared_error(prediction: Tensor, target: Tensor) -> Tensor:
    r"""(1 / (n m)) sum_{s,o} (prediction_{s,o} - target_{s,o})^2 for two tensors of the same shape (n, m).

    Raises:
        ValueError: the shapes differ (no broadcasting), naming both.
    """
    if prediction.shape != target.shape:
        raise ValueError(
            f"the model's output has shape {tuple(prediction.shape)} but the targets have shape "
            f"{tuple(target.shape)}; they must be equal (check y's shape with kanlab.data.check_dataset)"
        )
    return torch.mean((prediction - target) ** 2)


@torch.no_grad()
def root_mean_squared_error(model, x: Tensor, y: Tensor) -> float:
    """sqrt(mean (model(x) - y)^2) as a Python float, without building a graph."""
    return float(torch.sqrt(mean_squared_error(model(x), y)))
