"""The symbolic panel of benchmarks/symbolic_panel.py: `discover` with its default arguments finds each formula.

Each target runs on two seeds here (the benchmark prints the table over three). The targets the
pipeline does not recover are listed in NOT_RECOVERED with the reason, and are left to the benchmark.
One class per seed, so that pytest-xdist's --dist loadscope gives each seed its own worker.
"""

import importlib.util
import pathlib
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]

_PATH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "symbolic_panel.py"
_SPEC = importlib.util.spec_from_file_location("symbolic_panel", _PATH)
panel = sys.modules.setdefault("symbolic_panel", importlib.util.module_from_spec(_SPEC))  # dataclasses look it up
_SPEC.loader.exec_module(panel)

NOT_RECOVERED = {  # not recovered on both seeds 0 and 1 (benchmarks/README.md, measured at 16cb8d4)
    # x^2 inside, exp outside is one of many splits of exp(-t^2/2) over two edges; training finds another
    "I.6.2a exp(-t^2/2)/sqrt(2 pi)",
    # the products below need two hidden nodes whose inner edges are lines (or sin, 1/b, ...); the
    # trained pairs bend them, and after snapping the outer edges fit sines instead of squares
    "x y",  # 0 of 3 seeds
    "I.12.11 1 + a sin(t)",  # seeds 0 and 2, not 1
    "I.13.12 a (1/b - 1)",
    # seeds 1 and 2 end in log-squared terms instead of n exp(-a) (seed 0 is recovered)
    "I.40.1 n exp(-a)",
}
RECOVERED = [target for target in panel.PANEL if target.name not in NOT_RECOVERED]


def _check(target, seed):
    result, error, _ = panel.run(target, seed)
    assert error <= panel.MAX_ERROR, f"{target.name}, seed {seed}: largest error {error:.2e}\n{result}"


def test_the_panel_holds_a_dozen_targets_with_six_feynman_equations_among_those_tested():
    assert len(panel.PANEL) >= 12
    assert NOT_RECOVERED <= {target.name for target in panel.PANEL}
    assert sum(target.name[:2] in ("I.", "II") for target in RECOVERED) >= 6


class TestSeed0:
    @pytest.mark.parametrize("target", RECOVERED, ids=lambda target: target.name)
    def test_discover_recovers_the_formula(self, target):
        _check(target, seed=0)


class TestSeed1:
    @pytest.mark.parametrize("target", RECOVERED, ids=lambda target: target.name)
    def test_discover_recovers_the_formula(self, target):
        _check(target, seed=1)
