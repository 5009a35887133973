"""Specification of kanlab.kolmogorov: hand-built representations and Koeppen's inner function psi.

The references are independent of the module: psi's closed form sum_r i_r gamma^(-beta(r)) on
numbers without the digit gamma - 1, written with exact fractions; the defining recursion checked
equation by equation; and plain Python arithmetic for the representations.
"""

import math
from fractions import Fraction

import pytest
import torch

from kanlab.kolmogorov import (
    Edge,
    Representation,
    beta,
    cell_rises,
    koeppen_psi,
    koeppen_psi_exact,
    koeppen_table,
    largest_rise,
    psi_zoom,
    rise_concentration,
    smallest_gap,
    sprecher_lambda,
    square_images,
)

IDENTITY = Edge(lambda t: t, "t")


def digits_of(numerator, k, gamma):
    """The k base-gamma digits i_1 ... i_k of numerator / gamma^k (numerator < gamma^k)."""
    return [numerator // gamma ** (k - r) % gamma for r in range(1, k + 1)]


def closed_form(digits, n, gamma):
    """psi at 0.i_1 i_2 ... i_k when no digit is gamma - 1: each digit weighted by gamma^-beta(r)."""
    return sum(Fraction(i, gamma ** ((n**r - 1) // (n - 1))) for r, i in enumerate(digits, start=1))


def product_representation():
    negate = Edge(lambda t: -t, "-t")
    return Representation([2, 2, 1], {
        (0, 0, 0): IDENTITY, (0, 1, 0): IDENTITY, (0, 0, 1): IDENTITY, (0, 1, 1): negate,
        (1, 0, 0): Edge(lambda t: t**2 / 4, "t^2/4"), (1, 1, 0): Edge(lambda t: -(t**2) / 4, "-t^2/4"),
    })


# ---------------------------------------------------------------------------------------------
# Representation


def test_a_sum_node_adds_its_edges():
    add = Representation([2, 1], {(0, 0, 0): IDENTITY, (0, 1, 0): IDENTITY})
    x = torch.tensor([[0.25, 0.5], [1.0, -3.0]], dtype=torch.float64)
    assert add(x).tolist() == [[0.75], [-2.0]]


def test_product_from_two_squares_matches_multiplication():
    x = torch.rand(1000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(product_representation()(x)[:, 0], x[:, 0] * x[:, 1], rtol=0, atol=1e-15)


def test_quotient_from_logs_matches_division_on_positive_inputs():
    quotient = Representation([2, 1, 1], {
        (0, 0, 0): Edge(torch.log, r"\log t"), (0, 1, 0): Edge(lambda t: -torch.log(t), r"-\log t"),
        (1, 0, 0): Edge(torch.exp, "e^t"),
    })
    x = 0.1 + torch.rand(500, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(quotient(x)[:, 0], x[:, 0] / x[:, 1], rtol=1e-14, atol=0)


def test_node_values_lists_every_layer_from_the_inputs():
    values = product_representation().node_values(torch.tensor([[3.0, 1.0]]))
    assert [v.tolist() for v in values] == [[[3.0, 1.0]], [[4.0, 2.0]], [[3.0]]]


def test_absent_edges_contribute_nothing():
    only_first = Representation([2, 1], {(0, 0, 0): IDENTITY})
    assert only_first(torch.tensor([[2.0, 100.0]])).tolist() == [[2.0]]
    assert only_first.n_edges == 1


@pytest.mark.parametrize("widths", [[2], [2, 0], [2.0, 1]])
def test_bad_widths_are_refused(widths):
    with pytest.raises(ValueError, match="widths"):
        Representation(widths, {})


def test_an_edge_outside_the_widths_is_refused():
    with pytest.raises(ValueError, match=r"\(0, 2, 0\)"):
        Representation([2, 1], {(0, 2, 0): IDENTITY})


def test_an_edge_that_is_not_an_edge_is_refused():
    with pytest.raises(TypeError, match="Edge"):
        Representation([2, 1], {(0, 0, 0): torch.sin})


def test_input_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        product_representation()(torch.zeros(4, 3))


# ---------------------------------------------------------------------------------------------
# Koeppen's psi


def test_beta_is_the_geometric_sum_of_powers_of_n():
    assert [beta(k, 2) for k in range(1, 6)] == [1, 3, 7, 15, 31]
    assert [beta(k, 3) for k in range(1, 5)] == [sum(3**r for r in range(k)) for k in range(1, 5)]


@pytest.mark.parametrize("n, gamma", [(2, 6), (2, 10), (3, 8)])
def test_psi_on_expansions_without_the_top_digit_is_the_weighted_digit_sum(n, gamma):
    k = 3
    for numerator in range(gamma**k):
        digits = digits_of(numerator, k, gamma)
        if gamma - 1 not in digits[1:]:
            assert koeppen_psi_exact(numerator, k, n, gamma) == closed_form(digits, n, gamma)


@pytest.mark.parametrize("n, gamma", [(2, 6), (2, 10), (3, 8)])
def test_psi_satisfies_koeppens_recursion(n, gamma):
    k = 3
    for numerator in range(gamma**k + 1):
        coarse, last = divmod(numerator, gamma)
        psi = koeppen_psi_exact(numerator, k, n, gamma)
        if last < gamma - 1:
            assert psi == koeppen_psi_exact(coarse, k - 1, n, gamma) + Fraction(last, gamma ** beta(k, n))
        else:
            left = koeppen_psi_exact(numerator - 1, k, n, gamma)
            assert psi == (left + koeppen_psi_exact(coarse + 1, k - 1, n, gamma)) / 2


def test_psi_does_not_depend_on_trailing_zeros():
    for numerator in range(101):
        assert koeppen_psi_exact(numerator * 10, 3) == koeppen_psi_exact(numerator, 2)


def test_psi_is_the_identity_on_one_digit_and_fixes_the_ends():
    assert [koeppen_psi_exact(i, 1) for i in range(11)] == [Fraction(i, 10) for i in range(11)]
    assert koeppen_psi_exact(0, 6) == 0 and koeppen_psi_exact(10**6, 6) == 1


@pytest.mark.parametrize("n, gamma", [(2, 6), (2, 10), (3, 8)])
def test_psi_is_strictly_increasing(n, gamma):
    values = [koeppen_psi_exact(j, 4, n, gamma) for j in range(gamma**4 + 1)]
    assert all(a < b for a, b in zip(values, values[1:]))


def test_psi_largest_rise_over_a_cell_halves_with_each_digit():
    # continuity: the rise over a cell goes to 0; roughness: only like (1/2)^k = (gamma^-k)^log_gamma(2)
    rises = [largest_rise(k) for k in range(1, 6)]
    assert rises[0] == Fraction(1, 10) and rises[1] == Fraction(46, 1000)
    ratios = [later / earlier for earlier, later in zip(rises, rises[1:])]
    assert all(Fraction(45, 100) < ratio <= Fraction(1, 2) for ratio in ratios)
    assert abs(ratios[-1] - Fraction(1, 2)) < Fraction(1, 10**5)


def test_psi_is_far_from_lipschitz():
    # a Lipschitz-L function rises at most L * 10^-k over a cell; psi's rise / width grows without bound
    slopes = [largest_rise(k) * 10**k for k in range(1, 6)]
    assert all(a < b for a, b in zip(slopes, slopes[1:])) and slopes[-1] > 500


def test_float_table_matches_the_exact_values():
    for k in range(1, 5):
        exact = torch.tensor([float(koeppen_psi_exact(j, k)) for j in range(10**k + 1)], dtype=torch.float64)
        torch.testing.assert_close(koeppen_table(k), exact, rtol=0, atol=1e-15)


def test_koeppen_psi_interpolates_the_table_and_keeps_dtype_and_shape():
    x = torch.tensor([[0.0, 0.12], [0.125, 1.0]], dtype=torch.float32)
    y = koeppen_psi(x, 2)
    assert y.shape == x.shape and y.dtype == torch.float32
    midpoint = (float(koeppen_psi_exact(12, 2)) + float(koeppen_psi_exact(13, 2))) / 2
    torch.testing.assert_close(y, torch.tensor([[0.0, 0.102], [midpoint, 1.0]]), rtol=0, atol=1e-7)


def test_koeppen_psi_with_more_digits_converges_uniformly():
    t = torch.linspace(0, 1, 2001, dtype=torch.float64)
    gaps = [(koeppen_psi(t, k + 1) - koeppen_psi(t, k)).abs().max().item() for k in range(1, 5)]
    assert all(gap <= float(largest_rise(k)) + 1e-15 for k, gap in zip(range(1, 5), gaps))


def test_psi_zoom_rescales_the_window_to_the_unit_square():
    s, rescaled, left, rise = psi_zoom(0.7071, 2, resolution=2)
    assert left == Fraction(70, 100)
    assert s[0] == 0 and s[-1] == 1 and len(s) == 101
    assert rescaled[0] == 0 and rescaled[-1] == 1 and bool((rescaled.diff() > 0).all())
    assert rise == koeppen_psi_exact(71, 2) - koeppen_psi_exact(70, 2)
    expected = (koeppen_psi_exact(7050, 4) - koeppen_psi_exact(7000, 4)) / rise
    assert math.isclose(rescaled[50].item(), float(expected), rel_tol=1e-12)


def test_psi_zoom_takes_x_as_written_in_decimal():
    # the float 0.7071 lies just below 7071/10^4; the window is still the one that starts there
    assert psi_zoom(0.7071, 4)[2] == Fraction(7071, 10**4)
    rise = koeppen_psi_exact(7071001, 7) - koeppen_psi_exact(7071000, 7)
    assert psi_zoom(0.7071, 7)[3] == rise == Fraction(1, 10**127)


def test_psi_zoom_never_straightens():
    # a smooth increasing function, zoomed in, tends to the diagonal; from the first zoom on, psi
    # climbs less than a tenth of its rise over the first 88% of the window, at every zoom
    for level in range(1, 9):
        s, rescaled, _, _ = psi_zoom(0.7071, level, resolution=2)
        assert rescaled[s <= 0.88].max() < 0.1
        assert (rescaled - s).abs().max() > 0.75


def test_a_cell_ending_below_the_top_two_digits_rises_by_its_last_digits_weight():
    rises = cell_rises(3)
    for j in range(1000):
        i = digits_of(j, 3, 10)
        if i[-1] < 8 and 9 not in i:
            assert rises[j] == closed_form(i[:-1] + [i[-1] + 1], 2, 10) - closed_form(i, 2, 10) == Fraction(1, 10**7)


def test_the_largest_rise_halves_what_the_first_eight_sub_cells_leave():
    # omega_k = (omega_{k-1} - 8 * 10^-beta(k)) / 2: the Hoelder exponent log_10 2, exactly
    rises = [largest_rise(k) for k in range(1, 6)]
    for k in range(2, 6):
        assert rises[k - 1] == (rises[k - 2] - Fraction(8, 10 ** (2**k - 1))) / 2


def test_at_two_digits_ninety_cells_carry_ninety_nine_percent_of_the_rise():
    # each tenth: two cells of 0.046 (92% of the rise in all) and eight of 0.001; 99% needs 20 + 70
    assert rise_concentration(2, 0.99) == 90
    assert rise_concentration(2, 0.92) == 20


def test_the_cells_that_carry_the_rise_shrink_to_no_length():
    counts = [rise_concentration(k, 0.99) for k in range(2, 6)]
    assert [count / 10**k for k, count in zip(range(2, 6), counts)] == sorted(
        (count / 10**k for k, count in zip(range(2, 6), counts)), reverse=True)
    assert counts[-1] / 10**5 < 0.01


def test_sprecher_lambda_two_is_the_lacunary_decimal():
    assert sprecher_lambda(1) == 1
    assert sprecher_lambda(2, terms=4) == Fraction("0.101000100000001")


def test_with_psi_the_squares_go_to_intervals_that_do_not_overlap():
    for digits in (1, 2):
        images = square_images(digits)
        assert len(images) == 10 ** (2 * digits) and smallest_gap(images) > 0


def test_without_psi_the_squares_overlap():
    assert smallest_gap(square_images(1, inner="identity")) < 0


def test_square_images_hold_the_images_of_both_corners():
    lam = sprecher_lambda(2, terms=6)
    images = square_images(1)
    for d1 in range(10):
        for d2 in range(10):
            low, high = images[10 * d1 + d2]
            lower_corner = koeppen_psi_exact(d1, 1) + lam * koeppen_psi_exact(d2, 1)
            # d + 0.0888888 has no digit 9 after d: psi there is exact and below psi(d + delta_1)
            upper_corner = koeppen_psi_exact(d1 * 10**6 + 888888, 7) + lam * koeppen_psi_exact(d2 * 10**6 + 888888, 7)
            assert low <= lower_corner < upper_corner <= high


def test_smallest_gap_is_negative_for_overlapping_intervals():
    assert smallest_gap([(0, 2), (1, 3)]) == -1 and smallest_gap([(3, 4), (0, 1)]) == 2


@pytest.mark.parametrize("call, message", [
    (lambda: sprecher_lambda(3), "p"),
    (lambda: square_images(1, inner="cubic"), "inner"),
    (lambda: square_images(3), "digits"),
    (lambda: rise_concentration(2, 0.0), "share"),
    (lambda: smallest_gap([(0, 1)]), "intervals"),
    (lambda: koeppen_psi_exact(0, 2, n=1), "n"),
    (lambda: koeppen_psi_exact(0, 2, n=2, gamma=5), "gamma"),
    (lambda: koeppen_psi_exact(101, 2), "numerator"),
    (lambda: koeppen_psi_exact(1, 0), "digits"),
    (lambda: koeppen_table(8), "digits"),
    (lambda: koeppen_psi(torch.tensor([1.5]), 2), r"\[0, 1\]"),
    (lambda: psi_zoom(1.0, 2), "x"),
    (lambda: psi_zoom(0.5, -1), "level"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_non_tensor_input_is_a_type_error():
    with pytest.raises(TypeError, match="floating-point tensor"):
        koeppen_psi([0.5], 2)
