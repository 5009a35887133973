"""The built website in a real browser: pages load cleanly, math and figures render, the
kernel-free sliders move, every picture is crisp (two device pixels per CSS pixel) and pages stay
light, and the launch buttons point at the repository named in _config.yml."""

import json
import re
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest
from conftest import SCREENSHOTS, book_config, page_url_path, toc_files

MAX_PAGE_BYTES = 2_000_000  # a chapter's HTML and every image it loads
MIN_DEVICE_PIXELS_PER_CSS_PIXEL = 2
# The widest text column is the theme's at about 1400 CSS pixels and more; a phone's is 390.
WINDOW_WIDTHS = [390, 1280, 1600]


def repository() -> tuple[str, str, str]:
    """(url, "org/name", branch) of the one repository setting in _config.yml."""
    settings = book_config()["repository"]
    url = settings["url"].rstrip("/")
    return url, url.removeprefix("https://github.com/"), settings["branch"]


def test_every_page_loads_without_console_errors_page_errors_or_external_requests(open_page, page):
    opened = open_page(page)
    assert opened.problems == []


def test_the_site_root_leads_to_the_first_page(open_page):
    opened = open_page("index.html", lands_on=page_url_path(toc_files()[0]))
    assert opened.page.locator("h1").first.inner_text().startswith(book_config()["title"])
    assert opened.problems == []


def test_math_is_typeset_on_every_page_that_has_math(open_page):
    pages_with_math = 0
    for page in [page_url_path(source) for source in toc_files()]:
        opened = open_page(page)
        n_math = opened.page.locator(".math").count()
        if n_math == 0:
            continue
        pages_with_math += 1
        untypeset = opened.page.locator(".math:not(:has(mjx-container))").count()
        assert (page, untypeset) == (page, 0)
        assert opened.page.locator("mjx-container[jax]").count() >= n_math
        assert opened.page.locator("mjx-merror").count() == 0
        assert opened.problems == []
    assert pages_with_math >= 2


def test_every_image_on_a_page_is_loaded(open_page, page):
    opened = open_page(page)
    broken = opened.page.eval_on_selector_all(
        "img", "images => images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))"
    )
    assert broken == []


def test_every_chapter_shows_figures_among_its_outputs(open_page, notebook_page):
    opened = open_page(notebook_page)
    figures = opened.page.locator(".cell_output img").count()
    assert figures >= 1


def test_the_perceptron_chapter_has_a_static_slider_figure(open_page):
    opened = open_page("book/02_perceptron.html")
    assert opened.page.locator(".kanlab-interactive").count() >= 1


def drag_to_other_end(page, slider):
    """Drag a range input's thumb from its current place to the end farthest from it."""
    box = slider.bounding_box()
    position, last = int(slider.input_value()), int(slider.get_attribute("max"))
    target = 0 if position > last / 2 else last
    y = box["y"] + box["height"] / 2
    x_now = box["x"] + box["width"] * (position / last)
    x_target = box["x"] + (box["width"] - 1 if target else 1)
    page.mouse.move(x_now, y)
    page.mouse.down()
    page.mouse.move(x_target, y, steps=8)
    page.mouse.up()
    return target


def test_every_static_slider_changes_the_picture_and_the_shown_value(open_page, page):
    opened = open_page(page)
    figures = opened.page.locator(".kanlab-interactive")
    for f in range(figures.count()):
        figure = figures.nth(f)
        figure.scroll_into_view_if_needed()
        image = figure.locator("img.kanlab-frame")
        for s in range(figure.locator("input[type=range][data-param]").count()):
            slider = figure.locator("input[type=range][data-param]").nth(s)
            shown = slider.locator("xpath=..").locator("output")
            values = json.loads(slider.get_attribute("data-values"))
            before = (image.get_attribute("src"), shown.inner_text())
            assert before[1] == values[int(slider.input_value())]
            target = drag_to_other_end(opened.page, slider)
            assert int(slider.input_value()) == target
            assert shown.inner_text() == values[target] != before[1]
            assert image.get_attribute("src") != before[0]
    assert opened.problems == []


class ImageSources(HTMLParser):
    """The ``src`` of every ``<img>`` of a page."""

    def __init__(self, page):
        super().__init__()
        self.sources = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "img" and dict(attrs).get("src"):
            self.sources.append(dict(attrs)["src"])


