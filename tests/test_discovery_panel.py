"""The symbolic panel of benchmarks/symbolic_panel.py: `discover` with its default arguments finds each formula.

Each target runs on the benchmark's three seeds and counts as recovered when at least two of them
find it, as the benchmark counts. The targets the pipeline does not recover are listed in
NOT_RECOVERED with the reason, and are left to the benchmark.
"""

import pytest

import symbolic_panel as panel  # benchmarks/, on pytest's pythonpath (pyproject.toml)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]

SEEDS = (0, 1, 2)
NOT_RECOVERED = {  # recovered on fewer than 2 of the 3 seeds (benchmarks/README.md)
    # a Gaussian over two edges: x^2 inside and exp outside is one of many splits, and training finds
    # others (a cosine bump inside, a sine or parabola outside), 6e-3 and 1.2e-3 off on seeds 0 and 2
    "I.6.2a exp(-t^2/2)/sqrt(2 pi)",
}
RECOVERED = [target for target in panel.PANEL if target.name not in NOT_RECOVERED]


def _check(target):
    """The formula is found, to a largest error of 1e-3 on a grid of the box, for at least 2 of 3 seeds."""
    failures = []
    for seed in SEEDS:
        result, error, _ = panel.run(target, seed)
        if not error <= panel.MAX_ERROR:
            failures.append(f"seed {seed}: largest error {error:.2e}\n{result}")
    assert len(failures) <= 1, f"{target.name}:\n" + "\n".join(failures)


def test_the_panel_holds_a_dozen_targets_six_feynman_equations_x_y_and_sin_2x_plus_y_squared():
    names = [target.name for target in panel.PANEL]
    assert len(names) >= 12
    assert sum(name.split()[0].count(".") == 2 for name in names) >= 6  # I.6.2a, II.38.3, ...
    assert {"x y", "sin(2x) + y^2"} <= set(names)
    assert NOT_RECOVERED <= set(names)


def test_at_least_ten_targets_are_expected_to_be_recovered():
    assert len(RECOVERED) >= 10  # each one is checked below


# two classes, so that pytest-xdist's --dist loadscope runs the halves on two workers
class TestFirstHalfOfThePanel:
    @pytest.mark.parametrize("target", RECOVERED[: len(RECOVERED) // 2], ids=lambda target: target.name)
    def test_discover_recovers_the_formula_for_two_of_three_seeds(self, target):
        _check(target)


class TestSecondHalfOfThePanel:
    @pytest.mark.parametrize("target", RECOVERED[len(RECOVERED) // 2 :], ids=lambda target: target.name)
    def test_discover_recovers_the_formula_for_two_of_three_seeds(self, target):
        _check(target)
