"""Figures, the guideline scorecard and the HTML report (opened in a headless browser)."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from PIL import Image

import sim
from analysis import figures
from analysis.report import write_report
from analysis.scorecard import DIMENSIONS, scorecard
from sim.io.presets import policy_preset
from sim.studies.simulate import select_policy, stack_policies
from tests.conftest import DEMO, browser_or_skip

OUTAGE = sim.NodeOutage(node="ctrl_a", start_day=10, duration_days=20)
STRATEGIES = ("base_stock", "dynamic_sourcing", "backup_supplier", "resilient")


@pytest.fixture(scope="module")
def strategies() -> xr.Dataset:
    return sim.simulate_policies(DEMO, {n: policy_preset(n) for n in STRATEGIES},
                                 disruptions=[OUTAGE], days=70, warmup_days=10, replicates=30,
                                 seed=5, engine="batch")


@pytest.fixture(scope="module")
def scan() -> xr.Dataset:
    return sim.criticality_scan(DEMO, days=40, start_day=5, duration_days=15, replicates=4)


def swept(a: np.ndarray, b: np.ndarray, replicates: int = 5) -> xr.Dataset:
    """A two-parameter sweep with a known KPI: lost_sales = 10 a + b + noise of mean 0."""
    noise = np.random.default_rng(0).normal(0, 1, (a.size, b.size, replicates))
    noise -= noise.mean(axis=2, keepdims=True)
    values = 10 * a[:, None, None] + b[None, :, None] + noise
    return xr.Dataset({"lost_sales": (("a", "b", "replicate"), values, {"units": "units"})},
                      coords={"a": a, "b": b, "replicate": np.arange(replicates)})


def test_scorecard_reads_the_six_dimensions(strategies: xr.Dataset) -> None:
    card = scorecard(strategies)
    assert list(dict.fromkeys(card.dimension)) == list(DIMENSIONS)
    assert set(card.strategy) == set(STRATEGIES[1:]) and card.attrs["baseline"] == "base_stock"
    resilience = card[(card.dimension == "resilience") & (card.kpi == "lost_sales")]
    base = float(strategies.lost_sales.sel(policy="base_stock").mean())
    for row in resilience.itertuples():
        assert row.baseline_mean == pytest.approx(base)
        mean = float(strategies.lost_sales.sel(policy=row.strategy).mean())
        assert row.difference == pytest.approx(mean - base)
        assert row.ci_low <= row.difference <= row.ci_high
        assert row.verdict == "better"  # every strategy loses less than base-stock here
    # the lean dimension: more stock is worse, less is better, where the interval says so
    lean = card[card.kpi == "mean_total_inventory_value"]
    decided = lean[(lean.ci_low > 0) | (lean.ci_high < 0)]
    assert len(decided) > 0
    for row in decided.itertuples():
        assert row.verdict == ("worse" if row.difference > 0 else "better")


def test_scorecard_leaves_out_what_a_run_cannot_measure() -> None:
    calm = sim.simulate_policies(DEMO, {"a": None, "b": policy_preset("buffered")}, days=30,
                                 replicates=5, engine="batch", seed=1)
    card = scorecard(calm)
    assert "time_to_recover" not in set(card.kpi)  # no disruption, nothing to recover from
    assert {"lean", "green", "global", "collaboration"} <= set(card.dimension)


def test_stacking_keeps_the_policy_dimension_where_strategies_agree() -> None:
    a = sim.simulate(DEMO, days=5, replicates=2, engine="batch", seed=3)
    b = sim.simulate(DEMO, days=5, replicates=2, engine="batch", seed=3,
                     policy=sim.Policy(name="same"))
    stacked = stack_policies({"a": a, "b": b})
    assert stacked.fill_rate.dims == ("policy", "replicate")
    np.testing.assert_array_equal(stacked.fill_rate.sel(policy="b"), a.fill_rate)
    one = select_policy(stacked, "b")
    assert "policy" not in one.dims and "policy:" in one.attrs["config"]


def test_figures_draw_what_they_are_given(strategies: xr.Dataset, scan: xr.Dataset) -> None:
    service = figures.service_level_over_time(strategies)
    lines = [line.get_label() for line in service.axes[0].get_lines()
             if not line.get_label().startswith("_")]  # reference lines stay out of legends
    assert [label.split(" ")[0] for label in lines] == list(STRATEGIES)
    share = figures.disrupted_share(strategies)
    days = strategies.day.values
    np.testing.assert_array_equal(share.values, ((days >= 10) & (days < 30)).astype(float))
    paired = figures.paired_differences(strategies, "lost_sales")
    assert [t.get_text() for t in paired.axes[0].get_yticklabels()] == list(STRATEGIES[1:])
    ranking = figures.criticality_ranking(scan, top=5)
    assert len(ranking.axes[0].patches) == 5
    network = figures.network_map(strategies, criticality=scan)
    assert len(network.axes) == 2  # the map and its criticality colour bar
    for fig in (figures.cost_vs_loss_avoided(strategies), figures.costs_by_kind(strategies),
                figures.bullwhip_by_tier(strategies), service, paired, ranking, network):
        assert fig.axes and fig.get_size_inches().min() > 2
    plt.close("all")


def test_heatmap_and_tornado_read_the_sweep() -> None:
    data = swept(np.array([0.0, 1.0, 2.0]), np.array([0.0, 5.0, 10.0, 15.0]))
    heat = figures.kpi_heatmap(data, "lost_sales", x="b", y="a")
    annotations = [float(t.get_text()) for t in heat.axes[0].texts]
    expected = (10 * data.a.values[:, None] + data.b.values[None, :]).ravel()
    np.testing.assert_allclose(sorted(annotations), sorted(expected), atol=1e-9)
    tornado = figures.tornado(data, "lost_sales")
    # b spans 15 units, a spans 20: a is the widest bar, drawn on top
    assert [t.get_text() for t in tornado.axes[0].get_yticklabels()] == ["b", "a"]
    widths = sorted(abs(p.get_width()) for p in tornado.axes[0].patches)
    np.testing.assert_allclose(widths, [5.0, 10.0, 10.0, 10.0], atol=1e-9)
    with pytest.raises(sim.ConfigError, match="not a dimension"):
        figures.kpi_heatmap(data, "lost_sales", x="c", y="a")
    plt.close("all")


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.sources.append(values.get("src") or "")
        for key in ("href", "src"):
            if values.get(key) and not str(values[key]).startswith(("data:", "#")):
                self.links.append(str(values[key]))


def _browser() -> str | None:
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


CHECK_SCRIPT = """<script>
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const ok = images.filter(i => i.complete && i.naturalWidth > 0).length;
  const div = document.createElement('div');
  div.id = 'render-check';
  div.textContent = ok + '/' + images.length + '/' + document.documentElement.scrollHeight;
  document.body.appendChild(div);
});
</script></body>"""


def _rendered_in_browser(browser: str, report: Path, tmp: Path) -> tuple[int, int, int]:
    """Load the report in headless Chromium: images decoded, images, page height [px]."""
    probe = tmp / "probe.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT),
                     encoding="utf-8")
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=10000", "--dump-dom",
         "--window-size=1400,900",
         probe.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r"id=\"render-check\">(\d+)/(\d+)/(\d+)<", result.stdout)
    assert found, f"the browser did not load the page: {result.stderr[-2000:]}"
    return int(found.group(1)), int(found.group(2)), int(found.group(3))


def test_report_opens_with_every_figure_rendered(strategies: xr.Dataset, scan: xr.Dataset,
                                                 tmp_path: Path) -> None:
    path = write_report(strategies, tmp_path / "out" / "report.html", scan=scan,
                        attribution=sim.attribute(strategies))
    text = path.read_text(encoding="utf-8")
    assert not list((tmp_path / "out").glob(".*partial"))  # written atomically
    for heading in ("Key performance indicators", "Strategies compared", "Guideline scorecard",
                    "Tail risk", "Costs and footprint", "Bullwhip", "Industry-chain map",
                    "Why did this happen?", "Resolved configuration"):
        assert heading in text
    parser = _Images()
    parser.feed(text)
    assert parser.links == []  # self-contained: nothing fetched from elsewhere
    assert len(parser.sources) == 8  # service, paired, cost-benefit, costs, bullwhip, ranking,
    #                                   map, attribution
    for source in parser.sources:  # every figure is a PNG that decodes
        assert source.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
        image.load()
        assert min(image.size) > 100
    browser = browser_or_skip(_browser(), "A headless Chromium")
    rendered, total, height = _rendered_in_browser(browser, path, tmp_path)
    assert (rendered, total) == (len(parser.sources), len(parser.sources))
    assert height < 6000  # px at 1,400 px wide: config and long tables collapsed


def test_report_of_a_single_run_explains_its_losses(tmp_path: Path) -> None:
    run = sim.simulate(DEMO, disruptions=[OUTAGE], days=60, warmup_days=10, replicates=10,
                       seed=2, engine="batch")
    path = write_report(run, tmp_path / "single.html", attribution=sim.attribute(run))
    text = path.read_text(encoding="utf-8")
    assert "Why did this happen?" in text and "0: node_outage ctrl_a" in text
    assert "Strategies compared" not in text and "Criticality scan:" not in text
    assert "time to recover" in text
