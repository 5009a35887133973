"""What every figure of the book shares: the colours of classes and layers, and two frames."""

import matplotlib.pyplot as plt

# Colours for the perceptron's two classes and for "exactly on the line".
CLASS_COLORS = {0.0: "#1f77b4", 0.5: "#7f7f7f", 1.0: "#ff7f0e"}
SHADE_COLORS = {0.0: "#d6e6f4", 1.0: "#fde3cc"}
LAYER_COLORS = {"input": "#9ecae1", "hidden": "#c7e9c0", "output": "#fdd0a2"}


def axes_or_new(ax, figsize):
    """``ax`` itself, or the Axes of a new figure of ``figsize`` inches when ``ax`` is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def diagram_frame(ax, title, xlabel="", ylabel=""):
    """A diagram's axes: no ticks or frame, only the title and a label that says how to read it."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title)
    return ax

