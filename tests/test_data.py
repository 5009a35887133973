"""Specification of kanlab.data's logic-gate tables and voting-age table."""

import operator

import pytest
import torch

from kanlab.data import LOGIC_GATES, logic_gate, voting_age

GATE_RULES = {
    "or": operator.or_,
    "and": operator.and_,
    "xor": operator.xor,
    "nand": lambda a, b: 1 - (a & b),
    "nor": lambda a, b: 1 - (a | b),
    "xnor": lambda a, b: 1 - (a ^ b),
}


def test_every_gate_has_a_rule_in_this_test():
    assert set(LOGIC_GATES) == set(GATE_RULES)


@pytest.mark.parametrize("name", sorted(GATE_RULES))
def test_logic_gate_table_matches_the_boolean_operator(name):
    X, y = logic_gate(name)
    expected = [float(GATE_RULES[name](int(a), int(b))) for a, b in X.tolist()]
    assert y.tolist() == expected


def test_logic_gate_inputs_are_the_four_corners_in_truth_table_order():
    X, _ = logic_gate("or")
    assert X.tolist() == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]


def test_logic_gate_shapes_and_default_dtype():
    X, y = logic_gate("xor")
    assert (X.shape, y.shape) == ((4, 2), (4,))
    assert X.dtype == y.dtype == torch.get_default_dtype()


def test_logic_gate_honours_dtype():
    X, y = logic_gate("and", dtype=torch.float64)
    assert X.dtype == y.dtype == torch.float64


def test_logic_gate_name_is_case_insensitive():
    assert torch.equal(logic_gate("XOR")[1], logic_gate("xor")[1])


def test_logic_gate_rejects_an_unknown_name_and_lists_the_known_ones():
    with pytest.raises(ValueError, match="or, and, xor"):
        logic_gate("implies")


def test_logic_gate_rejects_a_name_that_is_not_a_string():
    with pytest.raises(TypeError, match="name"):
        logic_gate(3)


def test_logic_gate_rejects_an_integer_dtype():
    with pytest.raises(TypeError, match="dtype"):
        logic_gate("or", dtype=torch.int64)


def test_voting_age_allows_exactly_the_ages_from_eighteen():
    ages, allowed = voting_age(10, 30)
    assert ages.shape == (21, 1) and allowed.shape == (21,)
    assert allowed.tolist() == [1.0 if age >= 18 else 0.0 for age in range(10, 31)]
    assert ages[:, 0].tolist() == [float(age) for age in range(10, 31)]


def test_voting_age_threshold_can_change():
    _, allowed = voting_age(15, 17, threshold=16)
    assert allowed.tolist() == [0.0, 1.0, 1.0]


@pytest.mark.parametrize("youngest,oldest", [(-1, 5), (5, 4), (1.5, 3), (True, 3)])
def test_voting_age_rejects_bad_ranges(youngest, oldest):
    with pytest.raises(ValueError, match="youngest|oldest"):
        voting_age(youngest, oldest)
