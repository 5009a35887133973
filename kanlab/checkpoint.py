"""Saving and loading KANs: one file holding the constructor arguments and the state_dict.

Loading uses torch.load(weights_only=True), so a checkpoint can hold tensors and plain Python
values only and can never run code.
"""

from __future__ import annotations

import torch

from kanlab.kan import KAN

__all__ = ["save", "load"]


def save(model, path):
    """Write model (a `KAN`) to path: {"config": model.config(), "dtype": ..., "state_dict": ...}."""
    if not isinstance(model, KAN):
        raise TypeError(f"model must be a kanlab.KAN, got {type(model).__name__}")
    dtype = next(model.parameters()).dtype
    torch.save({"config": model.config(), "dtype": str(dtype).removeprefix("torch."), "state_dict": model.state_dict()}, path)


def load(path, map_location=None):
    """Read a `KAN` written by `save`; map_location as for torch.load (e.g. "cpu")."""
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(checkpoint, dict) or not {"config", "dtype", "state_dict"} <= checkpoint.keys():
        raise ValueError(f"{path!r} is not a kanlab checkpoint (expected keys config, dtype, state_dict)")
    state = checkpoint["state_dict"]
    device = next(iter(state.values())).device
    model = KAN(**checkpoint["config"], dtype=getattr(torch, checkpoint["dtype"]), device=device)
    model.load_state_dict(state)
    return model