def page_weight(site_dir, page) -> tuple[int, int]:
    """(bytes of the HTML, with its inlined frames; bytes of the image files it loads, each once)."""
    path = site_dir / page
    html = path.read_bytes()
    files = {
        (path.parent / unquote(urlsplit(source).path)).resolve()
        for source in ImageSources(html.decode("utf-8")).sources
        if not source.startswith("data:")
    }
    missing = [str(file) for file in files if not file.is_file()]
    assert missing == []
    return len(html), sum(file.stat().st_size for file in files)


def test_every_page_with_its_images_weighs_under_two_megabytes(site_dir, page):
    html, images = page_weight(site_dir, page)
    assert (page, html + images) < (page, MAX_PAGE_BYTES)


def test_the_page_weight_counts_the_image_files_a_chapter_loads(site_dir, notebook_page):
    html, images = page_weight(site_dir, notebook_page)
    assert images > 0


SHOWN_RATIOS = """() => Array.from(document.querySelectorAll("img"))
    .filter(image => image.clientWidth > 0)
    .map(image => [image.currentSrc.slice(-60), image.naturalWidth / image.clientWidth, image.clientWidth])"""


def unsharp_images(page) -> list:
    """Every shown ``<img>`` with fewer than two of its pixels per CSS pixel: [(src end, ratio, width)]."""
    page.wait_for_function("() => Array.from(document.images).every(image => image.complete)")
    return [image for image in page.evaluate(SHOWN_RATIOS) if image[1] < MIN_DEVICE_PIXELS_PER_CSS_PIXEL]


@pytest.mark.parametrize("width", WINDOW_WIDTHS)
def test_every_image_has_two_pixels_per_css_pixel_before_and_after_the_sliders_move(open_page, page, width):
    opened = open_page(page, width=width)
    # Hidden cells' outputs too.
    opened.page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    assert (page, unsharp_images(opened.page)) == (page, [])
    sliders = opened.page.locator(".kanlab-interactive input[type=range][data-param]")
    for s in range(sliders.count()):
        slider = sliders.nth(s)
        slider.scroll_into_view_if_needed()
        drag_to_other_end(opened.page, slider)
        assert (page, s, unsharp_images(opened.page)) == (page, s, [])
    assert opened.problems == []


def test_every_shown_image_is_counted(open_page, notebook_page):
    opened = open_page(notebook_page)
    assert len(opened.page.evaluate(SHOWN_RATIOS)) >= 1


def figure_to_show(page):
    """The chapter's first slider figure, or else its widest output figure."""
    players = page.locator(".kanlab-interactive")
    if players.count():
        return players.first
    images = page.locator(".cell_output img")
    widths = images.evaluate_all("images => images.map(image => image.clientWidth)")
    return images.nth(widths.index(max(widths)))


@pytest.mark.parametrize("width", [390, 1280])
def test_a_screenshot_of_one_figure_per_chapter_at_device_scale_factor_two(open_page, notebook_page, width):
    opened = open_page(notebook_page, width=width, device_scale_factor=2)
    figure = figure_to_show(opened.page)
    figure.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = notebook_page.removesuffix(".html").split("/")[-1]
    png = figure.screenshot(path=SCREENSHOTS / f"{name}-{width}px.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.bounding_box()["width"] <= width


def test_launch_buttons_point_at_the_repository_url(open_page, notebook_page):
    url, org_name, branch = repository()
    notebook = notebook_page.removesuffix(".html") + ".ipynb"
    opened = open_page(notebook_page)
    links = opened.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert f"https://mybinder.org/v2/gh/{org_name}/{branch}?urlpath=lab/tree/{notebook}" in links
    assert f"https://colab.research.google.com/github/{org_name}/blob/{branch}/{notebook}" in links
    assert url in links  # the repository button
    thebe = opened.page.locator("script[type='text/x-thebe-config']").inner_text()
    assert re.search(rf'repo:\s*"{re.escape(org_name)}"', thebe)
    assert re.search(rf'ref:\s*"{re.escape(branch)}"', thebe)
    assert opened.page.locator("button.btn-launch-thebe").count() == 1


def test_the_download_button_offers_the_notebook(open_page, notebook_page):
    opened = open_page(notebook_page)
    source = opened.page.locator("a.btn-download-source-button")
    assert source.get_attribute("href").endswith(notebook_page.removesuffix(".html").split("/")[-1] + ".ipynb")


def test_the_live_code_button_starts_thebe_without_errors(open_page, notebook_page):
    opened = open_page(notebook_page)
    opened.page.locator("button.btn-launch-thebe").evaluate("button => button.click()")
    opened.page.wait_for_function("window.kanlabThebeStarted === true")
    assert opened.problems == []
