"""Binder's environment agrees with the package: what ``environment.yml`` installs satisfies kanlab
and the book, and ``postBuild`` then installs this checkout.

Binder builds the conda environment of ``environment.yml`` (a cached layer) and runs ``postBuild``
after it. Every runtime requirement of kanlab and of its ``book`` extra must be listed there, with
a range inside the one pyproject.toml allows, so that the environment holds only versions kanlab
accepts and the install of kanlab itself has nothing left to fetch. Binder itself is not launched.
"""

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# conda-forge's names for packages that PyPI names otherwise; every other name is the same in both.
CONDA_TO_PIP = {"pytorch-cpu": "torch", "pytorch": "torch"}
UNBOUNDED = None


def read_environment(path: Path = ROOT / "environment.yml") -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def required(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, SpecifierSet]:
    """PyPI name -> the versions kanlab and its ``book`` extra accept, ``python`` included."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = {"python": SpecifierSet(project["requires-python"])}
    for line in project["dependencies"] + project["optional-dependencies"]["book"]:
        requirement = Requirement(line)
        requirements[canonicalize_name(requirement.name)] = requirement.specifier
    return requirements


def conda_specifier(spec: str) -> SpecifierSet:
    """A conda version spec as a pip specifier set: ``=3.11`` (conda's prefix match) -> ``==3.11.*``;
    ``>=2.11,<3`` and ``==1.0`` read the same in both."""
    spec = spec.replace(" ", "")
    if "|" in spec:
        raise ValueError(f"conda 'or' specs are not supported here, got {spec!r}")
    if re.fullmatch(r"=[^=<>!~].*", spec):
        spec = "==" + spec[1:].removesuffix(".*").removesuffix("*").removesuffix(".") + ".*"
    return SpecifierSet(spec)


def installed_by(environment: dict) -> dict[str, SpecifierSet]:
    """PyPI name -> the versions ``environment`` may install, from its conda and its pip lists."""
    installs = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            for line in entry.get("pip", []):
                requirement = Requirement(line)
                installs[canonicalize_name(requirement.name)] = requirement.specifier
            continue
        name, spec = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*(.*)", entry).groups()
        name = canonicalize_name(name)
        installs[CONDA_TO_PIP.get(name, name)] = conda_specifier(spec)
    return installs


def version_range(specifiers: SpecifierSet) -> tuple:
    """``((lowest, inclusive), (highest, inclusive))`` of the versions ``specifiers`` allow;
    ``UNBOUNDED`` for a side without a bound. ``==X.*`` is ``[X, X+1)`` in X's last place."""
    low, high = (UNBOUNDED, True), (UNBOUNDED, True)
    for specifier in specifiers:
        for bound, is_lower in _bounds(specifier):
            if is_lower and (low[0] is UNBOUNDED or _tighter_low(bound, low)):
                low = bound
            if not is_lower and (high[0] is UNBOUNDED or _tighter_high(bound, high)):
                high = bound
    return low, high


def _bounds(specifier: Specifier) -> list:
    """(bound, is_lower) pairs of one specifier; a bound is (Version, inclusive)."""
    operator, version = specifier.operator, specifier.version
    if operator == "==" and version.endswith(".*"):
        release = Version(version[:-2]).release
        return [((Version(version[:-2]), True), True), ((_next(release, len(release)), False), False)]
    if operator == "~=":
        release = Version(version).release
        return [((Version(version), True), True), ((_next(release, len(release) - 1), False), False)]
    bounds = {
        ">=": [((Version(version), True), True)],
        ">": [((Version(version), False), True)],
        "<=": [((Version(version), True), False)],
        "<": [((Version(version), False), False)],
        "==": [((Version(version), True), True), ((Version(version), True), False)],
    }
    if operator not in bounds:
        raise ValueError(f"specifier {specifier} is not supported here (use >=, >, <=, <, ==, ==X.* or ~=)")
    return bounds[operator]


def _next(release: tuple, places: int) -> Version:
    """The first version after every ``release[:places]``-prefixed one: (3, 11), 2 -> 3.12."""
    head = list(release[:places])
    head[-1] += 1
    return Version(".".join(map(str, head)))


def _tighter_low(bound, current) -> bool:
    return bound[0] > current[0] or (bound[0] == current[0] and not bound[1])


def _tighter_high(bound, current) -> bool:
    return bound[0] < current[0] or (bound[0] == current[0] and not bound[1])


def within(inner: SpecifierSet, outer: SpecifierSet) -> bool:
    """Whether every version ``inner`` allows is one ``outer`` allows (judged by their ranges)."""
    (inner_low, inner_high), (outer_low, outer_high) = version_range(inner), version_range(outer)
    low_ok = outer_low[0] is UNBOUNDED or (
        inner_low[0] is not UNBOUNDED and (inner_low == outer_low or _tighter_low(inner_low, outer_low))
    )
    high_ok = outer_high[0] is UNBOUNDED or (
        inner_high[0] is not UNBOUNDED and (inner_high == outer_high or _tighter_high(inner_high, outer_high))
    )
    return low_ok and high_ok


def disagreements(environment: dict, requirements: dict[str, SpecifierSet]) -> dict[str, str]:
    """Requirement -> what is wrong with the environment's entry for it; empty when they agree."""
    installs = installed_by(environment)
    problems = {}
    for name, allowed in requirements.items():
        if name not in installs:
            problems[f"{name}{allowed}"] = "not in environment.yml"
        elif not within(installs[name], allowed):
            problems[f"{name}{allowed}"] = f"environment.yml allows {installs[name] or 'any version'}"
    return problems


def pip_installs_in(script: Path, tmp_path: Path) -> list[Path]:
    """Run ``script`` (a postBuild) in the checkout, as Binder does, with stand-ins for python and
    pip that only record their calls; the projects of the checkout its ``pip install`` commands
    install (extras removed), as paths relative to the checkout."""
    stand_ins, calls = tmp_path / "bin", tmp_path / "calls"
    stand_ins.mkdir(parents=True)
    calls.mkdir()
    recorder = '#!/bin/sh\n{ pwd; basename "$0"; for a in "$@"; do echo "$a"; done; } >"$(mktemp "$CALLS/c.XXXX")"\n'
    for command in ["python", "python3", "pip", "pip3", "jupyter"]:
        (stand_ins / command).write_text(recorder, encoding="utf-8")
        (stand_ins / command).chmod(0o755)
    run = subprocess.run(
        [str(script)], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": f"{stand_ins}:/usr/bin:/bin", "CALLS": str(calls), "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, f"postBuild failed: {run.stderr[-2000:]}"
    folders = []
    for call in calls.iterdir():
        cwd, command, *args = call.read_text(encoding="utf-8").splitlines()
        if command.startswith("python") and args[:2] == ["-m", "pip"]:
            args = args[2:]
        elif not command.startswith("pip"):
            continue
        if args[:1] == ["install"]:
            targets = (Path(cwd, arg.split("[")[0]).resolve() for arg in args[1:] if not arg.startswith("-"))
            folders += [target.relative_to(ROOT) for target in targets if is_project(target)]
    return folders


def is_project(folder: Path) -> bool:
    """Whether pip installs ``folder`` as a local project (else it takes the word for a package name)."""
    return folder.is_relative_to(ROOT) and any((folder / name).is_file() for name in ["pyproject.toml", "setup.py"])


def test_environment_yml_installs_every_requirement_of_kanlab_and_the_book_within_its_range():
    assert disagreements(read_environment(), required()) == {}


def test_the_check_finds_a_missing_requirement_and_ranges_wider_or_other_than_kanlabs():
    def broken(entry):
        if isinstance(entry, dict):
            return {"pip": ["myst-nb==1.3.0" if line.startswith("myst-nb") else line for line in entry["pip"]]}
        return "numpy>=1.20" if entry.startswith("numpy") else entry

    environment = read_environment()
    environment["dependencies"] = [
        broken(entry) for entry in environment["dependencies"] if not str(entry).startswith("sympy")
    ]
    requirements = required()
    assert set(disagreements(environment, requirements)) == {
        f"{name}{requirements[name]}" for name in ["sympy", "numpy", "myst-nb"]
    }


def test_conda_forge_pytorch_cpu_stands_for_pypi_torch():
    assert set(installed_by({"dependencies": ["pytorch-cpu>=2.11,<3"]})) == {"torch"}


@pytest.mark.parametrize(
    ("inner", "outer", "expected"),
    [
        ("==3.11.*", ">=3.10", True),
        ("==3.9.*", ">=3.10", False),
        (">=2.11,<3", ">=2.11,<3", True),
        (">=2.11", ">=2.11,<3", False),
        (">=2.10,<3", ">=2.11,<3", False),
        (">2.11,<2.12", ">=2.11,<3", True),
        ("==1.0.4.post1", "==1.0.4.post1", True),
        ("==1.0.4", "==1.0.4.post1", False),
        ("~=4.2", ">=4,<5", True),
        ("", ">=4", False),
        (">=4,<5", "", True),
    ],
)
def test_a_range_lies_within_another_when_both_its_bounds_do(inner, outer, expected):
    assert within(SpecifierSet(inner), SpecifierSet(outer)) is expected


def test_condas_single_equals_is_a_prefix_match():
    assert conda_specifier("=3.11") == SpecifierSet("==3.11.*")
    assert conda_specifier(">=2.11,<3") == SpecifierSet(">=2.11,<3")


def test_postbuild_installs_this_checkout(tmp_path):
    assert Path(".") in pip_installs_in(ROOT / "postBuild", tmp_path)


def test_a_postbuild_that_installs_kanlab_from_pypi_is_not_taken_for_installing_the_checkout(tmp_path):
    script = tmp_path / "postBuild"
    script.write_text("#!/bin/bash\nset -euo pipefail\npython -m pip install kanlab\n", encoding="utf-8")
    os.chmod(script, 0o755)
    assert pip_installs_in(script, tmp_path / "run") == []
