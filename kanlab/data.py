"""Small data sets made by code: logic-gate truth tables, the voting-age example, samples of functions,
two-class sets in the plane that no line separates (two moons, concentric circles).

Nothing here downloads anything; every table is written out or computed on the spot.
"""

from dataclasses import dataclass

import torch

_GATE_OUTPUTS = {
    # outputs for the inputs (0, 0), (0, 1), (1, 0), (1, 1), in that order
    "or": (0.0, 1.0, 1.0, 1.0),
    "and": (0.0, 0.0, 0.0, 1.0),
    "xor": (0.0, 1.0, 1.0, 0.0),
    "nand": (1.0, 1.0, 1.0, 0.0),
    "nor": (1.0, 0.0, 0.0, 0.0),
    "xnor": (1.0, 0.0, 0.0, 1.0),
}

LOGIC_GATES = tuple(_GATE_OUTPUTS)


def _floating_dtype(dtype, caller):
    """The dtype to build tensors in: the default dtype when None, else it must be floating."""
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{caller}: dtype must be a floating torch.dtype such as torch.float32, got {dtype!r}")
    return dtype


def logic_gate(name, dtype=None):
    r"""The truth table of a two-input logic gate.

    The inputs are the four corners of the unit square, always in the order
    :math:`(0,0), (0,1), (1,0), (1,1)`; the targets are the gate's outputs, e.g. for OR
    :math:`y = x_1 \lor x_2`.

    Args:
        name: one of ``"or"``, ``"and"``, ``"xor"``, ``"nand"``, ``"nor"``, ``"xnor"``
            (case does not matter).
        dtype: floating dtype of both tensors (default: ``torch.get_default_dtype()``).

    Returns:
        ``(X, y)`` with ``X`` of shape ``(4, 2)`` and ``y`` of shape ``(4,)``, both floating
        point with entries 0 and 1.

    Example:
        >>> X, y = logic_gate("and")
        >>> y.tolist()
        [0.0, 0.0, 0.0, 1.0]
    """
    if not isinstance(name, str):
        raise TypeError(f"logic_gate: name must be a str such as 'or', got {type(name).__name__}")
    key = name.lower()
    if key not in _GATE_OUTPUTS:
        raise ValueError(f"logic_gate: name must be one of {', '.join(LOGIC_GATES)}; got {name!r}")
    dtype = _floating_dtype(dtype, "logic_gate")
    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=dtype)
    y = torch.tensor(_GATE_OUTPUTS[key], dtype=dtype)
    return X, y


def voting_age(youngest=10, oldest=30, threshold=18, dtype=None):
    r"""Whole ages and whether a person of that age may vote.

    The rule is a threshold on a single input: :math:`y = 1` if ``age >= threshold`` else
    :math:`0`.

    Args:
        youngest, oldest: the first and last age in the table (whole years, inclusive).
        threshold: the voting age.
        dtype: floating dtype of both tensors (default: ``torch.get_default_dtype()``).

    Returns:
        ``(ages, allowed)``: ``ages`` of shape ``(n, 1)`` (one input feature per person) and
        ``allowed`` of shape ``(n,)`` with entries 0 and 1, where ``n = oldest - youngest + 1``.
    """
    for argument, value in (("youngest", youngest), ("oldest", oldest)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"voting_age: {argument} must be a non-negative int, got {value!r}")
    if oldest < youngest:
        raise ValueError(f"voting_age: oldest must be >= youngest, got youngest={youngest}, oldest={oldest}")
    dtype = _floating_dtype(dtype, "voting_age")
    ages = torch.arange(youngest, oldest + 1, dtype=dtype).unsqueeze(1)
    allowed = (ages[:, 0] >= threshold).to(dtype)
    return ages, allowed


