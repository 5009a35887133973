r"""Multi-layer perceptrons: the networks of chapters 3 to 5, and how their weights are learned.

An MLP with widths ``[n_0, n_1, ..., n_D]`` maps x in R^{n_0} through D affine layers, with a fixed
activation phi between them and none after the last (D for depth; L is the loss):

    h_0 = x,    h_l = phi(W_l h_{l-1} + b_l)  (l = 1, ..., D - 1),    y = W_D h_{D-1} + b_D.

Each h_l is a point of the l-th hidden space (`MLP.hidden_spaces`). For classification the output
is a score (a logit): one output means "class 1 when the score is positive", several outputs mean
"the class with the largest score". `train_classifier` finds the weights by (full-batch) gradient
descent on the cross-entropy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

__all__ = ["ACTIVATIONS", "ACTIVATION_DERIVATIVES", "MLP", "ClassifierHistory", "train_classifier", "predict",
           "accuracy", "parameter_count", "dead_units", "dead_at_start_probability", "train_seeds",
           "collapsed_affine_map", "BackpropTrace", "backprop_trace", "backpropagate"]

ACTIVATIONS = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda z: z,
}

# phi'(z), the derivative of each activation, written out for `backpropagate` (autograd does not need them).
ACTIVATION_DERIVATIVES = {
    "relu": lambda z: (z > 0).to(z.dtype),
    "tanh": lambda z: 1 - torch.tanh(z) ** 2,
    "sigmoid": lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z)),
    "identity": lambda z: torch.ones_like(z),
}


class MLP(nn.Module):
    r"""A multi-layer perceptron, ``y = W_D phi(... phi(W_1 x + b_1) ...) + b_D``.

    Args:
        widths: ``[in_features, hidden_1, ..., out_features]``, at least two whole numbers >= 1.
        activation: the activation phi between layers: ``"relu"``, ``"tanh"``, ``"sigmoid"``
            or ``"identity"`` (no activation: the whole network is then one affine map).
        seed: seeds the local generator that draws the initial weights (the global RNG is untouched).
        device, dtype: of the parameters (default: the CPU and ``torch.get_default_dtype()``).

    Shape:
        - Input: ``(N, in_features)``.
        - Output: ``(N, out_features)``.

    Attributes:
        layers: the ``nn.Linear`` layers; ``layers[l].weight`` is W_{l+1}, of shape
            ``(widths[l + 1], widths[l])``. Initial values are drawn from
            U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the distribution ``nn.Linear`` uses.

    Example:
        >>> model = MLP([2, 2, 1], activation="relu", seed=0)
        >>> model(torch.zeros(4, 2)).shape
        torch.Size([4, 1])
    """

    def __init__(self, widths: Sequence[int], activation: str = "relu", seed: int = 0, device=None, dtype=None):
        super().__init__()
        widths = _checked_widths(widths)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        self.widths = widths
        self.in_features, self.out_features = widths[0], widths[-1]
        self.activation = activation
        # skip_init: nn.Linear would draw its own first weights from the global RNG.
        self.layers = nn.ModuleList(
            nn.utils.skip_init(nn.Linear, n_in, n_out, device=device or "cpu", dtype=dtype)
            for n_in, n_out in zip(widths[:-1], widths[1:])
        )
        self.reset_parameters(torch.Generator().manual_seed(seed))

    @classmethod
    def from_weights(cls, weights: Sequence, biases: Sequence, activation: str = "relu", dtype=None) -> "MLP":
        """An MLP with the given weights: ``weights[l]`` of shape (n_{l+1}, n_l), ``biases[l]`` of n_{l+1}."""
        if len(weights) != len(biases) or len(weights) == 0:
            raise ValueError(
                f"weights and biases must be two equally long, non-empty lists (one entry per layer), "
                f"got {len(weights)} weights and {len(biases)} biases"
            )
        dtype = torch.get_default_dtype() if dtype is None else dtype
        weights = [torch.as_tensor(w, dtype=dtype) for w in weights]
        biases = [torch.as_tensor(b, dtype=dtype) for b in biases]
        widths = [weights[0].shape[-1]] + [w.shape[0] for w in weights]
        for layer, (w, b) in enumerate(zip(weights, biases)):
            if w.shape != (widths[layer + 1], widths[layer]) or b.shape != (widths[layer + 1],):
                raise ValueError(
                    f"layer {layer}: weights must have shape (n_out, n_in) matching the previous layer's "
                    f"n_out = {widths[layer]} and biases shape (n_out,); got weights {tuple(w.shape)} "
                    f"and biases {tuple(b.shape)}"
                )
        model = cls(widths, activation=activation, dtype=dtype)
        with torch.no_grad():
            for linear, w, b in zip(model.layers, weights, biases):
                linear.weight.copy_(w)
                linear.bias.copy_(b)
        return model

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Redraws every weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        with torch.no_grad():
            for linear in self.layers:
                bound = 1.0 / math.sqrt(linear.in_features)
                for parameter in (linear.weight, linear.bias):
                    values = torch.rand(parameter.shape, generator=generator, dtype=torch.float64)
                    parameter.copy_((2 * values - 1) * bound)

    def forward(self, x: Tensor) -> Tensor:
        return self.hidden_spaces(x, include_output=True)[-1]

    def hidden_spaces(self, x: Tensor, include_output: bool = False) -> list[Tensor]:
        """The points h_1, ..., h_{D-1} that x becomes in each hidden space, each (N, widths[l]).

        With ``include_output`` the output y (the last layer's scores) is appended.
        """
        _check_input(x, self.in_features)
        sigma = ACTIVATIONS[self.activation]
        spaces, h = [], x
        for linear in self.layers[:-1]:
            h = sigma(linear(h))
            spaces.append(h)
        if include_output:
            spaces.append(self.layers[-1](h))
        return spaces

    def from_space(self, h: Tensor, space: int) -> Tensor:
        """The output scores for points h of space ``space``: 0 is the input space, l the l-th hidden space.

        ``from_space(hidden_spaces(x)[l - 1], l)`` equals ``forward(x)``: what the rest of the network
        answers for a point, wherever the earlier layers put it. Shapes: h (N, widths[space]) -> (N, out_features).
        """
        if isinstance(space, bool) or not isinstance(space, int) or not 0 <= space < len(self.layers):
            raise ValueError(f"space must be an integer from 0 (input) to {len(self.layers) - 1} (last hidden), "
                             f"got {space!r}")
        _check_input(h, self.widths[space])
        sigma = ACTIVATIONS[self.activation]
        for linear in self.layers[space:-1]:
            h = sigma(linear(h))
        return self.layers[-1](h)

    def extra_repr(self) -> str:
        return f"widths={self.widths}, activation={self.activation!r}"


def parameter_count(model: nn.Module) -> int:
    """The number of trainable numbers in model (every weight and bias)."""
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)


def predict(model: nn.Module, x: Tensor) -> Tensor:
    """The class the model answers for each row of x: ``score > 0`` for one output, else the arg-max."""
    with torch.no_grad():
        scores = model(x)
    if scores.shape[-1] == 1:
        return (scores[:, 0] > 0).long()
    return scores.argmax(dim=-1)


def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """The fraction of the rows of x whose predicted class equals y (integers or 0/1 floats)."""
    return float((predict(model, x) == y.long()).double().mean())


@dataclass
class ClassifierHistory:
    """The loss and training accuracy after every epoch, and copies of the weights at chosen epochs."""

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    snapshot_epochs: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)

    def model_at(self, model: nn.Module, epoch: int) -> nn.Module:
        """model with the weights it had after ``epoch`` (one of ``snapshot_epochs``; 0 is the start)."""
        if epoch not in self.snapshot_epochs:
            raise ValueError(f"epoch must be one of the snapshot epochs {self.snapshot_epochs}, got {epoch!r}")
        model.load_state_dict(self.snapshots[self.snapshot_epochs.index(epoch)])
        return model


def classification_loss(scores: Tensor, y: Tensor) -> Tensor:
    r"""The cross-entropy of the scores against the classes y.

    One output (binary): ``-mean(y log s(z) + (1 - y) log(1 - s(z)))`` with s the sigmoid;
    several outputs: ``-mean(log softmax(z)_y)``.
    """
    if scores.shape[-1] == 1:
        return nn.functional.binary_cross_entropy_with_logits(scores[:, 0], y.to(scores.dtype))
    return nn.functional.cross_entropy(scores, y.long())


def train_classifier(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    epochs: int = 1000,
    lr: float = 0.1,
    optimizer: str = "sgd",
    snapshot_every: int | None = None,
) -> ClassifierHistory:
    r"""Full-batch training of model on (x, y) in place, by gradient descent on `classification_loss`.

    Each epoch computes the loss on all of x, its gradient by backpropagation, and one update:
    ``"sgd"`` is plain gradient descent, theta <- theta - lr * dL/dtheta; ``"adam"`` is Adam.

    Args:
        model: maps (N, n_in) to (N, 1) scores (two classes 0/1) or (N, C) scores (C classes).
        x: inputs (N, n_in); y: classes (N,), integers or 0/1 floats.
        epochs: number of updates (full passes over x).
        lr: learning rate.
        optimizer: ``"sgd"`` or ``"adam"``.
        snapshot_every: if set, keep a copy of the weights before training and after every
            ``snapshot_every``-th epoch (see `ClassifierHistory.model_at`).

    Returns:
        a `ClassifierHistory` with the loss and accuracy after every epoch.
    """
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f'optimizer must be "sgd" or "adam", got {optimizer!r}')
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
    if snapshot_every is not None and (not isinstance(snapshot_every, int) or snapshot_every < 1):
        raise ValueError(f"snapshot_every must be None or an integer >= 1, got {snapshot_every!r}")
    if not isinstance(y, Tensor) or y.ndim != 1 or y.shape[0] != x.shape[0]:
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(f"y must be a tensor of shape ({x.shape[0]},), one class per row of x, got {shape}")
    solver = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(model.parameters(), lr=lr)
    history = ClassifierHistory()

    def snapshot(epoch):
        history.snapshot_epochs.append(epoch)
        history.snapshots.append({name: value.detach().clone() for name, value in model.state_dict().items()})

    if snapshot_every is not None:
        snapshot(0)
    for epoch in range(1, epochs + 1):
        solver.zero_grad()
        loss = classification_loss(model(x), y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss.item()} at epoch {epoch}; lower lr")
        loss.backward()
        solver.step()
        history.loss.append(loss.item())
        history.accuracy.append(accuracy(model, x, y))
        if snapshot_every is not None and epoch % snapshot_every == 0:
            snapshot(epoch)
    return history


def _checked_widths(widths) -> list[int]:
    if not isinstance(widths, (list, tuple)) or len(widths) < 2:
        raise ValueError(f"widths must be a list [in_features, ..., out_features] of at least 2 integers, got {widths!r}")
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in widths):
        raise ValueError(f"widths must hold integers >= 1, got {widths!r}")
    return list(widths)


def _check_input(x, in_features: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (N, {in_features}), got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != in_features:
        raise ValueError(f"x must have shape (N, {in_features}), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating tensor, got dtype {x.dtype}")


def dead_units(model: MLP, x: Tensor) -> list[Tensor]:
    """For each hidden layer, which units output exactly 0 on every row of x, as a bool tensor (widths[l],).

    A ReLU unit that is 0 on every training input also has a zero gradient there, for its incoming
    weights and its bias: full-batch gradient descent can never bring it back. Its layer has lost it.
    """
    with torch.no_grad():
        return [(h == 0).all(dim=0) for h in model.hidden_spaces(x)]


def dead_at_start_probability(x: Tensor, samples: int = 100_000, seed: int = 0) -> float:
    r"""The chance that a freshly drawn ReLU unit reading x is dead on every row of x, by sampling.

    A unit z = w . x + b is dead on x when max_n (w . x_n + b) <= 0: every input lies on the
    inactive side of its line. `MLP` draws w and b from one uniform U(-a, a), a = 1/sqrt(fan_in),
    and the event does not depend on a, so this draws ``samples`` units from U(-1, 1) and returns
    the fraction that is dead. For XOR's four corners the exact value is 13/48.

    Args:
        x: (N, in_features) inputs, N >= 1; samples: how many units to draw; seed: of their generator.
    """
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[0] == 0 or not x.is_floating_point():
        got = f"shape {tuple(x.shape)}, dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must be a floating tensor of shape (N, in_features) with N >= 1, got {got}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    generator = torch.Generator().manual_seed(seed)
    units = 2 * torch.rand(samples, x.shape[1] + 1, generator=generator, dtype=torch.float64) - 1  # rows: (w, b)
    z = units[:, :-1] @ x.to(torch.float64).T + units[:, -1:]  # (samples, N)
    return float((z.max(dim=1).values <= 0).double().mean())


def train_seeds(
    widths: Sequence[int],
    seeds: Sequence[int],
    x: Tensor,
    y: Tensor,
    epochs: int = 500,
    lr: float = 0.5,
    activation: str = "relu",
) -> list[MLP]:
    r"""One ``MLP(widths, activation, seed)`` per seed, each trained on (x, y) by plain gradient descent.

    Every network gets exactly what ``train_classifier(model, x, y, epochs, lr, optimizer="sgd")``
    would give it, theta <- theta - lr * dL/dtheta, but all of them step together: their weights are
    stacked into tensors of shape (S, n_{l+1}, n_l) for S seeds, so a hundred small networks train
    about as fast as one.

    Returns:
        the S trained networks, in the order of ``seeds``, with the dtype of x.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
    if len(seeds) == 0:
        raise ValueError("seeds must hold at least one seed, got none")
    if not isinstance(y, Tensor) or y.ndim != 1 or y.shape[0] != x.shape[0]:
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(f"y must be a tensor of shape ({x.shape[0]},), one class per row of x, got {shape}")
    models = [MLP(widths, activation=activation, seed=seed, dtype=x.dtype) for seed in seeds]
    _check_input(x, models[0].in_features)
    n_seeds, n_layers = len(models), len(widths) - 1
    # weights[l]: (S, n_{l+1}, n_l), biases[l]: (S, n_{l+1}).
    weights = [torch.stack([m.layers[l].weight.detach() for m in models]).requires_grad_() for l in range(n_layers)]
    biases = [torch.stack([m.layers[l].bias.detach() for m in models]).requires_grad_() for l in range(n_layers)]
    sigma = ACTIVATIONS[activation]
    inputs = x.expand(n_seeds, *x.shape)  # (S, N, n_0)
    for epoch in range(1, epochs + 1):
        h = inputs
        for layer, (w, b) in enumerate(zip(weights, biases)):
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))  # (S, N, n_{l+1})
            if layer < n_layers - 1:
                h = sigma(h)
        # The sum of the S mean losses: each network's gradient is that of its own loss.
        if h.shape[-1] == 1:
            targets = y.to(h.dtype).expand(n_seeds, -1)
            losses = nn.functional.binary_cross_entropy_with_logits(h[..., 0], targets, reduction="none")
        else:
            losses = nn.functional.cross_entropy(h.flatten(0, 1), y.long().repeat(n_seeds), reduction="none")
            losses = losses.view(n_seeds, -1)
        loss = losses.mean(dim=1).sum()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"a loss became {loss.item()} at epoch {epoch}; lower lr")
        gradients = torch.autograd.grad(loss, weights + biases)
        with torch.no_grad():
            for parameter, gradient in zip(weights + biases, gradients):
                parameter -= lr * gradient
    with torch.no_grad():
        for index, model in enumerate(models):
            for linear, w, b in zip(model.layers, weights, biases):
                linear.weight.copy_(w[index])
                linear.bias.copy_(b[index])
    return models


