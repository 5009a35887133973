"""Multiplication nodes (KAN 2.0's MultKAN): a hidden node that passes on the product of its sums.

The reference is a hand-built [2, (0, 1), 1] KAN whose edges are snapped to t -> t, so that it
computes x * y exactly: its forward pass and its formula are compared with x * y itself.
"""

import pytest
import sympy
import torch

import kanlab
from kanlab import discovery, plot, regularization, symbolic
from kanlab.data import function_dataset
from kanlab.kan import KAN

pytestmark = pytest.mark.usefixtures("one_thread")

X, Y = sympy.symbols("x y", real=True)


def product_network(dtype=torch.float64, device=None):
    """x, y -> s_0 = x, s_1 = y -> z = s_0 s_1 -> output z: x * y exactly (the cross edges are off)."""
    model = KAN([2, (0, 1), 1], seed=0, dtype=dtype, device=device)
    for layer in model.layers:
        layer.edge_mask.zero_()
    model.symbolic[0].set_edge(0, 0, "x", (1.0, 1.0, 0.0, 0.0))  # s_0 = x
    model.symbolic[0].set_edge(1, 1, "x", (1.0, 1.0, 0.0, 0.0))  # s_1 = y
    model.symbolic[1].set_edge(0, 0, "x", (1.0, 1.0, 0.0, 0.0))  # output = z
    return model


