"""Small data sets made by code: logic-gate truth tables, the voting-age example, samples of functions,
two-class sets in the plane that no line separates (two moons, concentric circles), and the
Gaussian peaks that are learned one region after another in continual learning.

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


def check_dataset(data, model):
    r"""The data set (x_train, y_train, x_test, y_test) checked for model, on the model's device and dtype.

    What `kanlab.fit`, `kanlab.train.fit_in_turn` and `kanlab.discovery.discover` (and every step of it)
    read first, so that no training starts on data it misreads:

    - each of the four is a torch.Tensor (data may be any object with these attributes);
    - x_train and x_test have shape (n, n_in), n >= 1, with n_in the model's input width;
    - y_train and y_test have shape (n, n_out), with n the rows of the matching x and n_out the
      model's output width. A target of shape (n,) for a one-output model, what scikit-learn's loaders
      and most tables give, is reshaped to (n, 1): subtracting (n,) from the model's (n, 1) output
      would otherwise broadcast to an (n, n) matrix and train on nonsense without a word;
    - every value is finite (after the cast to the model's dtype, so a float32 overflow counts).

    The model's widths are read from ``model.widths`` (a `KAN` or `kanlab.mlp.MLP`), from
    ``in_features``/``out_features``, or from an ``nn.Sequential`` that starts with an ``nn.Linear``;
    a wrapper such as DistributedDataParallel is looked through (``.module``). Where the output width
    is not written on the model, one forward pass on the first training samples measures it.

    Returns:
        a `FunctionDataset` with the four tensors on the model's device and dtype, y as (n, n_out).

    Raises:
        TypeError: data lacks one of the four, or one is not a tensor.
        ValueError: a shape, an empty set or a non-finite value; the message names the argument,
            what was expected and what was given.
    """
    parameter = next(iter(model.parameters()), None)
    if parameter is None:
        raise ValueError(f"model must have parameters to train, got {type(model).__name__} with none")
    tensors = {}
    for name in ("x_train", "y_train", "x_test", "y_test"):
        if not hasattr(data, name):
            raise TypeError(f"data must have x_train, y_train, x_test and y_test; {type(data).__name__} has no {name}")
        value = getattr(data, name)
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        tensors[name] = value.to(device=parameter.device, dtype=parameter.dtype)
    in_features, out_features = _model_widths(model)
    for split in ("train", "test"):
        x, y = tensors[f"x_{split}"], tensors[f"y_{split}"]
        _check_inputs(x, f"x_{split}", in_features)
        if out_features is None:
            out_features = _measured_output_width(model, x)
        tensors[f"y_{split}"] = _checked_targets(y, f"y_{split}", len(x), f"x_{split}", out_features)
    for name, value in tensors.items():
        _check_finite_values(value, name)
    return FunctionDataset(**tensors)


def _model_widths(model):
    """(n_in, n_out) of a model as far as its attributes tell (None where they do not)."""
    inner = getattr(model, "module", model)  # DistributedDataParallel and DataParallel wrap it so
    widths = getattr(inner, "widths", None)
    if isinstance(widths, (list, tuple)) and len(widths) >= 2:
        return widths[0], widths[-1]
    if isinstance(inner, torch.nn.Sequential) and len(inner) and isinstance(inner[0], torch.nn.Linear):
        return inner[0].in_features, getattr(inner[-1], "out_features", None)
    return getattr(inner, "in_features", None), getattr(inner, "out_features", None)


def _measured_output_width(model, x):
    with torch.no_grad():
        output = model(x[:2])
    if output.ndim != 2:
        raise ValueError(f"model must map x of shape (n, n_in) to (n, n_out), got {tuple(output.shape)} "
                         f"from x of shape {tuple(x[:2].shape)}")
    return output.shape[1]


def _check_inputs(x, name, in_features):
    width = "n_in" if in_features is None else in_features
    if x.ndim != 2 or (in_features is not None and x.shape[1] != in_features):
        raise ValueError(f"{name} must have shape (n, {width}), one row per sample, got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample, got shape {tuple(x.shape)}")


def _checked_targets(y, name, rows, x_name, out_features):
    if y.ndim == 1 and out_features == 1:
        y = y.unsqueeze(1)
    if y.ndim != 2 or y.shape != (rows, out_features):
        one_d = " (or (n,) for a model with one output)" if out_features == 1 else ""
        raise ValueError(
            f"{name} must have shape ({rows}, {out_features}){one_d}: one row for each of the {rows} rows of "
            f"{x_name} and one column per model output, got {tuple(y.shape)}"
        )
    return y


def _check_finite_values(value, name):
    bad = ~torch.isfinite(value)
    if bool(bad.any()):
        row = int(bad.any(dim=1).nonzero()[0])
        raise ValueError(
            f"{name} must be finite, but it holds {int(bad.sum())} NaN or inf value(s), the first in row {row}: "
            f"{value[row].tolist()}; drop or fill those samples"
        )


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


def _checked_peak_arguments(caller, n_peaks, width):
    if isinstance(n_peaks, bool) or not isinstance(n_peaks, int) or n_peaks < 1:
        raise ValueError(f"{caller}: n_peaks must be an integer >= 1, got {n_peaks!r}")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width < float("inf"):
        raise ValueError(f"{caller}: width must be a finite number > 0, got {width!r}")


def peak_regions(n_peaks=5):
    r"""The n_peaks equal regions of [-1, 1], left to right: a list of (lo, hi) with
    lo = -1 + 2 j / n_peaks and hi = -1 + 2 (j + 1) / n_peaks."""
    _checked_peak_arguments("peak_regions", n_peaks, 1.0)
    return [(-1 + 2 * j / n_peaks, -1 + 2 * (j + 1) / n_peaks) for j in range(n_peaks)]


def gaussian_peaks(x, n_peaks=5, width=0.05):
    r"""A sum of n_peaks Gaussian bumps of height 1, one in the middle of each region of `peak_regions`:

        f(x) = sum_j exp(-(x - c_j)^2 / (2 width^2)),   c_j = -1 + (2 j + 1) / n_peaks.

    Shape: x (n, 1) or (n,) -> (n,). With the default width, f is below 1e-3 at the borders of
    the regions (each bump below 4e-4 there), so what is learned in one region hardly matters in another.
    """
    _checked_peak_arguments("gaussian_peaks", n_peaks, width)
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"gaussian_peaks: x must be a floating-point tensor, got {type(x).__name__}")
    t = x.reshape(x.shape[0], -1)
    if t.shape[1] != 1:
        raise ValueError(f"gaussian_peaks: x must have shape (n,) or (n, 1), got {tuple(x.shape)}")
    centres = -1 + (2 * torch.arange(n_peaks, dtype=x.dtype, device=x.device) + 1) / n_peaks
    return torch.exp(-((t - centres) ** 2) / (2 * width**2)).sum(dim=1)


def peak_phases(n_peaks=5, n_train=100, n_test=100, width=0.05, seed=0, dtype=None):
    r"""The continual-learning toy of the KAN paper: `gaussian_peaks` shown one region at a time.

    Phase j samples x uniformly in the j-th region of `peak_regions` (left to right) and only
    there, for both its training and its test set, with targets y = gaussian_peaks(x).

    Args:
        n_peaks: the number of peaks, regions and phases.
        n_train, n_test: samples per phase in each set.
        width: the standard deviation of every peak.
        seed: seeds phase j's local generator with seed + j (the global RNG is untouched).
        dtype: floating dtype (default: ``torch.get_default_dtype()``).

    Returns:
        a list of n_peaks `FunctionDataset` s, x of shape (n, 1) and y of shape (n, 1).
    """
    _checked_peak_arguments("peak_phases", n_peaks, width)
    return [
        function_dataset(
            lambda x: gaussian_peaks(x, n_peaks, width), n_var=1, ranges=region,
            n_train=n_train, n_test=n_test, seed=seed + j, dtype=dtype,
        )
        for j, region in enumerate(peak_regions(n_peaks))
    ]
