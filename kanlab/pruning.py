r"""Pruning a KAN: drop the hidden nodes and mask the edges that carry (almost) nothing.

Importance is measured on samples x by each edge's normalised scale s_{j,i} (how much the edge
varies for the variation of its input, `kanlab.regularization.normalised_edge_scale`, the quantity
the sparsity penalty of `kanlab.fit(..., lamb=...)` drives to zero). As in the KAN paper (Liu et al.
2024, section 2.5.1), a hidden node n of layer l is kept when both

    incoming score  max_i s^{(l-1)}_{n,i}  > node_threshold  and
    outgoing score  max_k s^{(l)}_{k,n}    > node_threshold;

inputs and outputs are always kept; edges below edge_threshold count as 0 in these scores, so a
node whose every way in or out is dead goes too. Then every remaining edge with
s_{j,i} < edge_threshold is masked off (its spline and any formula on it removed).

Constants are kept. A KAN has no biases, so a removed edge's mean value on the samples would be
lost; it is added instead to a remaining edge into the same node (a spline's B-splines sum to one on
its grid, so adding m / w^s to all its coefficients adds m; a formula's d takes it directly). What
is lost is only each removed edge's variation about its mean, of size std_s phi <=
threshold * (std x + 0.1); carried through the layers above, this bounds how far the pruned
network's output moves on the samples.

Multiplication nodes (`kanlab.multiplication`) are kept or removed as a whole, with all the sums
they read. A product node's incoming score is the largest over the edges into any of its factors
(the product varies when one factor does, even if the others are constant); its outgoing score is
read like any node's. Within a kept product node, a factor whose every edge falls below
edge_threshold keeps its strongest edge, which carries the factor's constant value (the product
needs it, and the removed edges' means need a live edge to go to). A removed edge's variation is
multiplied by the other factors on its way up, so the bound above scales with their size.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from kanlab.multiplication import node_scores, node_sums
from kanlab.regularization import model_edge_scales
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
    scales = model_edge_scales(model, x)  # layer l: (n_{l+1}, n_l)
    means = [a.mean(dim=0) for a in model.edge_activations(x)]
    live_scales = [s * (s >= edge_threshold) for s in scales]  # a node fed or read only by dead edges goes
    kept = [torch.arange(model.widths[0], device=x.device)]
    for layer in range(1, len(model.widths) - 1):
        incoming = node_scores(model, layer, live_scales[layer - 1].amax(dim=1))
        outgoing = live_scales[layer].amax(dim=0)
        nodes = ((incoming > node_threshold) & (outgoing > node_threshold)).nonzero()[:, 0]
        if len(nodes) == 0:
            raise ValueError(
                f"no node of hidden layer {layer} has incoming and outgoing scores above "
                f"node_threshold={node_threshold} (largest: incoming {float(incoming.max()):.3g}, "
                f"outgoing {float(outgoing.max()):.3g}); lower node_threshold"
            )
        kept.append(nodes)
    kept.append(torch.arange(model.widths[-1], device=x.device))
    sums = [node_sums(model, l, nodes) for l, nodes in enumerate(kept)]  # what the kept nodes read

    small = copy.deepcopy(model)
    small.widths = [len(nodes) for nodes in kept]
    small.products = _kept_products(model, kept)
    small.layers = nn.ModuleList(_keep_nodes(layer, kept[l], sums[l + 1]) for l, layer in enumerate(model.layers))
    small.symbolic = nn.ModuleList(
        _keep_symbolic_nodes(symbolic, kept[l], sums[l + 1]) for l, symbolic in enumerate(model.symbolic)
    )
    for l, (layer, symbolic) in enumerate(zip(small.layers, small.symbolic)):
        removed = torch.ones_like(scales[l], dtype=torch.bool)[sums[l + 1]]  # (out kept, in all)
        dead = scales[l][sums[l + 1]][:, kept[l]] < edge_threshold  # (out, in) of the small layer
        _keep_one_edge_per_factor(small, l + 1, dead, scales[l][sums[l + 1]][:, kept[l]])
        removed[:, kept[l]] = dead
        layer.edge_mask[dead] = 0
        for j, i in dead.nonzero().tolist():
            symbolic.remove_edge(i, j)
        lost = (means[l][sums[l + 1]] * removed).sum(dim=1)  # (out,) the removed edges' mean values
        for j in range(len(sums[l + 1])):
            _add_constant(layer, symbolic, j, float(lost[j]))
    return small


def _kept_products(model, kept: list[Tensor]) -> list[int]:
    """The number of product nodes among the kept nodes of each layer (they come after the sums)."""
    products = getattr(model, "products", [0] * len(kept))
    return [int((nodes >= n - m).sum()) for nodes, n, m in zip(kept, model.widths, products)]


def _keep_one_edge_per_factor(small, layer: int, dead: Tensor, scales: Tensor) -> None:
    """In a kept product node, a factor whose every edge is dead keeps its strongest one (dead[row]
    set False there): the factor is then a constant c, and the product needs c, which the removed
    edges' means would otherwise have no live edge to go to."""
    n_product = getattr(small, "products", [0] * len(small.widths))[layer]
    first_factor = small.widths[layer] - n_product
    for row in range(first_factor, dead.shape[0]):
        if bool(dead[row].all()):
            dead[row, int(scales[row].argmax())] = False


def _add_constant(layer, symbolic: SymbolicEdges, j: int, constant: float) -> None:
    """Add `constant` to output node j through one of its live edges (a formula first, else the spline
    with the largest scale w^s); nothing happens when node j has no live edge left."""
    if constant == 0:
        return
    for row, (_, output) in enumerate(symbolic.edges.tolist()):
        if output == j:
            symbolic.affine.data[row, 3] += constant
            return
    scale = (layer.spline_scale[j] * layer.edge_mask[j]).abs()
    if float(scale.max()) > 0:
        i = int(scale.argmax())
        layer.spline_weight.data[j, i] += constant / layer.spline_scale[j, i]


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
            small.set_edge(new_input[i], new_output[j], symbolic.function_at(index), params.tolist())
    return small
