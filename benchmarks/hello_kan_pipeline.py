"""The hello-KAN pipeline end to end: from samples of f(x, y) = exp(sin(pi x) + y^2) back to the formula.

    python benchmarks/hello_kan_pipeline.py [--threads 1] [--repeats 3]

`kanlab.discovery.discover` with its default arguments on a [2, 5, 1] KAN built with KAN's defaults
(seed 1) and 1000 training samples: sparsify and prune, shrink, train on a finer grid, snap every
edge to a library function, train the formula's constants, read the formula. Prints each step's
wall time (the fastest of the repeats, each from a fresh model), the CPU time, the recovered formula
and its largest error on a 41 x 41 grid of [-1, 1]^2. Not a test: timings depend on the machine and
on what else runs on it.
"""

import argparse
import time

import sympy
import torch

import kanlab
from kanlab.discovery import discover


def target(v):
    return torch.exp(torch.sin(torch.pi * v[:, 0]) + v[:, 1] ** 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # One thread by default: the tensors are small (1000 x 5), so more threads add only
    # synchronisation; on a 2-core machine shared with other jobs, 2 threads ran several times slower.
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="runs, each from a fresh model (default 3)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = kanlab.data.function_dataset(target, n_var=2, n_train=1000, n_test=1000, seed=0)
    runs = []
    for _ in range(args.repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = discover(kanlab.KAN([2, 5, 1], seed=1), data, var_names=["x", "y"])
        runs.append((time.perf_counter() - start, time.process_time() - cpu_start, result))
    total, cpu, result = min(runs, key=lambda run: run[0])

    for name, seconds in result.timings.items():
        print(f"{seconds:7.2f} s  {name}")
    print(f"{total:7.2f} s  total ({args.threads} threads; fastest of {args.repeats}: "
          f"{', '.join(f'{seconds:.2f}' for seconds, _, _ in runs)} s)")
    # On a busy machine the wall time counts other jobs' turns too; the CPU time counts only this one's.
    print(f"{min(run[1] for run in runs):7.2f} s  CPU time (fastest of {args.repeats})")
    print(result)
    if result.exact is not None:
        x, y = sympy.symbols("x y", real=True)
        evaluate = sympy.lambdify((x, y), result.exact, modules="numpy")
        axis = torch.linspace(-1, 1, 41, dtype=torch.float64)
        grid = torch.cartesian_prod(axis, axis)
        values = torch.as_tensor(evaluate(grid[:, 0].numpy(), grid[:, 1].numpy()))
        print(f"largest error of the formula on a 41 x 41 grid: {float((values - target(grid)).abs().max()):.1e}")


if __name__ == "__main__":
    main()
