"""Speed and memory of one KAN training step, as ratios to the matmul floor, from one run.

    python benchmarks/kan_layer_speed.py                 # CPU, 2 threads, the three shapes
    python benchmarks/kan_layer_speed.py --device cuda   # adds batch 65536, [256, 256, 256]
    python benchmarks/kan_layer_speed.py --no-compile    # skip torch.compile (slow to compile)

One training step is forward, mean squared error against random targets, backward and an Adam step
(the floor has no optimiser step): `kanlab.train.adam`, as `kanlab.fit` takes it (`FusedAdam` where
PyTorch has the fused kernel), for every contender alike (`--adam torch-fused`:
torch.optim.Adam(fused=True), the same kernel behind PyTorch's profiler range and checks;
`--adam for-loop`: PyTorch's default implementation, whose
Python loop over parameter tensors costs a small network a third of its step on the CPU). Contenders:

- floor: for every layer, the dense matmul of its spline part, (batch, in*(G+k)) @ (in*(G+k), out),
  forward and backward (the gradient of the left operand only where the layer's input needs one,
  i.e. not for the first layer). No KAN implementation can do less work than this. Every ratio is
  to this floor.
- floor, transposed: the same products taken as (out, in*(G+k)) @ (in*(G+k), batch). Same work; on
  the CPU, MKL computes it several times faster for layers with 2 to 12 outputs, and kanlab uses it
  there, so its ratio shows how much of that a layer can gain.
- kanlab (eager) and kanlab (torch.compile); on CUDA also torch.compile with mode="reduce-overhead",
  which replays whole steps as CUDA graphs.
- MLP: nn.Sequential(Linear, SiLU, Linear) with the KAN's parameter count, eager and compiled.
- pykan (default and after .speed()) and efficient-kan, each only when importable.

The contenders run interleaved, round after round, and every ratio is the median over rounds of
(contender time / floor time in the same round), so a machine shared with other work biases the
ratios far less than the absolute times (which are printed too, as medians). With --threads 1
--cpu-time, the process's CPU time replaces the wall clock, which leaves out the time that other
processes hold the core. Peak memory is the
highest total of tensor memory allocated during one step beyond what existed before it (CPU:
torch.profiler's memory events; CUDA: torch.cuda.max_memory_allocated). It is left blank for CUDA
graphs, whose memory is a pool taken when they are recorded.

On a GPU, `benchmarks/gpu.sh` runs this script after the tests' CUDA cases.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import statistics
import sys
import time

import torch
from torch import nn

import kanlab

ADAMS = {
    "fused": kanlab.train.adam,
    "torch-fused": functools.partial(torch.optim.Adam, fused=True),
    "for-loop": torch.optim.Adam,
}
SHAPES = {"a": (1024, [64, 64]), "b": (4096, [2, 5, 1]), "c": (512, [784, 64, 10])}
GPU_SHAPES = {"d": (65536, [256, 256, 256])}
GRID_SIZE, SPLINE_ORDER = 5, 3
# pykan's default mode stores (batch, out, in) activations several times over; beyond this many
# per step (2^28 values: 1 GiB each in float32) it is left out rather than run out of memory
PYKAN_DEFAULT_LIMIT = 2**28


def make_floor(batch, widths, device, transposed=False):
    """Random operands of every layer's spline matmul; returns the step closure. With transposed,
    the same products are taken the other way round, (right^T @ left^T)^T, which some BLAS
    libraries compute much faster when a layer has few outputs (kanlab does so on the CPU)."""
    basis = GRID_SIZE + SPLINE_ORDER
    operands = []
    for layer, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        left = torch.randn(batch, n_in * basis, device=device, requires_grad=layer > 0)
        right = torch.randn(n_out, n_in * basis, device=device) if transposed else torch.randn(n_in * basis, n_out)
        operands.append((left, right.to(device).requires_grad_()))

    def step():
        for left, right in operands:
            left.grad = right.grad = None
            product = right @ left.t() if transposed else left @ right
            product.backward(torch.ones_like(product))

    return step


def make_training_step(model, batch, widths, device, adam):
    """One training step of model: forward, mean squared error, backward and an Adam step; adam:
    "fused" (`kanlab.train.adam`, as `kanlab.fit` takes it), "torch-fused" (torch.optim.Adam(fused=True))
    or "for-loop" (PyTorch's default on the CPU)."""
    x = torch.rand(batch, widths[0], device=device) * 2 - 1
    y = torch.rand(batch, widths[-1], device=device)
    optimizer = ADAMS[adam](model.parameters(), lr=1e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        optimizer.step()

    return step


def same_parameter_mlp(widths, parameters, device):
    """Linear(n_0, h), SiLU, Linear(h, n_L) with h chosen so the parameter count is closest."""
    n_in, n_out = widths[0], widths[-1]
    hidden = max(1, round((parameters - n_out) / (n_in + n_out + 1)))
    return nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, n_out)).to(device)


