"""Acceptance tests of the interpretability toolkit: from samples alone back to the formula."""

import pytest
import sympy
import torch

import kanlab
from kanlab import symbolic

pytestmark = pytest.mark.usefixtures("one_thread")

# cos(z) = sin(z + pi/2): either name identifies either function exactly.
_SAME_FUNCTION = {"sin": {"sin", "cos"}, "cos": {"sin", "cos"}}


def _random_affine_samples(name, seed):
    """y = a f(b x + c) + d on [-1, 1] with random a, b, c, d keeping b x + c inside f's domain."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(low, high):
        return float(low + (high - low) * torch.rand((), generator=generator, dtype=torch.float64))

    def random_sign():
        return 1.0 if uniform(0, 1) > 0.5 else -1.0

    a, b, c, d = random_sign() * uniform(0.5, 2.0), random_sign() * uniform(0.5, 2.0), uniform(-1, 1), uniform(-1, 1)
    if name in ("log", "sqrt", "1/x"):  # b x + c >= 0.2 on [-1, 1]
        c = abs(b) + uniform(0.2, 1.0)
    if name == "tan":  # |b x + c| <= 1.3, away from the poles at +-pi/2
        b, c = random_sign() * uniform(0.3, 1.0), uniform(-0.3, 0.3)
    if name == "artanh":  # |b x + c| <= 0.9, inside (-1, 1)
        b, c = random_sign() * uniform(0.3, 0.6), uniform(-0.3, 0.3)
    x = torch.linspace(-1, 1, 201, dtype=torch.float64)
    y = a * symbolic.candidate(name)(b * x + c) + d
    return x, y


@pytest.mark.parametrize("name", sorted(symbolic.LIBRARY))
@pytest.mark.parametrize("seed", [0, 1])
def test_suggest_identifies_each_library_function_under_a_random_affine_transform(name, seed):
    x, y = _random_affine_samples(name, seed)
    best = symbolic.suggest_for_samples(x, y)[0]
    assert best.name in _SAME_FUNCTION.get(name, {name})
    assert best.r2 > 0.9999


def _with_nice_constants(expression, tolerance=1e-3):
    """Every number replaced by the nearest 0, small rational or rational multiple of pi, each of
    which must lie within `tolerance` of the number it replaces."""
    replacements = {}
    for number in expression.atoms(sympy.Float):
        value = float(number)
        nice = sympy.Integer(0) if abs(value) < tolerance else sympy.nsimplify(value, [sympy.pi], tolerance=tolerance)
        assert abs(float(nice) - value) <= tolerance, (value, nice)
        replacements[number] = nice
    return expression.xreplace(replacements)


def _formula_rmse(expression, symbols, x, y):
    evaluate = sympy.lambdify(symbols, expression, modules="math")
    values = torch.tensor([float(evaluate(*point)) for point in x.tolist()], dtype=torch.float64)
    return float(torch.sqrt(torch.mean((values - y[:, 0]) ** 2)))


def _sparsify_and_prune(model, data, steps=20, lamb=1e-2, rounds=6):
    """Train with the sparsity penalty and prune, again and again, until every hidden layer is down
    to one node or `rounds` rounds have run. A round that removes nothing is not the end: the
    penalty keeps shrinking the weaker of two nodes that share the work, and a later round removes it."""
    for _ in range(rounds):
        kanlab.fit(model, data, steps=steps, lamb=lamb, lamb_entropy=2.0, update_grid_every=5,
                   update_grid_until=steps, progress=False)
        smaller = model.prune(node_threshold=1e-2, edge_threshold=3e-2, x=data.x_train)
        with torch.no_grad():  # pruning keeps the function up to the removed edges' variation (f: 0.37..7.4)
            assert float((smaller(data.x_test) - model(data.x_test)).abs().max()) < 5e-2
        model = smaller
        if all(width == 1 for width in model.widths[1:-1]):
            break
    return model


@pytest.mark.slow
def test_hello_kan_recovers_exp_of_sin_pi_x_plus_y_squared_from_samples():
    f = lambda v: torch.exp(torch.sin(torch.pi * v[:, 0]) + v[:, 1] ** 2)  # noqa: E731
    data = kanlab.data.function_dataset(f, n_var=2, n_train=1000, n_test=1000, seed=0, dtype=torch.float64)
    small = _sparsify_and_prune(kanlab.KAN([2, 5, 1], grid_size=5, seed=1, dtype=torch.float64), data)
    assert small.widths == [2, 1, 1]

    kanlab.fit(small, data, steps=10, update_grid_every=5, update_grid_until=10, progress=False)
    symbolic.auto_symbolic(small, lib=["x", "x^2", "x^3", "exp", "sin", "tanh", "sqrt", "log"], r2_threshold=0.999,
                           x=data.x_train)
    assert symbolic.spline_edges(small) == []
    kanlab.fit(small, data, steps=10, progress=False)

    x, y = sympy.symbols("x y", real=True)
    recovered = symbolic.formula(small, var_names=["x", "y"], digits=4)
    assert sympy.simplify(_with_nice_constants(recovered) - sympy.exp(sympy.sin(sympy.pi * x) + y**2)) == 0
    precise = symbolic.formula(small, var_names=["x", "y"], digits=None)
    assert _formula_rmse(precise, (x, y), data.x_test, data.y_test) <= 1e-6


@pytest.mark.slow
def test_kan_recovers_x_times_y_as_a_difference_of_squares():
    f = lambda v: v[:, 0] * v[:, 1]  # noqa: E731
    data = kanlab.data.function_dataset(f, n_var=2, n_train=1000, n_test=1000, seed=0, dtype=torch.float64)
    model = kanlab.KAN([2, 2, 1], grid_size=5, seed=0, dtype=torch.float64)
    kanlab.fit(model, data, steps=10, update_grid_every=5, update_grid_until=10, progress=False)
    for i in range(2):  # inner functions linear: x*y = sum_k c_k (a_k x + b_k y)^2 then needs squares outside
        for j in range(2):
            symbolic.set_symbolic(model, 0, i, j, "x", x=data.x_train)
    kanlab.fit(model, data, steps=10, update_grid_every=5, update_grid_until=10, progress=False)
    symbolic.auto_symbolic(model, lib=["x", "x^2"], r2_threshold=0.999, x=data.x_train)
    kanlab.fit(model, data, steps=10, progress=False)

    x, y = sympy.symbols("x y", real=True)
    recovered = sympy.expand(symbolic.formula(model, var_names=["x", "y"], digits=None))
    grid = [(a / 10, b / 10) for a in range(-10, 11) for b in range(-10, 11)]
    evaluate = sympy.lambdify((x, y), recovered, modules="math")
    assert max(abs(evaluate(a, b) - a * b) for a, b in grid) < 1e-3
    assert sympy.simplify(_with_nice_constants(recovered) - x * y) == 0
