"""A panel of formulas for `kanlab.discovery.discover` to find from samples, with its default arguments.

    python benchmarks/symbolic_panel.py [--seeds 0 1 2] [--only NAME ...] [--threads 1]

Each target is sampled (1000 training and 1000 test points, uniform on its box), a KAN of widths
[n, 5, 1] is built with KAN's defaults (seeded), and `discover(model, data)` runs with its defaults.
A target counts as recovered when the formula exists and its largest error on a regular grid of the
box is at most 1e-3. Prints one line per target and seed (formula, largest error, whether `discover`
flagged it as not found, wall and CPU time: on a busy machine the wall time counts other jobs' turns
too), then how many seeds recovered each target, and how many runs gave a wrong formula that
`discover` did not flag (``result.found`` True with a largest error above 1e-3: there must be none).
tests/test_discovery_panel.py runs PANEL on three seeds, tests/test_discovery_check.py PRODUCTS.

Feynman equations are written in the dimensionless form the KAN paper uses (Liu et al. 2024,
table 2), on boxes where they are defined and smooth.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy
import sympy
import torch

import kanlab
from kanlab.discovery import discover

MAX_ERROR = 1e-3


@dataclass(frozen=True)
class Target:
    """A formula to recover: its name, the function on (n, n_var) tensors, and the box it is sampled on."""

    name: str
    f: Callable[[torch.Tensor], torch.Tensor]
    ranges: tuple[tuple[float, float], ...]

    @property
    def n_var(self) -> int:
        return len(self.ranges)


PANEL = [
    Target("exp(sin(pi x) + y^2)", lambda v: torch.exp(torch.sin(math.pi * v[:, 0]) + v[:, 1] ** 2), ((-1, 1),) * 2),
    Target("sin(2x) + y^2", lambda v: torch.sin(2 * v[:, 0]) + v[:, 1] ** 2, ((-1, 1),) * 2),
    Target("x y", lambda v: v[:, 0] * v[:, 1], ((-1, 1),) * 2),
    Target("x^2 + y^2 + z^2 + w^2", lambda v: (v**2).sum(1), ((-1, 1),) * 4),
    Target("I.6.2a exp(-t^2/2)/sqrt(2 pi)", lambda v: torch.exp(-v[:, 0] ** 2 / 2) / math.sqrt(2 * math.pi),
           ((-2, 2),)),
    Target("I.12.11 1 + a sin(t)", lambda v: 1 + v[:, 0] * torch.sin(v[:, 1]), ((-1, 1), (-2, 2))),
    Target("I.13.12 a (1/b - 1)", lambda v: v[:, 0] * (1 / v[:, 1] - 1), ((-1, 1), (0.5, 2))),
    Target("I.14.3 m g z", lambda v: v[:, 0] * v[:, 1] * v[:, 2], ((1, 2),) * 3),
    Target("I.16.6 (u + v)/(1 + u v)", lambda v: (v[:, 0] + v[:, 1]) / (1 + v[:, 0] * v[:, 1]), ((-0.8, 0.8),) * 2),
    Target("I.27.6 1/(1 + a b)", lambda v: 1 / (1 + v[:, 0] * v[:, 1]), ((0.5, 2),) * 2),
    Target("I.34.8 q v B / p", lambda v: v[:, 0] * v[:, 1] * v[:, 2] / v[:, 3], ((1, 2),) * 4),
    Target("I.40.1 n exp(-a)", lambda v: v[:, 0] * torch.exp(-v[:, 1]), ((1, 2), (0, 2))),
    Target("II.2.42 (a - 1) b", lambda v: (v[:, 0] - 1) * v[:, 1], ((1.5, 3), (0.5, 2))),
    Target("II.38.3 a / b", lambda v: v[:, 0] / v[:, 1], ((1, 2), (1, 2))),
    Target("III.10.19 sqrt(1 + a^2 + b^2)", lambda v: torch.sqrt(1 + v[:, 0] ** 2 + v[:, 1] ** 2), ((-1, 1),) * 2),
]

# Products and quotients on positive boxes, the most common shape of a physical law and the hardest
# for an additive [2, 5, 1] KAN (issue 22): each needs its hidden nodes to build x y as
# ((x + y)^2 - (x - y)^2) / 4 or through exp(log x + log y).
PRODUCTS = [
    Target("x y on [0, 1]^2", lambda v: v[:, 0] * v[:, 1], ((0, 1),) * 2),
    Target("x / y", lambda v: v[:, 0] / v[:, 1], ((0, 1), (0.5, 2))),
    Target("x y^2 / 2", lambda v: v[:, 0] * v[:, 1] ** 2 / 2, ((0, 1),) * 2),
    Target("x / (4 pi y^2)", lambda v: v[:, 0] / (4 * math.pi * v[:, 1] ** 2), ((0, 1), (0.5, 2))),
    Target("x / (2 (1 + y))", lambda v: v[:, 0] / (2 * (1 + v[:, 1])), ((0, 1),) * 2),
    Target("I.6.2 exp(-x^2/(2 y^2))/(sqrt(2 pi) y)",
           lambda v: torch.exp(-v[:, 0] ** 2 / (2 * v[:, 1] ** 2)) / (math.sqrt(2 * math.pi) * v[:, 1]),
           ((-1, 1), (1, 2))),
]


def grid_of(target: Target) -> torch.Tensor:
    """A regular grid over the target's box, in float64: 201 points for one variable, 41^2, 15^3, 9^4."""
    points = {1: 201, 2: 41, 3: 15, 4: 9}[target.n_var]
    axes = [torch.linspace(lo, hi, points, dtype=torch.float64) for lo, hi in target.ranges]
    return torch.cartesian_prod(*axes).reshape(-1, target.n_var)


