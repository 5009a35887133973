r"""Multiplication nodes: hidden nodes that multiply incoming sums (KAN 2.0's MultKAN, Liu et al.
2024, arXiv 2408.10205, section 2.1).

A KAN's node adds up its incoming edges, so a product such as x y has to be built from sums, e.g.
((x + y)^2 - (x - y)^2) / 4. A multiplication node multiplies instead. A hidden layer of a sum
nodes and m product nodes of arity r (r = 2 unless said otherwise) is fed by a KAN layer with
a + r m outputs, the sums

    s_q = sum_i phi_{q,i}(x_i),    q = 0, ..., a + r m - 1,

and passes on a + m values, the next layer's inputs:

    z_j     = s_j                                        for a sum node j < a,
    z_{a+p} = s_{a+rp} s_{a+rp+1} ... s_{a+rp+r-1}        for a product node p < m;

with r = 2, z_{a+p} = s_{a+2p} s_{a+2p+1}. In a `KAN`'s widths such a layer is written
``(a, m)``, or ``(a, m, r)``; an int n is ``(n, 0)``. ``KAN([2, (0, 1), 1])`` is x, y -> one
product of two sums -> one output: with the edges phi(x) = x into the first sum, phi(y) = y into
the second, zero on the other two and the identity on the last layer, it is x y exactly.

Sum nodes come first, then product nodes, each reading r consecutive sums. This module holds the
bookkeeping (parsing widths, which sums a node reads) and the node function on tensors and on
sympy expressions; `kanlab.kan.KAN` applies it after every layer.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["parse_widths", "widths_config", "node_values", "node_expressions", "node_sums", "node_scores"]


def parse_widths(widths) -> tuple[list, list[int], list[int]]:
    """Split KAN widths into (nodes, products, arities), one entry per layer of nodes.

    An int entry n is n sum nodes (it is passed through unchanged, `KANLayer` checks it); a tuple
    (a, m) or (a, m, r) is a sum nodes and m product nodes of arity r (default 2), a + m nodes.

    Raises:
        ValueError: a tuple that is not 2 or 3 integers, a or m negative, a + m = 0, an arity
            below 2 (a multiplication node needs two inputs), or product nodes in the input or
            output layer; the message names the layer.
    """
    nodes, products, arities = [], [], []
    last = len(widths) - 1
    for layer, entry in enumerate(widths):
        if not isinstance(entry, (tuple, list)):
            nodes.append(entry)
            products.append(0)
            arities.append(2)
            continue
        where = f"widths[{layer}] = {tuple(entry)!r}"
        if len(entry) not in (2, 3) or any(isinstance(v, bool) or not isinstance(v, int) for v in entry):
            raise ValueError(f"{where}: a layer with product nodes is (n_sum, n_product) or (n_sum, n_product, arity), all ints")
        n_sum, n_product, arity = (*entry, 2) if len(entry) == 2 else entry
        if n_sum < 0 or n_product < 0 or n_sum + n_product < 1:
            raise ValueError(f"{where}: n_sum and n_product must be >= 0 with at least one node in layer {layer}")
        if arity < 2:
            raise ValueError(
                f"{where}: a multiplication node needs at least two inputs, but layer {layer} asks for arity {arity}"
            )
        if n_product and layer in (0, last):
            kind = "input" if layer == 0 else "output"
            raise ValueError(f"{where}: multiplication nodes belong in hidden layers, not in the {kind} layer {layer}")
        nodes.append(n_sum + n_product)
        products.append(n_product)
        arities.append(arity)
    return nodes, products, arities


def widths_config(nodes, products, arities) -> list:
    """The widths as a user writes them: n for a layer of sums, (a, m) or (a, m, r) with products."""
    config = []
    for n, m, r in zip(nodes, products, arities):
        if m == 0:
            config.append(n)
        else:
            config.append((n - m, m) if r == 2 else (n - m, m, r))
    return config


def _layout(model, layer: int) -> tuple[int, int, int]:
    """(a, m, r) of node layer `layer` of a KAN (models built before products existed: all sums)."""
    n = model.widths[layer]
    products = getattr(model, "products", None)
    if products is None:
        return n, 0, 2
    return n - products[layer], products[layer], model.arities[layer]


def node_values(model, layer: int, sums: Tensor) -> Tensor:
    """The values z (..., a + m) of node layer `layer` from its sums s (..., a + r m) (module docstring)."""
    n_sum, n_product, arity = _layout(model, layer)
    if n_product == 0:
        return sums
    factors = sums[..., n_sum:].unflatten(-1, (n_product, arity))
    return torch.cat([sums[..., :n_sum], factors.prod(dim=-1)], dim=-1)


def node_expressions(model, layer: int, sums: list) -> list:
    """The same on sympy expressions: a list of a + r m sums -> a list of a + m node values."""
    n_sum, n_product, arity = _layout(model, layer)
    products = [math.prod(sums[n_sum + arity * p : n_sum + arity * (p + 1)]) for p in range(n_product)]
    return list(sums[:n_sum]) + products


def node_sums(model, layer: int, nodes: Tensor) -> Tensor:
    """The indices of the sums read by the given nodes (sorted indices) of node layer `layer`."""
    n_sum, n_product, arity = _layout(model, layer)
    if n_product == 0:
        return nodes
    first = torch.where(nodes < n_sum, nodes, n_sum + arity * (nodes - n_sum))
    count = torch.where(nodes < n_sum, 1, arity)
    return torch.cat([first[k] + torch.arange(int(count[k]), device=nodes.device) for k in range(len(nodes))])


def node_scores(model, layer: int, sum_scores: Tensor) -> Tensor:
    """Per-node incoming scores from per-sum scores (a + r m,): a sum node keeps its sum's score, a
    product node takes the largest of its factors' (it varies when any factor does)."""
    n_sum, n_product, arity = _layout(model, layer)
    if n_product == 0:
        return sum_scores
    factors = sum_scores[n_sum:].unflatten(0, (n_product, arity)).amax(dim=1)
    return torch.cat([sum_scores[:n_sum], factors])
