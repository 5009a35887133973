"""Small data sets made by code: logic-gate truth tables, the voting-age example, samples of functions.

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
    return FunctionDataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:])
