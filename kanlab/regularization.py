r"""How much each edge of a KAN matters, and the KAN paper's sparsity penalty built on it.

Liu et al. (2024), eqs. 2.17-2.20. For an edge activation phi evaluated on a batch of N_p samples,

    |phi|_1 = (1 / N_p) * sum_s |phi(x_s)|                                   (2.17)

is its *scale* (mean absolute activation). For a layer Phi with edges phi_{j,i} (input i to
output j),

    |Phi|_1 = sum_{j,i} |phi_{j,i}|_1                                          (2.18)
    S(Phi)  = -sum_{j,i} (|phi_{j,i}|_1 / |Phi|_1) * log(|phi_{j,i}|_1 / |Phi|_1)   (2.19)

and the training loss adds, over all layers l,

    lamb * ( lamb_l1 * sum_l |Phi_l|_1 + lamb_entropy * sum_l S(Phi_l) ).       (2.20)

The L1 term pushes most edges towards zero; the entropy of the normalised scales pushes the
remaining scale onto few edges. The paper writes mu_1, mu_2 for lamb_l1, lamb_entropy.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

__all__ = ["edge_scale", "layer_l1", "layer_entropy", "sparsity_penalty"]


def edge_scale(activations: Tensor) -> Tensor:
    """Mean absolute activation of every edge, |phi_{j,i}|_1 (eq. 2.17).

    Shape: activations (batch, out_features, in_features) -> (out_features, in_features).
    """
    if activations.ndim != 3:
        raise ValueError(
            f"activations must have shape (batch, out_features, in_features), got shape {tuple(activations.shape)}"
        )
    return activations.abs().mean(dim=0)


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


def sparsity_penalty(activations: Sequence[Tensor], lamb_l1: float = 1.0, lamb_entropy: float = 2.0) -> Tensor:
    """lamb_l1 * sum_l |Phi_l|_1 + lamb_entropy * sum_l S(Phi_l) (eq. 2.20 without the outer lamb).

    Args:
        activations: one tensor per layer, each of shape (batch, out_features, in_features), the
            value of every edge phi_{j,i}(x_i) on a batch.
        lamb_l1, lamb_entropy: the weights mu_1, mu_2 of the paper; non-negative.
    """
    if lamb_l1 < 0 or lamb_entropy < 0:
        raise ValueError(f"lamb_l1 and lamb_entropy must be >= 0, got {lamb_l1} and {lamb_entropy}")
    if len(activations) == 0:
        raise ValueError("activations must hold at least one layer's edge activations")
    scales = [edge_scale(a) for a in activations]
    l1 = torch.stack([layer_l1(s) for s in scales]).sum()
    entropy = torch.stack([layer_entropy(s) for s in scales]).sum()
    return lamb_l1 * l1 + lamb_entropy * entropy
