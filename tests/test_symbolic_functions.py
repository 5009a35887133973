"""Your own functions in the symbolic library: kanlab.symbolic.function (one call) and add_function (for good)."""

import pytest
import sympy
import torch

import kanlab
from kanlab import symbolic

pytestmark = pytest.mark.usefixtures("one_thread")


def _j0(add=True):
    make = symbolic.add_function if add else symbolic.function
    return make("J0", torch.special.bessel_j0, lambda z: sympy.besselj(0, z), complexity=4)


@pytest.fixture(autouse=True)
def library_as_built():
    """Each test starts and ends with the built-in library only."""
    yield
    for name in set(symbolic.LIBRARY) - set(symbolic._BUILTIN_NAMES):
        symbolic.remove_function(name)


def _bessel_kan(seed=0):
    """A [1, 1] KAN whose one edge is a spline trained on J0(x), x in [0, 6]."""
    data = kanlab.data.function_dataset(lambda v: torch.special.bessel_j0(v[:, :1]), n_var=1, ranges=[(0, 6)],
                                        n_train=300, n_test=300, seed=seed, dtype=torch.float64)
    model = kanlab.KAN([1, 1], grid_size=20, seed=seed, dtype=torch.float64)
    kanlab.fit(model, data, steps=20, progress=False)
    return model, data


def test_an_edge_trained_on_bessel_j0_snaps_to_an_added_j0_and_the_formula_reads_besselj():
    model, data = _bessel_kan()
    _j0()
    best = symbolic.suggest(model, 0, 0, 0, x=data.x_train)[0]
    assert best.name == "J0" and best.r2 > 1 - 1e-5
    symbolic.set_symbolic(model, 0, 0, 0, "J0", x=data.x_train)
    kanlab.fit(model, data, steps=10, progress=False)  # a, b, c, d train: J0 has a derivative for them
    expression = symbolic.formula(model, ["x"])
    assert expression.has(sympy.besselj)
    x = sympy.Symbol("x", real=True)
    assert float(sympy.Abs(expression - sympy.besselj(0, x)).subs(x, 2.5).evalf()) < 1e-3


def test_a_function_for_one_call_ranks_and_snaps_without_entering_the_library():
    model, data = _bessel_kan()
    j0 = _j0(add=False)
    best = symbolic.suggest(model, 0, 0, 0, lib=[*symbolic.LIBRARY, j0], x=data.x_train)[0]
    assert best.name == "J0" and "J0" not in symbolic.LIBRARY
    symbolic._snap(model, 0, 0, 0, best)
    assert model.symbolic[0].function_name(0, 0) == "J0"
    torch.testing.assert_close(model(data.x_test), data.y_test, atol=1e-3, rtol=0)
    assert symbolic.formula(model, ["x"]).has(sympy.besselj)


def test_a_layer_built_before_a_function_was_added_can_still_use_it():
    model = kanlab.KAN([1, 1], seed=0, dtype=torch.float64)  # its SymbolicEdges exist before J0 does
    _j0()
    model.symbolic[0].set_edge(0, 0, "J0", (2.0, 1.0, 0.0, 0.5))
    model.layers[0].edge_mask[0, 0] = 0
    x = torch.linspace(0, 3, 7, dtype=torch.float64)[:, None]
    torch.testing.assert_close(model(x), 2 * torch.special.bessel_j0(x) + 0.5)


def test_a_saved_model_with_an_added_function_loads_back_and_names_it_when_it_is_missing(tmp_path):
    _j0()
    model = kanlab.KAN([2, 1], seed=0, dtype=torch.float64)
    model.symbolic[0].set_edge(0, 0, "J0", (2.0, 1.0, 0.0, 0.5))
    model.symbolic[0].set_edge(1, 0, "sin", (1.0, 1.0, 0.0, 0.0))
    model.layers[0].edge_mask[:] = 0
    kanlab.save(model, tmp_path / "j0.pt")
    x = torch.rand(20, 2, dtype=torch.float64)
    torch.testing.assert_close(kanlab.load(tmp_path / "j0.pt")(x), model(x))
    symbolic.remove_function("J0")
    with pytest.raises(ValueError, match="'J0', which is not in the library; add it with"):
        kanlab.load(tmp_path / "j0.pt")


def test_a_checkpoint_from_the_fixed_library_reads_its_indices_in_the_built_in_order():
    model = kanlab.KAN([1, 1], seed=0, dtype=torch.float64)
    model.symbolic[0].set_edge(0, 0, "exp", (1.0, 1.0, 0.0, 0.0))
    model.layers[0].edge_mask[:] = 0
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("function_table")}
    state["symbolic.0.function_index"] = torch.tensor([symbolic._BUILTIN_NAMES.index("exp")])
    _j0()  # the library grows: the old indices still mean the built-ins
    old = kanlab.KAN([1, 1], seed=1, dtype=torch.float64)
    old.load_state_dict(state)
    assert old.symbolic[0].function_name(0, 0) == "exp"


def test_the_rankings_order_does_not_depend_on_when_functions_were_added():
    x = torch.linspace(0, 6, 200, dtype=torch.float64)
    y = torch.special.bessel_j0(x)
    _j0()
    before = [f.name for f in symbolic.suggest_for_samples(x, y)]
    symbolic.remove_function("J0")
    symbolic.add_function("decoy", torch.sinh, sympy.sinh)
    _j0()
    after = [f.name for f in symbolic.suggest_for_samples(x, y) if f.name != "decoy"]
    assert before == after


def test_a_function_without_a_sympy_form_is_refused_naming_it():
    with pytest.raises(ValueError, match="function 'J0' needs sympy_fn"):
        symbolic.add_function("J0", torch.special.bessel_j0, None)


def test_a_function_giving_nan_on_part_of_its_domain_is_refused_naming_it_and_accepted_on_a_narrower_domain():
    with pytest.raises(ValueError, match="function 'mylog' gives nan at -10"):
        symbolic.add_function("mylog", torch.log, sympy.log)
    symbolic.add_function("mylog", torch.log, sympy.log, domain=(0, float("inf")))
    best = symbolic.suggest_for_samples(torch.linspace(1, 3, 50, dtype=torch.float64),
                                        2 * torch.log(torch.linspace(1, 3, 50, dtype=torch.float64)),
                                        lib=["mylog", "x"])[0]
    assert best.name == "mylog"


def test_a_sympy_form_that_disagrees_with_the_torch_function_is_refused_naming_it():
    with pytest.raises(ValueError, match="torch_fn and sympy_fn of function 'J0' disagree"):
        symbolic.add_function("J0", torch.special.bessel_j0, lambda z: sympy.besselj(1, z))


def test_built_in_names_cannot_be_replaced_or_removed():
    with pytest.raises(ValueError, match="'sin' is a built-in function"):
        symbolic.add_function("sin", torch.cos, sympy.cos)
    with pytest.raises(ValueError, match="'sin' is a built-in function"):
        symbolic.remove_function("sin")


def test_discover_takes_a_function_for_one_call_and_reads_besselj_from_the_samples_of_j0_2x():
    j0 = _j0(add=False)
    data = kanlab.data.function_dataset(lambda v: torch.special.bessel_j0(2 * v[:, :1]), n_var=1, ranges=[(0, 3)],
                                        n_train=1000, n_test=1000, seed=0)
    result = kanlab.discovery.discover(kanlab.KAN([1, 1, 1], seed=0), data, lib=[*symbolic.LIBRARY, j0])
    assert result.found and result.formula.has(sympy.besselj), str(result)
    assert "J0" not in symbolic.LIBRARY
