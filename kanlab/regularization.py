r"""How much each edge of a KAN matters, and the KAN paper's sparsity penalty built on it.

Liu et al. (2024), eqs. 2.17-2.20. For an edge activation phi evaluated on a batch of N_p samples,

    |phi|_1 = (1 / N_p) * sum_s |phi(x_s)|                                   (2.17)

is its *scale* (mean absolute activation, `edge_scale`). For a layer Phi with edges phi_{j,i}
(input i to output j),

    |Phi|_1 = sum_{j,i} |phi_{j,i}|_1                                          (2.18)
    S(Phi)  = -sum_{j,i} (|phi_{j,i}|_1 / |Phi|_1) * log(|phi_{j,i}|_1 / |Phi|_1)   (2.19)

and the training loss adds, over all layers l,

    lamb * ( lamb_l1 * sum_l |Phi_l|_1 + lamb_entropy * sum_l S(Phi_l) ).       (2.20)

The L1 term pushes most edges towards zero; the entropy of the normalised scales pushes the
remaining scale onto few edges. The paper writes mu_1, mu_2 for lamb_l1, lamb_entropy.

Normalised scale. A KAN has no biases, so an edge that is a non-zero *constant* carries no
information yet has a large |phi|_1, and penalising it fights the fit (the constant must live
somewhere). As the paper's own code (pykan) does, the penalty therefore uses the normalised scale

    s_{j,i} = std_s phi_{j,i}(x_{s,i}) / (std_s x_{s,i} + 0.1)      (`normalised_edge_scale`),

how much the edge varies for the variation of its input; eqs. 2.18-2.20 are applied to s.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from kanlab.loss import mean_squared_error

__all__ = [
    "edge_scale",
    "layer_entropy",
    "layer_l1",
    "model_edge_scales",
    "normalised_edge_scale",
    "sparse_objective",
    "sparsity_penalty",
]


def edge_scale(activations: Tensor) -> Tensor:
    """Mean absolute activation of every edge, |phi_{j,i}|_1 (eq. 2.17).

    Shape: activations (batch, out_features, in_features) -> (out_features, in_features).
    """
    if activations.ndim != 3:
        raise ValueError(
            f"activations must have shape (batch, out_features, in_features), got shape {tuple(activations.shape)}"
        )
    return activations.abs().mean(dim=0)


def normalised_edge_scale(activations: Tensor, inputs: Tensor) -> Tensor:
    """std_s phi_{j,i}(x_{s,i}) / (std_s x_{s,i} + 0.1) for every edge (module docstring).

    Shapes: activations (batch, out_features, in_features), inputs (batch, in_features)
    -> (out_features, in_features).
    """
    edge_scale(activations)  # checks the shape
    if inputs.ndim != 2 or inputs.shape[1] != activations.shape[2] or inputs.shape[0] != activations.shape[0]:
        raise ValueError(
            f"inputs must have shape (batch, in_features) = {(activations.shape[0], activations.shape[2])}, "
            f"got {tuple(inputs.shape)}"
        )
    return activations.std(dim=0) / (inputs.std(dim=0) + 0.1)


def layer_l1(scale: Tensor) -> Tensor:
    """|Phi|_1 = sum of the edge scales of one layer (eq. 2.18). Shape: (out, in) -> ()."""
    return scale.sum()


def layer_entropy(scale: Tensor) -> Tensor:
    """Entropy S(Phi) of the layer's edge scales normalised to sum to one (eq. 2.19).

    Shape: (out, in) -> (). Edges of scale 0 contribute 0 (p log p -> 0), with a finite gradient;
    a layer whose edges are all zero has entropy 0.
    """
    tiny = torch.finfo(scale.dtype).tiny
    p = scale / scale.sum().clamp_min(tiny)
    return -(p * torch.log(p + tiny)).sum()


def sparsity_penalty(scales: Sequence[Tensor], lamb_l1: float = 1.0, lamb_entropy: float = 2.0) -> Tensor:
    """lamb_l1 * sum_l |Phi_l|_1 + lamb_entropy * sum_l S(Phi_l) (eq. 2.20 without the outer lamb).

    Args:
        scales: one (out_features, in_features) tensor of edge scales per layer (`edge_scale` or
            `normalised_edge_scale`).
        lamb_l1, lamb_entropy: the weights mu_1, mu_2 of the paper; non-negative.
    """
    if lamb_l1 < 0 or lamb_entropy < 0:
        raise ValueError(f"lamb_l1 and lamb_entropy must be >= 0, got {lamb_l1} and {lamb_entropy}")
    if len(scales) == 0:
        raise ValueError("scales must hold at least one layer's edge scales")
    l1 = torch.stack([layer_l1(s) for s in scales]).sum()
    entropy = torch.stack([layer_entropy(s) for s in scales]).sum()
    return lamb_l1 * l1 + lamb_entropy * entropy


def sparse_objective(lamb: float, lamb_l1: float = 1.0, lamb_entropy: float = 2.0):
    """The training loss of eq. 2.20 on normalised scales, for `kanlab.fit` (same signature as
    `kanlab.train.objective`)::

        loss(model, x, y, penalty=None) = mean (y_hat - y)^2
                                          + lamb * sparsity_penalty(scales, lamb_l1, lamb_entropy)
                                          (+ penalty(model, x) when given),

    where y_hat, the sum of the last layer's edge activations, is the model's output: one pass
    through the network gives the prediction and every edge's scale.
    """
    for name, value in (("lamb", lamb), ("lamb_l1", lamb_l1), ("lamb_entropy", lamb_entropy)):
        if not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")

    def loss(model, x: Tensor, y: Tensor, penalty=None) -> Tensor:
        scales, y_hat = _scales_and_output(model, x)
        total = mean_squared_error(y_hat, y) + lamb * sparsity_penalty(scales, lamb_l1, lamb_entropy)
        return total if penalty is None else total + penalty(model, x)

    return loss


def model_edge_scales(model, x: Tensor) -> list[Tensor]:
    """The normalised scale of every edge of a KAN on samples x (batch, n_0): one (n_l, n_{l-1}) per layer."""
    return _scales_and_output(model, x)[0]


def _scales_and_output(model, x: Tensor) -> tuple[list[Tensor], Tensor]:
    if not (hasattr(model, "layers") and hasattr(model, "symbolic")):
        raise TypeError(
            f"edge scales and the sparsity penalty (lamb > 0) need a kanlab.KAN, got {type(model).__name__}"
        )
    scales = []
    for l, (layer, symbolic) in enumerate(zip(model.layers, model.symbolic)):
        activations = layer.edge_activations(x)
        if len(symbolic.edges):
            activations = activations + symbolic.edge_activations(x)
        scales.append(normalised_edge_scale(activations, x))
        x = model.node_values(l + 1, activations.sum(dim=-1))  # the next layer's input, without a second forward pass
    return scales, x
