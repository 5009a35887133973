"""The KAN paper's accuracy on f(x, y) = exp(sin(pi x) + y^2), 1000 train / 1000 test points on
[-1, 1]^2, reached with the code a reader writes first: `KAN`'s and `fit`'s defaults, no warm start.

pykan's published grid-extension table (Example 1, a [2, 1, 1] KAN, 200 LBFGS steps per grid,
G = 3 -> 10 -> 20 -> 50) gives test RMSE 1.53e-2, 3.29e-4, 4.04e-5, 1.24e-5. The tests ask for every
G within 2x, from every seed 0-4, in float32 and in float64. Measured at the commit that made grid
updates uniform: float64 1.52e-2 to 1.54e-2, 3.08e-4 to 3.11e-4, 1.69e-5 to 1.70e-5, 5.0e-7 to
5.5e-7; float32 1.52e-2 to 1.57e-2, 3.13e-4 to 3.23e-4, 1.85e-5 to 2.07e-5, 1.9e-6 to 3.3e-6.
(Before the defaults changed, most seeds stalled at ~0.6 at G = 3; with grid updates on the
samples' quantiles, float32 reached only 5e-5 to 9e-5 at G = 20.) Seeded and deterministic.
"""

import pytest
import torch

import kanlab

# small tensors train fastest on one thread (two were several times slower on a busy 2-core machine)
pytestmark = pytest.mark.usefixtures("one_thread")

PYKAN_TEST_RMSE = {3: 1.53e-2, 10: 3.29e-4, 20: 4.04e-5, 50: 1.24e-5}


def target(x):
    return torch.exp(torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2)


def dataset(dtype):
    return kanlab.data.function_dataset(target, n_var=2, ranges=(-1, 1), n_train=1000, n_test=1000, seed=0, dtype=dtype)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("seed", range(5))
def test_grid_extension_with_default_fits_follows_the_papers_table(seed, dtype):
    data = dataset(dtype)
    model = kanlab.KAN([2, 1, 1], grid_size=3, seed=seed, dtype=dtype)
    errors = {}
    for grid_size in (3, 10, 20, 50):
        if grid_size != 3:
            model = model.refine(grid_size)
        errors[grid_size] = kanlab.fit(model, data, steps=200, optimizer="lbfgs", progress=False).test_rmse[-1]
    assert all(errors[grid_size] <= 2 * PYKAN_TEST_RMSE[grid_size] for grid_size in errors), errors


@pytest.mark.slow
def test_a_2_5_1_kan_reaches_1e_4_at_grid_20_with_default_fits():
    data = dataset(torch.float64)
    model = kanlab.KAN([2, 5, 1], grid_size=5, seed=0, dtype=torch.float64)
    kanlab.fit(model, data, progress=False)
    model = model.refine(10)
    kanlab.fit(model, data, progress=False)
    model = model.refine(20)
    assert kanlab.fit(model, data, progress=False).test_rmse[-1] <= 1e-4


# Levenberg-Marquardt goes further on the [2, 5, 1] KAN, to ~1e-5 at G = 20 (LBFGS's ten-pair
# curvature memory crawls along the squared error's long narrow valleys, where J^T J sees them all).


def domain_lattice(dtype, points=21):
    """points x points inputs on a regular lattice of [-1, 1]^2 (the domain, not the test set)."""
    line = torch.linspace(-1, 1, points, dtype=dtype)
    return torch.cartesian_prod(line, line)


def levenberg_marquardt(model, data, grid_samples, update_grid=True):
    updates = dict(update_grid_every=5, update_grid_until=10, grid_eps=1.0, grid_samples=grid_samples) if update_grid else {}
    history = kanlab.fit(model, data, steps=20, optimizer="lm", update_grid=update_grid, progress=False, **updates)
    return history.test_rmse[-1]


@pytest.mark.slow
def test_levenberg_marquardt_takes_a_2_5_1_kan_further():
    dtype = torch.float64
    data = dataset(dtype)
    # its grids follow the training inputs plus a lattice of the domain: a grid spanning only the
    # training inputs leaves test points near the edges in the splines' fading extension cells
    grid_samples = torch.cat([data.x_train, domain_lattice(dtype)])
    model = kanlab.KAN([2, 5, 1], grid_size=5, seed=0, dtype=dtype)
    kanlab.fit(model, data, steps=200, optimizer="adam", lr=0.02, update_grid_every=10, update_grid_until=150,
               grid_eps=1.0, progress=False)
    errors = {5: levenberg_marquardt(model, data, grid_samples)}
    model = model.refine(10)
    errors[10] = levenberg_marquardt(model, data, grid_samples)
    # on the finest grid the grid stays put: an update refits the splines by least squares, an
    # error of its own that the last steps would have to undo
    model = model.refine(20)
    errors[20] = levenberg_marquardt(model, data, grid_samples, update_grid=False)
    assert errors[5] <= 1e-2, errors
    assert errors[10] <= 1e-3, errors
    assert errors[20] <= 1e-4, errors
