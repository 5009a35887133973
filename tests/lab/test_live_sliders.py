"""The live sliders in JupyterLab: a reader drags one and the kernel redraws the picture.

For every chapter with an interactive figure (found automatically: the chapter's first code cell
that calls ``interactive(`` or a ``kanlab.plot`` figure that returns one), JupyterLab opens the notebook in Chromium and runs the chapter's
cells up to and including that figure, with the keyboard as a reader would (Shift+Enter, cell by
cell); the rest of the chapter is not needed for the figure and is left out to keep the test
short. The mouse then drags the figure's first slider to the right: the value shown beside the
slider must grow, and the picture, redrawn in Python by the kernel, must change.
"""

import hashlib
import inspect
import re
import time
from pathlib import Path

import nbformat
import pytest

from kanlab import plot

ROOT = Path(__file__).resolve().parents[2]
# kanlab.plot's figures that hand back an interactive figure (chapter 8's edge explorer, say)
INTERACTIVE_FIGURES = sorted(
    name for name, figure in vars(plot).items()
    if inspect.isfunction(figure) and "return interactive(" in inspect.getsource(figure)
)
CALLS_INTERACTIVE = re.compile(r"\b(" + "|".join(["interactive", *INTERACTIVE_FIGURES]) + r")\(")
ACTION_TIMEOUT_MS = 60_000
KERNEL_START_S = 120
CELLS_RUN_S = 300  # the cells before a chapter's first interactive figure, on a busy 2-core machine
REDRAW_S = 60
STOPPED_S = 20  # a prompt that long neither [*] nor [n]: the cells stopped before the figure
STEADY_S = 3
WHEEL_STEPS = 60


def first_interactive_cell(chapter: Path) -> int | None:
    """Index (among all cells) of the chapter's first code cell that makes an interactive figure."""
    cells = nbformat.read(chapter, as_version=4).cells
    return next(
        (i for i, cell in enumerate(cells) if cell.cell_type == "code" and CALLS_INTERACTIVE.search(cell.source)),
        None,
    )


# Every chapter with an interactive figure, found anew each run: a new chapter is tested as it lands.
CHAPTERS = [path for path in sorted((ROOT / "book").glob("*.ipynb")) if first_interactive_cell(path) is not None]


