"""Fixtures shared by the test modules."""

import matplotlib

matplotlib.use("Agg")  # figures draw off-screen, on every machine

from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; playwright's own browser downloads are not used
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def close_figures():
    """Close every pyplot figure a test opened, so none leaks memory into the next."""
    yield
    plt.close("all")


@pytest.fixture
def one_thread():
    """Run a test on one torch thread: small tensors compute fastest so (on a busy 2-core machine two
    threads were several times slower), and results do not depend on the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=["c-kernels", "pytorch", "fused"])
def feature_path(request, monkeypatch):
    """Run a test three times: with a KAN layer's features from the C kernels (`kanlab.kernels`),
    from PyTorch operations (the CPU's path without a C compiler), and from the fused functions
    that a GPU compiles into one kernel each (`kanlab.kan._fused_features`), the CPU standing in
    for the GPU and each function running as it is (tests/test_kan.py compiles them)."""
    from kanlab import kan, kernels

    if request.param != "c-kernels":
        monkeypatch.setattr(kernels, "supports", lambda *tensors: False)
    if request.param == "fused":
        monkeypatch.setattr(kan, "_UNFUSED_DEVICES", ())
        monkeypatch.setattr(kan, "_compiled", lambda function: function)
    elif request.param == "c-kernels" and not kernels.available():
        pytest.skip(f"the C kernels are not available here: {kernels.unavailable_reason()}")
    return request.param


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium for the website's tests (tests/site) and JupyterLab's (tests/lab)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found; install Debian's chromium (`make test` does it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        yield chromium
        chromium.close()
