"""KAN.prune: which nodes and edges go, and that the function stays (constants carried over)."""

import pytest
import torch

import kanlab

pytestmark = pytest.mark.usefixtures("one_thread")


def _samples(n=300, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 2, generator=generator, dtype=torch.float64) * 2 - 1


def _kan_with_a_constant_node_and_a_dead_node():
    """[2, 4, 1]: hidden node 1 has no live incoming edge, so it outputs a constant; node 3's only
    way out is masked. Both carry nothing but constants to the output."""
    model = kanlab.KAN([2, 4, 1], seed=0, dtype=torch.float64)
    with torch.no_grad():
        model.layers[0].edge_mask[1] = 0  # node 1 gets no input: phi(0) = constant downstream
        model.layers[1].edge_mask[0, 3] = 0  # node 3 leads nowhere
        model.layers[1].spline_weight[0, 1] += 0.5  # make node 1's constant clearly non-zero
        model.layers[1].base_weight[0, [0, 2]] = 1.0  # and nodes 0 and 2 clearly important, whatever the seed
    return model


def test_prune_removes_constant_and_dead_nodes_and_keeps_the_function_exactly():
    model, x = _kan_with_a_constant_node_and_a_dead_node(), _samples()
    small = model.prune(node_threshold=1e-2, edge_threshold=0.0, x=x)
    assert small.widths == [2, 2, 1]
    assert [tuple(layer.edge_mask.shape) for layer in small.layers] == [(2, 2), (1, 2)]
    with torch.no_grad():
        assert float(model(x).abs().mean()) > 0.1
        torch.testing.assert_close(small(x), model(x), rtol=0, atol=1e-12)


def test_prune_without_pruning_anything_returns_an_equal_copy():
    model, x = kanlab.KAN([2, 3, 1], seed=0, dtype=torch.float64), _samples()
    small = model.prune(node_threshold=0.0, edge_threshold=0.0, x=x)
    assert small.widths == [2, 3, 1] and small is not model
    torch.testing.assert_close(small(x), model(x))


def test_edges_below_the_edge_threshold_are_masked_and_their_mean_is_kept():
    model, x = kanlab.KAN([2, 1], seed=0, dtype=torch.float64), _samples()
    with torch.no_grad():
        model.layers[0].spline_weight[0, 1] = 0.4  # edge x_2 -> y: spline constant 0.4 * w^s
        model.layers[0].base_weight[0, 1] = 0.0
    small = model.prune(edge_threshold=1e-3, x=x)
    assert small.layers[0].edge_mask.tolist() == [[1.0, 0.0]]
    torch.testing.assert_close(small(x), model(x))


def test_pruned_output_moves_no_more_than_the_removed_variation():
    model, x = kanlab.KAN([2, 5, 1], seed=3, dtype=torch.float64), _samples()
    with torch.no_grad():
        model.layers[0].spline_weight[2:] *= 1e-3  # hidden nodes 2..4 barely vary
        model.layers[0].base_weight[2:] *= 1e-3
        model.layers[1].spline_scale *= 100
        model.layers[1].base_weight *= 100
    small = model.prune(node_threshold=5e-2, edge_threshold=0.0, x=x)
    assert small.widths == [2, 2, 1]
    with torch.no_grad():
        change = small(x) - model(x)
        removed = model.edge_activations(x)[1][:, 0, 2:]  # the output's edges from nodes 2..4
        output_spread = float(model(x).std())
    # change = -(sum of the removed edges minus their means), so by Minkowski's inequality
    # rms(change) <= sum of the removed edges' standard deviations (population std)
    bound = float(removed.std(dim=0, correction=0).sum())
    assert float(change.pow(2).mean().sqrt()) <= bound + 1e-12
    assert bound < 0.1 * output_spread


def test_pruning_leaves_the_original_model_unchanged():
    model, x = _kan_with_a_constant_node_and_a_dead_node(), _samples()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.prune(x=x)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_negative_thresholds_and_an_emptied_layer_are_rejected():
    model = kanlab.KAN([2, 3, 1], seed=0, dtype=torch.float64)
    with pytest.raises(ValueError, match="node_threshold must be a number >= 0, got -1"):
        model.prune(node_threshold=-1)
    with pytest.raises(ValueError, match="edge_threshold must be a number >= 0"):
        model.prune(edge_threshold=-0.1)
    with pytest.raises(ValueError, match="no node of hidden layer 1"):
        model.prune(node_threshold=1e6)