@pytest.fixture
def notebook_page(browser, lab, tmp_path):
    """A fresh browser page; afterwards its screenshot lies in tmp_path and the kernels are shut down."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    yield page
    try:
        page.screenshot(path=str(tmp_path / "jupyterlab.png"), timeout=10_000)
    finally:
        context.close()
        lab.shut_down_kernels()


def wait_for_kernel(page, lab, deadline_s: float) -> None:
    """Until the notebook's kernel is started and the page is connected to it and idle.

    Cells run before that are not executed at all (JupyterLab drops them silently).
    """
    deadline = time.monotonic() + deadline_s
    while not any((session.get("kernel") or {}).get("execution_state") == "idle" for session in lab.api("sessions")):
        if time.monotonic() > deadline:
            pytest.fail(f"no idle kernel within {deadline_s} s: {lab.api('sessions')}")
        time.sleep(0.5)
    # The page shows the kernel's name once it is connected to it.
    page.locator("#jp-main-statusbar", has_text="Idle").filter(has_text="Python").wait_for(timeout=deadline_s * 1000)


def kernel_is_idle(lab) -> bool:
    return all(kernel["execution_state"] == "idle" for kernel in lab.api("kernels"))


def wait_for_cell(page, index: int) -> None:
    """Until the cell at ``index`` has run; fails early when the cells queued before it stop.

    Its prompt reads ``[*]`` while it waits or runs, ``[n]`` once it has run, and ``[ ]`` again
    when an error in an earlier cell aborted the queue.
    """
    prompt = page.locator(f'.jp-Notebook .jp-Cell[data-windowed-list-index="{index}"] .jp-InputPrompt')
    deadline, stopped_since = time.monotonic() + CELLS_RUN_S, None
    while True:
        text = prompt.inner_text().strip() if prompt.count() else ""
        if re.fullmatch(r"\[\d+\]:", text):
            return
        now = time.monotonic()
        stopped_since = None if text == "[*]:" else stopped_since or now
        if stopped_since is not None and now - stopped_since > STOPPED_S:
            pytest.fail(f"cell {index} shows {text!r}, not running: did a cell before it fail?")
        if now > deadline:
            pytest.fail(f"cell {index} did not run within {CELLS_RUN_S} s")
        page.wait_for_timeout(500)


def wait_for_last_picture(page, lab, picture, before: str) -> str:
    """The picture's ``src`` once it differs from ``before``, stays put and the kernel is idle.

    The kernel redraws every value the handle passed on its way, in turn.
    """
    deadline, src, steady_since = time.monotonic() + REDRAW_S, before, time.monotonic()
    while src == before or time.monotonic() - steady_since < STEADY_S or not kernel_is_idle(lab):
        if time.monotonic() > deadline:
            pytest.fail(f"the picture did not change and settle within {REDRAW_S} s of the drag")
        page.wait_for_timeout(250)
        now_src = picture.get_attribute("src")
        if now_src != src:
            src, steady_since = now_src, time.monotonic()
    return src


def scroll_into_view(page, element) -> None:
    """Wheel the mouse over the notebook until ``element`` is inside the window.

    JupyterLab 4 renders only the cells near the view (a windowed notebook), in its own scrolling
    panel, so the mouse wheel is what brings a cell into view, as for a reader.
    """
    notebook = page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer").first.bounding_box()
    page.mouse.move(notebook["x"] + notebook["width"] / 2, notebook["y"] + notebook["height"] / 2)
    window_height = page.viewport_size["height"]
    for _ in range(WHEEL_STEPS):
        box = element.bounding_box()
        if box is not None and 120 < box["y"] and box["y"] + box["height"] < window_height - 40:
            return
        page.mouse.wheel(0, 200 if box is None or box["y"] > window_height / 2 else -200)
        page.wait_for_timeout(100)
    pytest.fail(f"could not scroll {element} into view")


def readout_number(text: str) -> float:
    return float(text.strip())


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_dragging_a_live_slider_changes_its_value_and_the_kernel_redraws_the_picture(chapter, lab, notebook_page):
    page = notebook_page
    stored = hashlib.sha256(chapter.read_bytes()).hexdigest()
    target = first_interactive_cell(chapter)

    page.goto(lab.notebook_url(chapter.relative_to(ROOT).as_posix()), wait_until="load")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    wait_for_kernel(page, lab, KERNEL_START_S)

    # Shift+Enter from the first cell runs (or renders) each cell and selects the next, up to and
    # including the figure's cell; its widget is then the only live one in the notebook.
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    for _ in range(target + 1):
        page.keyboard.press("Shift+Enter")
    wait_for_cell(page, target)
    figure = page.locator(".jp-OutputArea-output .widget-vbox").filter(has=page.locator(".widget-slider")).first
    figure.wait_for(state="attached")

    slider = figure.locator(".widget-slider").first
    scroll_into_view(page, slider)
    readout = slider.locator(".widget-readout")
    picture = figure.locator(".widget-output img").first
    picture.wait_for()
    value_before, picture_before = readout.inner_text(), picture.get_attribute("src")

    handle = slider.locator(".noUi-handle, .ui-slider-handle").first.bounding_box()
    track = slider.locator(".slider-container, .slider").first.bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] - 2, handle["y"] + handle["height"] / 2, steps=10)
    page.mouse.up()

    picture_after = wait_for_last_picture(page, lab, picture, picture_before)
    value_after = readout.inner_text()
    print(f"{chapter.name}: dragged {slider.locator('.widget-label').first.inner_text()} from {value_before} "
          f"to {value_after}; picture {len(picture_before)} -> {len(picture_after)} characters of data URI")
    assert readout_number(value_after) > readout_number(value_before)
    assert picture_after != picture_before
    assert hashlib.sha256(chapter.read_bytes()).hexdigest() == stored, "the test saved the notebook"
