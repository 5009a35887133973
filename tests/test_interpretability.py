"""Acceptance tests of the interpretability toolkit: from samples alone back to the formula."""

import pytest
import torch

from kanlab import symbolic

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
