"""Fixtures that serve the built book and open it in headless Chromium, offline.

The pages load MathJax from a CDN. Here those requests are answered from the npm package that
``make test`` fetches into tests/.offline-assets/, the thebe bundle (loaded only when a reader
asks for live code) is answered with a stub that records that it started, and every other
request leaving 127.0.0.1 is aborted and reported as a problem of the page.

The site is ``_build/html``, rebuilt when older than a source; ``KANLAB_SITE=/path/to/html``
tests a book built elsewhere (``jupyter-book build . --path-output DIR``: DIR/_build/html) as it
is. Screenshots go to ``_build/screenshots`` (ignored by git).
"""

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
ASSETS = ROOT / "tests" / ".offline-assets"

# CDN address -> file in the npm package that the Makefile unpacks into tests/.offline-assets/.
# (The site loads no ipywidgets manager: _config.yml sets nb_ipywidgets_js to nothing.)
CDN_TO_LOCAL = [
    (re.compile(r"https://cdn\.jsdelivr\.net/npm/mathjax@3/(?P<path>[^?#]+)"), "mathjax/{path}"),
]
PACKAGES = ["mathjax"]
THEBE_PREFIX = "https://unpkg.com/thebe@"
THEBE_STUB = "window.thebelab = {on: function () {}, bootstrap: function () { window.kanlabThebeStarted = true; }};"


def book_config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def toc_files() -> list[str]:
    """Source paths (without suffix) of the book's pages, in the order of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for entry in toc.get("chapters", []):
        files.append(entry["file"])
    return [str(Path(name).with_suffix("")) for name in files]


def page_url_path(source: str) -> str:
    return f"{source}.html"


def is_notebook(source: str) -> bool:
    return (ROOT / f"{source}.ipynb").exists()


def _newest_source_mtime() -> float:
    sources = [ROOT / "_config.yml", ROOT / "_toc.yml", *ROOT.glob("book/**/*"), *ROOT.glob("kanlab/**/*.py")]
    return max(path.stat().st_mtime for path in sources if path.is_file())


def _oldest_page_mtime() -> float:
    pages = [SITE / page_url_path(source) for source in toc_files()]
    return min((page.stat().st_mtime if page.exists() else 0.0) for page in pages)


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built book, rebuilt (as ``make book`` does) when a page is missing or older than a source;
    or, as it is, the one that ``KANLAB_SITE`` names."""
    if os.environ.get("KANLAB_SITE"):
        site = Path(os.environ["KANLAB_SITE"])
        if not (site / page_url_path(toc_files()[0])).is_file():
            pytest.fail(f"KANLAB_SITE={site} holds no built book")
        return site
    if _oldest_page_mtime() < _newest_source_mtime():
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
        subprocess.run(
            [str(jupyter_book), "build", str(ROOT), "--all", "-W", "-n", "--keep-going"], check=True, cwd=ROOT
        )
    return SITE


@pytest.fixture(scope="session")
def offline_assets() -> Path:
    missing = [package for package in PACKAGES if not (ASSETS / package).is_dir()]
    if missing:
        pytest.fail(f"offline browser assets {missing} missing in {ASSETS}; `make test` fetches them with npm")
    return ASSETS


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def base_url(site_dir):
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@dataclass
class OpenedPage:
    page: object
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser, base_url, offline_assets):
    """``open_page("book/intro.html")`` -> OpenedPage with the page loaded and its problems so far.

    Problems are console errors, uncaught page errors, failed local requests and any request that
    tried to leave the machine other than the CDN files answered locally.
    """
    contexts = []

    def route(opened, route_, request):
        url = request.url
        if url.startswith(base_url):
            return route_.continue_()
        for pattern, local_path in CDN_TO_LOCAL:
            if match := pattern.match(url):
                local = offline_assets / local_path.format(**match.groupdict())
                if local.is_file():
                    return route_.fulfill(path=str(local))
                opened.problems.append(f"no local copy of {url} (looked for {local})")
                return route_.abort()
        if url.startswith(THEBE_PREFIX):
            return route_.fulfill(body=THEBE_STUB, content_type="application/javascript")
        opened.problems.append(f"external request {url}")
        return route_.abort()

    def opener(path: str, lands_on: str | None = None, width: int = 1280, device_scale_factor: float = 1) -> OpenedPage:
        """Open ``path`` in a window ``width`` CSS pixels wide with ``device_scale_factor`` device
        pixels per CSS pixel; a page that redirects names the page it ``lands_on``."""
        context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=device_scale_factor)
        contexts.append(context)
        page = context.new_page()
        opened = OpenedPage(page)
        page.on("console", lambda message: message.type == "error" and opened.problems.append(f"console: {message.text}"))
        page.on("pageerror", lambda error: opened.problems.append(f"page error: {error}"))
        page.on(
            "response",
            lambda response: response.status >= 400 and opened.problems.append(f"HTTP {response.status} {response.url}"),
        )
        page.route("**/*", functools.partial(route, opened))
        page.goto(base_url + path, wait_until="load")
        if lands_on is not None:
            page.wait_for_url(base_url + lands_on, wait_until="load")
        # MathJax (deferred) has run by "load"; wait until it has typeset the page.
        page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => true) : true")
        return opened

    yield opener
    for context in contexts:
        context.close()


def pytest_generate_tests(metafunc):
    """``page`` runs a test on every page of the toc; ``notebook_page`` on every chapter notebook."""
    sources = toc_files()
    if "page" in metafunc.fixturenames:
        metafunc.parametrize("page", [page_url_path(source) for source in sources])
    if "notebook_page" in metafunc.fixturenames:
        metafunc.parametrize("notebook_page", [page_url_path(s) for s in sources if is_notebook(s)])


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(item.fspath).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.site)