def contenders(batch, widths, device, compile_model, adam):
    """(name, step closure, number of parameters) for everything importable."""
    model = kanlab.KAN(widths, grid_size=GRID_SIZE, spline_order=SPLINE_ORDER, seed=0, device=device)
    count = sum(p.numel() for p in model.parameters())
    found = [
        ("floor", make_floor(batch, widths, device), None),
        ("floor, transposed", make_floor(batch, widths, device, transposed=True), None),
        ("kanlab eager", make_training_step(model, batch, widths, device, adam), count),
    ]
    if compile_model:
        compiled = torch.compile(model)
        found.append(("kanlab compiled", make_training_step(compiled, batch, widths, device, adam), count))
    if compile_model and device.type == "cuda":  # whole steps replayed as CUDA graphs: no launch cost
        graphs = torch.compile(model, mode="reduce-overhead")
        found += optional("kanlab compiled, CUDA graphs", lambda: graphs, batch, widths, device, adam, count)
    mlp = same_parameter_mlp(widths, count, device)
    mlp_count = sum(p.numel() for p in mlp.parameters())
    found.append(("MLP, same #params", make_training_step(mlp, batch, widths, device, adam), mlp_count))
    if compile_model:  # what torch.compile makes of the simplest network of this size, for scale
        found.append(("MLP compiled", make_training_step(torch.compile(mlp), batch, widths, device, adam), mlp_count))
    try:
        from efficient_kan import KAN as EfficientKAN
    except ImportError:
        pass
    else:
        def build_efficient_kan():
            return EfficientKAN(widths, grid_size=GRID_SIZE, spline_order=SPLINE_ORDER).to(device)

        found += optional("efficient-kan", build_efficient_kan, batch, widths, device, adam)
    try:
        from kan import KAN as PyKAN
    except ImportError:
        pass
    else:
        for mode in ("default", "speed()"):
            if mode == "default" and batch * sum(map(math.prod, zip(widths, widths[1:]))) > PYKAN_DEFAULT_LIMIT:
                print(f"pykan default skipped on batch {batch}, widths {widths}: it keeps every edge's activation")
                continue

            def build_pykan(mode=mode):
                other = PyKAN(
                    width=list(widths), grid=GRID_SIZE, k=SPLINE_ORDER, seed=0, auto_save=False, device=device
                )
                if mode == "speed()":
                    other.speed()
                return other

            found += optional(f"pykan {mode}", build_pykan, batch, widths, device, adam)
    return found


def optional(label, build, batch, widths, device, adam, count=None):
    """[(label, step closure, count)] for a model that build() returns (another library's KAN, say),
    or [] (saying why) if it fails to run."""
    try:
        step = make_training_step(build(), batch, widths, device, adam)
        step()
    except Exception as error:  # another library's bug or a memory limit must not end the run
        print(f"{label} left out on batch {batch}, widths {widths}: {type(error).__name__}: {error}"[:300])
        return []
    return [(label, step, count)]


def seconds(step, device, repeats, clock=time.perf_counter):
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = clock()
    for _ in range(repeats):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (clock() - start) / repeats


@contextlib.contextmanager
def native_stderr_silenced():
    """The profiler's own C++ code logs every start and stop to stderr; this run has no use for it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_memory(step, device):
    """Bytes of tensor memory allocated at the peak of one step, beyond what was held before it."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    with native_stderr_silenced(), torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True
    ) as profiler:
        step()
    # each op's own allocations (at its start) and the frees ("[memory]" events), in time order
    events = sorted(profiler.events(), key=lambda e: e.time_range.start)
    current = peak = 0
    for event in events:
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak


def benchmark(name, batch, widths, device, rounds, compile_model, clock, adam):
    entries = contenders(batch, widths, device, compile_model, adam)
    repeats = {}
    for label, step, _ in entries:  # warm up (and compile), then pick repeats for ~20 ms per sample
        for _ in range(3):
            step()
        repeats[label] = max(1, math.ceil(0.01 / seconds(step, device, 1)))
    times = {label: [] for label, _, _ in entries}
    for _ in range(rounds):
        for label, step, _ in entries:
            times[label].append(seconds(step, device, repeats[label], clock))
    print(f"\n({name}) batch {batch}, widths {widths}, G={GRID_SIZE}, k={SPLINE_ORDER}, {device}")
    print(f"{'':30s}{'ratio to floor':>16s}{'ratio to MLP':>14s}{'median ms':>11s}{'peak MiB':>10s}{'params':>10s}")
    for label, step, count in entries:
        to_floor = statistics.median(t / f for t, f in zip(times[label], times["floor"]))
        to_mlp = statistics.median(t / m for t, m in zip(times[label], times["MLP, same #params"]))
        # CUDA graphs keep their memory in a pool taken when they are recorded, which no step's
        # peak shows
        memory = "" if "CUDA graphs" in label else f"{peak_memory(step, device) / 2**20:.2f}"
        print(
            f"{label:30s}{to_floor:16.2f}{to_mlp:14.2f}{1e3 * statistics.median(times[label]):11.3f}"
            f"{memory:>10s}{count if count else '':>10}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--shapes", default=None, help="which shapes to run, e.g. 'ab' (default: all)")
    parser.add_argument("--no-compile", dest="compile_model", action="store_false")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with the process's CPU time instead of the wall clock: with --threads 1 on a busy "
        "machine this leaves out the time other processes hold the core",
    )
    parser.add_argument(
        "--adam",
        choices=tuple(ADAMS),
        default="fused",
        help="every contender's Adam: fused, as kanlab.fit's (default); torch-fused, torch.optim.Adam(fused=True); "
        "or for-loop, PyTorch's default, which on the CPU runs about ten operations per parameter tensor from Python",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    shapes = dict(SHAPES, **(GPU_SHAPES if device.type == "cuda" else {}))
    clock = time.process_time if args.cpu_time else time.perf_counter
    print(
        f"torch {torch.__version__}, {args.threads} threads, {args.rounds} interleaved rounds, "
        f"{'CPU time' if args.cpu_time else 'wall clock'}, {args.adam} Adam"
    )
    for name, (batch, widths) in shapes.items():
        if args.shapes is None or name in args.shapes:
            benchmark(name, batch, widths, device, args.rounds, args.compile_model, clock, args.adam)


if __name__ == "__main__":
    main()