def collapsed_affine_map(model: MLP) -> tuple[Tensor, Tensor]:
    r"""The one affine map ``y = W x + b`` that an MLP without activation is.

    With phi the identity, ``W_D (... (W_1 x + b_1) ...) + b_D = W x + b`` where
    ``W = W_D ... W_1`` and ``b = W_D (... (W_2 b_1 + b_2) ...) + b_D``: however many layers,
    a stack of affine maps draws no more than one of them.

    Returns:
        ``(W, b)``: W of shape (out_features, in_features), b of shape (out_features,).
    """
    if not isinstance(model, MLP) or model.activation != "identity":
        given = model.activation if isinstance(model, MLP) else type(model).__name__
        raise ValueError(f'model must be an MLP with activation "identity" to collapse to one map, got {given!r}')
    with torch.no_grad():
        weight, bias = model.layers[0].weight.clone(), model.layers[0].bias.clone()
        for linear in model.layers[1:]:
            weight, bias = linear.weight @ weight, linear.weight @ bias + linear.bias
    return weight, bias


@dataclass
class BackpropTrace:
    """Every number of one forward and one backward pass, layer by layer (rows: the N inputs).

    ``inputs[l]`` is h_l, what layer l + 1 reads (``inputs[0]`` is x); ``pre_activations[l]`` is
    z_{l+1} = W_{l+1} h_l + b_{l+1}; ``deltas[l]`` is dL/dz_{l+1}; ``input_gradients[l]`` is dL/dh_l;
    ``gradients[l]`` is (dL/dW_{l+1}, dL/db_{l+1}); ``loss`` is L.
    """

    inputs: list
    pre_activations: list
    deltas: list
    input_gradients: list
    gradients: list
    loss: float


