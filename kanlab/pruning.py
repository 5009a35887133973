r"""Pruning a KAN: drop the hidden nodes and mask the edges that carry (almost) nothing.

Importance is measured as in the KAN paper (Liu et al. 2024, section 2.5.1) by the edge scales
|phi_{j,i}|_1 = mean_s |phi_{j,i}(x_s)| (`kanlab.regularization.edge_scale`) on samples x. A
hidden node n of layer l is kept when both

    incoming score  max_i |phi^{(l-1)}_{n,i}|_1  > node_threshold  and
    outgoing score  max_k |phi^{(l)}_{k,n}|_1    > node_threshold;

inputs and outputs are always kept. Then every remaining edge with |phi|_1 < edge_threshold is
masked off (its spline and any formula on it removed).

What is lost: each dropped node and masked edge took away its activation, whose mean size on the
samples is below its threshold. So on the samples the pruned network's output differs from the
original by about the sum of the removed scales, carried through the layers above; after training
with the sparsity penalty (`kanlab.fit(..., lamb=...)`) this is far below the thresholds.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from kanlab.regularization import edge_scale
from kanlab.symbolic import SymbolicEdges

__all__ = ["input_box_samples", "prune"]


def input_box_samples(model, n_samples: int = 1000, seed: int = 0) -> Tensor:
    """n_samples points drawn uniformly from the box of the first layer's grid ranges.

    Shape: (n_samples, n_0), on the model's device and in its dtype. Used when no data is given:
    after training with grid updates, the first grids span the data.
    """
    lo, hi = model.layers[0].grid_range
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(n_samples, len(lo), generator=generator, dtype=torch.float64)
    return (lo + (hi - lo) * u.to(device=lo.device, dtype=lo.dtype)).detach()


@torch.no_grad()
def prune(model, node_threshold: float = 1e-2, edge_threshold: float = 3e-2, x: Tensor | None = None):
    """A new, smaller KAN: unimportant hidden nodes removed, dead edges masked (module docstring).

    Args:
        model: a `kanlab.KAN`; it is not changed.
        node_threshold: keep a hidden node when its incoming and outgoing scores both exceed this.
        edge_threshold: mask every edge whose scale is below this.
        x: samples (batch, n_0) on which importance is measured; None draws 1000 from the input
            grid box (`input_box_samples`).

    Returns:
        the pruned KAN; its ``widths`` lists the kept sizes.

    Raises:
        ValueError: a negative threshold, or a hidden layer in which no node passes node_threshold.
    """
    for name, value in (("node_threshold", node_threshold), ("edge_threshold", edge_threshold)):
        if not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    if x is None:
        x = input_box_samples(model)
    scales = [edge_scale(a) for a in model.edge_activations(x)]  # layer l: (n_{l+1}, n_l)
    kept = [torch.arange(model.widths[0], device=x.device)]
    for layer in range(1, len(model.widths) - 1):
        incoming = scales[layer - 1].amax(dim=1)
        outgoing = scales[layer].amax(dim=0)
        nodes = ((incoming > node_threshold) & (outgoing > node_threshold)).nonzero()[:, 0]
        if len(nodes) == 0:
            raise ValueError(
                f"no node of hidden layer {layer} has incoming and outgoing scores above "
                f"node_threshold={node_threshold} (largest: incoming {float(incoming.max()):.3g}, "
                f"outgoing {float(outgoing.max()):.3g}); lower node_threshold"
            )
        kept.append(nodes)
    kept.append(torch.arange(model.widths[-1], device=x.device))

    small = copy.deepcopy(model)
    small.widths = [len(nodes) for nodes in kept]
    small.layers = nn.ModuleList(
        _keep_nodes(layer, kept[l], kept[l + 1]) for l, layer in enumerate(model.layers)
    )
    small.symbolic = nn.ModuleList(
        _keep_symbolic_nodes(symbolic, kept[l], kept[l + 1]) for l, symbolic in enumerate(model.symbolic)
    )
    for l, (layer, symbolic) in enumerate(zip(small.layers, small.symbolic)):
        dead = scales[l][kept[l + 1]][:, kept[l]] < edge_threshold  # (out, in) of the small layer
        layer.edge_mask[dead] = 0
        for j, i in dead.nonzero().tolist():
            symbolic.remove_edge(i, j)
    return small


def _keep_nodes(layer, inputs: Tensor, outputs: Tensor):
    """A copy of a KANLayer restricted to the given input and output nodes."""
    small = copy.deepcopy(layer)
    small.in_features, small.out_features = len(inputs), len(outputs)
    small.grid = layer.grid[inputs].contiguous()
    small.edge_mask = layer.edge_mask[outputs][:, inputs].contiguous()
    for name in ("base_weight", "spline_weight", "spline_scale"):
        setattr(small, name, nn.Parameter(getattr(layer, name)[outputs][:, inputs].clone()))
    return small


def _keep_symbolic_nodes(symbolic: SymbolicEdges, inputs: Tensor, outputs: Tensor) -> SymbolicEdges:
    """The symbolic edges between the kept nodes, renumbered."""
    small = SymbolicEdges(len(inputs), len(outputs), device=symbolic.affine.device, dtype=symbolic.affine.dtype)
    new_input = {int(old): new for new, old in enumerate(inputs)}
    new_output = {int(old): new for new, old in enumerate(outputs)}
    for (i, j), index, params in zip(symbolic.edges.tolist(), symbolic.function_index.tolist(), symbolic.affine):
        if i in new_input and j in new_output:
            small.set_edge(new_input[i], new_output[j], SymbolicEdges.FUNCTION_NAMES[index], params.tolist())
    return small
