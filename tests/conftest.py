"""Fixtures shared by the test modules."""

import matplotlib

matplotlib.use("Agg")  # figures draw off-screen, on every machine

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


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


@pytest.fixture(params=["c-kernels", "pytorch"])
def feature_path(request, monkeypatch):
    """Run a test twice: with a KAN layer's features from the C kernels (`kanlab.kernels`), and from
    PyTorch operations, the path taken on other devices or without a C compiler."""
    from kanlab import kernels

    if request.param == "pytorch":
        monkeypatch.setattr(kernels, "supports", lambda *tensors: False)
    elif not kernels.available():
        pytest.skip(f"the C kernels are not available here: {kernels.unavailable_reason()}")
    return request.param
