"""Chapter 8's figures (kanlab.plot.symbolic): an edge with its fits, their ranking, the edge explorer,
several KANs in a row, an MLP's weights; each with a title and labelled axes."""

import math

import pytest
import torch

import kanlab
import kanlab.discovery
from kanlab import plot, symbolic
from kanlab.plot.symbolic import nines

pytestmark = pytest.mark.usefixtures("one_thread")

T = torch.linspace(-1, 1, 101, dtype=torch.float64)


def _has_title_and_labels(ax):
    return bool(ax.get_title()) and bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def test_nines_counts_the_leading_nines_of_r2_between_0_and_8():
    assert nines(0.99) == pytest.approx(2.0)
    assert nines(0.9999) == pytest.approx(4.0)
    assert nines(1.0) == 8.0 and nines(1 - 1e-12) == 8.0
    assert nines(-3.0) == 0.0 and nines(-math.inf) == 0.0


def test_edge_candidates_draws_the_edge_then_each_fit_labelled_with_its_r2():
    y = torch.sin(3 * T)
    fits = symbolic.suggest_for_samples(T, y, lib=["sin", "x^3", "x"])
    ax = plot.edge_candidates(T, y, fits)
    assert len(ax.lines) == 1 + 3
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[1].startswith("sin") and f"{fits[0].r2:.6f}" in labels[1]
    torch.testing.assert_close(torch.as_tensor(ax.lines[1].get_ydata()), y, atol=1e-6, rtol=0)
    assert _has_title_and_labels(ax)


def test_edge_candidates_rejects_samples_of_different_lengths():
    with pytest.raises(ValueError, match="t and y must be 1-D of one length"):
        plot.edge_candidates(T, T[:-1], [])


def test_candidate_ranking_draws_top_bars_per_edge_as_long_as_their_nines():
    fits = {(0, 0, 0): symbolic.suggest_for_samples(T, T**2, lib=["x^2", "x", "sin"]),
            (0, 1, 0): symbolic.suggest_for_samples(T, torch.exp(T), lib=["exp", "x", "sin"])}
    ax = plot.candidate_ranking(fits, top=2)
    bars = ax.patches
    assert len(bars) == 2 * 2
    assert [bar.get_width() for bar in bars] == pytest.approx([nines(f.r2) for edge in fits.values() for f in edge[:2]])
    named = [label.get_text() for label in ax.get_yticklabels() if label.get_text()]
    assert named == ["edge (0, 0, 0)", "edge (0, 1, 0)"]
    assert _has_title_and_labels(ax)


def test_candidate_ranking_rejects_no_edges_and_a_bad_top():
    with pytest.raises(ValueError, match="no edges"):
        plot.candidate_ranking({})
    with pytest.raises(ValueError, match="top must be an integer >= 1"):
        plot.candidate_ranking({"e": []}, top=0)


