"""benchmarks/symbolic_panel.py's targets and its exactness test (issue 22, item 5): every target's
function is its sympy form, and a formula is exact when, its constants rounded to simple rationals and
pi, it is the target's function."""

import math

import pytest
import sympy
import torch

import symbolic_panel as panel  # benchmarks/, on pytest's pythonpath (pyproject.toml)

ALL = panel.PANEL + panel.PRODUCTS + panel.FEYNMAN
x1, x2 = sympy.symbols("x_1 x_2", real=True)
QUOTIENT = panel.PRODUCTS[3]  # x / (4 pi y^2) on [0, 1] x [0.5, 2]
I_27_6 = next(t for t in panel.PANEL if t.name.startswith("I.27.6"))  # 1/(1 + a b) on [0.5, 2]^2


def test_the_three_lists_hold_at_least_thirty_distinct_formulas():
    assert len({target.expression for target in ALL}) >= 30
    assert len({target.name for target in ALL}) == len(ALL)


def test_the_held_out_list_has_only_two_and_three_variable_feynman_equations():
    assert all(target.n_var in (2, 3) for target in panel.FEYNMAN)
    assert all(target.name.split()[0].count(".") == 2 for target in panel.FEYNMAN)
    assert len(panel.FEYNMAN) >= 15


@pytest.mark.parametrize("target", ALL, ids=lambda target: target.name)
def test_each_target_function_is_its_sympy_form_and_finite_on_its_box(target):
    x = panel.grid_of(target)
    values = target.f(x)
    assert bool(torch.isfinite(values).all())
    assert panel.max_error(panel.target_expression(target), target) <= 1e-12 * (1 + float(values.abs().max()))


def test_sample_draws_the_numbers_kanlab_function_dataset_draws():
    kanlab = pytest.importorskip("kanlab")
    target = panel.FEYNMAN[0]
    data = kanlab.data.function_dataset(target.f, n_var=target.n_var, ranges=target.ranges, seed=2)
    mine = panel.sample(target, seed=2)
    for theirs, ours in zip((data.x_train, data.y_train, data.x_test, data.y_test), mine):
        assert torch.equal(theirs, ours)


def test_the_target_itself_is_exact():
    assert panel.is_exact(panel.target_expression(QUOTIENT), QUOTIENT)


def test_constants_close_to_simple_ones_round_to_them():
    assert panel.round_constants(1.0034 * x1 - 0.0004) == x1
    assert panel.round_constants(0.0795775 * x1) == x1 / (4 * sympy.pi)
    assert panel.round_constants(0.398942 * x1) == x1 / sympy.sqrt(2 * sympy.pi)
    assert panel.round_constants(x1 ** 0.99998 * 0.3333334) == x1 / 3


def test_a_formula_with_trained_constants_is_exact():
    found = 0.0795771 * (1.00002 * x1 - 0.00001) ** 1.000001 / (0.99999 * x2 + 0.00002) ** 2.00001
    assert panel.is_exact(found, QUOTIENT)


def test_a_formula_off_by_an_added_constant_is_not_exact():
    assert not panel.is_exact(x1 / (4 * math.pi * x2**2) + 0.05, QUOTIENT)
    assert not panel.is_exact(x1 / (4 * math.pi * x2**2) + 0.5, QUOTIENT)


def test_a_formula_off_by_a_factor_is_not_exact():
    assert not panel.is_exact(x1 / (4.2 * x2**2), QUOTIENT)


def test_a_quotient_written_another_way_is_exact():
    assert panel.is_exact(0.5 - 0.5 * sympy.tanh(0.5 * sympy.log(x1) + 0.5 * sympy.log(x2)), I_27_6)
    assert panel.is_exact(sympy.exp(-sympy.log(1.0 + x1 * x2)), I_27_6)


def test_compensating_constants_count_once_the_formula_is_expanded():
    target = next(t for t in panel.PANEL if t.name.startswith("II.2.42"))
    assert panel.is_exact(0.9927961 * x2 * (1.0072501 * x1 - 1.0072501), target)


def test_factors_freed_by_rounding_the_exponents_are_gathered_before_they_are_rounded():
    target = next(t for t in panel.PANEL if t.name.startswith("II.38.3"))
    found = 0.744 * (8.6 * x1 - 0.004) ** 0.9997 / (6.4 * x2 - 0.004) ** 0.9995
    assert panel.is_exact(found, target)


def test_terms_that_cancel_once_rounded_leave_no_constant_behind():
    target = next(t for t in panel.PANEL if t.name.startswith("I.12.11"))
    s1, s2 = sympy.sin(0.9999947 * x2 - 2.6e-6), sympy.sin(1.0000049 * x2 + 2.3e-6)
    found = 0.4999997 * x1 * s1 + 0.5000004 * x1 * s2 - 0.0869749 * s1**2 + 0.0869751 * s2**2 + 0.9999996
    assert panel.is_exact(found, target)


def test_a_common_factor_under_a_square_root_comes_out_before_rounding():
    target = next(t for t in panel.PANEL if t.name.startswith("III.10.19"))
    found = 3.6041775 * sympy.sqrt(0.0769157 * x1**2 + 2.3e-8 * x1 + 0.0769157 * x2**2 + 0.0768084) + 0.0011032
    assert panel.is_exact(found, target)


def test_a_formula_in_other_variables_or_none_is_not_exact():
    assert not panel.is_exact(sympy.Symbol("y") / 3, QUOTIENT)
    assert not panel.is_exact(None, QUOTIENT)
