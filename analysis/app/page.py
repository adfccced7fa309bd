"""The dashboard: watch one run (Mesa, SolaraViz) and compare strategies (batch engine).

Served by ``python -m sim app`` (``solara run analysis/app/page.py``). Two pages:

* **Watch one run**: choose a network, a disruption (kind, target, start, duration,
  severity), a policy preset and a seed; every value is checked as it is typed and a bad one
  shows its message under its control (the run keeps its last good settings). Mesa's
  ``SolaraViz`` then steps, plays and resets the model, with the network view and live
  charts.
* **Compare strategies**: a network, a risk scenario and two to four strategies, run on the
  same replicates with a progress bar; the paired comparison, service bands and cost against
  loss avoided; the dataset (NetCDF) and the HTML report to download.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import matplotlib.pyplot as plt
import solara
import solara.lab

from analysis.app.compare_view import Comparison, run_comparison
from analysis.app.inputs import (
    DISRUPTION_KINDS,
    check_compare,
    check_watch,
    load_choice,
    network_choices,
    policy_choices,
    scenario_choices,
    targets,
)
from analysis.app.watch import WatchModel, network_figure, series_figure, short_labels

# Solara's hook checker flags a pattern inside Mesa's own SolaraViz; nothing to act on here
warnings.filterwarnings("ignore", message=".*found despite early return", category=UserWarning)
from mesa.visualization import SolaraViz  # noqa: E402

WATCH_DEFAULTS = {"network": "demo", "disruption": "node_outage", "target": "ctrl_a",
                  "start_day": "20", "duration_days": "30", "severity": "1.0",
                  "policy": "base_stock", "seed": "0", "days": "180"}
COMPARE_DEFAULTS = {"network": "demo", "scenario": "supplier_outage",
                    "strategies": ["base_stock", "dynamic_sourcing", "backup_supplier"],
                    "replicates": "200", "days": "180", "seed": "0"}


# What Mesa's SolaraViz and Solara's AppLayout draw that this app does not use, hidden; and the
# page tabs named for what they show (AppLayout names them by URL path: "Home", "compare").
# Vuetify 2 markup of the pinned solara (tests/test_app.py checks the page as it is shown).
PAGE_CSS = """
.v-navigation-drawer .v-input--checkbox { display: none !important; }
.v-navigation-drawer .v-card:has(> .v-card__text > .v-sheet:empty) { display: none !important; }
.v-tabs:has(.v-tabs-bar__content > .v-tab:nth-child(2):last-child) { display: none !important; }
.v-app-bar .v-tabs-bar__content > .v-tab { font-size: 0 !important; }
.v-app-bar .v-tabs-bar__content > .v-tab::after { font-size: 0.875rem; letter-spacing: 0.09em; }
.v-app-bar .v-tabs-bar__content > .v-tab:nth-child(2)::after { content: "Watch one run"; }
.v-app-bar .v-tabs-bar__content > .v-tab:nth-child(3)::after { content: "Compare strategies"; }
"""


def _model_params(clean: dict[str, Any]) -> dict[str, Any]:
    keys = ("network", "disruption", "target", "start_day", "duration_days", "severity",
            "policy", "seed", "days")
    out = {k: clean[k] for k in keys if clean.get(k) is not None}
    if out.get("disruption") == "none":
        out.update(target="", start_day=0, duration_days=1, severity=1.0)
    return out


def _network_view(model: WatchModel) -> Any:
    figure = network_figure(model)
    with solara.Column() as element:
        solara.FigureMatplotlib(figure, format="png")
        shortened = {short: full for full, short in short_labels(list(model.layout.node_ids))
                     .items() if short != full}
        if shortened:  # the full ids of the labels the drawing had to shorten
            solara.Text("; ".join(f"{short} = {full}" for short, full in shortened.items()),
                        classes=["label-key"])
    plt.close(figure)
    return element


def _charts(model: WatchModel) -> Any:
    figure = series_figure(model)
    element = solara.FigureMatplotlib(figure, format="png")
    plt.close(figure)
    return element


@solara.component
def Field(label: str, name: str, values: solara.Reactive[dict], problems: dict[str, str]
          ) -> None:
    """A text input whose problem, if any, shows under it."""
    def set_value(text: str | None) -> None:
        values.set({**values.value, name: text or ""})

    solara.InputText(label, value=str(values.value.get(name, "")), on_value=set_value,
                     error=problems.get(name, False) or False,
                     message=problems.get(name), classes=[f"field-{name}"])


@solara.component
def Choice(label: str, name: str, options: list[str], values: solara.Reactive[dict],
           problems: dict[str, str]) -> None:
    """A select whose problem, if any, shows under it."""
    def set_value(choice: str | None) -> None:
        values.set({**values.value, name: choice})

    solara.Select(label, values=options, value=values.value.get(name), on_value=set_value,
                  classes=[f"field-{name}"])
    if name in problems:
        solara.Error(problems[name], dense=True, classes=[f"problem-{name}"])


@solara.component
def WatchPage() -> None:
    """One run of the Mesa engine, watched day by day."""
    values = solara.use_reactive(dict(WATCH_DEFAULTS))
    clean, problems = check_watch(values.value)
    last_good = solara.use_reactive(_model_params(check_watch(WATCH_DEFAULTS)[0]))
    if not problems and _model_params(clean) != last_good.value:
        last_good.set(_model_params(clean))
    params = last_good.value
    model = solara.use_memo(lambda: WatchModel(**params), [json.dumps(params)])
    network = load_choice(params["network"])
    solara.Style(PAGE_CSS)
    with solara.Card("Scenario", classes=["scenario-card"]):
        with solara.Row():
            Choice("network", "network", list(network_choices()), values, problems)
            Choice("policy preset", "policy", policy_choices(), values, problems)
            Field("seed", "seed", values, problems)
            Field("days", "days", values, problems)
        with solara.Row():
            Choice("disruption", "disruption", list(DISRUPTION_KINDS), values, problems)
            kind = values.value.get("disruption")
            if kind != "none":
                chosen = (load_choice(values.value["network"])
                          if "network" not in problems else network)
                Choice("target", "target", targets(chosen, str(kind)), values, problems)
                Field("start day", "start_day", values, problems)
                Field("duration [days]", "duration_days", values, problems)
                Field("surge factor" if kind == "demand_surge" else "severity (0-1]",
                      "severity", values, problems)
        if problems:
            solara.Warning("Fix the values marked above; the model below keeps its last "
                           "good settings.", dense=True, classes=["inputs-pending"])
        else:
            solara.Success("Settings checked: the model below uses them (Reset restarts it).",
                           dense=True, classes=["inputs-ok"])
    SolaraViz(model, components=[(_network_view, 0), (_charts, 0)], model_params=params,
              name="Watch one run (Mesa engine)", play_interval=150).key(json.dumps(params))


@solara.component
def ComparePage() -> None:
    """Two to four strategies on the same replicates (batch engine)."""
    values = solara.use_reactive(dict(COMPARE_DEFAULTS))
    clean, problems = check_compare(values.value)
    status = solara.use_reactive("")
    result: solara.Reactive[Comparison | None] = solara.use_reactive(None)
    solara.Style(PAGE_CSS)

    @solara.lab.task
    def run() -> Comparison:
        def progress(share: float, message: str) -> None:
            run.progress = 100 * share
            status.set(message)

        comparison = run_comparison(clean, progress)
        result.set(comparison)
        status.set("done")
        return comparison

    with solara.Card("Comparison", classes=["compare-card"]):
        with solara.Row():
            Choice("network", "network", list(network_choices()), values, problems)
            Choice("risk scenario", "scenario", scenario_choices(), values, problems)
        solara.SelectMultiple("strategies (the first is the baseline)",
                              values=list(values.value.get("strategies", [])),
                              all_values=policy_choices(),
                              on_value=lambda v: values.set({**values.value, "strategies": v}),
                              classes=["field-strategies"])
        if "strategies" in problems:
            solara.Error(problems["strategies"], dense=True, classes=["problem-strategies"])
        with solara.Row():
            Field("replicates", "replicates", values, problems)
            Field("days", "days", values, problems)
            Field("seed", "seed", values, problems)
        solara.Button("Run comparison", color="primary", on_click=lambda: run(),
                      disabled=bool(problems) or run.pending, classes=["run-comparison"])
        if run.pending:
            solara.ProgressLinear(run.progress if run.progress is not None else True)
            solara.Text(status.value)
        if run.error:
            solara.Error(f"the comparison failed: {run.exception}")
    comparison = result.value
    if comparison is not None:
        with solara.Card("Paired comparison (common random numbers)",
                         classes=["compare-result"]):
            solara.DataFrame(comparison.table, items_per_page=20)
        with solara.Columns([1, 1]):
            solara.FigureMatplotlib(comparison.service, format="png")
            solara.FigureMatplotlib(comparison.cost, format="png")
        with solara.Row():
            solara.FileDownload(comparison.netcdf, filename="comparison.nc",
                                label="Download the dataset (NetCDF)")
            solara.FileDownload(comparison.report, filename="report.html",
                                label="Download the HTML report", mime_type="text/html")


routes = [
    solara.Route(path="/", component=WatchPage, label="Watch one run"),
    solara.Route(path="compare", component=ComparePage, label="Compare strategies"),
]
