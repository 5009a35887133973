"""pykan 0.2.8 on the symbolic panel: the same targets, data and seeds as symbolic_panel.py, with pykan's
own tutorial pipeline, written to the same JSON schema so that `symbolic_panel.py --table` can put the
two side by side.

    python3 -m venv /work/bench-pykan
    /work/bench-pykan/bin/pip install torch==2.13.0
    /work/bench-pykan/bin/pip install --no-deps pykan==0.2.8
    /work/bench-pykan/bin/pip install numpy matplotlib sympy tqdm scikit-learn pandas pyyaml setuptools
    mkdir -p /tmp/pykan-run && cd /tmp/pykan-run      # pykan writes ./model on every change
    OMP_NUM_THREADS=1 MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=17179869184 MALLOC_TOP_PAD_=268435456 \\
        nice -n 10 /work/bench-pykan/bin/python /path/to/benchmarks/pykan_panel.py \\
        --seeds 0 1 2 --json /path/to/benchmarks/results/pykan.json

The MALLOC_ settings keep glibc from handing memory back to the kernel after each large array: with the
defaults, more than half of pykan's CPU time on this 2-core virtual machine went to the kernel (mapping,
zeroing and unmapping the arrays of auto_symbolic's grid search over each candidate's affine
parameters, some 80 MB each for 1000 samples). They change no result, only how much CPU time the
kernel spends on pykan's behalf, which they make smaller: they favour pykan's CPU column.

pykan is not a dependency of kanlab: it runs in its own environment, and this script imports it without
copying any of its code. The pipeline is the one of pykan's "Hello, KAN!" tutorial (hellokan.ipynb in
its repository, float64 as there), on a KAN of widths [n, 5, 1]:

    model = KAN(width=[n, 5, 1], grid=3, k=3, seed=seed)
    model.fit(dataset, opt="LBFGS", steps=50, lamb=0.001)
    model = model.prune()
    model.fit(dataset, opt="LBFGS", steps=50)
    model = model.refine(10)
    model.fit(dataset, opt="LBFGS", steps=50)
    model.auto_symbolic()
    model.fit(dataset, opt="LBFGS", steps=50)
    formula = model.symbolic_formula()[0][0]

with one difference: the tutorial passes auto_symbolic a list of ten functions (x, x^2, x^3, x^4, exp,
log, sqrt, tanh, sin, abs); here it searches pykan's whole default library, which also holds 1/x,
1/x^2, arcsin, arctan, cos, gaussian and the rest that the panel's quotients and Feynman equations
need (`--tutorial-library` uses the ten).

Data: symbolic_panel.sample(target, seed) (1000 training and 1000 test points, uniform on the box,
the numbers kanlab's run draws, here in float64). Each run is scored as kanlab's is (largest error on
the grid, exact, CPU time on one thread, from building the KAN to reading the formula). pykan never
says that a formula is wrong, so every inaccurate formula counts as wrong and unflagged; a run that
raises (pykan's least-squares step fails on some boxes that start at 0) counts as a failure, with the
exception noted in "crash", and not as wrong and unflagged.

Seeds run by default: 0 over every target first, then 1, then 2, each run written to the JSON file as
it finishes; runs already in the file are skipped, so a stopped run resumes. The committed
benchmarks/results/pykan.json holds seed 0 on all 38 targets (2026-12-06); seeds 1 and 2 are not
run yet (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import symbolic_panel as panel  # noqa: E402

TUTORIAL_LIBRARY = ["x", "x^2", "x^3", "x^4", "exp", "log", "sqrt", "tanh", "sin", "abs"]


def run(target: panel.Target, seed: int, library=None):
    """pykan's tutorial pipeline on samples of the target; returns (formula, shown formula,
    (wall seconds, CPU seconds))."""
    from kan import KAN
    from kan.utils import ex_round

    x_train, y_train, x_test, y_test = panel.sample(target, seed, dtype=torch.float64)
    dataset = dict(train_input=x_train, train_label=y_train, test_input=x_test, test_label=y_test)
    start, cpu_start = time.perf_counter(), time.process_time()
    model = KAN(width=[target.n_var, 5, 1], grid=3, k=3, seed=seed)
    model.fit(dataset, opt="LBFGS", steps=50, lamb=0.001)
    model = model.prune()
    model.fit(dataset, opt="LBFGS", steps=50)
    model = model.refine(10)
    model.fit(dataset, opt="LBFGS", steps=50)
    model.auto_symbolic(lib=library)
    model.fit(dataset, opt="LBFGS", steps=50)
    formula = model.symbolic_formula()[0][0]
    seconds = (time.perf_counter() - start, time.process_time() - cpu_start)
    return formula, ex_round(formula, 4), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=list(panel.SETS), default=["panel", "products", "feynman"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", help="run only the targets whose name contains one of these")
    parser.add_argument("--json", help="the results file (runs in it are skipped); required")
    parser.add_argument("--tutorial-library", action="store_true", help="auto_symbolic with the tutorial's ten functions")
    args = parser.parse_args()
    try:
        import kan
    except ImportError:  # `make bench` runs every script in kanlab's environment, which has no pykan
        print("pykan_panel.py: pykan is not installed in this environment; its docstring says how to run it")
        return
    if not args.json:
        parser.error("--json PATH is required")
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)

    document = panel.load_runs(args.json)
    document["tool"] = "pykan"
    document.setdefault("meta", {}).update(panel.meta(pykan=getattr(kan, "__version__", "0.2.8"), cwd=os.getcwd(),
                                                      library="tutorial" if args.tutorial_library else "default"))
    done = {(r["target"], r["seed"]) for r in document["runs"]}
    targets = [t for name in args.sets for t in panel.SETS[name]
               if not args.only or any(part in t.name for part in args.only)]
    library = TUTORIAL_LIBRARY if args.tutorial_library else None
    for seed in args.seeds:  # seed 0 over every target first: a partial run covers the panel
        for target in targets:
            if (target.name, seed) in done:
                continue
            try:
                formula, shown, seconds = run(target, seed, library)
            except Exception as exception:  # noqa: BLE001 - a crash is a failed run, noted
                row = panel.record(target, seed, None, math.inf, True, (math.nan, math.nan),
                                   crash=f"{type(exception).__name__}: {exception}"[:300])
            else:
                row = panel.record(target, seed, formula, panel.max_error(formula, target), False, seconds,
                                   shown=str(shown))
            document["runs"].append(row)
            panel.save_runs(args.json, document)
            error = "-" if row["max_error"] is None else f"{row['max_error']:8.1e}"
            print(f"{target.name:32s} seed {seed}  {'ok  ' if row['accurate'] else 'FAIL'} max error {error} "
                  f"{'exact' if row['exact'] else '     '} CPU {row['cpu_s']} s  {row.get('shown') or row['crash']}",
                  flush=True)


if __name__ == "__main__":
    main()
