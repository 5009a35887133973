"""Interactive figures that move in a live kernel and on the static website.

``interactive(draw, figsize, **params)`` returns one object with two faces in one mime bundle:

* ``application/vnd.jupyter.widget-view+json``: ipywidgets ``FloatSlider`` s (one per parameter)
  above an ``Output`` that ``draw`` repaints in Python whenever a slider moves (JupyterLab,
  Binder, Colab; ipywidgets 7, as Colab ships it, or 8);
* ``text/html``: a kernel-free player with one ``<input type="range">`` per parameter over
  frames drawn in advance, one per combination of parameter values, each frame a small
  palette image (lossless WebP, or PNG where Pillow lacks WebP) inlined as a data URI (the
  book's site chooses this face).

Both faces draw every picture with ``PIXEL_RATIO`` device pixels per CSS pixel, so that it stays
crisp on screens with two device pixels per CSS pixel, and show it at ``s`` CSS pixels per inch of
``figsize``, at most ``MAX_CSS_WIDTH`` wide: a picture ``w`` inches wide is drawn at
``dpi = PIXEL_RATIO * min(s, MAX_CSS_WIDTH / w)`` and shown at half its width. ``s`` is
``CSS_PIXELS_PER_INCH`` (as large as matplotlib's inline figures) for the live face and for a
player of at most ``FULL_SIZE_FRAMES`` frames, ``LIGHT_CSS_PIXELS_PER_INCH`` for a larger player,
so that its page stays light.

A parameter ``name=(low, high, step)`` takes the values ``low, low + step, ..., high``, so the
player holds ``prod_i (n_i)`` frames, ``n_i = (high_i - low_i) / step_i + 1``. Both faces start
at the value nearest the middle of each range, as ``ipywidgets.interact`` does.
"""

import base64
import html
import io
import itertools
import json
import math
from collections.abc import Callable

import ipywidgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, features

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
MAX_PARAMETERS = 3
MAX_FRAMES = 256  # checked before drawing; MAX_HTML_BYTES then holds about 150 frames of the default size
MAX_HTML_BYTES = 1_500_000
PIXEL_RATIO = 2  # device pixels per CSS pixel in every frame
CSS_PIXELS_PER_INCH = 100  # matplotlib's figure.dpi: a frame shows as large as an inline figure
LIGHT_CSS_PIXELS_PER_INCH = 72  # a player of many frames: about 9 kB a frame of 5 x 4 inches
FULL_SIZE_FRAMES = 32
MAX_CSS_WIDTH = 800  # the widest text column of the book's theme; wider pictures are shown at this width
PALETTE_COLOURS = 32  # figures use few colours; antialiased edges need no more at two pixels per CSS pixel


def interactive(draw: Callable, figsize: tuple[float, float] = (4.5, 4.0), **params) -> "Interactive":
    """An interactive figure: ``draw(ax, **values)`` repainted as the sliders move.

    Args:
        draw: ``draw(ax, **values)`` draws one picture on a fresh matplotlib ``Axes`` for one
            value of every parameter.
        figsize: (width, height) of each picture in inches.
        **params: one to three parameters, each ``name=(low, high, step)`` with ``step > 0`` and
            ``high - low`` a whole number of steps.

    Example:
        >>> def draw(ax, slope):
        ...     ax.plot([0, 1], [0, slope])
        >>> figure = interactive(draw, slope=(-1.0, 1.0, 0.5))
        >>> figure.values["slope"]
        [-1.0, -0.5, 0.0, 0.5, 1.0]
    """
    return Interactive(draw, figsize, params)


