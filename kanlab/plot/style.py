"""What every figure of the book shares: the colours of classes and layers, two frames, and crisp
inline figures (two device pixels per CSS pixel) for a chapter's setup cell."""

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



def crisp_inline_figures(max_css_width=800, colours=256):
    """Show matplotlib's inline figures with two device pixels per CSS pixel, in a light PNG.

    In IPython (JupyterLab, Colab, a book's build) this turns on the inline backend's retina
    format: each figure is drawn at twice its ``dpi`` and shown at half its pixel width, so a
    figure of ``w`` inches still shows ``w * dpi`` CSS pixels wide, crisp on a screen with two
    device pixels per CSS pixel. Each PNG is then reduced to a palette of ``colours`` (line art
    needs no more; the file shrinks by about half) and to at most ``2 * max_css_width`` pixels
    wide (the widest text column). The metadata names only the width, so a page that narrows the
    figure keeps its aspect. Outside IPython it does nothing. Calling it again changes nothing.

    Returns:
        True when the inline figures are now crisp, False outside IPython.
    """
    try:
        import IPython
    except ImportError:
        return False
    shell = IPython.get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    from IPython.core.pylabtools import select_figure_formats
    from matplotlib.figure import Figure

    # matplotlib loads the inline backend with the first figure, and the backend then registers
    # its own formatters: load it now, so that they come before ours.
    plt.close(plt.figure())
    # The inline backend registers its retina formatter on this change (and remembers the format
    # for the rest of the session); without it, the formatter is registered below.
    shell.run_line_magic("config", "InlineBackend.figure_formats = ['retina']")
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        retina = formatter.lookup_by_type(Figure)
    except KeyError:
        select_figure_formats(shell, {"retina"}, bbox_inches="tight")
        retina = formatter.lookup_by_type(Figure)
    retina = getattr(retina, "retina", retina)  # called again: wrap IPython's formatter, not ours

    def light_retina(figure):
        return _light_retina(retina(figure), max_css_width, colours)

    light_retina.retina = retina
    formatter.for_type(Figure, light_retina)
    return True


def _light_retina(result, max_css_width, colours):
    """IPython's retina (PNG, {"width", "height"}) -> a palette PNG of at most 2 * max_css_width
    pixels wide and {"width": its CSS width}."""
    if not isinstance(result, tuple):  # an empty figure draws nothing
        return result
    import base64
    import io

    from PIL import Image

    data, metadata = result
    encoded = isinstance(data, str)
    image = Image.open(io.BytesIO(base64.b64decode(data) if encoded else data))
    if image.width > 2 * max_css_width:
        height = round(image.height * 2 * max_css_width / image.width)
        image = image.convert("RGBA").resize((2 * max_css_width, height), Image.Resampling.LANCZOS)
    width = image.width // 2  # floor: never under two device pixels per CSS pixel
    if image.mode == "RGBA" and image.getextrema()[3][0] == 255:
        image = image.convert("RGB")  # an opaque figure: its alpha channel only costs bytes
    palette = image.quantize(colors=colours, method=Image.Quantize.FASTOCTREE if image.mode == "RGBA" else None,
                             dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="png", optimize=True)
    png = buffer.getvalue()
    return (base64.b64encode(png).decode("ascii") if encoded else png), {"width": width}
