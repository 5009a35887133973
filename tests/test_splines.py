"""kanlab.splines against independent references: a plain-loop Cox-de Boor recursion, the closed
form of the cubic B-spline, gradcheck and finite differences."""

import math

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kanlab import splines

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


def cox_de_boor(x, knots, order):
    """B_{b,order}(x) for every b, by the textbook recursion on Python floats (half-open cells)."""
    values = [1.0 if knots[b] <= x < knots[b + 1] else 0.0 for b in range(len(knots) - 1)]
    for d in range(1, order + 1):
        values = [
            (0.0 if knots[b + d] == knots[b] else (x - knots[b]) / (knots[b + d] - knots[b]) * values[b])
            + (
                0.0
                if knots[b + d + 1] == knots[b + 1]
                else (knots[b + d + 1] - x) / (knots[b + d + 1] - knots[b + 1]) * values[b + 1]
            )
            for b in range(len(knots) - d - 1)
        ]
    return values


def reference_basis(x, grid, order):
    """(batch, in) -> (batch, in, G + k), each entry from `cox_de_boor`."""
    rows = [[cox_de_boor(float(x[n, i]), grid[i].tolist(), order) for i in range(x.shape[1])] for n in range(x.shape[0])]
    return torch.tensor(rows, dtype=torch.float64)


def random_grid(in_features, grid_size, order, generator):
    """Interior knots at sorted random positions in [-1, 2] (ends fixed), extended by `order` knots."""
    inner = torch.rand(in_features, grid_size - 1, generator=generator, dtype=torch.float64).sort(dim=1).values
    interior = torch.cat([torch.zeros(in_features, 1), inner, torch.ones(in_features, 1)], dim=1) * 3 - 1
    return splines.extend_grid(interior, order)


