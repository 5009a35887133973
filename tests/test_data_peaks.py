"""Specification of kanlab.data's continual-learning toy: Gaussian peaks shown one region at a time."""

import pytest
import torch

from kanlab.data import gaussian_peaks, peak_phases, peak_regions


def test_peak_regions_cut_minus_one_to_one_into_equal_pieces_left_to_right():
    regions = peak_regions(4)
    assert [bound for region in regions for bound in region] == pytest.approx([-1, -0.5, -0.5, 0, 0, 0.5, 0.5, 1])


def test_gaussian_peaks_are_one_at_each_region_centre_and_tiny_at_the_borders():
    centres = torch.tensor([(lo + hi) / 2 for lo, hi in peak_regions(5)], dtype=torch.float64)
    borders = torch.tensor([lo for lo, _ in peak_regions(5)] + [1.0], dtype=torch.float64)
    torch.testing.assert_close(gaussian_peaks(centres), torch.ones(5, dtype=torch.float64), atol=1e-12, rtol=0)
    assert gaussian_peaks(borders).max() < 1e-3


def test_gaussian_peaks_is_a_sum_of_gaussians_of_the_given_width():
    x = torch.linspace(-1, 1, 101, dtype=torch.float64)
    expected = sum(torch.exp(-((x - c) ** 2) / (2 * 0.1**2)) for c in (-0.5, 0.5))
    torch.testing.assert_close(gaussian_peaks(x[:, None], n_peaks=2, width=0.1), expected)


def test_peak_phases_sample_each_region_only_with_the_peaks_as_targets():
    phases = peak_phases(n_peaks=5, n_train=30, n_test=20, dtype=torch.float64)
    assert len(phases) == 5
    for phase, (lo, hi) in zip(phases, peak_regions(5)):
        assert phase.x_train.shape == (30, 1) and phase.x_test.shape == (20, 1)
        for x, y in ((phase.x_train, phase.y_train), (phase.x_test, phase.y_test)):
            assert lo <= x.min() and x.max() <= hi
            torch.testing.assert_close(y[:, 0], gaussian_peaks(x))


def test_peak_phases_are_reproducible_and_leave_the_global_generator_alone():
    state = torch.random.get_rng_state()
    first, second = peak_phases(seed=2), peak_phases(seed=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(a.x_train, b.x_train) for a, b in zip(first, second))
    assert not torch.equal(first[0].x_train, peak_phases(seed=3)[0].x_train)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: peak_regions(0), "n_peaks"),
        (lambda: peak_phases(n_peaks=2.5), "n_peaks"),
        (lambda: gaussian_peaks(torch.zeros(3), width=0), "width"),
        (lambda: gaussian_peaks(torch.zeros(3, 2)), "shape"),
    ],
)
def test_peak_functions_reject_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_gaussian_peaks_rejects_integer_inputs():
    with pytest.raises(TypeError, match="floating-point"):
        gaussian_peaks(torch.zeros(3, dtype=torch.int64))
