"""kanlab.symbolic on samples: the candidate library, the affine fit, the ranking, the domain guards."""

import math

import pytest
import sympy
import torch

import kanlab
from kanlab import symbolic
from kanlab.symbolic import LIBRARY, candidate, fit_candidate, suggest_for_samples

pytestmark = pytest.mark.usefixtures("one_thread")

X = torch.linspace(-1, 1, 101, dtype=torch.float64)


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_torch_and_sympy_forms_of_each_candidate_agree_inside_its_domain(name):
    cand = candidate(name)
    z = torch.linspace(0.1, 0.9, 9, dtype=torch.float64)  # inside every domain in the library
    symbol = sympy.Symbol("z")
    reference = sympy.lambdify(symbol, cand.sympy_fn(symbol), modules="math")
    expected = torch.tensor([float(reference(float(v))) for v in z], dtype=torch.float64)
    torch.testing.assert_close(cand(z), expected)


@pytest.mark.parametrize("name", ["log", "sqrt", "1/x", "tan", "artanh"])
def test_guarded_candidates_give_finite_values_and_gradients_outside_their_domain(name):
    z = torch.tensor([-3.0, -1.0, 0.0, 1e-9, 1.5707963, 2.0], dtype=torch.float64, requires_grad=True)
    value = candidate(name)(z)
    value.sum().backward()
    assert torch.isfinite(value).all()
    assert torch.isfinite(z.grad).all()


def test_fit_recovers_the_affine_parameters_of_a_sine():
    y = 1.5 * torch.sin(2.0 * X + 0.5) - 0.25
    fit = fit_candidate(X, y, "sin")
    assert fit.r2 > 1 - 1e-12
    a, b, c, d = fit.params
    # sin(z) = sin(pi - z) = -sin(-z): compare the functions, not the (non-unique) parameters
    torch.testing.assert_close(a * torch.sin(b * X + c) + d, y)


def test_fit_of_a_square_reports_the_shift_in_readable_form():
    y = 3.0 * (X - 0.4) ** 2 + 1.0
    a, b, c, d = fit_candidate(X, y, "x^2").params
    assert (a, b, c, d) == pytest.approx((3.0, 1.0, -0.4, 1.0), abs=1e-8)


def test_r2_is_the_coefficient_of_determination_of_the_best_line_for_zero():
    y = X**3
    assert fit_candidate(X, y, "0").r2 == pytest.approx(0.0)
    assert fit_candidate(X, y, "x").r2 == pytest.approx(float(torch.corrcoef(torch.stack([X, y]))[0, 1] ** 2))


def test_a_line_fit_is_the_least_squares_line_on_every_sample_not_only_the_search_subset():
    # 1,000 samples, more than the 128 the search and polish use: noise with no trend, whose
    # least-squares line explains almost nothing (R^2 >= 0), while a line fitted to a subset of
    # the samples explains less than their mean does (R^2 < 0)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1000, generator=generator, dtype=torch.float64)
    y = torch.randn(1000, generator=generator, dtype=torch.float64)
    design = torch.stack([x, torch.ones_like(x)], dim=1)
    slope, intercept = torch.linalg.lstsq(design, y[:, None]).solution.squeeze(1).tolist()
    fit = fit_candidate(x, y, "x")
    assert fit.r2 == pytest.approx(float(torch.corrcoef(torch.stack([x, y]))[0, 1] ** 2), abs=1e-12)
    assert fit.params == pytest.approx((slope, 1.0, 0.0, intercept), abs=1e-10)


def test_log_on_samples_reaching_below_zero_is_fitted_inside_its_domain():
    y = torch.log(X + 1.2)
    fit = fit_candidate(X, y, "log")
    a, b, c, d = fit.params
    assert fit.r2 > 1 - 1e-10
    assert min(b * -1 + c, b * 1 + c) > 0