class Interactive:
    """One interactive figure; display it (last expression of a cell) to show it.

    Attributes:
        values: for each parameter name, the list of values its slider takes.
        initial: for each parameter name, the value both faces start at.
    """

    def __init__(self, draw: Callable, figsize: tuple[float, float], params: dict):
        if not callable(draw):
            raise TypeError(f"draw must be callable as draw(ax, **values), got {type(draw).__name__}")
        self.draw = draw
        self.figsize = _checked_figsize(figsize)
        self.values = _parameter_values(params)
        self.initial = {name: values[(len(values) - 1) // 2] for name, values in self.values.items()}
        self._widget = None

    @property
    def n_frames(self) -> int:
        """Number of pictures the static player holds: the product of the slider lengths."""
        return math.prod(len(values) for values in self.values.values())

    @property
    def dpi(self) -> float:
        """Dots per inch of the static player's frames: ``PIXEL_RATIO`` device pixels per CSS pixel shown."""
        per_inch = CSS_PIXELS_PER_INCH if self.n_frames <= FULL_SIZE_FRAMES else LIGHT_CSS_PIXELS_PER_INCH
        return PIXEL_RATIO * min(per_inch, MAX_CSS_WIDTH / self.figsize[0])

    @property
    def live_dpi(self) -> float:
        """Dots per inch of the live widget's pictures, shown as large as an inline figure."""
        return PIXEL_RATIO * min(CSS_PIXELS_PER_INCH, MAX_CSS_WIDTH / self.figsize[0])

    def render_png(self, dpi: float | None = None, **values) -> bytes:
        """The picture for one value of every parameter, as PNG bytes (at ``self.dpi`` by default)."""
        dpi = self.dpi if dpi is None else dpi
        figure = Figure(figsize=self.figsize, dpi=dpi, layout="constrained")
        self.draw(figure.add_subplot(), **values)
        buffer = io.BytesIO()
        # One draw, which lays the figure out and paints it; savefig would draw it twice (once only
        # to lay it out).
        FigureCanvasAgg(figure).print_png(buffer)
        return buffer.getvalue()

    def to_html(self) -> str:
        """The kernel-free player: every frame inlined, sliders labelled with name and value."""
        names = list(self.values)
        frames, frame_of_combination = [], []
        index_of_frame = {}
        for combination in itertools.product(*self.values.values()):
            uri = _frame_data_uri(self.render_png(**dict(zip(names, combination))))
            # Identical pictures (e.g. a zero weight) are stored once.
            if uri not in index_of_frame:
                index_of_frame[uri] = len(frames)
                frames.append(uri)
            frame_of_combination.append(index_of_frame[uri])

        start = [self.values[name].index(self.initial[name]) for name in names]
        controls = "\n".join(
            _slider_html(name, self.values[name], position) for name, position in zip(names, start)
        )
        first_frame = frames[frame_of_combination[_flat_index(start, self.values)]]
        width, height = _shown_size(first_frame)
        sizes = [len(self.values[name]) for name in names]
        page = _PLAYER_TEMPLATE.format(
            controls=controls,
            first_frame=first_frame,
            width=width,
            height=height,
            alt=html.escape(f"{_name_of(self.draw)} for " + ", ".join(names), quote=True),
            frames=json.dumps(frames),
            order=json.dumps(frame_of_combination),
            sizes=json.dumps(sizes),
        )
        if len(page) > MAX_HTML_BYTES:
            raise ValueError(
                f"the static player is {len(page):,} bytes, over the {MAX_HTML_BYTES:,}-byte budget "
                f"that keeps a page light; use fewer values (a larger step) or a smaller figsize"
            )
        return page

    def widget(self) -> ipywidgets.VBox:
        """The live face: a ``FloatSlider`` per parameter and an ``Output`` redrawn in Python."""
        if self._widget is None:
            sliders = {
                name: ipywidgets.FloatSlider(
                    value=self.initial[name],
                    min=values[0],
                    max=values[-1],
                    step=_step_of(values),
                    description=name,
                    readout_format=f".{_decimals(values)}f",
                    continuous_update=True,
                )
                for name, values in self.values.items()
            }
            output = ipywidgets.Output()

            def redraw(_change=None):
                png = self.render_png(self.live_dpi, **{name: slider.value for name, slider in sliders.items()})
                # Setting the outputs directly redraws without flicker and needs no IPython
                # display hook, so the widget also builds outside a kernel. The width in the
                # metadata shows the picture at half its pixels (only the width: a front end
                # that narrows it keeps its aspect).
                width, _ = _shown_size(png)
                output.outputs = (
                    {
                        "output_type": "display_data",
                        "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<Figure>"},
                        "metadata": {"image/png": {"width": width}},
                    },
                )

            for slider in sliders.values():
                slider.observe(redraw, names="value")
            redraw()
            self._widget = ipywidgets.VBox([*sliders.values(), output])
        return self._widget

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        # The widget's view spec, which ipywidgets 7 (Colab's) and 8 write alike; ipywidgets 7
        # widgets have no _repr_mimebundle_ of their own.
        return {
            WIDGET_VIEW_MIME: self.widget().get_view_spec(),
            "text/html": self.to_html(),
            "text/plain": repr(self),
        }

    def __repr__(self) -> str:
        ranges = ", ".join(f"{name}={values[0]:g}..{values[-1]:g}" for name, values in self.values.items())
        return f"Interactive({_name_of(self.draw)}, {ranges}, frames={self.n_frames})"


def _name_of(draw: Callable) -> str:
    """A readable name for ``draw``, also for a ``functools.partial`` or a callable object."""
    return getattr(draw, "__name__", None) or getattr(getattr(draw, "func", None), "__name__", type(draw).__name__)


def _checked_figsize(figsize) -> tuple[float, float]:
    try:
        width, height = (float(side) for side in figsize)
    except (TypeError, ValueError):
        raise TypeError(f"figsize must be (width, height) in inches, got {figsize!r}") from None
    if not (width > 0 and height > 0):
        raise ValueError(f"figsize must be two positive numbers, got {figsize!r}")
    return width, height


def _parameter_values(params: dict) -> dict[str, list[float]]:
    """Each ``name=(low, high, step)`` expanded to its list of values; checks the frame budget."""
    if not 1 <= len(params) <= MAX_PARAMETERS:
        raise ValueError(
            f"interactive takes 1 to {MAX_PARAMETERS} parameters as name=(low, high, step), "
            f"got {len(params)}: {sorted(params)}"
        )
    values = {name: _values_of(name, spec) for name, spec in params.items()}
    n_frames = math.prod(len(v) for v in values.values())
    if n_frames > MAX_FRAMES:
        counts = " x ".join(f"{name} ({len(v)} values)" for name, v in values.items())
        raise ValueError(
            f"too many frames for a light static page: {counts} = {n_frames} frames, "
            f"at most {MAX_FRAMES}; use a larger step or fewer parameters"
        )
    return values


def _values_of(name: str, spec) -> list[float]:
    """``low, low + step, ..., high`` for ``spec = (low, high, step)``."""
    if not isinstance(spec, (tuple, list)) or len(spec) != 3:
        raise ValueError(f"parameter {name!r} must be a (low, high, step) triple, got {spec!r}")
    try:
        low, high, step = (float(number) for number in spec)
    except (TypeError, ValueError):
        raise TypeError(f"parameter {name!r} must be three numbers (low, high, step), got {spec!r}") from None
    if not all(map(math.isfinite, (low, high, step))):
        raise ValueError(f"parameter {name!r} must be finite numbers, got {spec!r}")
    if step <= 0:
        raise ValueError(f"parameter {name!r} needs step > 0, got step={step:g}")
    if high <= low:
        raise ValueError(f"parameter {name!r} needs low < high, got low={low:g}, high={high:g}")
    n_steps = round((high - low) / step)
    if not math.isclose(low + n_steps * step, high, rel_tol=1e-9, abs_tol=1e-9 * step):
        raise ValueError(
            f"parameter {name!r}: high - low = {high - low:g} is not a whole number of steps of {step:g}"
        )
    return [round(low + i * step, 10) for i in range(n_steps + 1)]


def _step_of(values: list[float]) -> float:
    return round(values[1] - values[0], 10)


def _decimals(values: list[float]) -> int:
    """Digits after the point that show every value exactly (-1.75, -1.25, ... -> 2; 1.0, 2.0 -> 0)."""
    return max(_decimals_of(value) for value in values)


def _decimals_of(value: float) -> int:
    text = repr(value)
    return 0 if text.endswith(".0") or "." not in text else min(len(text.split(".")[1]), 6)


def _flat_index(positions: list[int], values: dict[str, list[float]]) -> int:
    """Row-major index of one combination of slider positions (the last parameter varies fastest)."""
    index = 0
    for position, name in zip(positions, values):
        index = index * len(values[name]) + position
    return index


def _frame_data_uri(png: bytes) -> str:
    """``png`` reduced to a small palette as a base64 data URI: lossless WebP (a third smaller than
    an optimised palette PNG for line art), or PNG where Pillow was built without WebP."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    palette = image.quantize(colors=PALETTE_COLOURS, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    if features.check("webp"):
        # method 4 is within 2% of the smallest (6) at a tenth of its time
        palette.save(buffer, format="webp", lossless=True, quality=100, method=4)
        mime = "image/webp"
    else:
        palette.save(buffer, format="png", optimize=True)
        mime = "image/png"
    return f"data:{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _shown_size(image: bytes | str) -> tuple[int, int]:
    """(width, height) in CSS pixels of a frame (PNG bytes or a data URI): its pixels // ``PIXEL_RATIO``."""
    if isinstance(image, str):
        image = base64.b64decode(image.split(",", 1)[1])
    width, height = Image.open(io.BytesIO(image)).size
    return width // PIXEL_RATIO, height // PIXEL_RATIO  # floor: never under PIXEL_RATIO


def _slider_html(name: str, values: list[float], position: int) -> str:
    label = html.escape(name, quote=True)
    shown = [f"{value:.{_decimals(values)}f}" for value in values]
    return (
        f'<label class="kanlab-control"><span class="kanlab-name">{label}</span> '
        f'<input type="range" data-param="{label}" min="0" max="{len(values) - 1}" step="1" '
        f'value="{position}" aria-valuetext="{shown[position]}" '
        f"data-values='{json.dumps(shown)}'> "
        f'<output class="kanlab-value">{shown[position]}</output></label>'
    )


# A range input moves over value positions 0..n-1; the script maps the positions of all sliders
# to one frame and writes each slider's value (not its position) next to it.
_PLAYER_TEMPLATE = """<div class="kanlab-interactive">
<style>
.kanlab-interactive {{ display: inline-block; font-family: sans-serif; }}
.kanlab-control {{ display: flex; align-items: center; gap: 0.6em; margin: 0.2em 0; }}
.kanlab-name {{ min-width: 2.5em; font-weight: bold; }}
.kanlab-value {{ min-width: 3em; font-variant-numeric: tabular-nums; }}
.kanlab-frame {{ display: block; max-width: 100%; height: auto; }}
</style>
{controls}
<img class="kanlab-frame" src="{first_frame}" width="{width}" height="{height}" alt="{alt}">
<script>
(function () {{
  var root = document.currentScript.parentElement;
  var frames = {frames};
  var order = {order};
  var sizes = {sizes};
  var inputs = root.querySelectorAll("input[data-param]");
  var image = root.querySelector("img.kanlab-frame");
  function show() {{
    var index = 0;
    inputs.forEach(function (input, i) {{
      var position = Number(input.value);
      var shown = JSON.parse(input.dataset.values)[position];
      input.parentElement.querySelector("output").value = shown;
      input.setAttribute("aria-valuetext", shown);
      index = index * sizes[i] + position;
    }});
    image.src = frames[order[index]];
  }}
  inputs.forEach(function (input) {{ input.addEventListener("input", show); }});
}})();
</script>
</div>"""