def inside_samples(n, in_features, generator, lo=-1.0, hi=2.0):
    return lo + (hi - lo) * torch.rand(n, in_features, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("order", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("grid_size", [1, 4, 9])
def test_uniform_fast_path_matches_plain_cox_de_boor(order, grid_size):
    generator = torch.Generator().manual_seed(order * 10 + grid_size)
    grid = splines.uniform_grid(grid_size, order, (-1.0, 2.0), 3, dtype=torch.float64)
    x = inside_samples(40, 3, generator)
    fast = splines.basis(x, grid, order, uniform=True)
    torch.testing.assert_close(fast, reference_basis(x, grid, order), rtol=0, atol=1e-13)


@pytest.mark.parametrize("order", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("grid_size", [1, 4, 9])
def test_general_path_matches_plain_cox_de_boor_on_random_knots(order, grid_size):
    generator = torch.Generator().manual_seed(100 + order * 10 + grid_size)
    grid = random_grid(3, grid_size, order, generator)
    x = inside_samples(40, 3, generator)
    general = splines.basis(x, grid, order, uniform=False)
    torch.testing.assert_close(general, reference_basis(x, grid, order), rtol=0, atol=1e-12)


@pytest.mark.parametrize("order", [0, 1, 3, 4])
def test_fast_and_general_paths_agree_on_a_uniform_grid(order):
    generator = torch.Generator().manual_seed(order)
    grid = splines.uniform_grid(7, order, (-2.0, 3.0), 4, dtype=torch.float64)
    x = inside_samples(500, 4, generator, -2.0, 3.0)
    torch.testing.assert_close(
        splines.basis(x, grid, order, uniform=True), splines.basis(x, grid, order, uniform=False), rtol=0, atol=1e-13
    )


def test_cubic_local_values_are_the_closed_form_cardinal_pieces():
    # On a cell, the four cubic B-splines are (1-u)^3/6, (3u^3-6u^2+4)/6, (-3u^3+3u^2+3u+1)/6, u^3/6.
    grid = splines.uniform_grid(4, 3, (0.0, 4.0), 1, dtype=torch.float64)
    x = torch.tensor([[0.0], [0.3], [1.7], [2.5], [3.99]], dtype=torch.float64)
    first, values = splines.local_basis(x, grid, 3)
    u = (x - first)[:, 0]
    expected = torch.stack([(1 - u) ** 3, 3 * u**3 - 6 * u**2 + 4, -3 * u**3 + 3 * u**2 + 3 * u + 1, u**3]) / 6
    torch.testing.assert_close(values[:, :, 0], expected, rtol=0, atol=1e-15)
    assert first[:, 0].tolist() == [0, 0, 1, 2, 3]  # B_c .. B_{c+3} on the interior cell c


@settings(max_examples=30, deadline=None)
@given(
    order=st.integers(0, 5),
    grid_size=st.integers(1, 12),
    position=st.floats(-1.0, 1.0, allow_nan=False),
)
@example(order=0, grid_size=1, position=1.0)  # the right end of the grid, where half-open cells stop
@example(order=3, grid_size=1, position=0.9999999403953552)  # the power form rounded B_0 to -3e-17 here
def test_basis_is_a_partition_of_unity_with_order_plus_one_nonzeros(order, grid_size, position):
    grid = splines.uniform_grid(grid_size, order, (-1.0, 1.0), 1, dtype=torch.float64)
    values = splines.basis(torch.tensor([[position]], dtype=torch.float64), grid, order)[0, 0]
    assert values.shape == (grid_size + order,)
    assert math.isclose(values.sum().item(), 1.0, abs_tol=1e-12)
    assert (values >= 0).all()
    assert (values > 0).sum() <= order + 1


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("order", [0, 2, 3])
def test_basis_matches_cox_de_boor_across_the_extension_cells_and_beyond(uniform, order):
    generator = torch.Generator().manual_seed(order + 50)
    grid = splines.uniform_grid(4, order, (-1.0, 2.0), 2, dtype=torch.float64) if uniform else random_grid(2, 4, order, generator)
    x = inside_samples(60, 2, generator, -4.0, 5.0)  # well beyond both ends of every grid
    torch.testing.assert_close(splines.basis(x, grid, order, uniform=uniform), reference_basis(x, grid, order), rtol=0, atol=1e-12)


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("order", [0, 1, 3, 5])
def test_pointwise_basis_gives_cox_de_boor_at_every_column_and_zero_beyond_the_basis(uniform, order):
    generator = torch.Generator().manual_seed(order + 70)
    grid = splines.uniform_grid(4, order, (-1.0, 2.0), 2, dtype=torch.float64) if uniform else random_grid(2, 4, order, generator)
    x = inside_samples(60, 2, generator, -4.0, 5.0)  # well beyond both ends of every grid
    x[0] = grid[:, 0]  # the first knot (kanlab closes the last cell, which the plain loop leaves open)
    size = grid.shape[-1] - order - 1
    columns = torch.arange(-2, size + 3)  # two columns before the basis and three after it
    expected = torch.zeros(60, 2, size + 5, dtype=torch.float64)
    expected[:, :, 2 : size + 2] = reference_basis(x, grid, order)
    torch.testing.assert_close(splines.pointwise_basis(x, grid, order, uniform, columns), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("order", [0, 1, 3, 5])
def test_pointwise_basis_slopes_are_the_derivatives_of_the_basis(uniform, order):
    generator = torch.Generator().manual_seed(order + 80)
    grid = splines.uniform_grid(4, order, (-1.0, 2.0), 2, dtype=torch.float64) if uniform else random_grid(2, 4, order, generator)
    x = inside_samples(60, 2, generator, -2.5, 3.5).requires_grad_()  # inside, in the extension cells, beyond
    size = grid.shape[-1] - order - 1
    slopes = splines.pointwise_basis(x, grid, order, uniform, torch.arange(size), derivative=True)
    dense = splines.basis(x, grid, order, uniform=False)  # each B_b(x_{n,i}) depends on x_{n,i} alone
    if order == 0:  # steps: no slope anywhere (and no graph to differentiate)
        expected = torch.zeros_like(slopes)
    else:
        expected = torch.stack([torch.autograd.grad(dense[:, :, b].sum(), x, retain_graph=True)[0] for b in range(size)], -1)
    torch.testing.assert_close(slopes, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("beyond_the_ends", [False, True])
def test_dense_basis_places_each_local_value_at_its_index_like_a_plain_loop(beyond_the_ends):
    generator = torch.Generator().manual_seed(7)
    size, order, batch, inputs = 8, 3, 6, 4
    low, high = (-order, size) if beyond_the_ends else (0, size - order)
    first = torch.randint(low, high, (batch, inputs), generator=generator)
    values = torch.rand(order + 1, batch, inputs, generator=generator, dtype=torch.float64)
    index = first + torch.arange(order + 1).view(-1, 1, 1)
    values = torch.where((index >= 0) & (index < size), values, 0)  # local_basis's contract
    expected = torch.zeros(batch, inputs, size, dtype=torch.float64)
    for r in range(order + 1):
        for n in range(batch):
            for i in range(inputs):
                if 0 <= first[n, i] + r < size:
                    expected[n, i, first[n, i] + r] = values[r, n, i]
    wider = torch.full((batch, inputs, size + 1), math.nan, dtype=torch.float64)  # out: a strided view
    splines.dense_basis(first, values, size, out=wider[:, :, :size])
    torch.testing.assert_close(wider[:, :, :size], expected, rtol=0, atol=0)
    assert wider[:, :, size].isnan().all()  # nothing written outside out


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("order", [0, 1, 3])
@pytest.mark.parametrize("beyond", [False, True])
def test_write_basis_writes_the_basis_into_a_view_and_nothing_beside_it(uniform, order, beyond):
    generator = torch.Generator().manual_seed(order + 20)
    grid = splines.uniform_grid(5, order, (-1.0, 2.0), 3, dtype=torch.float64) if uniform else random_grid(3, 5, order, generator)
    x = inside_samples(30, 3, generator, -3.0, 4.0) if beyond else inside_samples(30, 3, generator)
    out = torch.full((30, 3, 5 + order + 1), math.nan, dtype=torch.float64)
    splines.write_basis(x, grid, order, out[:, :, :-1], uniform=uniform)
    torch.testing.assert_close(out[:, :, :-1], reference_basis(x, grid, order), rtol=0, atol=1e-12)
    assert out[:, :, -1].isnan().all()


def test_basis_vanishes_beyond_the_extended_grid():
    grid = splines.uniform_grid(5, 3, (-1.0, 1.0), 1, dtype=torch.float64)
    beyond = torch.tensor([[-1.81], [1.8], [7.0]], dtype=torch.float64)  # t_0 = -2.2, t_last = 2.2 for h = 0.4
    assert (splines.basis(beyond, grid, 3) != 0).any()  # -1.81 and 1.8 still lie in extension cells
    assert (splines.basis(torch.tensor([[-2.21], [2.21], [7.0]], dtype=torch.float64), grid, 3) == 0).all()


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_basis_gradient_passes_gradcheck(uniform, order):
    generator = torch.Generator().manual_seed(order)
    grid = splines.uniform_grid(6, order, (-1.0, 2.0), 3, dtype=torch.float64) if uniform else random_grid(3, 6, order, generator)
    x = inside_samples(8, 3, generator).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: splines.basis(x, grid, order, uniform=uniform), (x,))


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("order", [0, 1, 3, 4])
def test_analytic_slopes_match_central_differences(uniform, order):
    generator = torch.Generator().manual_seed(order + 20)
    grid = splines.uniform_grid(6, order, (-1.0, 2.0), 3, dtype=torch.float64) if uniform else random_grid(3, 6, order, generator)
    x = inside_samples(50, 3, generator, -0.9, 1.9)
    first, _, slopes = splines.local_basis(x, grid, order, uniform=uniform, derivative=True)
    step = 1e-6
    dense_slopes = torch.zeros(50, 3, 6 + order, dtype=torch.float64)
    index = (first.unsqueeze(-1) + torch.arange(order + 1)).clamp(0, 5 + order)
    dense_slopes.scatter_add_(-1, index, slopes.movedim(0, -1))
    differences = (splines.basis(x + step, grid, order) - splines.basis(x - step, grid, order)) / (2 * step)
    # central differences straddle a knot now and then (a kink for order 1, a jump for order 0)
    agree = (dense_slopes - differences).abs().amax(dim=-1) < 1e-5
    assert agree.float().mean() > 0.9


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_basis_follows_the_input_device_and_dtype(device, dtype):
    grid = splines.uniform_grid(5, 3, (-1, 1), 2, dtype=dtype, device=device)
    x = torch.rand(10, 2, dtype=dtype, device=device)
    values = splines.basis(x, grid, 3)
    assert values.dtype == dtype and values.device.type == device
    assert values.shape == (10, 2, 8)


def test_basis_accepts_extra_batch_dimensions():
    grid = splines.uniform_grid(5, 3, (-1, 1), 2, dtype=torch.float64)
    x = torch.rand(4, 3, 2, dtype=torch.float64)
    torch.testing.assert_close(splines.basis(x, grid, 3), splines.basis(x.reshape(12, 2), grid, 3).reshape(4, 3, 2, 8))


def test_uniform_grid_has_equal_steps_beyond_both_ends():
    grid = splines.uniform_grid(4, 2, (-1.0, 1.0), 3, dtype=torch.float64)
    assert grid.shape == (3, 4 + 2 * 2 + 1)
    torch.testing.assert_close(grid[0], torch.linspace(-2.0, 2.0, 9, dtype=torch.float64))
    assert splines.is_uniform(grid)


def test_is_uniform_rejects_a_grid_with_one_moved_knot():
    grid = splines.uniform_grid(4, 2, (-1.0, 1.0), 3, dtype=torch.float64)
    grid[1, 4] += 1e-3
    assert not splines.is_uniform(grid)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((0, 3, (-1, 1)), "grid_size"),
        ((2.5, 3, (-1, 1)), "grid_size"),
        ((5, -1, (-1, 1)), "spline_order"),
        ((5, 3, (1, -1)), "grid_range"),
        ((5, 3, "ab"), "grid_range"),
    ],
)
def test_uniform_grid_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        splines.uniform_grid(*arguments)


def test_fit_coefficients_recovers_the_coefficients_of_a_spline():
    generator = torch.Generator().manual_seed(3)
    grid = splines.uniform_grid(6, 3, (-1.0, 2.0), 2, dtype=torch.float64)
    coefficients = torch.randn(4, 2, 9, generator=generator, dtype=torch.float64)
    x = inside_samples(400, 2, generator)
    y = splines.evaluate(x, grid, coefficients, 3)
    torch.testing.assert_close(splines.fit_coefficients(x, y, grid, 3), coefficients, rtol=0, atol=1e-6)


def test_fit_coefficients_reproduces_a_spline_on_random_knots():
    generator = torch.Generator().manual_seed(4)
    grid = random_grid(2, 6, 3, generator)
    coefficients = torch.randn(4, 2, 9, generator=generator, dtype=torch.float64)
    x = inside_samples(400, 2, generator)
    fitted = splines.fit_coefficients(x, splines.evaluate(x, grid, coefficients, 3), grid, 3)
    dense = torch.linspace(-1.0, 2.0, 301, dtype=torch.float64).unsqueeze(1).expand(-1, 2)
    torch.testing.assert_close(
        splines.evaluate(dense, grid, fitted, 3), splines.evaluate(dense, grid, coefficients, 3), rtol=0, atol=1e-6
    )


def test_fit_coefficients_survives_samples_that_leave_basis_functions_empty():
    # all samples in the first two of 20 cells: most columns of the design matrix are zero
    grid = splines.uniform_grid(20, 3, (-1.0, 1.0), 1, dtype=torch.float64)
    x = torch.linspace(-1.0, -0.81, 30, dtype=torch.float64).unsqueeze(1)
    y = torch.sin(3 * x).unsqueeze(1)
    coefficients = splines.fit_coefficients(x, y, grid, 3)
    assert torch.isfinite(coefficients).all()
    torch.testing.assert_close(splines.evaluate(x, grid, coefficients, 3), y, rtol=0, atol=1e-4)


def test_fit_coefficients_survives_repeated_samples():
    grid = splines.uniform_grid(5, 3, (-1.0, 1.0), 1, dtype=torch.float64)
    x = torch.full((50, 1), 0.25, dtype=torch.float64)
    y = torch.full((50, 1, 1), 2.0, dtype=torch.float64)
    coefficients = splines.fit_coefficients(x, y, grid, 3)
    assert torch.isfinite(coefficients).all()
    torch.testing.assert_close(splines.evaluate(x[:1], grid, coefficients, 3), y[:1], rtol=0, atol=1e-6)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_fit_coefficients_is_independent_of_the_scale_of_x_and_y(scale):
    generator = torch.Generator().manual_seed(5)
    grid = splines.uniform_grid(8, 3, (-scale, scale), 1, dtype=torch.float64)
    x = (2 * torch.rand(300, 1, generator=generator, dtype=torch.float64) - 1) * scale
    y = (1e8 * torch.cos(3 * x / scale)).unsqueeze(1)
    fitted = splines.evaluate(x, grid, splines.fit_coefficients(x, y, grid, 3), 3)
    assert ((fitted - y).abs().max() / 1e8).item() < 1e-3


def test_fit_coefficients_rejects_mismatched_shapes():
    grid = splines.uniform_grid(5, 3, (-1, 1), 2)
    with pytest.raises(ValueError, match="y"):
        splines.fit_coefficients(torch.rand(10, 2), torch.rand(10, 3, 1), grid, 3)
