r"""The perceptron: Heaviside's step, the model :math:`y = H(\mathbf{w}\cdot\mathbf{x} + b)`, and
Rosenblatt's learning rule.
"""

from dataclasses import dataclass

import torch
from torch import nn


def heaviside(z):
    r"""Heaviside's step function, with the value one half on the step.

    .. math::
        H(z) = \begin{cases} 1 & z > 0 \\ \tfrac12 & z = 0 \\ 0 & z < 0 \end{cases}

    Args:
        z: a floating-point tensor of any shape, without NaN.

    Returns:
        A tensor of the same shape, dtype and device as ``z``.
    """
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"heaviside: z must be a torch.Tensor, got {type(z).__name__}")
    if not z.is_floating_point():
        raise TypeError(f"heaviside: z must be a floating-point tensor (H(0) = 0.5 is not an integer), got {z.dtype}")
    if torch.isnan(z).any():
        raise ValueError("heaviside: z contains NaN, which is on neither side of the step")
    return torch.heaviside(z, z.new_tensor(0.5))


class Perceptron(nn.Module):
    r"""A single neuron with a step activation: :math:`\hat y = H(\mathbf{w}\cdot\mathbf{x} + b)`.

    The set :math:`\mathbf{w}\cdot\mathbf{x} + b = 0` is a hyperplane; inputs on its positive
    side give 1, inputs on its negative side 0, and inputs on it exactly :math:`\tfrac12`.

    Args:
        in_features: size :math:`n` of each input :math:`\mathbf{x} \in \mathbb{R}^n`.
        dtype, device: of the parameters.

    Shape:
        - Input: :math:`(N, n)`, a batch of :math:`N` inputs.
        - Output: :math:`(N,)`, one value in :math:`\{0, \tfrac12, 1\}` per input.

    Attributes:
        weight: :math:`\mathbf{w}`, shape :math:`(n,)`, zero after ``reset_parameters()``.
        bias: :math:`b`, a scalar, zero after ``reset_parameters()``.

    Example:
        >>> voter = Perceptron.from_weights([1.0], -18.0)
        >>> voter(torch.tensor([[17.0], [18.0], [19.0]])).tolist()
        [0.0, 0.5, 1.0]
    """

    def __init__(self, in_features, dtype=None, device=None):
        super().__init__()
        if isinstance(in_features, bool) or not isinstance(in_features, int) or in_features < 1:
            raise ValueError(f"Perceptron: in_features must be a positive int, got {in_features!r}")
        self.in_features = in_features
        # The rule below changes these by hand, never by gradients.
        self.weight = nn.Parameter(torch.empty(in_features, dtype=dtype, device=device), requires_grad=False)
        self.bias = nn.Parameter(torch.empty((), dtype=dtype, device=device), requires_grad=False)
        self.reset_parameters()

    @classmethod
    def from_weights(cls, weight, bias):
        r"""A perceptron with the given :math:`\mathbf{w}` (a sequence or 1-D tensor) and :math:`b`."""
        weight = torch.as_tensor(weight, dtype=torch.get_default_dtype() if not torch.is_tensor(weight) else None)
        if weight.dim() != 1 or weight.numel() == 0 or not weight.is_floating_point():
            raise ValueError(
                f"Perceptron.from_weights: weight must be a non-empty 1-D floating sequence, got shape "
                f"{tuple(weight.shape)} and dtype {weight.dtype}"
            )
        perceptron = cls(weight.numel(), dtype=weight.dtype, device=weight.device)
        with torch.no_grad():
            perceptron.weight.copy_(weight)
            perceptron.bias.fill_(float(bias))
        return perceptron

    def reset_parameters(self):
        """Set :math:`\\mathbf{w} = 0` and :math:`b = 0`, Rosenblatt's usual starting point."""
        with torch.no_grad():
            self.weight.zero_()
            self.bias.zero_()

    def score(self, x):
        r""":math:`z = \mathbf{w}\cdot\mathbf{x} + b`: which side of the hyperplane, and how far
        (in units of :math:`\lVert\mathbf{w}\rVert`). Shape :math:`(N, n) \to (N,)`."""
        _check_inputs(x, self.in_features, "x")
        if x.dtype != self.weight.dtype:
            raise TypeError(f"x must have the perceptron's dtype {self.weight.dtype}, got {x.dtype}")
        return x @ self.weight + self.bias

    def forward(self, x):
        r""":math:`\hat y = H(\mathbf{w}\cdot\mathbf{x} + b)`. Shape :math:`(N, n) \to (N,)`."""
        return heaviside(self.score(x))

    def extra_repr(self):
        return f"in_features={self.in_features}"


