"""The KAN paper's sparsity penalty (Liu et al. 2024, eqs. 2.17-2.20) against plain loops."""

import math

import pytest
import torch

from kanlab.regularization import edge_scale, layer_entropy, layer_l1, normalised_edge_scale, sparsity_penalty

pytestmark = pytest.mark.usefixtures("one_thread")


def _activations(batch, out_features, in_features, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, out_features, in_features, generator=generator, dtype=torch.float64)


def _penalty_by_loops(layers, lamb_l1, lamb_entropy):
    total = 0.0
    for acts in layers:
        batch, out_features, in_features = acts.shape
        scales = [[sum(abs(float(acts[s, j, i])) for s in range(batch)) / batch for i in range(in_features)]
                  for j in range(out_features)]
        layer_total = sum(sum(row) for row in scales)
        entropy = -sum(v / layer_total * math.log(v / layer_total) for row in scales for v in row)
        total += lamb_l1 * layer_total + lamb_entropy * entropy
    return total


def test_edge_scale_is_mean_absolute_activation_per_edge():
    acts = _activations(7, 3, 2, seed=0)
    scale = edge_scale(acts)
    assert scale.shape == (3, 2)
    assert float(scale[2, 1]) == pytest.approx(sum(abs(float(acts[s, 2, 1])) for s in range(7)) / 7)


def test_sparsity_penalty_matches_the_papers_sums_written_as_loops():
    layers = [_activations(5, 4, 2, seed=1), _activations(5, 1, 4, seed=2)]
    expected = _penalty_by_loops(layers, lamb_l1=1.0, lamb_entropy=2.0)
    scales = [edge_scale(a) for a in layers]
    assert float(sparsity_penalty(scales, lamb_l1=1.0, lamb_entropy=2.0)) == pytest.approx(expected, rel=1e-12)


def test_normalised_scale_is_edge_spread_over_input_spread_and_ignores_constants():
    inputs = _activations(50, 1, 3, seed=3)[:, 0, :]  # (batch, in)
    activations = 2.0 * inputs[:, None, :].expand(50, 2, 3) + 7.0  # every edge is 2 x + 7
    scale = normalised_edge_scale(activations, inputs)
    expected = 2.0 * inputs.std(dim=0) / (inputs.std(dim=0) + 0.1)
    torch.testing.assert_close(scale, expected.expand(2, 3))
    constant = torch.full((50, 2, 3), 7.0, dtype=torch.float64)
    assert float(normalised_edge_scale(constant, inputs).abs().max()) == 0.0


def test_entropy_is_log_of_edge_count_when_all_edges_are_equal_and_zero_for_one_edge():
    assert float(layer_entropy(torch.ones(3, 4, dtype=torch.float64))) == pytest.approx(math.log(12))
    one_edge = torch.zeros(3, 4, dtype=torch.float64)
    one_edge[1, 2] = 5.0
    assert float(layer_entropy(one_edge)) == pytest.approx(0.0, abs=1e-12)
    assert float(layer_l1(one_edge)) == 5.0


def test_penalty_gradient_is_finite_when_edges_are_exactly_zero():
    acts = torch.zeros(4, 2, 2, dtype=torch.float64)
    acts[:, 0, 0] = 1.0
    acts.requires_grad_(True)
    sparsity_penalty([edge_scale(acts)]).backward()
    assert torch.isfinite(acts.grad).all()


def test_negative_weights_and_wrong_shapes_are_rejected():
    with pytest.raises(ValueError, match="lamb_entropy"):
        sparsity_penalty([edge_scale(_activations(2, 2, 2, seed=0))], lamb_entropy=-1.0)
    with pytest.raises(ValueError, match=r"\(batch, out_features, in_features\)"):
        edge_scale(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="at least one layer"):
        sparsity_penalty([])


def test_fit_with_lamb_needs_a_kan_and_a_non_negative_lamb():
    import kanlab

    data = kanlab.data.function_dataset(lambda v: v[:, 0], n_var=2, n_train=20, n_test=20, seed=0)
    with pytest.raises(TypeError, match="need a kanlab.KAN, got Linear"):
        kanlab.fit(torch.nn.Linear(2, 1), data, steps=1, lamb=1e-2, progress=False)
    with pytest.raises(ValueError, match="lamb must be a number >= 0"):
        kanlab.fit(kanlab.KAN([2, 1]), data, steps=1, lamb=-1.0, progress=False)


def test_fit_with_lamb_makes_the_edges_sparser_than_without():
    import kanlab
    from kanlab.regularization import model_edge_scales

    data = kanlab.data.function_dataset(lambda v: torch.sin(3 * v[:, 0]), n_var=2, n_train=200, n_test=50, seed=0,
                                        dtype=torch.float64)
    totals = []
    for lamb in (0.0, 1e-2):
        model = kanlab.KAN([2, 3, 1], seed=0, dtype=torch.float64)
        kanlab.fit(model, data, steps=8, lamb=lamb, progress=False)
        with torch.no_grad():
            totals.append(float(sum(s.sum() for s in model_edge_scales(model, data.x_train))))
    assert totals[1] < 0.7 * totals[0]
