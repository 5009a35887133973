#!/usr/bin/env bash
# kanlab's checks on a CUDA GPU, in one run: the tests parametrised over devices (their CUDA
# cases), then the training-step benchmark on the GPU (shapes (a) to (c) and batch 65536,
# [256, 256, 256]). From the repository root, on a machine with a GPU:
#
#     bash benchmarks/gpu.sh                 # extra arguments go to the benchmark,
#     bash benchmarks/gpu.sh --no-compile    # e.g. --rounds 10 or --shapes d
#
# PYTHON names the interpreter (default python3); kanlab is imported from this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

"$python" - <<'PY'
import sys

import torch

if not torch.cuda.is_available():
    sys.exit("benchmarks/gpu.sh: torch finds no CUDA device here")
properties = torch.cuda.get_device_properties(0)
memory = properties.total_memory / 2**30
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {properties.name}, {memory:.0f} GiB")
PY
tests=0  # a failing test does not stop the benchmark; the script's status reports it
"$python" -m pytest -q -rs -p no:cacheprovider -k cuda \
    tests/test_devices.py tests/test_kan.py tests/test_splines.py tests/test_perceptron.py tests/test_distributed.py || tests=$?
"$python" benchmarks/kan_layer_speed.py --device cuda "$@"
exit "$tests"
