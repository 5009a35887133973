"""kanlab.discovery: the pipeline's pieces (ranking by simplicity, chains, the unmatched report, bad input)."""

import math

import pytest
import sympy
import torch

import kanlab
from kanlab import discovery, splines, symbolic

pytestmark = pytest.mark.usefixtures("one_thread")

X = torch.linspace(-1, 1, 101, dtype=torch.float64)


def test_a_line_bent_by_a_few_parts_in_a_thousand_is_ranked_as_x_although_a_sine_fits_better():
    y = X - 0.003 * X**3
    fits = {fit.name: fit for fit in symbolic.suggest_for_samples(X, y, lib=["sin", "x", "tanh"])}
    assert fits["sin"].r2 > fits["x"].r2  # the sine fits better ...
    assert symbolic.suggest_for_samples(X, y, lib=["sin", "x", "tanh"])[0].name == "x"  # ... the line wins


def test_a_clearly_better_complex_fit_beats_a_simple_one():
    y = torch.sin(2 * X)
    assert symbolic.suggest_for_samples(X, y, lib=["x", "x^2", "x^3", "sin"])[0].name == "sin"


def test_ranking_tolerance_zero_ranks_by_fit_alone_among_equal_complexity():
    y = (X - 0.2) ** 2
    assert symbolic.suggest_for_samples(X, y, lib=["sin", "x^2"], tolerance=0.0)[0].name == "x^2"


def test_artanh_is_identified_under_an_affine_transform():
    y = 0.7 * torch.atanh(0.8 * X - 0.1) + 0.3
    best = symbolic.suggest_for_samples(X, y)[0]
    assert best.name == "artanh"
    assert best.r2 > 1 - 1e-10


def _chain_kan():
    """[1, 1, 1]: inner edge the spline of tanh(x), outer edge the spline of sin(2 artanh(z)), so the
    network computes sin(2x) while neither edge alone is a sine."""
    model = kanlab.KAN([1, 1, 1], grid_size=20, seed=0, dtype=torch.float64)
    x = X[:, None]
    with torch.no_grad():
        for layer, inputs, values in ((0, x, torch.tanh(x)), (1, torch.tanh(x), torch.sin(2 * torch.atanh(torch.tanh(x))))):
            edge = model.layers[layer]
            edge.base_weight.zero_()
            edge.spline_scale.fill_(1.0)
            edge.spline_weight.copy_(splines.fit_coefficients(inputs, values[:, :, None], edge.grid, edge.spline_order))
    return model


def test_snap_reads_a_chain_of_two_edges_as_one_function():
    model = _chain_kan()
    data = kanlab.data.FunctionDataset(X[:, None], torch.sin(2 * X)[:, None], X[:, None], torch.sin(2 * X)[:, None])
    fits, unmatched = discovery.snap(model, data, lib=["x", "sin", "tanh"], steps=0)
    assert unmatched == []
    assert fits[(0, 0, 0)].name == "sin"
    assert fits[(1, 0, 0)].name == "x"
    with torch.no_grad():
        torch.testing.assert_close(model(X[:, None])[:, 0], torch.sin(2 * X), atol=1e-4, rtol=0)


def test_an_edge_no_candidate_matches_is_reported_with_its_closest_candidates():
    data = kanlab.data.function_dataset(lambda v: torch.sin(3 * v[:, 0]), n_var=1, n_train=200, n_test=200, seed=0,
                                        dtype=torch.float64)
    model = kanlab.KAN([1, 1], seed=0, dtype=torch.float64)
    kanlab.fit(model, data, steps=5, progress=False)
    fits, unmatched = discovery.snap(model, data, lib=["x", "x^2"], r2_min=0.99)
    assert fits == {}
    assert [miss.edge for miss in unmatched] == [(0, 0, 0)]
    assert {fit.name for fit in unmatched[0].candidates} == {"x", "x^2"}
    assert unmatched[0].candidates[0].r2 < 0.99
    assert "r2_min" in unmatched[0].reason


