"""kanlab.additive: a [n, 1] KAN read as an additive model, one curve per feature and its spread."""

import pytest
import torch

import kanlab
from kanlab.additive import contributions, curve_spread, feature_curves
from kanlab.mlp import MLP


def additive_kan(n=3, seed=0):
    """A [n, 1] KAN with non-trivial curves: random spline coefficients of a visible size."""
    model = kanlab.KAN([n, 1], grid_size=5, seed=seed, dtype=torch.float64)
    with torch.no_grad():
        model.layers[0].spline_weight.normal_(generator=torch.Generator().manual_seed(seed))
    return model


def samples(n=3, rows=300, seed=1):
    return 2 * torch.rand(rows, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) - 1


def only_feature_varies(model, x, i, values):
    """The model's output as feature i takes `values` and every other feature stays at x[0]:
    phi_i(values) plus a constant, from the forward pass alone."""
    points = x[:1].repeat(len(values), 1)
    points[:, i] = values
    with torch.no_grad():
        return model(points)[:, 0]


def test_curve_spread_is_the_standard_deviation_of_each_features_contribution_to_the_output():
    model, x = additive_kan(), samples()
    expected = torch.stack([only_feature_varies(model, x, i, x[:, i]).std(correction=0) for i in range(3)])
    assert torch.allclose(curve_spread(model, x), expected)


def test_contributions_sum_over_the_features_to_the_models_output():
    model, x = additive_kan(), samples()
    with torch.no_grad():
        output = model(x)[:, 0]
    assert torch.allclose(contributions(model, x).sum(dim=1), output)


def test_contributions_of_one_feature_follow_its_curve_alone():
    model, x = additive_kan(), samples()
    values = torch.linspace(-1, 1, 7, dtype=torch.float64)
    at = x[:1].repeat(7, 1)
    at[:, 2] = values
    moved = only_feature_varies(model, x, 2, values)
    assert torch.allclose(contributions(model, at)[:, 2] - contributions(model, at)[0, 2], moved - moved[0])


def test_a_feature_whose_edge_is_cut_has_zero_spread():
    model, x = additive_kan(), samples()
    model.layers[0].edge_mask[0, 1] = 0
    spread = curve_spread(model, x)
    assert spread[1] == 0 and bool((spread[[0, 2]] > 0).all())


def test_for_a_linear_edge_the_spread_is_the_slope_times_the_features_spread():
    model, x = kanlab.KAN([2, 1], seed=0, dtype=torch.float64), samples(n=2)
    model.layers[0].edge_mask.zero_()
    model.symbolic[0].set_edge(0, 0, "x", (3.0, 1.0, 0.0, 0.5))   # 3 x_0 + 0.5
    model.symbolic[0].set_edge(1, 0, "x", (-2.0, 1.0, 0.0, 0.0))  # -2 x_1
    expected = torch.tensor([3.0, 2.0], dtype=torch.float64) * x.std(dim=0, correction=0)
    assert torch.allclose(curve_spread(model, x), expected)


def test_feature_curves_span_each_features_range_and_follow_the_model():
    model, x = additive_kan(), samples()
    t, curves = feature_curves(model, x, points=50)
    assert t.shape == curves.shape == (50, 3)
    assert torch.equal(t[0], x.min(0).values) and torch.allclose(t[-1], x.max(0).values)
    for i in range(3):
        along = only_feature_varies(model, x, i, t[:, i])
        assert torch.allclose(curves[:, i] - curves[0, i], along - along[0])


def test_feature_curves_are_centred_on_their_mean_over_the_samples():
    model, x = additive_kan(), samples()
    t, curves = feature_curves(model, x)
    for i in range(3):  # both outputs carry the same constant, the other features' curves at x[0]
        along, at_samples = only_feature_varies(model, x, i, t[:, i]), only_feature_varies(model, x, i, x[:, i])
        assert torch.allclose(curves[:, i], along - at_samples.mean())


def test_a_kan_with_a_hidden_layer_is_not_additive():
    with pytest.raises(ValueError, match=r"widths \[n, 1\].*got widths \[3, 2, 1\]"):
        curve_spread(kanlab.KAN([3, 2, 1], seed=0), samples().float())


def test_an_mlp_is_refused_with_a_type_error():
    with pytest.raises(TypeError, match="model must be a kanlab.KAN"):
        curve_spread(MLP([3, 1]), samples().float())


def test_samples_with_the_wrong_number_of_features_are_refused():
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(n_samples >= 2, 3\), got \(10, 2\)"):
        feature_curves(additive_kan(), samples(n=2, rows=10))