def test_edge_explorer_has_one_distinct_frame_per_spline_edge_named_in_its_title():
    model = kanlab.KAN([2, 2, 1], seed=0, dtype=torch.float64)
    model.layers[0].edge_mask[1, 1] = 0  # pruned: not in the explorer
    x = torch.rand(200, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    explorer = plot.edge_explorer(model, x, lib=["x", "x^2", "sin"], top=2)
    edges = symbolic.spline_edges(model)
    assert explorer.values["edge"] == [float(k) for k in range(len(edges))] and len(edges) == 5
    frames = {explorer.render_png(40, edge=k) for k in explorer.values["edge"]}
    assert len(frames) == len(edges)

    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    explorer.draw(ax, edge=2)
    assert ax.get_title().startswith(f"edge {edges[2]}")
    assert len(ax.lines) == 1 + 2


def test_edge_explorer_needs_two_spline_edges():
    model = kanlab.KAN([1, 1], seed=0, dtype=torch.float64)
    with pytest.raises(ValueError, match="at least 2 spline edges"):
        plot.edge_explorer(model, torch.zeros(10, 1, dtype=torch.float64))


def test_kan_diagram_writes_each_edge_score_when_asked():
    model = kanlab.KAN([2, 1], seed=0, dtype=torch.float64)
    x = torch.rand(100, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    scales = kanlab.regularization.model_edge_scales(model, x)[0].detach()
    texts = {text.get_text() for text in plot.kan(model, x, scores=True).texts}
    assert {f"{float(scales[0, i]):.2f}" for i in range(2)} <= texts
    assert not {f"{float(scales[0, i]):.2f}" for i in range(2)} & {t.get_text() for t in plot.kan(model, x).texts}


def test_kans_side_by_side_draws_one_diagram_per_model_with_its_title():
    models = [kanlab.KAN([2, 2, 1], seed=0), kanlab.KAN([2, 1, 1], seed=0)]
    axes = plot.kans_side_by_side(models, torch.rand(50, 2), titles=["before", "after"])
    assert [ax.get_title() for ax in axes] == ["before", "after"]
    assert bool(axes[0].get_ylabel()) and not axes[1].get_ylabel() and not any(ax.get_xlabel() for ax in axes)
    assert "each edge's learned function" in axes[0].figure.get_supxlabel()
    assert [len(ax.child_axes) for ax in axes] == [6, 3]
    with pytest.raises(ValueError, match="one title per model"):
        plot.kans_side_by_side(models, torch.rand(50, 2), titles=["only one"])


def test_mlp_weights_shows_every_weight_matrix_on_one_colour_scale():
    model = kanlab.mlp.MLP([2, 4, 3, 1], activation="tanh", seed=0)
    ax = plot.mlp_weights(model)
    images = [inset.images[0] for inset in ax.child_axes]
    assert [image.get_array().shape for image in images] == [(4, 2), (3, 4), (1, 3)]
    limit = max(float(layer.weight.detach().abs().max()) for layer in model.layers)
    assert all(image.get_clim() == pytest.approx((-limit, limit)) for image in images)
    assert _has_title_and_labels(ax)


def _square_sum(x):
    return x[:, 0] ** 2 + x[:, 1]


def test_extrapolation_draws_the_target_then_each_model_along_one_input_with_the_others_fixed():
    models = {"exact": _square_sum, "a line": lambda x: 2 * x[:, :1] + x[:, 1:]}
    ax = plot.extrapolation(models, _square_sum, along=0, at=0.5, span=(-2.0, 2.0))
    target, exact, line = ax.lines
    t = torch.as_tensor(target.get_xdata())
    assert float(t.min()) == -2.0 and float(t.max()) == 2.0
    torch.testing.assert_close(torch.as_tensor(target.get_ydata()), t**2 + 0.5)
    torch.testing.assert_close(torch.as_tensor(exact.get_ydata()), t**2 + 0.5)
    torch.testing.assert_close(torch.as_tensor(line.get_ydata()), 2 * t + 0.5)
    assert exact.get_linestyle() != line.get_linestyle()
    assert [text.get_text() for text in ax.get_legend().get_texts()][-2:] == ["exact", "a line"]
    assert "y = 0.5" in ax.get_xlabel() and _has_title_and_labels(ax)


def test_extrapolation_evaluates_a_model_in_its_own_dtype():
    model = kanlab.mlp.MLP([2, 3, 1], activation="tanh", seed=0)  # float32
    ax = plot.extrapolation({"mlp": model}, _square_sum, along=1)
    x = torch.zeros(401, 2)
    x[:, 1] = torch.linspace(-2, 2, 401)
    with torch.no_grad():
        expected = model(x)[:, 0].double()
    torch.testing.assert_close(torch.as_tensor(ax.lines[1].get_ydata()), expected)


def test_extrapolation_rejects_no_models_and_an_input_index_out_of_range():
    with pytest.raises(ValueError, match="models holds no model"):
        plot.extrapolation({}, _square_sum)
    with pytest.raises(ValueError, match="along must be an input index"):
        plot.extrapolation({"exact": _square_sum}, _square_sum, along=2)


class _Run:
    """Stands in for a kanlab.discovery.Discovery: what discovery_table reads."""

    def __init__(self, formula, model, found, unmatched=()):
        self.formula, self.model, self.found, self.unmatched = formula, model, found, list(unmatched)


class _Shifted(torch.nn.Module):
    def __init__(self, shift):
        super().__init__()
        self.shift = shift
        self.widths = [2, 1, 1]

    def forward(self, x):
        return _square_sum(x)[:, None] + self.shift


def test_discovery_table_has_one_row_per_run_with_its_formula_check_and_largest_error():
    import sympy

    x_sym, y_sym = sympy.symbols("x y")
    miss = kanlab.discovery.Unmatched((0, 0, 0), [symbolic.Fit("sin", 0.98, (1.0, 1.0, 0.0, 0.0))], "too low")
    runs = {0: _Run(x_sym**2 + y_sym, _Shifted(0.0), True), 1: _Run(None, _Shifted(0.25), False, [miss]),
            2: _Run(x_sym**2, _Shifted(0.5), False)}
    points = torch.rand(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rows = plot.discovery_table(runs, _square_sum, points).splitlines()
    assert rows[0] == "| seed | formula | widths | check | largest error |" and len(rows) == 2 + 3
    assert rows[2] == "| 0 | $x^{2} + y$ | [2, 1, 1] | found | 0.0e+00 |"
    assert rows[3].startswith("| 1 | none: edge (0, 0, 0) (closest: sin)") and rows[3].endswith("| not found | 2.5e-01 |")
    assert rows[4] == "| 2 | $x^{2}$ | [2, 1, 1] | not found | 5.0e-01 |"


def test_discovery_table_rejects_no_runs():
    with pytest.raises(ValueError, match="runs holds no run"):
        plot.discovery_table({}, _square_sum, torch.zeros(3, 2))
