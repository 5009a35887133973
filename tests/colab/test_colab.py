"""The book on Google Colab's own packages: a replica of Colab's runtime, where nbval runs every chapter.

The replica is a fresh virtual environment with the versions of ``requirements.txt`` (Colab's
published ``pip freeze``) and without ``kanlab``. The chapters' first cell (the same guarded install
in every chapter, as tests/test_book.py checks) runs there in a kernel of that environment, from a
folder outside this repository as on Colab, so it really installs ``kanlab``: from a local clone of
this checkout in place of the repository's URL. It passes when the install changed none of the
replica's packages (``pip freeze`` before and after: only ``kanlab`` is new), and it leaves
``kanlab`` installed there.

Then `make test` runs nbval over every chapter in that kernel (``pytest --nbval-lax
--nbval-kernel-name colab-replica book/``, with ``JUPYTER_PATH`` at ``tests/.colab-replica/active``):
the book build (``make book``) runs every chapter once in the main environment, and nbval once more,
on the oldest versions kanlab allows; a chapter whose cell raises fails the run.

The environment is built once per content of ``requirements.txt`` and kept in the ignored folder
``tests/.colab-replica/`` (about 2 minutes to build on 2 cores); ``active`` links to the current one.
"""

import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
REPLICAS = ROOT / "tests" / ".colab-replica"
KERNEL_NAME = "colab-replica"
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
CELL_TIMEOUT_S = 600


def colab_pins() -> dict[str, str]:
    """Package name -> the version the replica installs, from requirements.txt."""
    pins = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#")[0].strip()
        if requirement:
            name, version = requirement.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def colab_versions() -> dict[str, str]:
    """Package name -> the version Colab itself ships (a pin's ``# Colab: X`` note where it differs)."""
    versions = colab_pins()
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"\s*([\w.-]+)==\S+\s+#\s*Colab:\s*(\S+)", line):
            versions[canonicalize_name(match.group(1))] = match.group(2)
    return versions


def freeze(python: Path) -> dict[str, str]:
    """Installed package name -> its ``pip freeze`` line, in the environment of ``python``."""
    lines = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all"], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    return {canonicalize_name(re.split(r"[=@ ]", line, maxsplit=1)[0]): line for line in lines if line.strip()}


def _build_replica(venv: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([_base_python(), "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
    subprocess.run(
        [str(python), "-m", "ipykernel", "install", "--prefix", str(venv), "--name", KERNEL_NAME], check=True
    )
    # pytest for running tests/test_widgets.py under Colab's ipywidgets, kept beside the
    # environment (on PYTHONPATH for that one run), so the replica itself holds only Colab's set.
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--target", str(venv / "pytest-only"), "pytest"], check=True
    )
    (venv / ".complete").touch()


def _base_python() -> str:
    """The interpreter the main venv was made from (a venv made from a venv inherits nothing)."""
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}")


@pytest.fixture(scope="module")
def replica() -> Path:
    """The replica's venv: built if missing, ``kanlab`` removed if an earlier run left it there."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()[:12]
    venv = REPLICAS / key
    if not (venv / ".complete").exists():
        _build_replica(venv)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "uninstall", "--yes", "--quiet", "kanlab"], check=True)
    active = REPLICAS / "active"  # what `make test` points nbval's JUPYTER_PATH at
    active.unlink(missing_ok=True)
    active.symlink_to(venv.name)
    return venv


@pytest.fixture(scope="module")
def local_clone(tmp_path_factory) -> Path:
    """A git repository holding this checkout's files as they are now (committed or not)."""
    clone = tmp_path_factory.mktemp("kanlab-clone")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    git = ["git", "-c", "user.name=kanlab tests", "-c", "user.email=tests@kanlab.invalid"]
    subprocess.run([*git, "init", "--quiet"], cwd=clone, check=True)
    subprocess.run([*git, "add", "--all"], cwd=clone, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "the checkout under test"], cwd=clone, check=True)
    return clone


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]


def installing_from(notebook, clone: Path):
    """``notebook`` whose install cell installs from ``clone`` instead of the repository's URL."""
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    repository = f"git+{repository_url()}"
    assert repository in first.source, "the first code cell installs kanlab from the repository"
    # pip 23 (python3 -m venv's) takes a local clone only as file://localhost/PATH.
    first.source = first.source.replace(repository, f"git+file://localhost{clone}")
    return notebook


def test_the_replica_holds_exactly_colabs_versions(replica):
    installed = freeze(replica / "bin" / "python")
    shipped = {name: installed.get(name, "missing").split("==")[-1].split("+")[0] for name in colab_pins()}
    assert shipped == colab_pins()
    assert "kanlab" not in installed


def test_kanlab_requires_nothing_colab_does_not_ship():
    """Every runtime dependency of kanlab is a Colab package, and Colab's version satisfies it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    shipped = colab_versions()
    unmet = {
        str(requirement): shipped.get(canonicalize_name(requirement.name), "not shipped")
        for requirement in map(Requirement, project["dependencies"])
        if canonicalize_name(requirement.name) not in shipped
        or not requirement.specifier.contains(shipped[canonicalize_name(requirement.name)])
    }
    assert unmet == {}, "kanlab requirement -> what Colab has"


def test_kanlab_widgets_tests_pass_with_colabs_ipywidgets(replica):
    python = replica / "bin" / "python"
    version = subprocess.run(
        [str(python), "-c", "import ipywidgets; print(ipywidgets.__version__)"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    assert version == colab_pins()["ipywidgets"]
    run = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "tests/test_widgets.py"],
        cwd=ROOT, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{replica / 'pytest-only'}", "OMP_NUM_THREADS": "1"},
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_the_install_cell_installs_kanlab_and_changes_none_of_colabs_packages(replica, local_clone, tmp_path):
    """Last in this module: it leaves kanlab installed in the replica for nbval's run of the chapters."""
    python = replica / "bin" / "python"
    before = freeze(python)
    assert "kanlab" not in before
    notebook = installing_from(nbformat.read(CHAPTERS[0], as_version=4), local_clone)
    install_cell = next(cell for cell in notebook.cells if cell.cell_type == "code")
    notebook.cells = [install_cell, nbformat.v4.new_code_cell("import kanlab, kanlab.widgets\nprint(kanlab.__file__)")]
    kernels = KernelSpecManager(kernel_dirs=[str(replica / "share" / "jupyter" / "kernels")])
    client = NotebookClient(
        notebook,
        km=KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=kernels),
        timeout=CELL_TIMEOUT_S,
        # Like Colab's /content: a folder where `import kanlab` finds nothing until it is installed.
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"the install cell failed on Colab's packages:\n{error}")
    after = freeze(python)
    location = notebook.cells[1].outputs[0]["text"]
    assert str(replica) in location, "kanlab imported from outside the replica"
    assert "kanlab" in after, "the install cell did not install kanlab"
    changed = {
        name: (before.get(name), after.get(name))
        for name in before.keys() | after.keys()
        if name != "kanlab" and before.get(name) != after.get(name)
    }
    assert changed == {}, "package -> (before the install cell, after it)"