@dataclass
class FunctionDataset:
    """Samples of a function on a box: inputs (n, n_var) and targets (n, n_out) for training and testing."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def function_dataset(f, n_var=2, ranges=(-1.0, 1.0), n_train=1000, n_test=1000, seed=0, dtype=None):
    r"""Samples x uniform on a box and targets y = f(x), split into a training and a test set.

    Args:
        f: a function of a tensor x of shape (n, n_var) returning (n,) or (n, n_out), e.g.
            ``lambda x: torch.exp(torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2)``.
        n_var: the number of input variables.
        ranges: one (lo, hi) for every variable, or a list of n_var pairs.
        n_train, n_test: the number of samples in each set.
        seed: seeds a local torch.Generator (the global RNG is untouched).
        dtype: floating dtype (default: ``torch.get_default_dtype()``).

    Returns:
        a `FunctionDataset` with x_train (n_train, n_var), y_train (n_train, n_out), x_test, y_test.

    Raises:
        ValueError: f returned NaN or inf at a sample (in dtype); the message names the first such
            point (its set and index, x and f(x)) instead of letting a NaN loss appear in training.
    """
    if isinstance(n_var, bool) or not isinstance(n_var, int) or n_var < 1:
        raise ValueError(f"function_dataset: n_var must be an integer >= 1, got {n_var!r}")
    for argument, value in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"function_dataset: {argument} must be an integer >= 1, got {value!r}")
    dtype = _floating_dtype(dtype, "function_dataset")
    bounds = torch.as_tensor(ranges, dtype=torch.float64)
    if bounds.shape == (2,):
        bounds = bounds.expand(n_var, 2)
    if bounds.shape != (n_var, 2) or not bool((bounds[:, 0] < bounds[:, 1]).all()):
        raise ValueError(
            f"function_dataset: ranges must be one (lo, hi) pair or {n_var} pairs with lo < hi, got {ranges!r}"
        )
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n_train + n_test, n_var, generator=generator, dtype=torch.float64)
    x = (bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) * x).to(dtype)
    y = f(x)
    if not isinstance(y, torch.Tensor) or y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(
            f"function_dataset: f must map x of shape (n, {n_var}) to a tensor of shape (n,) or (n, n_out) "
            f"with n = {x.shape[0]}, got {shape}"
        )
    y = y.reshape(x.shape[0], -1).to(dtype)
    _check_finite_targets(x, y, n_train)
    return FunctionDataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def _check_finite_targets(x, y, n_train):
    """Raise ValueError naming the first sample where f gave NaN or inf (in the target dtype, so an
    overflow to inf in float32 counts): its set, index, input and value, and how many are bad."""
    bad = ~torch.isfinite(y).all(dim=1)
    if not bool(bad.any()):
        return
    first = int(bad.nonzero()[0])
    where = f"x_train[{first}]" if first < n_train else f"x_test[{first - n_train}]"
    raise ValueError(
        f"function_dataset: f must be finite on the box, but f({where}) = f({x[first].tolist()}) = "
        f"{y[first].tolist()} ({int(bad.sum())} of {len(y)} samples are NaN or inf); "
        "shrink ranges or change f where it is undefined or overflows"
    )


def _checked_classification_arguments(caller, n, noise):
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"{caller}: n must be an integer >= 2 (at least one point per class), got {n!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0 or noise == float("inf"):
        raise ValueError(f"{caller}: noise must be a finite number >= 0, got {noise!r}")


def two_moons(n=200, noise=0.1, seed=0, dtype=None):
    r"""Two interleaved half circles, a 2-D classification set that no line separates.

    Class 0 lies on the upper half of the unit circle, :math:`(\cos t, \sin t)`, class 1 on a lower
    half circle shifted right and down, :math:`(1 - \cos t, \tfrac12 - \sin t)`, with t uniform on
    :math:`[0, \pi]`; each point then moves by Gaussian noise of standard deviation ``noise``.

    Args:
        n: the number of points, ``n // 2`` of class 0 and the rest of class 1 (n >= 2).
        noise: standard deviation of the Gaussian noise added to each coordinate (>= 0).
        seed: seeds a local torch.Generator (the global RNG is untouched).
        dtype: floating dtype of both tensors (default: ``torch.get_default_dtype()``).

    Returns:
        ``(X, y)``: X of shape (n, 2) and y of shape (n,) with entries 0 and 1.
    """
    _checked_classification_arguments("two_moons", n, noise)
    dtype = _floating_dtype(dtype, "two_moons")
    generator = torch.Generator().manual_seed(seed)
    y = (torch.arange(n) >= n // 2).to(torch.float64)
    t = torch.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    X = torch.where(y[:, None] == 1, lower, upper)
    X = X + noise * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return X.to(dtype), y.to(dtype)


def circles(n=200, noise=0.05, factor=0.5, seed=0, dtype=None):
    r"""Two concentric circles, class 0 of radius 1 around class 1 of radius ``factor``.

    Each point is :math:`r (\cos t, \sin t)` with t uniform on :math:`[0, 2\pi)`, then moved by
    Gaussian noise of standard deviation ``noise``. No line separates the classes.

    Args:
        n: the number of points, ``n // 2`` of class 0 (outer) and the rest of class 1 (inner).
        noise: standard deviation of the Gaussian noise added to each coordinate (>= 0).
        factor: the inner radius, 0 < factor < 1.
        seed: seeds a local torch.Generator (the global RNG is untouched).
        dtype: floating dtype of both tensors (default: ``torch.get_default_dtype()``).

    Returns:
        ``(X, y)``: X of shape (n, 2) and y of shape (n,) with entries 0 and 1.
    """
    _checked_classification_arguments("circles", n, noise)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
        raise ValueError(f"circles: factor must be a number with 0 < factor < 1, got {factor!r}")
    dtype = _floating_dtype(dtype, "circles")
    generator = torch.Generator().manual_seed(seed)
    y = (torch.arange(n) >= n // 2).to(torch.float64)
    t = 2 * torch.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    radius = torch.where(y == 1, float(factor), 1.0)
    X = radius[:, None] * torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    X = X + noise * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return X.to(dtype), y.to(dtype)
