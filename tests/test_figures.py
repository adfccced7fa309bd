"""Figures as a person reads them: the drawn artists are inspected, not the pixels.

Each strategy keeps its colour in every figure (the baseline grey), legends list the strategies,
labels do not overlap, every axis says what it measures.
"""

from __future__ import annotations

import itertools

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

import sim
from analysis import figures, style
from sim.io.presets import policy_preset
from sim.io.template import template_network

STRATEGIES = ("base_stock", "dynamic_sourcing", "backup_supplier", "buffered", "pooling")


@pytest.fixture(scope="module")
def compared() -> xr.Dataset:
    policies = {name: policy_preset(name) for name in STRATEGIES}
    outage = sim.NodeOutage("@slowest", start_day=10, duration_days=25)
    return sim.simulate_policies(template_network(), policies, days=60, warmup_days=10,
                                 replicates=24, engine="batch", seed=4, disruptions=[outage])


def _hex(colour: object) -> str:
    return mcolors.to_hex(colour)


def _line_colours(fig: plt.Figure) -> dict[str, str]:
    ax = fig.axes[0]
    return {line.get_label().split(" (")[0]: _hex(line.get_color()) for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def _text_boxes(ax: plt.Axes) -> list:
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in ax.texts if t.get_text() and t.get_visible()]


def test_palette_gives_the_baseline_grey_and_the_others_distinct_colours() -> None:
    colours = style.strategy_colours(["a", "b", "c"], baseline="b")
    assert colours["b"] == style.BASELINE_COLOUR
    assert len(set(colours.values())) == 3
    assert style.BASELINE_COLOUR not in style._strategy_palette()


@pytest.mark.parametrize("fraction,text", [(0.9998, "99.98 %"), (0.5, "50.0 %"),
                                           (1.0, "100.0 %"), (0.0004, "0.04 %"), (0, "0.0 %")])
def test_percent_never_rounds_up_to_one_hundred(fraction: float, text: str) -> None:
    assert style.percent(fraction) == text


def test_one_colour_per_strategy_in_every_figure(compared: xr.Dataset) -> None:
    expected = style.strategy_colours(STRATEGIES)
    service = figures.service_level_over_time(compared)
    assert _line_colours(service) == expected  # legend entries: the strategies, each its colour
    paired = figures.paired_differences(compared)
    bodies = [c for c in paired.axes[0].collections if len(c.get_paths())]
    ticks = [t.get_text() for t in paired.axes[0].get_yticklabels()]
    assert ticks == list(STRATEGIES[1:])
    for name, body in zip(ticks, bodies, strict=False):
        assert _hex(body.get_facecolor()[0][:3]) == expected[name]
    money = figures.cost_vs_loss_avoided(compared)
    left = money.axes[0]
    points = {c.get_label(): _hex(c.get_facecolor()[0][:3]) for c in left.collections
              if not c.get_label().startswith("_")}
    assert points == expected
    legend = [t.get_text() for t in money.legends[0].get_texts()]
    assert legend[:len(STRATEGIES)] == list(STRATEGIES)
    plt.close("all")


def test_point_labels_do_not_overlap_and_stay_inside(compared: xr.Dataset) -> None:
    fig = figures.cost_vs_loss_avoided(compared)
    for ax in fig.axes[:2]:
        boxes = _text_boxes(ax)
        assert boxes, "every point is labelled"
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), (a, b)
        frame = ax.get_window_extent()
        for box in boxes:  # nothing clipped by the frame or the colour bar
            assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1
    names = " ".join(t.get_text() for t in fig.axes[0].texts)
    for name in STRATEGIES[1:]:
        assert name in names
    plt.close(fig)


def test_a_service_line_at_one_stays_in_view(compared: xr.Dataset) -> None:
    fig = figures.service_level_over_time(compared)
    low, high = fig.axes[0].get_ylim()
    assert high > 1.005 and low < 1
    plt.close(fig)


def test_every_axis_says_what_it_measures(compared: xr.Dataset) -> None:
    for build in (figures.service_level_over_time, figures.paired_differences,
                  figures.cost_vs_loss_avoided, figures.costs_by_kind):
        fig = build(compared)
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_xlabel() or ax.get_ylabel(), (build.__name__, ax)
        units = " ".join(ax.get_xlabel() + ax.get_ylabel() for ax in fig.axes)
        assert "[" in units or "share" in units, build.__name__
        plt.close(fig)


def test_tornado_end_labels_clear_the_bars() -> None:
    data = xr.Dataset({"lost_sales": (("a", "b", "replicate"),
                                      np.arange(18.0).reshape(3, 3, 2))},
                      coords={"a": [1, 2, 3], "b": [0.1, 0.2, 0.3]})
    fig = figures.tornado(data, "lost_sales")
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bars = [p.get_window_extent(renderer) for p in ax.patches]
    for text in ax.texts:
        box = text.get_window_extent(renderer)
        assert text.get_fontsize() >= 9
        assert not any(box.overlaps(bar) for bar in bars), text.get_text()
    plt.close(fig)


def test_the_cost_legend_stays_clear_of_the_bars(compared: xr.Dataset) -> None:
    fig = figures.costs_by_kind(compared)
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [p.get_window_extent(renderer) for p in ax.patches if p.get_width() > 0]
    assert bars and not any(legend.overlaps(bar) for bar in bars)
    plt.close(fig)
