"""kanlab.symbolic on a KAN: symbolic edges, suggestions for an edge, auto_symbolic, formula, errors."""

import math

import pytest
import sympy
import torch

import kanlab
from kanlab import splines, symbolic

pytestmark = pytest.mark.usefixtures("one_thread")


def _samples(n=200, n_var=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, n_var, generator=generator, dtype=torch.float64) * 2 - 1


def _fully_symbolic_kan():
    """A [2, 2, 1] KAN whose every edge is a formula with known constants."""
    model = kanlab.KAN([2, 2, 1], seed=0, dtype=torch.float64)
    edges = {
        (0, 0, 0): ("sin", (1.5, 2.0, 0.3, -0.2)),
        (0, 1, 0): ("x^2", (0.7, 1.0, -0.1, 0.0)),
        (0, 0, 1): ("x", (-1.0, 1.0, 0.0, 0.4)),
        (0, 1, 1): ("exp", (0.5, 0.8, 0.0, 0.1)),
        (1, 0, 0): ("tanh", (2.0, 0.9, 0.1, 0.0)),
        (1, 1, 0): ("x^3", (0.3, 1.0, 0.2, -0.5)),
    }
    for (layer, i, j), (name, params) in edges.items():
        model.symbolic[layer].set_edge(i, j, name, params)
        model.layers[layer].edge_mask[j, i] = 0
    return model


def _reference_output(x):
    """The same network written out by hand."""
    h0 = 1.5 * torch.sin(2.0 * x[:, 0] + 0.3) - 0.2 + 0.7 * (x[:, 1] - 0.1) ** 2
    h1 = -x[:, 0] + 0.4 + 0.5 * torch.exp(0.8 * x[:, 1]) + 0.1
    return (2.0 * torch.tanh(0.9 * h0 + 0.1) + 0.3 * (h1 + 0.2) ** 3 - 0.5)[:, None]


def test_symbolic_edges_are_evaluated_exactly():
    x = _samples()
    torch.testing.assert_close(_fully_symbolic_kan()(x), _reference_output(x))


def test_formula_lambdified_matches_the_model():
    model, x = _fully_symbolic_kan(), _samples()
    expression = symbolic.formula(model, var_names=["u", "v"], digits=None)
    u, v = sympy.symbols("u v", real=True)
    evaluate = sympy.lambdify((u, v), expression, modules="math")
    values = torch.tensor([evaluate(a, b) for a, b in x.tolist()], dtype=torch.float64)
    torch.testing.assert_close(values, model(x).detach()[:, 0], rtol=1e-10, atol=1e-10)


def test_formula_rounds_constants_to_the_requested_digits():
    model = kanlab.KAN([1, 1], seed=0, dtype=torch.float64)
    model.symbolic[0].set_edge(0, 0, "sin", (1.23456789, 3.14159265, 0.0, 1e-9))
    model.layers[0].edge_mask[0, 0] = 0
    assert str(symbolic.formula(model, ["x"], digits=2)) == "1.23*sin(3.14*x)"


def test_mixed_spline_and_symbolic_model_trains_and_updates_the_affine_parameters():
    f = lambda v: torch.sin(2 * v[:, 0]) + v[:, 1] ** 2  # noqa: E731
    data = kanlab.data.function_dataset(f, n_var=2, n_train=200, n_test=200, seed=0, dtype=torch.float64)
    model = kanlab.KAN([2, 1], seed=0, dtype=torch.float64)
    model.symbolic[0].set_edge(0, 0, "sin", (0.8, 1.8, 0.1, 0.0))
    model.layers[0].edge_mask[0, 0] = 0
    before = model.symbolic[0].affine.detach().clone()
    history = kanlab.fit(model, data, steps=10, progress=False)
    assert history.test_rmse[-1] < 1e-2
    assert not torch.equal(model.symbolic[0].affine.detach(), before)


def test_suggest_names_an_edge_whose_spline_was_fitted_to_a_known_curve():
    model = kanlab.KAN([1, 1], grid_size=30, seed=0, dtype=torch.float64)
    layer = model.layers[0]
    t = torch.linspace(-1, 1, 400, dtype=torch.float64)[:, None]
    with torch.no_grad():
        layer.base_weight.zero_()
        layer.spline_scale.fill_(1.0)
        layer.spline_weight.copy_(splines.fit_coefficients(t, torch.exp(1.5 * t)[:, None, :], layer.grid, 3))
    best = symbolic.suggest(model, 0, 0, 0, x=t)[0]
    assert best.name == "exp" and best.r2 > 0.9999