def box_samples(n=200, seed=0, dtype=torch.float64):
    return torch.rand(n, 2, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def product_data(seed=0, n=300):
    return function_dataset(lambda v: v[:, :1] * v[:, 1:], ranges=(0.0, 1.0), n_train=n, n_test=n, seed=seed)


@pytest.fixture(scope="module")
def trained():
    """A [2, (0, 1), 1] KAN trained on x y over [0, 1]^2 (20 LBFGS steps, grid updates by default)."""
    torch.set_num_threads(1)
    data = product_data()
    model = KAN([2, (0, 1), 1], seed=0)
    kanlab.fit(model, data, steps=20, progress=False)
    return model, data


def rmse(model, x, y):
    with torch.no_grad():
        return float((model(x) - y).square().mean().sqrt())


# --- the architecture ---------------------------------------------------------------------------


def test_a_product_layer_is_fed_by_two_sums_per_product_node():
    model = KAN([3, (2, 3), 1], seed=0)
    assert model.widths == [3, 5, 1]
    assert model.layers[0].out_features == 2 + 2 * 3  # a + 2m sums
    assert model.layers[1].in_features == 5  # a + m nodes
    assert model(torch.rand(7, 3)).shape == (7, 1)


def test_sum_nodes_pass_their_sums_and_product_nodes_multiply_consecutive_pairs():
    model = KAN([2, (1, 2), 1], seed=0, dtype=torch.float64)
    sums = torch.tensor([[2.0, 3.0, 5.0, 7.0, 11.0]], dtype=torch.float64)
    assert model.node_values(1, sums).tolist() == [[2.0, 15.0, 77.0]]


def test_an_arity_of_three_multiplies_three_sums():
    model = KAN([2, (0, 1, 3), 1], seed=0, dtype=torch.float64)
    assert model.layers[0].out_features == 3
    assert model.node_values(1, torch.tensor([[2.0, 3.0, 5.0]], dtype=torch.float64)).tolist() == [[30.0]]


def test_the_repr_and_config_show_the_product_nodes():
    model = KAN([2, (1, 2), (0, 1, 3), 1], seed=0)
    assert "widths=[2, (1, 2), (0, 1, 3), 1]" in repr(model)
    assert model.config()["widths"] == [2, (1, 2), (0, 1, 3), 1]
    assert KAN([2, 3, 1]).config()["widths"] == [2, 3, 1]  # a KAN of sums is written as before


@pytest.mark.parametrize(
    "widths, message",
    [
        ([2, (0, 1, 1), 1], r"widths\[1\].*at least two inputs.*layer 1"),
        ([2, 3, (0, 2, 0), 1], r"widths\[2\].*at least two inputs.*layer 2"),
        ([(1, 1), 1], r"hidden layers.*input layer 0"),
        ([2, (0, 1)], r"hidden layers.*output layer 1"),
        ([2, (0, 0), 1], r"widths\[1\].*at least one node"),
        ([2, (1, -1), 1], r"widths\[1\]"),
        ([2, (1, 1.5), 1], r"widths\[1\].*ints"),
    ],
)
def test_a_bad_product_layer_is_refused_naming_the_layer(widths, message):
    with pytest.raises(ValueError, match=message):
        KAN(widths)


# --- the hand-built product network ---------------------------------------------------------------


def test_the_hand_built_network_computes_x_times_y_exactly():
    x = box_samples()
    torch.testing.assert_close(product_network()(x)[:, 0], x[:, 0] * x[:, 1], rtol=0, atol=1e-15)


def test_the_formula_of_the_hand_built_network_is_x_times_y():
    assert sympy.simplify(symbolic.formula(product_network(), ["x", "y"]) - X * Y) == 0


def test_the_formula_multiplies_the_sums_of_a_product_node():
    model = product_network()
    model.symbolic[0].set_edge(0, 0, "sin", (2.0, 1.0, 0.0, 0.5))  # s_0 = 2 sin x + 1/2
    model.symbolic[0].set_edge(1, 1, "x", (1.0, 1.0, 0.0, -1.0))  # s_1 = y - 1
    expected = (2 * sympy.sin(X) + sympy.Rational(1, 2)) * (Y - 1)
    assert sympy.simplify(symbolic.formula(model, ["x", "y"]) - expected) == 0
    x = box_samples()
    reference = (2 * torch.sin(x[:, 0]) + 0.5) * (x[:, 1] - 1)
    torch.testing.assert_close(model(x)[:, 0], reference)


def test_splines_set_to_the_identity_give_x_times_y_and_snap_to_it():
    """The product network again with spline edges: base weights 0, coefficients fitted to t -> t
    (the Greville abscissae), cross edges off."""
    model = KAN([2, (0, 1), 1], seed=0, dtype=torch.float64)
    with torch.no_grad():
        for layer in model.layers:
            layer.base_weight.zero_()
            layer.spline_scale.fill_(1.0)
            layer.spline_weight.zero_()
        model.layers[0].edge_mask.copy_(torch.eye(2, dtype=torch.float64))
        # a cubic spline on a uniform grid is t exactly when its coefficients are the Greville abscissae
        for layer in model.layers:
            grid, k = layer.grid, layer.spline_order
            greville = torch.stack([grid[:, b + 1 : b + k + 1].mean(dim=1) for b in range(grid.shape[1] - k - 1)], 1)
            layer.spline_weight.copy_(greville.unsqueeze(0).expand_as(layer.spline_weight))
    x = box_samples()
    torch.testing.assert_close(model(x)[:, 0], x[:, 0] * x[:, 1], rtol=0, atol=1e-12)
    symbolic.auto_symbolic(model, lib=["x", "x^2", "sin"], x=x)
    assert symbolic.spline_edges(model) == []
    assert sympy.simplify(symbolic.formula(model, ["x", "y"]) - X * Y) == 0


# --- training and the rest of the workflow -----------------------------------------------------------


def test_a_trained_product_kan_learns_x_times_y(trained):
    model, data = trained
    assert rmse(model, data.x_test, data.y_test) < 1e-3  # x y spans [0, 1]


def test_the_sparsity_penalty_reads_the_output_through_the_products():
    """kanlab.fit(..., lamb=...) takes the prediction from the same pass as the edge scales."""
    model = KAN([2, (1, 1), 1], seed=0, dtype=torch.float64)
    x = box_samples()
    scales, output = regularization._scales_and_output(model, x)
    torch.testing.assert_close(output, model(x))
    assert [tuple(s.shape) for s in scales] == [(3, 2), (1, 2)]


def test_update_grid_places_the_next_grid_on_the_products():
    model = KAN([2, (0, 1), 1], seed=0, dtype=torch.float64)
    x = box_samples()
    before = model(x)
    model.update_grid(x)
    torch.testing.assert_close(model(x), before, rtol=0, atol=1e-5)  # the splines are refitted by least squares
    with torch.no_grad():
        sums = model.layers[0](x)
        products = sums[:, 0] * sums[:, 1]
    lo, hi = model.layers[1].grid_range
    torch.testing.assert_close(lo, products.min().reshape(1))
    torch.testing.assert_close(hi, products.max().reshape(1))


def test_refine_keeps_the_function_of_a_product_kan(trained):
    model, data = trained
    finer = model.refine(10)
    assert finer.grid_size == 10 and finer.config()["widths"] == [2, (0, 1), 1]
    with torch.no_grad():
        assert float((finer(data.x_test) - model(data.x_test)).abs().max()) < 1e-3


def test_prune_keeps_a_needed_product_node_whole_and_drops_a_dead_one():
    """A [2, (1, 2), 1] KAN whose sum node and second product node are switched off: pruning keeps the
    first product node with both of its sums and the function with it."""
    model = product_network()  # widths [2, (0, 1), 1] computing x y
    wide = KAN([2, (1, 2), 1], seed=0, dtype=torch.float64)
    for layer in wide.layers:
        layer.edge_mask.zero_()
    # sums: 0 the sum node, 1-2 product node 1, 3-4 product node 2; only product node 1 is wired
    wide.symbolic[0].set_edge(0, 1, "x", (1.0, 1.0, 0.0, 0.0))
    wide.symbolic[0].set_edge(1, 2, "x", (1.0, 1.0, 0.0, 0.0))
    wide.symbolic[1].set_edge(1, 0, "x", (1.0, 1.0, 0.0, 0.0))
    x = box_samples()
    small = wide.prune(x=x)
    assert small.config()["widths"] == [2, (0, 1), 1]
    assert small.layers[0].out_features == 2
    torch.testing.assert_close(small(x), model(x), rtol=0, atol=1e-12)
    assert sympy.simplify(symbolic.formula(small, ["x", "y"]) - X * Y) == 0


def test_prune_keeps_the_constant_factor_of_a_product():
    """z = s_0 s_1 with s_0 = 3 (constant, its edges below any threshold) and s_1 = y: the product
    node stays, and so does an edge into s_0 to carry the 3."""
    model = product_network()
    model.symbolic[0].set_edge(0, 0, "x", (1e-6, 1.0, 0.0, 3.0))  # s_0 = 3 + 1e-6 x
    x = box_samples()
    small = model.prune(x=x)
    assert small.config()["widths"] == [2, (0, 1), 1]
    torch.testing.assert_close(small(x)[:, 0], 3 * x[:, 1], rtol=0, atol=1e-5)


def test_prune_of_a_trained_product_kan_keeps_the_product_and_stays_close(trained):
    """Its weak cross edges go (their variation is lost, their means kept); x y spans [0, 1]."""
    model, data = trained
    small = model.prune(x=data.x_train)
    assert small.config()["widths"] == [2, (0, 1), 1]
    assert rmse(small, data.x_test, data.y_test) < 1e-2


def test_save_and_load_round_trip_a_product_kan(tmp_path, trained):
    model, data = trained
    symbolic_model = product_network(dtype=torch.float32)
    for original in (model, symbolic_model):
        kanlab.save(original, tmp_path / "product.pt")
        loaded = kanlab.load(tmp_path / "product.pt")
        assert loaded.config() == original.config()
        with torch.no_grad():
            assert torch.equal(loaded(data.x_test), original(data.x_test))


def test_the_diagram_marks_the_product_node_and_draws_one_inset_per_edge(trained):
    model, _ = trained
    ax = plot.kan(model, x=box_samples(dtype=torch.float32), var_names=["$x$", "$y$"], output_names=["$f$"])
    assert len(ax.child_axes) == 2 * 2 + 1  # 2 inputs x 2 sums, then 1 edge out of the product
    markers = [line.get_marker() for line in ax.lines]
    assert markers.count("x") == 1  # the product node
    assert markers.count("o") == 2  # its two factors


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_discover_reads_x_times_y_from_a_kan_with_one_product_node(seed):
    """End to end on x y over [0, 1]^2; on seed 1 the trained factors are sqrt(x) and sqrt(y) under a
    square, and the lines tried on a product's factors bring x y back."""
    data = function_dataset(lambda v: v[:, 0] * v[:, 1], ranges=(0.0, 1.0), seed=seed)
    result = discovery.discover(KAN([2, (0, 1), 1], seed=seed), data, var_names=["x", "y"])
    assert result.found
    assert sympy.simplify(result.formula - X * Y) == 0
    assert "widths [2, (0, 1), 1]" in str(result)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_a_product_kan_on_cuda_matches_the_cpu():
    x = box_samples()
    for model in (product_network(), KAN([2, (1, 2), 1], seed=0, dtype=torch.float64)):
        on_cpu = model(x)
        on_cuda = model.to("cuda")(x.to("cuda"))
        torch.testing.assert_close(on_cuda.cpu(), on_cpu, rtol=1e-10, atol=1e-12)
    model = KAN([2, (0, 1), 1], seed=0, device="cuda")
    data = product_data()
    data = type(data)(*(t.to("cuda") for t in (data.x_train, data.y_train, data.x_test, data.y_test)))
    kanlab.fit(model, data, steps=20, progress=False)
    assert rmse(model, data.x_test, data.y_test) < 1e-3