def backprop_trace(model: MLP, x: Tensor, y: Tensor) -> BackpropTrace:
    r"""One forward and one backward pass of `classification_loss` (one output), every number kept.

    Forward, keep every pre-activation z_l = W_l h_{l-1} + b_l and h_l = phi(z_l), with phi the layer
    activation. Backward, start from the output's error and walk the layers from the last to the first:

        delta_D = (s(z_D) - y) / N,                  s the logistic sigmoid: dL/dz_D;
        dL/dh_{l-1} = delta_l W_l;
        delta_{l-1} = dL/dh_{l-1} * phi'(z_{l-1})    (elementwise): dL/dz_{l-1};
        dL/dW_l = delta_l^T h_{l-1},  dL/db_l = sum over rows of delta_l.

    For one input (N = 1) the deltas are the sensitivities of that input's loss: how much it changes
    per unit nudge of each z.

    Args:
        model: an MLP with one output; x: (N, in_features); y: (N,) classes 0/1.

    Returns:
        a `BackpropTrace`.
    """
    if not isinstance(model, MLP) or model.out_features != 1:
        got = model.widths if isinstance(model, MLP) else type(model).__name__
        raise ValueError(f"model must be an MLP with one output (binary classification), got {got}")
    _check_input(x, model.in_features)
    if not isinstance(y, Tensor) or y.shape != (x.shape[0],):
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(f"y must be a tensor of shape ({x.shape[0]},), one class per row of x, got {shape}")
    phi, derivative = ACTIVATIONS[model.activation], ACTIVATION_DERIVATIVES[model.activation]
    n_layers = len(model.layers)
    with torch.no_grad():
        inputs, pre_activations, h = [], [], x  # inputs[l]: h_l (N, n_l); pre_activations[l]: z_{l+1}
        for index, linear in enumerate(model.layers):
            inputs.append(h)
            z = linear(h)
            pre_activations.append(z)
            h = phi(z) if index < n_layers - 1 else z
        loss = float(classification_loss(pre_activations[-1], y))
        delta = (torch.sigmoid(pre_activations[-1]) - y.to(x.dtype)[:, None]) / x.shape[0]  # (N, 1)
        deltas, input_gradients, gradients = [None] * n_layers, [None] * n_layers, [None] * n_layers
        for index in reversed(range(n_layers)):
            deltas[index] = delta
            gradients[index] = (delta.T @ inputs[index], delta.sum(dim=0))
            input_gradients[index] = delta @ model.layers[index].weight
            if index > 0:
                delta = input_gradients[index] * derivative(pre_activations[index - 1])
    return BackpropTrace(inputs, pre_activations, deltas, input_gradients, gradients, loss)


def backpropagate(model: MLP, x: Tensor, y: Tensor) -> list[tuple[Tensor, Tensor]]:
    r"""The gradient of `classification_loss` (one output, binary cross-entropy) by the chain rule, written out.

    The backward pass of `backprop_trace`: delta_D = (s(z_D) - y) / N with s the logistic sigmoid,
    delta_{l-1} = (delta_l W_l) * phi'(z_{l-1}) with phi the layer activation, dL/dW_l = delta_l^T h_{l-1},
    dL/db_l = sum over rows of delta_l. This is what ``loss.backward()`` computes; it is here to be read
    and checked against it.

    Args:
        model: an MLP with one output; x: (N, in_features); y: (N,) classes 0/1.

    Returns:
        ``[(dL/dW_1, dL/db_1), ..., (dL/dW_D, dL/db_D)]``, each the shape of its weight and bias.
    """
    return backprop_trace(model, x, y).gradients
