"""kanlab.plot.crisp_inline_figures: inline figures at two device pixels per CSS pixel, light."""

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image

from kanlab.plot import crisp_inline_figures


@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    yield shell
    InteractiveShell.clear_instance()


def shown_png(shell, figure):
    data, metadata = shell.display_formatter.format(figure)
    return Image.open(io.BytesIO(base64.b64decode(data["image/png"]))), metadata["image/png"]


def test_outside_ipython_it_does_nothing():
    assert crisp_inline_figures() is False


def test_a_figure_is_drawn_at_twice_its_css_width_and_shown_at_that_width(shell):
    assert crisp_inline_figures() is True
    figure, ax = plt.subplots(figsize=(5.0, 3.0), dpi=100)
    ax.plot([0, 1], [0, 1])
    image, metadata = shown_png(shell, figure)
    assert set(metadata) == {"width"}  # no height: a narrowed figure keeps its aspect
    assert image.width // 2 == metadata["width"]
    assert 400 <= metadata["width"] <= 500  # bbox_inches="tight" trims the margins
    plt.close(figure)


def test_a_figure_wider_than_the_column_is_drawn_at_twice_the_column(shell):
    crisp_inline_figures(max_css_width=800)
    figure, ax = plt.subplots(figsize=(14.0, 3.0), dpi=100)
    ax.plot([0, 1], [0, 1])
    image, metadata = shown_png(shell, figure)
    assert (image.width, metadata["width"]) == (1600, 800)
    plt.close(figure)


def test_the_png_is_a_palette_image(shell):
    crisp_inline_figures(colours=64)
    figure, ax = plt.subplots(figsize=(4.0, 3.0))
    ax.imshow([[0, 1], [2, 3]])
    image, _ = shown_png(shell, figure)
    assert image.mode == "P" and len(image.getcolors()) <= 64
    plt.close(figure)


def test_calling_it_twice_wraps_the_retina_formatter_once(shell):
    crisp_inline_figures()
    crisp_inline_figures()
    figure, ax = plt.subplots(figsize=(5.0, 3.0))
    ax.plot([0, 1], [0, 1])
    image, metadata = shown_png(shell, figure)
    assert image.width // 2 == metadata["width"]
    plt.close(figure)


def test_with_the_inline_backend_a_figure_is_a_light_palette_png(shell):
    plt.switch_backend("module://matplotlib_inline.backend_inline")
    try:
        crisp_inline_figures()
        figure, ax = plt.subplots(figsize=(14.0, 3.0))
        ax.plot([0, 1], [0, 1])
        image, metadata = shown_png(shell, figure)
        assert (image.mode, image.width, metadata) == ("P", 1600, {"width": 800})
        plt.close(figure)
    finally:
        plt.switch_backend("Agg")
