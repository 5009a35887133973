"""The book's sources: notebooks stored clean, the toc and book/ in agreement, install cell first."""

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
INSTALL_CELL = """try:
    import kanlab
except ImportError:  # on Colab or any machine without kanlab: install it from the book's repository
    %pip install --quiet "kanlab @ git+{url}\""""


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def toc_entries() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"], *(chapter["file"] for chapter in toc.get("chapters", []))]


def test_the_book_has_chapter_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_stored_without_outputs(path):
    stored = [
        (index, len(cell.get("outputs", [])), cell.get("execution_count"))
        for index, cell in enumerate(read_notebook(path)["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert stored == [], "(cell index, number of outputs, execution count) of cells stored executed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_stores_no_widget_state(path):
    assert "widgets" not in read_notebook(path)["metadata"]


def test_toc_lists_exactly_the_notebooks_in_book():
    listed = {entry.removesuffix(".ipynb") for entry in toc_entries()}
    in_book = {str(path.relative_to(ROOT).with_suffix("")) for path in NOTEBOOKS}
    assert in_book - listed == set(), "notebooks in book/ missing from _toc.yml"
    notebooks_listed = {entry for entry in listed if not (ROOT / f"{entry}.md").exists()}
    assert notebooks_listed - in_book == set(), "_toc.yml entries with no notebook in book/"


def test_toc_starts_with_the_intro_then_the_chapters_in_order():
    entries = toc_entries()
    assert entries[0] == "book/intro"
    assert entries[1:] == sorted(entries[1:]), "chapters numbered 01_, 02_, ... in reading order"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_first_code_cell_is_the_guarded_install_from_the_repository_url(path):
    url = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    code_cells = [cell for cell in read_notebook(path)["cells"] if cell["cell_type"] == "code"]
    first = code_cells[0]
    assert "".join(first["source"]) == INSTALL_CELL.format(url=url)
    assert first["metadata"].get("tags") == ["hide-cell"]