@pytest.mark.parametrize("name", ["log", "sqrt", "1/x", "tan", "artanh"])
def test_no_fit_is_ever_nan_even_on_data_no_candidate_matches(name):
    y = torch.sign(X) * torch.rand(101, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fit = fit_candidate(X, y, name)
    assert not math.isnan(fit.r2)
    assert all(math.isfinite(p) for p in fit.params)


def test_ranking_prefers_the_simplest_of_equally_exact_fits():
    fits = suggest_for_samples(X, 2 * X - 1)
    assert fits[0].name == "x"
    assert fits[0].params == pytest.approx((2.0, 1.0, 0.0, -1.0))
    assert suggest_for_samples(X, torch.full_like(X, 0.3))[0].name == "0"


def test_suggest_for_samples_ranks_only_the_given_library():
    fits = suggest_for_samples(X, torch.exp(X), lib=["x^2", "exp", "sin"])
    assert [f.name for f in fits][0] == "exp"
    assert sorted(f.name for f in fits) == ["exp", "sin", "x^2"]


def test_unknown_function_names_are_rejected_with_the_list_of_known_ones():
    with pytest.raises(ValueError, match=r"unknown function name 'sinc'.*'sin'"):
        candidate("sinc")
    with pytest.raises(ValueError, match="unknown function name 'gauss'"):
        suggest_for_samples(X, X, lib=["x", "gauss"])
    with pytest.raises(ValueError, match="lib must be a non-empty list"):
        suggest_for_samples(X, X, lib="sin")


def test_samples_of_mismatched_shape_or_with_nan_are_rejected():
    with pytest.raises(ValueError, match="same length"):
        fit_candidate(X, X[:-1], "x")
    with pytest.raises(ValueError, match="finite"):
        fit_candidate(X, X * math.nan, "x")


def test_library_has_every_function_the_book_names():
    required = {"x", "x^2", "x^3", "x^4", "1/x", "sqrt", "exp", "log", "sin", "cos", "tan", "tanh", "artanh", "abs", "0"}
    assert required <= set(symbolic.LIBRARY)


def test_a_tanh_that_keeps_one_sign_on_the_samples_counts_one_more_than_its_candidate():
    t = torch.linspace(-1, 1, 11)
    assert symbolic.fit_complexity(symbolic.Fit("tanh", 1.0, (1.0, 1.0, 3.0, 0.0)), t) == 4
    assert symbolic.fit_complexity(symbolic.Fit("tanh", 1.0, (1.0, 1.0, 0.5, 0.0)), t) == 3
    assert symbolic.fit_complexity(symbolic.Fit("exp", 1.0, (1.0, 1.0, 3.0, 0.0)), t) == 3


def test_an_exponential_is_read_as_exp_although_a_tanh_tail_fits_it_as_exactly():
    t = torch.linspace(-1, 1, 201, dtype=torch.float64)
    ranked = symbolic.suggest_for_samples(t, torch.exp(t), ["tanh", "exp"])
    assert {fit.name: fit for fit in ranked}["tanh"].r2 > 1 - 1e-9  # a huge a times tanh far out on its tail
    assert ranked[0].name == "exp"


def test_an_s_shaped_curve_is_still_read_as_tanh():
    t = torch.linspace(-1, 1, 201, dtype=torch.float64)
    assert symbolic.suggest_for_samples(t, torch.tanh(2 * t - 0.3), ["tanh", "exp", "sin"])[0].name == "tanh"


def _one_edge_formula(name, params, digits, n_in=1):
    model = kanlab.KAN([n_in, 1], seed=0, dtype=torch.float64)
    for i in range(n_in):
        model.symbolic[0].set_edge(i, 0, name, params)
    model.layers[0].edge_mask[:] = 0
    return symbolic.formula(model, [f"x{i}" for i in range(n_in)], digits=digits)


@pytest.mark.parametrize("digits", [1, 3, 4])
@pytest.mark.parametrize("name, params", [
    ("0", (0.0, 1.0, 0.0, 0.123456)),  # a constant alone
    ("x", (1.0, 1.0, 0.0, 1234.56789)),  # a number with many digits before the point
    ("tanh", (3.14159265, 2.7182818, 1.41421356, 0.57721)),
    ("exp", (0.123456, 0.8123456, 0.0, 0.0)),  # two inputs: the exponentials merge
])
def test_formula_prints_every_constant_with_at_most_digits_decimals(name, params, digits):
    import re

    expression = _one_edge_formula(name, params, digits, n_in=2 if name == "exp" else 1)
    for text in (str(expression), sympy.latex(expression)):
        decimals = [len(number.split(".")[1]) for number in re.findall(r"\d+\.\d+", text)]
        assert decimals and max(decimals) <= digits, text


def test_formula_with_4_digits_prints_a_constant_as_a_reader_writes_it():
    assert str(_one_edge_formula("0", (0.0, 1.0, 0.0, 0.2506123), 4)) == "0.2506"
    assert str(_one_edge_formula("x", (1.0, 1.0, 0.0, 1234.56789), 4)) == "x0 + 1234.5679"


@pytest.mark.parametrize("name", ["x^2", "x^3", "1/x^2", "exp", "sin", "cos", "1/sin", "cosh", "1/cosh"])
@pytest.mark.parametrize("b, c", [(1.5, 0.4), (-1.5, 0.4), (-1.5, -0.4)])
def test_the_canonical_parameters_of_a_fit_describe_the_same_function(name, b, c):
    f = candidate(name)
    x = torch.linspace(0.5, 0.9, 21, dtype=torch.float64)  # no zero of sin, of x or of b x + c here
    a2, b2, c2, d2 = symbolic._canonical(name, 0.7, b, c, 0.2)
    torch.testing.assert_close(a2 * f(b2 * x + c2) + d2, 0.7 * f(b * x + c) + 0.2)
