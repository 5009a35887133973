"""The symbolic panel of benchmarks/symbolic_panel.py: `discover` with its default arguments finds each formula.

Each target runs on two seeds here (the benchmark prints the table over three). The targets the
pipeline does not recover are listed in NOT_RECOVERED with the reason, and are left to the benchmark.
One class per seed, so that pytest-xdist's --dist loadscope gives each seed its own worker.
"""

import importlib.util
import pathlib

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]

_PATH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "symbolic_panel.py"
_SPEC = importlib.util.spec_from_file_location("symbolic_panel", _PATH)
panel = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(panel)

NOT_RECOVERED = {
    # x^2 inside exp outside is one of many splits of exp(-t^2/2) over two edges; the trained pair is another
    "I.6.2a exp(-t^2/2)/sqrt(2 pi)",
    # the network finds a product of other inner functions than a and 1/b, and no library function fits one edge
    "I.13.12 a (1/b - 1)",
}
RECOVERED = [target for target in panel.PANEL if target.name not in NOT_RECOVERED]


def _check(target, seed):
    result, error, _ = panel.run(target, seed)
    assert error <= panel.MAX_ERROR, f"{target.name}, seed {seed}: largest error {error:.2e}\n{result}"


def test_the_panel_holds_a_dozen_targets_with_six_feynman_equations():
    assert len(RECOVERED) >= 10
    assert len(panel.PANEL) >= 12
    assert sum(target.name[:2] in ("I.", "II") for target in RECOVERED) >= 6


class TestSeed0:
    @pytest.mark.parametrize("target", RECOVERED, ids=lambda target: target.name)
    def test_discover_recovers_the_formula(self, target):
        _check(target, seed=0)


class TestSeed1:
    @pytest.mark.parametrize("target", RECOVERED, ids=lambda target: target.name)
    def test_discover_recovers_the_formula(self, target):
        _check(target, seed=1)
