"""kanlab.widgets: one object, a live ipywidgets face and a kernel-free static HTML face."""

import base64
import functools
import io
import json
import re
from html.parser import HTMLParser

import ipywidgets
import pytest
from PIL import Image

from kanlab import widgets
from kanlab.widgets import interactive

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def paint(ax, red, green=0.0):
    """A picture whose colour encodes the parameter values, so each frame can be identified."""
    ax.set_axis_off()
    ax.figure.set_facecolor((red, green, 0.0))


def plot_values(ax, **values):
    ax.plot(list(values.values()), marker="o")


def frame_image(data_uri):
    """The picture inside a frame's data URI (WebP or PNG)."""
    header, encoded = data_uri.split(",", 1)
    assert re.fullmatch(r"data:image/(webp|png);base64", header)
    return Image.open(io.BytesIO(base64.b64decode(encoded)))


def frame_colour(data_uri):
    image = frame_image(data_uri).convert("RGB")
    return image.getpixel((image.width // 2, image.height // 2))


def live_picture(figure):
    """(PNG image, metadata) of what the live widget's Output shows now."""
    shown = figure.widget().children[-1].outputs[0]
    return Image.open(io.BytesIO(base64.b64decode(shown["data"]["image/png"]))), shown["metadata"]


class PlayerParts(HTMLParser):
    """The elements of the static player, gathered with the standard library's HTML parser."""

    def __init__(self, page):
        super().__init__()
        self.roots, self.inputs, self.outputs, self.images, self.scripts = [], [], [], [], []
        self._in_output = self._in_script = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "kanlab-interactive" in attrs.get("class", "").split():
            self.roots.append(attrs)
        if tag == "input":
            self.inputs.append(attrs)
        if tag == "img" and "kanlab-frame" in attrs.get("class", "").split():
            self.images.append(attrs)
        self._in_output, self._in_script = tag == "output", tag == "script"

    def handle_data(self, data):
        if self._in_output:
            self.outputs.append(data)
        if self._in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag):
        self._in_output = self._in_script = False


def script_array(page, name):
    return json.loads(re.search(rf"var {name} = (\[.*?\]);", page).group(1))


def test_mime_bundle_carries_the_live_widget_and_the_static_html():
    figure = interactive(paint, red=(0.0, 1.0, 0.5), green=(0.0, 1.0, 1.0))
    bundle = figure._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == figure.widget().model_id
    assert 'class="kanlab-interactive"' in bundle["text/html"]
    assert "text/plain" in bundle


def test_live_widget_has_one_float_slider_per_parameter_with_its_range_and_an_output():
    figure = interactive(paint, red=(0.0, 1.0, 0.25), green=(-1.0, 1.0, 0.5))
    children = figure.widget().children
    sliders = [child for child in children if isinstance(child, ipywidgets.FloatSlider)]
    assert [(s.description, s.min, s.max, s.step) for s in sliders] == [
        ("red", 0.0, 1.0, 0.25),
        ("green", -1.0, 1.0, 0.5),
    ]
    assert isinstance(children[-1], ipywidgets.Output)


def test_moving_a_live_slider_redraws_with_the_new_value():
    calls = []

    def record(ax, red, green):
        calls.append((red, green))
        paint(ax, red, green)

    figure = interactive(record, red=(0.0, 1.0, 0.5), green=(0.0, 1.0, 0.5))
    red_slider, green_slider, output = figure.widget().children
    before = output.outputs[0]["data"]["image/png"]
    red_slider.value = 1.0
    assert calls[-1] == (1.0, 0.5)
    assert output.outputs[0]["data"]["image/png"] != before


def test_both_faces_start_at_the_value_nearest_the_middle_of_each_range():
    figure = interactive(paint, red=(0.0, 1.0, 0.25), green=(0.0, 1.0, 0.5))
    assert figure.initial == {"red": 0.5, "green": 0.5}
    parts = PlayerParts(figure.to_html())
    assert parts.outputs == ["0.50", "0.5"]
    assert [slider.value for slider in figure.widget().children[:2]] == [0.5, 0.5]


def test_values_run_from_low_to_high_by_step():
    figure = interactive(paint, red=(-1.0, 1.0, 0.5), green=(0.0, 1.0, 0.1))
    assert figure.values["red"] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert figure.values["green"] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert figure.n_frames == 55


def test_static_html_has_the_player_structure_the_site_relies_on():
    parts = PlayerParts(interactive(paint, red=(0.0, 1.0, 0.5), green=(0.0, 1.0, 1.0)).to_html())
    assert len(parts.roots) == 1
    assert [(i["type"], i["data-param"]) for i in parts.inputs] == [("range", "red"), ("range", "green")]
    assert len(parts.outputs) == 2
    assert len(parts.images) == 1


def test_static_html_holds_every_frame_in_the_order_of_the_sliders():
    page = interactive(paint, red=(0.0, 1.0, 0.5), green=(0.0, 1.0, 1.0)).to_html()
    frames, order = script_array(page, "frames"), script_array(page, "order")
    assert len(frames) == 6
    # Row-major over (red, green): green varies fastest.
    expected = [(r, g) for r in (0, 127.5, 255) for g in (0, 255)]
    for (red, green), frame in zip(expected, order):
        shown = frame_colour(frames[frame])
        assert abs(shown[0] - red) <= 2 and abs(shown[1] - green) <= 2 and shown[2] == 0


def test_identical_pictures_are_stored_once():
    def ignores_green(ax, red, green):
        paint(ax, red, 0.0)

    page = interactive(ignores_green, red=(0.0, 1.0, 0.5), green=(0.0, 1.0, 0.5)).to_html()
    assert len(script_array(page, "frames")) == 3
    assert script_array(page, "order") == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_static_frames_are_drawn_at_two_device_pixels_per_css_pixel_and_shown_at_half_size():
    page = interactive(plot_values, figsize=(5.0, 3.0), red=(0.0, 1.0, 0.5)).to_html()
    image = PlayerParts(page).images[0]
    assert (image["width"], image["height"]) == ("500", "300")  # 100 CSS pixels per inch
    for frame in script_array(page, "frames"):
        assert frame_image(frame).size == (1000, 600)


def test_a_player_of_many_frames_shows_them_smaller_to_stay_light():
    figure = interactive(paint, figsize=(5.0, 3.0), red=(0.0, 1.0, 1 / 32))
    assert figure.n_frames == widgets.FULL_SIZE_FRAMES + 1
    page = figure.to_html()
    image = PlayerParts(page).images[0]
    assert (image["width"], image["height"]) == ("360", "216")  # 72 CSS pixels per inch
    assert frame_image(script_array(page, "frames")[0]).size == (720, 432)


def test_a_picture_wider_than_the_text_column_is_drawn_no_wider_than_twice_the_column():
    figure = interactive(plot_values, figsize=(12.0, 4.0), red=(0.0, 1.0, 0.5))
    image = PlayerParts(figure.to_html()).images[0]
    assert int(image["width"]) == widgets.MAX_CSS_WIDTH
    assert abs(int(image["height"]) - widgets.MAX_CSS_WIDTH * 4.0 / 12.0) <= 1  # same aspect
    assert frame_image(script_array(figure.to_html(), "frames")[0]).width == 2 * widgets.MAX_CSS_WIDTH


def test_static_frames_are_lossless_webp_where_pillow_has_it():
    pytest.importorskip("PIL.features").check("webp") or pytest.skip("Pillow without WebP")
    frames = script_array(interactive(paint, red=(0.0, 1.0, 0.5)).to_html(), "frames")
    assert all(frame.startswith("data:image/webp;base64,") for frame in frames)


def test_the_player_shrinks_its_picture_with_the_column_and_keeps_its_aspect():
    page = interactive(paint, red=(0.0, 1.0, 0.5)).to_html()
    assert re.search(r"\.kanlab-frame \{\{?[^}]*max-width: 100%; height: auto;", page)


def test_the_live_picture_has_two_device_pixels_per_css_pixel():
    image, metadata = live_picture(interactive(plot_values, figsize=(5.0, 3.0), red=(0.0, 1.0, 0.5)))
    assert image.size == (1000, 600)
    assert metadata == {"image/png": {"width": 500}}


def test_a_frame_has_the_pixels_savefig_gives_with_its_layout_and_dpi():
    from matplotlib.figure import Figure
    figure = interactive(plot_values, figsize=(4.0, 3.0), a=(0.0, 1.0, 0.5))
    saved = Figure(figsize=(4.0, 3.0), layout="constrained")
    plot_values(saved.add_subplot(), a=0.5)
    buffer = io.BytesIO()
    saved.savefig(buffer, format="png", dpi=figure.dpi)
    frame = Image.open(io.BytesIO(figure.render_png(a=0.5)))
    assert frame.tobytes() == Image.open(buffer).tobytes()


def test_static_html_labels_every_parameter_with_its_name_and_every_value():
    page = interactive(plot_values, red=(-1.0, 1.0, 0.5), green=(0.0, 2.0, 1.0)).to_html()
    parts = PlayerParts(page)
    assert [json.loads(i["data-values"]) for i in parts.inputs] == [
        ["-1.0", "-0.5", "0.0", "0.5", "1.0"],
        ["0", "1", "2"],
    ]
    assert re.findall(r'<span class="kanlab-name">(\w+)</span>', page) == ["red", "green"]


def test_labels_show_every_value_exactly_when_the_low_end_has_more_digits_than_the_step():
    page = interactive(plot_values, b=(-1.75, 0.25, 0.5)).to_html()
    assert json.loads(PlayerParts(page).inputs[0]["data-values"]) == ["-1.75", "-1.25", "-0.75", "-0.25", "0.25"]


def test_live_readout_shows_every_value_exactly():
    slider = interactive(plot_values, b=(-1.75, 0.25, 0.5)).widget().children[0]
    assert slider.readout_format == ".2f"


def test_a_partial_draw_function_is_named_after_the_function_it_wraps():
    figure = interactive(functools.partial(plot_values, green=1.0), red=(0.0, 1.0, 0.5))
    assert repr(figure).startswith("Interactive(plot_values, ")
    assert 'alt="plot_values for red"' in figure.to_html()


def test_static_html_loads_nothing_from_outside_the_page():
    page = interactive(paint, red=(0.0, 1.0, 0.5)).to_html()
    assert re.findall(r"(?:src|href)=\"(?!data:)", page) == []
    assert "http" not in page


@pytest.mark.slow
def test_a_three_parameter_player_of_150_frames_stays_light():
    def line(ax, w1, w2, b):
        ax.plot([-1, 1], [(-b + w1) / 2, (-b - w1) / 2], color="black")
        ax.scatter([0, 0, 1, 1], [0, 1, 0, 1], c=["red", "blue", "blue", "blue"])
        ax.set_title(f"w2 = {w2}")

    figure = interactive(line, w1=(-2.0, 2.0, 1.0), w2=(-2.0, 2.0, 1.0), b=(-1.0, 1.5, 0.5))
    assert figure.n_frames == 150
    assert len(figure.to_html()) < 1_500_000  # at two device pixels per CSS pixel


@pytest.mark.parametrize(
    "spec",
    [(0.0, 1.0), (0.0, 1.0, 0.5, 0.5), 0.5, "0,1,0.5"],
)
def test_a_parameter_that_is_not_a_triple_is_rejected(spec):
    with pytest.raises(ValueError, match=r"'red' must be a \(low, high, step\) triple"):
        interactive(paint, red=spec)


@pytest.mark.parametrize("step", [0.0, -0.5])
def test_a_step_that_is_not_positive_is_rejected(step):
    with pytest.raises(ValueError, match="'red' needs step > 0"):
        interactive(paint, red=(0.0, 1.0, step))


def test_a_range_that_is_not_a_whole_number_of_steps_is_rejected():
    with pytest.raises(ValueError, match="not a whole number of steps"):
        interactive(paint, red=(0.0, 1.0, 0.3))


def test_an_empty_or_reversed_range_is_rejected():
    with pytest.raises(ValueError, match="needs low < high"):
        interactive(paint, red=(1.0, 0.0, 0.5))


def test_non_numbers_are_rejected():
    with pytest.raises(TypeError, match="three numbers"):
        interactive(paint, red=(0.0, "one", 0.5))


def test_more_than_three_parameters_are_rejected():
    with pytest.raises(ValueError, match="1 to 3 parameters.*got 4"):
        interactive(paint, a=(0, 1, 1), b=(0, 1, 1), c=(0, 1, 1), d=(0, 1, 1))


def test_no_parameter_is_rejected():
    with pytest.raises(ValueError, match="1 to 3 parameters.*got 0"):
        interactive(paint)


def test_too_many_frames_are_rejected_before_anything_is_drawn():
    def must_not_draw(ax, **values):
        raise AssertionError("drew a frame")

    with pytest.raises(ValueError, match=r"too many frames.*= 729 frames, at most 256"):
        interactive(must_not_draw, w1=(-2, 2, 0.5), w2=(-2, 2, 0.5), b=(-2, 2, 0.5))


def test_a_player_over_the_byte_budget_is_rejected(monkeypatch):
    monkeypatch.setattr(widgets, "MAX_HTML_BYTES", 1_000)
    with pytest.raises(ValueError, match="over the 1,000-byte budget"):
        interactive(paint, red=(0.0, 1.0, 0.5)).to_html()


def test_draw_must_be_callable():
    with pytest.raises(TypeError, match="draw must be callable"):
        interactive("paint", red=(0.0, 1.0, 0.5))


@pytest.mark.parametrize("figsize", [(4.0,), (0.0, 3.0), "big"])
def test_figsize_must_be_two_positive_numbers(figsize):
    with pytest.raises((TypeError, ValueError), match="figsize"):
        interactive(paint, figsize=figsize, red=(0.0, 1.0, 0.5))