def test_auto_symbolic_snaps_good_fits_and_leaves_the_rest_as_splines():
    model = _fully_symbolic_kan()
    model.symbolic[1].remove_edge(1, 0)  # give edge (1, 1, 0) back to a spline: a noise-initialised curve
    model.layers[1].edge_mask[0, 1] = 1
    fits = symbolic.auto_symbolic(model, lib=["x"], r2_threshold=0.9999, x=_samples())
    assert list(fits) == [(1, 1, 0)]
    assert (symbolic.spline_edges(model) == [(1, 1, 0)]) == (fits[(1, 1, 0)].r2 < 0.9999)


def test_formula_refuses_a_model_with_spline_edges_and_names_them():
    model = _fully_symbolic_kan()
    model.symbolic[0].remove_edge(1, 1)
    model.layers[0].edge_mask[1, 1] = 1
    with pytest.raises(ValueError, match=r"still splines: \[\(0, 1, 1\)\]"):
        symbolic.formula(model)


def test_pruned_edges_are_left_out_of_the_formula():
    model = _fully_symbolic_kan()
    model.symbolic[1].remove_edge(1, 0)  # edge (1, 1, 0): neither spline (mask 0) nor formula: pruned
    expression = symbolic.formula(model, digits=None)
    assert not expression.has(sympy.exp)  # exp fed hidden node 1 only, whose one way out is gone
    x = _samples()
    evaluate = sympy.lambdify(sympy.symbols("x_1 x_2", real=True), expression, modules="math")
    values = torch.tensor([evaluate(a, b) for a, b in x.tolist()], dtype=torch.float64)
    torch.testing.assert_close(values, model(x).detach()[:, 0])


@pytest.mark.parametrize(
    ("layer", "i", "j", "message"),
    [(2, 0, 0, r"layer must be in \[0, 2\)"), (0, 2, 0, r"i \(input node of layer 0\) must be in \[0, 2\)"),
     (1, 0, 1, r"j \(output node of layer 1\) must be in \[0, 1\)"), (-1, 0, 0, "layer must be")],
)
def test_edge_indices_out_of_range_are_rejected(layer, i, j, message):
    with pytest.raises(ValueError, match=message):
        symbolic.suggest(kanlab.KAN([2, 2, 1], seed=0), layer, i, j)


def test_bad_names_and_thresholds_are_rejected():
    model = kanlab.KAN([2, 2, 1], seed=0, dtype=torch.float64)
    with pytest.raises(ValueError, match="unknown function name 'sinus'"):
        symbolic.set_symbolic(model, 0, 0, 0, "sinus")
    with pytest.raises(ValueError, match="unknown function name 'erf'"):
        symbolic.auto_symbolic(model, lib=["x", "erf"])
    with pytest.raises(ValueError, match="r2_threshold must be a number >= 0"):
        symbolic.auto_symbolic(model, r2_threshold=-0.5)
    with pytest.raises(ValueError, match="var_names must be a list of 2 names"):
        symbolic.formula(_fully_symbolic_kan(), var_names=["x"])


def test_save_and_load_keep_symbolic_edges(tmp_path):
    model, x = _fully_symbolic_kan(), _samples()
    kanlab.save(model, tmp_path / "model.pt")
    loaded = kanlab.load(tmp_path / "model.pt")
    torch.testing.assert_close(loaded(x), model(x))
    assert loaded.symbolic[0].function_name(1, 1) == "exp"


def test_symbolic_edge_on_a_guarded_function_trains_without_nan():
    # log's argument starts inside its domain; large steps may push it out, the clamp keeps it finite
    model = kanlab.KAN([1, 1], seed=0, dtype=torch.float64)
    model.symbolic[0].set_edge(0, 0, "log", (1.0, 1.0, 1.05, 0.0))
    model.layers[0].edge_mask[0, 0] = 0
    x = _samples(n_var=1)
    loss = ((model(x) - 5 * x) ** 2).mean()
    loss.backward()
    assert math.isfinite(float(loss.detach())) and torch.isfinite(model.symbolic[0].affine.grad).all()