def test_discover_returns_no_formula_and_names_the_unmatched_edge_instead_of_raising():
    data = kanlab.data.function_dataset(lambda v: torch.sin(3 * v[:, 0]), n_var=1, n_train=200, n_test=200, seed=0,
                                        dtype=torch.float64)
    result = discovery.discover(kanlab.KAN([1, 1], seed=0, dtype=torch.float64), data, lib=["x", "x^2"],
                                sparsify_steps=2, train_steps=2, final_steps=2, r2_min=0.99)
    assert result.formula is None
    assert result.unmatched[0].edge == (0, 0, 0)
    assert "unmatched" in str(result)
    assert list(result.timings)[0] == "sparsify and prune"


def test_discover_recovers_a_sum_of_a_sine_and_a_square():
    f = lambda v: torch.sin(2 * v[:, 0]) + v[:, 1] ** 2  # noqa: E731
    data = kanlab.data.function_dataset(f, n_var=2, n_train=500, n_test=500, seed=0, dtype=torch.float64)
    result = discovery.discover(kanlab.KAN([2, 1], seed=0, dtype=torch.float64), data, var_names=["x", "y"])
    assert {fit.name for fit in result.fits.values()} == {"sin", "x^2"}
    assert result.test_rmse < 1e-6


def test_discover_rejects_an_unknown_function_name_naming_it():
    data = kanlab.data.function_dataset(lambda v: v[:, 0], n_var=1, n_train=20, n_test=20, seed=0)
    with pytest.raises(ValueError, match="'sinh'"):
        discovery.discover(kanlab.KAN([1, 1]), data, lib=["x", "sinh"])


def test_discover_rejects_a_model_that_is_not_a_kan():
    data = kanlab.data.function_dataset(lambda v: v[:, 0], n_var=1, n_train=20, n_test=20, seed=0)
    with pytest.raises(TypeError, match="kanlab.KAN"):
        discovery.discover(torch.nn.Linear(1, 1), data)


@pytest.mark.parametrize("name, value", [("r2_threshold", 1.5), ("r2_min", -0.1)])
def test_snap_rejects_thresholds_outside_zero_one(name, value):
    data = kanlab.data.function_dataset(lambda v: v[:, 0], n_var=1, n_train=20, n_test=20, seed=0)
    with pytest.raises(ValueError, match=name):
        discovery.snap(kanlab.KAN([1, 1]), data, **{name: value})


def test_import_kanlab_is_enough_for_kanlab_discovery_discover():
    import subprocess
    import sys

    code = "import kanlab; print(kanlab.discovery.discover.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "discover"


def _product_data(seed=0):
    return kanlab.data.function_dataset(lambda v: v[:, 0] * v[:, 1] ** 2 / 2, n_var=2, ranges=[(0, 1), (0, 1)],
                                        n_train=500, n_test=500, seed=seed)


def test_product_model_multiplies_one_factor_per_input_under_a_line():
    model = discovery.product_model(kanlab.KAN([3, 5, 1], seed=4, dtype=torch.float64))
    assert model.config()["widths"] == [3, (0, 1, 3), 1] and model.seed == 4
    assert next(model.parameters()).dtype == torch.float64
    assert torch.equal(model.layers[0].edge_mask, torch.eye(3, dtype=torch.float64))  # factor k reads x_k
    assert model.symbolic[1].function_name(0, 0) == "x"


def test_product_model_refuses_a_single_input():
    with pytest.raises(ValueError, match="two inputs"):
        discovery.product_model(kanlab.KAN([1, 5, 1]))


def test_samples_of_a_product_look_like_a_product_and_those_of_a_sum_do_not():
    data = _product_data()
    assert discovery.looks_like_product(data.x_train, data.y_train)
    x = data.x_train
    assert not discovery.looks_like_product(x, torch.sin(2 * x[:, 0]) + x[:, 1] ** 2)