def max_error(expression, target: Target) -> float:
    """The largest |formula - target| on `grid_of(target)`; inf when there is no formula."""
    if expression is None:
        return math.inf
    symbols = [sympy.Symbol(f"x_{k + 1}", real=True) for k in range(target.n_var)]
    evaluate = sympy.lambdify(symbols, expression, modules="numpy")
    x = grid_of(target)
    with numpy.errstate(all="ignore"):  # NaN where the formula is undefined counts as an infinite error
        values = torch.as_tensor(evaluate(*x.T.numpy()), dtype=torch.float64) * torch.ones(len(x), dtype=torch.float64)
    error = float((values - target.f(x)).abs().max())
    return error if math.isfinite(error) else math.inf


def run(target: Target, seed: int, dtype=None):
    """discover() with its defaults on samples of the target; returns (result, largest grid error,
    (wall seconds, CPU seconds))."""
    data = kanlab.data.function_dataset(target.f, n_var=target.n_var, ranges=target.ranges, n_train=1000,
                                        n_test=1000, seed=seed, dtype=dtype)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = discover(kanlab.KAN([target.n_var, 5, 1], seed=seed, dtype=dtype), data)
    seconds = (time.perf_counter() - start, time.process_time() - cpu_start)
    return result, max_error(result.exact, target), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", help="run only the targets whose name contains one of these")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--verbose", action="store_true", help="print every result in full")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    targets = [t for t in PANEL + PRODUCTS if not args.only or any(part in t.name for part in args.only)]
    recovered, silent = {}, []
    for target in targets:
        for seed in args.seeds:
            result, error, seconds = run(target, seed)
            ok = error <= MAX_ERROR
            recovered.setdefault(target.name, []).append(ok)
            if result.found and not ok:
                silent.append(f"{target.name} seed {seed}")
            flag = "found  " if result.found else "flagged"
            print(f"{target.name:32s} seed {seed}  {'ok  ' if ok else 'FAIL'} max error {error:8.1e} {flag} "
                  f"{seconds[0]:5.1f} s (CPU {seconds[1]:5.1f} s)  {result.model.widths}  {result.formula}", flush=True)
            if args.verbose or not ok:
                print("    " + str(result).replace("\n", "\n    "), flush=True)
    print()
    for name, oks in recovered.items():
        print(f"{name:32s} recovered for {sum(oks)} of {len(oks)} seeds")
    passed = sum(2 * sum(oks) >= len(oks) for oks in recovered.values())
    print(f"{passed} of {len(recovered)} targets recovered for at least half of the seeds")
    print(f"{len(silent)} runs gave a wrong formula without flagging it" + (": " + ", ".join(silent) if silent else ""))


if __name__ == "__main__":
    main()
