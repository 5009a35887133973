"""Specification of kanlab.data's 2-D classification sets: two moons and concentric circles."""

import math

import pytest
import torch

from kanlab.data import circles, two_moons

MAKERS = [two_moons, circles]


@pytest.mark.parametrize("make", MAKERS)
def test_shapes_dtype_and_balanced_classes(make):
    X, y = make(n=101, dtype=torch.float64)
    assert X.shape == (101, 2) and y.shape == (101,)
    assert X.dtype == y.dtype == torch.float64
    assert int((y == 0).sum()) == 50 and int((y == 1).sum()) == 51


@pytest.mark.parametrize("make", MAKERS)
def test_default_dtype_is_float32(make):
    X, y = make(n=10)
    assert X.dtype == y.dtype == torch.float32


@pytest.mark.parametrize("make", MAKERS)
def test_same_seed_same_points_other_seed_other_points(make):
    assert torch.equal(make(n=50, seed=3)[0], make(n=50, seed=3)[0])
    assert not torch.equal(make(n=50, seed=3)[0], make(n=50, seed=4)[0])


@pytest.mark.parametrize("make", MAKERS)
def test_global_rng_is_untouched(make):
    state = torch.get_rng_state()
    make(n=50, seed=1)
    assert torch.equal(torch.get_rng_state(), state)


def test_noiseless_moons_lie_on_their_half_circles():
    X, y = two_moons(n=400, noise=0.0, dtype=torch.float64)
    upper, lower = X[y == 0], X[y == 1]
    assert torch.allclose(upper.norm(dim=1), torch.ones(len(upper), dtype=torch.float64))
    assert bool((upper[:, 1] >= 0).all())
    centre = torch.tensor([1.0, 0.5], dtype=torch.float64)
    assert torch.allclose((lower - centre).norm(dim=1), torch.ones(len(lower), dtype=torch.float64))
    assert bool((lower[:, 1] <= 0.5).all())


def test_noiseless_circles_have_radius_one_and_factor():
    X, y = circles(n=400, noise=0.0, factor=0.3, dtype=torch.float64)
    radius = X.norm(dim=1)
    assert torch.allclose(radius[y == 0], torch.ones(200, dtype=torch.float64))
    assert torch.allclose(radius[y == 1], torch.full((200,), 0.3, dtype=torch.float64))


def test_noise_has_the_requested_spread():
    clean, _ = circles(n=4000, noise=0.0, seed=0, dtype=torch.float64)
    noisy, _ = circles(n=4000, noise=0.2, seed=0, dtype=torch.float64)
    assert math.isclose(float((noisy - clean).std()), 0.2, rel_tol=0.05)


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("n", [1, 0, 2.5, True, "10"])
def test_bad_n_raises_naming_it(make, n):
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        make(n=n)


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf"), "0.1"])
def test_bad_noise_raises_naming_it(make, noise):
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        make(noise=noise)


@pytest.mark.parametrize("factor", [0, 1, 1.5, -0.2])
def test_bad_circle_factor_raises_naming_it(factor):
    with pytest.raises(ValueError, match="factor must be a number with 0 < factor < 1"):
        circles(factor=factor)


@pytest.mark.parametrize("make", MAKERS)
def test_integer_dtype_raises_type_error(make):
    with pytest.raises(TypeError, match="dtype must be a floating"):
        make(dtype=torch.int64)