def test_discover_reads_a_product_through_its_separable_product_network_and_says_so():
    result = discovery.discover(kanlab.KAN([2, 5, 1], seed=0), _product_data(), var_names=["m", "v"])
    m, v = sympy.symbols("m v", real=True)
    assert result.found and result.method == "product" and list(result.tried) == ["product"]
    assert sympy.simplify(result.formula - m * v**2 / 2) == 0  # every constant exact to 4 decimals


def test_discover_with_multiply_false_uses_the_model_given_alone():
    result = discovery.discover(kanlab.KAN([2, 1], seed=0), _product_data(), multiply=False, sparsify_steps=2,
                                train_steps=2, final_steps=2)
    assert result.method == "given" and list(result.tried) == ["given"]


def test_discover_rejects_a_multiply_that_is_not_auto_or_a_bool():
    with pytest.raises(ValueError, match="multiply"):
        discovery.discover(kanlab.KAN([2, 1]), _product_data(), multiply="yes")


def test_a_product_network_with_factor_powers_saves_and_loads(tmp_path):
    model = discovery.product_model(kanlab.KAN([2, 5, 1], dtype=torch.float64))
    symbolic._snap(model, 0, 0, 0, symbolic.Fit("1/sqrt", 1.0, (1.0, 1.0, 0.0, 0.0)))
    symbolic._snap(model, 0, 1, 1, symbolic.Fit("1/x^2", 1.0, (1.0, 1.0, 0.0, 0.0)))
    kanlab.save(model, tmp_path / "product.pt")
    loaded = kanlab.load(tmp_path / "product.pt")
    x1, x2 = sympy.symbols("x_1 x_2", real=True)
    assert sympy.simplify(symbolic.formula(loaded) - 1 / (sympy.sqrt(x1) * x2**2)) == 0


def test_product_model_with_a_spline_output_leaves_the_output_edge_to_be_snapped():
    model = discovery.product_model(kanlab.KAN([2, 5, 1], seed=0), output="spline")
    assert model.config()["widths"] == [2, (0, 1), 1]
    assert not model.symbolic[1].is_symbolic().any()


def test_product_model_refuses_an_output_that_is_not_line_or_spline():
    with pytest.raises(ValueError, match="output"):
        discovery.product_model(kanlab.KAN([2, 5, 1]), output="sin")


def test_a_reciprocal_factor_one_over_cosh_is_fitted_and_printed():
    fit = symbolic.fit_candidate(X, 0.5 / torch.cosh(2 * X), "1/cosh")
    assert fit.r2 > 1 - 1e-9
    t = sympy.Symbol("t", real=True)
    a, b, c, d = fit.params
    assert abs(a - 0.5) < 1e-6 and abs(b - 2) < 1e-6 and abs(c) < 1e-6 and abs(d) < 1e-6
    assert symbolic.FACTORS["1/cosh"].sympy_fn(t) == 1 / sympy.cosh(t)


def test_one_over_sine_is_not_fitted_across_a_zero_of_the_sine():
    inside = symbolic.FACTORS["1/sin"].inside
    assert not bool(inside(torch.tensor(-0.5), torch.tensor(0.5)))
    assert bool(inside(torch.tensor(0.5), torch.tensor(3.0)))
    assert not bool(inside(torch.tensor(3.0), torch.tensor(3.5)))  # pi in between