@dataclass
class RuleHistory:
    r"""Everything Rosenblatt's rule did, update by update.

    Attributes:
        weights: shape ``(U + 1, n)``: :math:`\mathbf{w}` at the start and after each of the
            ``U`` updates.
        biases: shape ``(U + 1,)``: :math:`b` at the start and after each update.
        update_epochs: shape ``(U,)``: the epoch (counted from 1) in which each update happened.
        update_samples: shape ``(U,)``: the index of the example that caused each update.
        mistakes_per_epoch: one int per epoch: how many examples the perceptron got wrong
            when it met them during that epoch.
        converged: True when the last epoch made no mistake, so that the weights are final.
    """

    weights: torch.Tensor
    biases: torch.Tensor
    update_epochs: torch.Tensor
    update_samples: torch.Tensor
    mistakes_per_epoch: list
    converged: bool

    @property
    def epochs(self):
        """How many passes over the data the rule made (the last one mistake-free if converged)."""
        return len(self.mistakes_per_epoch)

    @property
    def num_updates(self):
        """How many times the weights changed."""
        return len(self.update_epochs)

    def after_epoch(self, epoch):
        r"""``(w, b)`` at the end of ``epoch`` (1 to ``epochs``); epoch 0 gives the start."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= self.epochs:
            raise ValueError(f"after_epoch: epoch must be an int from 0 to {self.epochs}, got {epoch!r}")
        # the weights after the last update made in or before this epoch
        index = int((self.update_epochs <= epoch).sum())
        return self.weights[index], self.biases[index]


def rosenblatt_rule(perceptron, X, y, *, lr=1.0, max_epochs=100):
    r"""Train ``perceptron`` in place with Rosenblatt's rule and return its history.

    The examples are visited in order, epoch after epoch. For each example
    :math:`(\mathbf{x}, y)` with prediction :math:`\hat y = H(\mathbf{w}\cdot\mathbf{x} + b)`:

    .. math::
        \mathbf{w} \leftarrow \mathbf{w} + \eta\,(y - \hat y)\,\mathbf{x}, \qquad
        b \leftarrow b + \eta\,(y - \hat y).

    A correct prediction changes nothing; a wrong one tilts and shifts the hyperplane towards
    the example's correct side. An example lying exactly on the hyperplane gets
    :math:`\hat y = \tfrac12`, which is never right, so it causes a half-size step. The rule
    stops after the first epoch without a mistake (converged) or after ``max_epochs`` epochs.

    Args:
        perceptron: a :class:`Perceptron` with ``in_features == n``; its weights are the
            starting point and are overwritten.
        X: inputs, floating tensor of shape ``(N, n)``, ``N >= 1``.
        y: targets, shape ``(N,)``, every entry 0 or 1.
        lr: the learning rate :math:`\eta > 0`.
        max_epochs: the most passes over the data, a positive int.

    Returns:
        A :class:`RuleHistory`.
    """
    if not isinstance(perceptron, Perceptron):
        raise TypeError(f"rosenblatt_rule: perceptron must be a Perceptron, got {type(perceptron).__name__}")
    _check_inputs(X, perceptron.in_features, "X")
    if not isinstance(y, torch.Tensor) or y.shape != (X.shape[0],):
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"rosenblatt_rule: y must be a tensor of shape ({X.shape[0]},) like X's rows, got {shape}")
    if not ((y == 0) | (y == 1)).all():
        raise ValueError(f"rosenblatt_rule: y must hold only 0 and 1, got values {sorted(set(y.tolist()))}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"rosenblatt_rule: lr must be a positive number, got {lr!r}")
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f"rosenblatt_rule: max_epochs must be a positive int, got {max_epochs!r}")

    y = y.to(X.dtype)
    weights, biases = [perceptron.weight.detach().clone()], [perceptron.bias.detach().clone()]
    update_epochs, update_samples, mistakes_per_epoch = [], [], []
    converged = False
    with torch.no_grad():
        for epoch in range(1, max_epochs + 1):
            mistakes = 0
            for index in range(X.shape[0]):
                x = X[index : index + 1]  # shape (1, n)
                error = y[index] - perceptron(x)[0]
                if error != 0:
                    mistakes += 1
                    perceptron.weight += lr * error * x[0]
                    perceptron.bias += lr * error
                    weights.append(perceptron.weight.detach().clone())
                    biases.append(perceptron.bias.detach().clone())
                    update_epochs.append(epoch)
                    update_samples.append(index)
            mistakes_per_epoch.append(mistakes)
            if mistakes == 0:
                converged = True
                break
    return RuleHistory(
        weights=torch.stack(weights),
        biases=torch.stack(biases),
        update_epochs=torch.tensor(update_epochs, dtype=torch.long),
        update_samples=torch.tensor(update_samples, dtype=torch.long),
        mistakes_per_epoch=mistakes_per_epoch,
        converged=converged,
    )


def _check_inputs(x, in_features, argument):
    """Raise a clear error unless ``x`` is a floating tensor of shape (N, in_features), N >= 1."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{argument} must be a torch.Tensor of shape (N, {in_features}), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{argument} must be floating point, got {x.dtype}")
    if x.dim() != 2 or x.shape[1] != in_features or x.shape[0] == 0:
        raise ValueError(f"{argument} must have shape (N, {in_features}) with N >= 1, got {tuple(x.shape)}")
