"""The hello-KAN pipeline end to end: from samples of f(x, y) = exp(sin(pi x) + y^2) back to the formula.

    python benchmarks/hello_kan_pipeline.py [--threads 1]

Steps (the same as tests/test_interpretability.py): train a [2, 5, 1] KAN with the sparsity
penalty and prune it, again until it is [2, 1, 1] (or pruning removes nothing), train it briefly,
snap every edge to a library function, train the formula's constants, and read the formula. Prints each stage's wall time, the recovered formula,
and its test RMSE. Not a test: timings depend on the machine and on what else runs on it.
"""

import argparse
import time

import sympy
import torch

import kanlab
from kanlab import symbolic

LIB = ["x", "x^2", "x^3", "exp", "sin", "tanh", "sqrt", "log"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # One thread by default: the tensors are small (1000 x 5), so more threads add only
    # synchronisation; on a 2-core machine shared with other jobs, 2 threads ran several times slower.
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    stages = []
    start = last = time.perf_counter()

    def stage(name):
        nonlocal last
        now = time.perf_counter()
        stages.append((name, now - last))
        last = now

    f = lambda v: torch.exp(torch.sin(torch.pi * v[:, 0]) + v[:, 1] ** 2)  # noqa: E731
    data = kanlab.data.function_dataset(f, n_var=2, n_train=1000, n_test=1000, seed=0, dtype=torch.float64)
    model = kanlab.KAN([2, 5, 1], grid_size=5, seed=1, dtype=torch.float64)
    prune_change = 0.0
    while True:  # sparsify and prune until pruning removes nothing or the hidden layer is one node
        kanlab.fit(model, data, steps=20, lamb=1e-2, lamb_entropy=2.0, update_grid_every=5, update_grid_until=20,
                   progress=False)
        small = model.prune(node_threshold=1e-2, edge_threshold=3e-2, x=data.x_train)
        with torch.no_grad():
            prune_change = max(prune_change, float((small(data.x_test) - model(data.x_test)).abs().max()))
        stage(f"sparsify {model.widths} (20 LBFGS steps, lamb=1e-2) and prune to {small.widths}")
        if small.widths == model.widths or small.widths[1] == 1:
            break
        model = small
    kanlab.fit(small, data, steps=10, update_grid_every=5, update_grid_until=10, progress=False)
    stage("train the pruned KAN (10 steps)")
    fits = symbolic.auto_symbolic(small, lib=LIB, r2_threshold=0.999, x=data.x_train)
    stage("auto_symbolic")
    history = kanlab.fit(small, data, steps=10, progress=False)
    stage("train the formula's constants (10 steps)")
    expression = symbolic.formula(small, var_names=["x", "y"], digits=4)
    precise = symbolic.formula(small, var_names=["x", "y"], digits=None)
    stage("formula")
    total = time.perf_counter() - start

    x, y = sympy.symbols("x y", real=True)
    evaluate = sympy.lambdify((x, y), precise, modules="math")
    values = torch.tensor([evaluate(a, b) for a, b in data.x_test.tolist()], dtype=torch.float64)
    formula_rmse = float(torch.sqrt(torch.mean((values - data.y_test[:, 0]) ** 2)))

    for name, seconds in stages:
        print(f"{seconds:7.2f} s  {name}")
    print(f"{total:7.2f} s  total ({args.threads} threads)")
    print(f"pruning moved the output by at most {prune_change:.2e} on the test set")
    for (layer, i, j), fit in fits.items():
        print(f"edge ({layer}, {i}, {j}): {fit.name:5s} R^2 = {fit.r2:.6f}")
    print(f"recovered formula: {expression}")
    print(f"test RMSE of the model after snapping: {history.test_rmse[-1]:.2e}; of the formula: {formula_rmse:.2e}")


if __name__ == "__main__":
    main()