def _uniform(n, box, seed=0):
    """n points drawn uniformly (and reproducibly) from box, a list of (low, high) per input, in float64."""
    low, high = torch.tensor(box, dtype=torch.float64).T
    return low + (high - low) * torch.rand(n, len(box), dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def _largest_error(result, truth, box):
    """The largest gap between result.exact and truth on 200 points drawn from box."""
    x1, x2 = sympy.symbols("x_1 x_2", real=True)
    grid = _uniform(200, box, seed=1)
    values = sympy.lambdify((x1, x2), result.exact)(grid[:, 0].numpy(), grid[:, 1].numpy())
    return float((torch.as_tensor(values) - truth(grid)).abs().max())


def test_discover_reads_a_function_of_a_product_through_a_product_with_a_snapped_output_edge():
    data = kanlab.data.function_dataset(lambda v: v[:, 0] * v[:, 1] / (1 - v[:, 0] * v[:, 1] / 3), n_var=2,
                                        ranges=[(0, 1), (0, 2)], n_train=1000, n_test=1000, seed=0)
    result = discovery.discover(kanlab.KAN([2, 5, 1], seed=0), data)
    assert result.found and result.method == "g(product)"
    assert result.fits[(1, 0, 0)].name == "1/x"
    assert _largest_error(result, lambda v: v[:, 0] * v[:, 1] / (1 - v[:, 0] * v[:, 1] / 3), [(0, 1), (0, 2)]) < 1e-3


def test_among_the_factors_functions_a_decaying_exponential_is_read_as_exp_not_as_a_far_off_cosh():
    x = torch.linspace(0, 2, 101, dtype=torch.float64)
    bent = torch.exp(-x) + 1e-5 * torch.sin(7 * x)  # a trained edge: cosh far from its centre fits it a hair better
    best = symbolic.suggest_for_samples(x, bent, [*symbolic.LIBRARY, *symbolic.FACTORS])[0]
    assert best.name == "exp"


def test_samples_of_a_sum_plus_a_product_look_like_one_and_those_of_a_sum_or_a_product_do_not():
    x = _uniform(1000, [(-1, 1), (-1, 1)])
    assert discovery.looks_like_sum_product(x, torch.cos(3 * x[:, 0]) + x[:, 1] * torch.cos(3 * x[:, 0]) ** 2)
    assert not discovery.looks_like_sum_product(x, torch.sin(2 * x[:, 0]) + x[:, 1] ** 2)
    assert not discovery.looks_like_sum_product(x, x[:, 0] * x[:, 1])


def test_discover_reads_a_sum_plus_a_product_through_its_sum_product_network():
    data = kanlab.data.function_dataset(lambda v: torch.cos(v[:, 0]) + v[:, 1] * torch.cos(v[:, 0]) ** 2, n_var=2,
                                        ranges=[(0, 2 * torch.pi), (-1, 1)], n_train=1000, n_test=1000, seed=0)
    result = discovery.discover(kanlab.KAN([2, 5, 1], seed=0), data)
    assert result.found and result.method == "sum+product"
    truth = lambda v: torch.cos(v[:, 0]) + v[:, 1] * torch.cos(v[:, 0]) ** 2  # noqa: E731
    assert _largest_error(result, truth, [(0, 2 * math.pi), (-1, 1)]) < 1e-3


def _gaussian(v):
    """exp(-x^2 / (2 s^2)) / (sqrt(2 pi) s): a Gaussian whose width s is the second input (Feynman I.6.2)."""
    return torch.exp(-v[:, 0] ** 2 / (2 * v[:, 1] ** 2)) / (torch.sqrt(torch.tensor(2 * torch.pi)) * v[:, 1])


def test_samples_of_a_gaussian_with_its_width_look_like_the_exp_of_a_sum_plus_a_product_and_no_other_shape():
    x = _uniform(1000, [(-1, 1), (1, 2)])
    y = _gaussian(x)
    assert discovery.looks_like_exp_sum_product(x, y) and discovery.looks_like_exp_sum_product(x, -y)
    assert not discovery.looks_like_product(x, y) and not discovery.looks_like_sum_product(x, y)


def test_samples_of_a_plain_product_a_plain_sum_plus_product_or_of_both_signs_do_not_look_like_an_exp_of_one():
    x = _uniform(1000, [(0.5, 1.5), (0.5, 1.5)])  # positive
    assert not discovery.looks_like_exp_sum_product(x, x[:, 0] * x[:, 1])  # its logarithm is a plain sum
    assert not discovery.looks_like_exp_sum_product(x, 3 + torch.cos(3 * x[:, 0]) + x[:, 0] * x[:, 1] ** 2)
    assert not discovery.looks_like_exp_sum_product(x - 1, torch.exp((x[:, 0] - 1) * (x[:, 1] - 1)) - 1)  # both signs


def test_the_exp_sum_product_network_computes_sign_times_exp_of_a_sum_plus_a_product():
    model = discovery.sum_product_model(kanlab.KAN([2, 5, 1], seed=0, dtype=torch.float64), output="exp", sign=-1)
    assert model.config()["widths"] == [2, (2, 1), 1, 1]  # two sums and one product of two factors
    line = symbolic.Fit("x", 1.0, (1.0, 1.0, 0.0, 0.0))
    symbolic._snap(model, 0, 0, 0, symbolic.Fit("x", 1.0, (0.0, 1.0, 0.0, 0.0)))  # g_1 = 0
    symbolic._snap(model, 0, 1, 1, symbolic.Fit("log", 1.0, (-1.0, 1.0, 0.0, 0.5)))  # g_2 = -log(s) + 0.5
    symbolic._snap(model, 0, 0, 2, symbolic.Fit("x^2", 1.0, (-0.5, 1.0, 0.0, 0.0)))  # f_1 = -x^2 / 2
    symbolic._snap(model, 0, 1, 3, symbolic.Fit("1/x^2", 1.0, (1.0, 1.0, 0.0, 0.0)))  # f_2 = 1 / s^2
    assert model.symbolic[1].function_name(2, 0) == line.name and model.symbolic[2].function_name(0, 0) == "exp"
    x = torch.tensor([[0.5, 2.0], [-1.0, 1.0]], dtype=torch.float64)
    by_hand = -torch.exp(-x[:, 0] ** 2 / (2 * x[:, 1] ** 2) - torch.log(x[:, 1]) + 0.5)  # [-e^(0.5 - 1/32) / 2, -e^0]
    torch.testing.assert_close(model(x)[:, 0], by_hand)
    torch.testing.assert_close(by_hand, torch.tensor([-math.exp(0.5 - 1 / 32) / 2, -1.0], dtype=torch.float64))
    assert str(symbolic.formula(model)) == "-1.6487*exp(-0.5*x_1**2/x_2**2)/x_2"  # -e^(1/2) = -1.6487


@pytest.mark.parametrize("name, value", [("output", "sin"), ("sign", 2)])
def test_sum_product_model_refuses_an_unknown_output_or_a_sign_that_is_not_one_or_minus_one(name, value):
    with pytest.raises(ValueError, match=name):
        discovery.sum_product_model(kanlab.KAN([2, 5, 1]), **{name: value})


def test_discover_reads_a_gaussian_with_its_width_through_the_exp_of_a_sum_plus_a_product():
    data = kanlab.data.function_dataset(_gaussian, n_var=2, ranges=[(-1, 1), (1, 2)], n_train=1000, n_test=1000, seed=0)
    result = discovery.discover(kanlab.KAN([2, 5, 1], seed=0), data)
    assert result.found and result.method == "exp(sum+product)" and list(result.tried) == ["exp(sum+product)"]
    assert _largest_error(result, _gaussian, [(-1, 1), (1, 2)]) < 1e-6


def _interference(x):
    """I.37.4 of the Feynman table, the intensity of two interfering waves: 1 + a + 2 sqrt(a) cos d."""
    return 1 + x[:, 0] + 2 * torch.sqrt(x[:, 0]) * torch.cos(x[:, 1])


def test_discover_reads_the_sum_plus_product_first_when_the_additive_network_misfits():
    ranges = [(0.1, 2), (0, 2 * math.pi)]
    data = kanlab.data.function_dataset(_interference, n_var=2, ranges=ranges, n_train=1000, n_test=1000, seed=2)
    assert discovery.looks_like_sum_product(data.x_train, data.y_train)
    result = discovery.discover(kanlab.KAN([2, 5, 1], seed=2), data)
    assert result.found and result.method == "sum+product" and list(result.tried) == ["sum+product"]
    assert "given: train" in result.timings and "given: snap" not in result.timings  # trained, never snapped
    assert _largest_error(result, _interference, ranges) < 1e-5
