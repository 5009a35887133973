"""Small data sets made by code: logic-gate truth tables and the voting-age example.

Nothing here downloads anything; every table is written out or computed on the spot.
"""

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
