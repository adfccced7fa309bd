"""One self-contained HTML report of a run: figures, KPI tables with CIs, scorecard, config.

The file embeds its figures as base64 PNG and its style inline, so it can be mailed or archived
alone and opens in any browser without a network. :func:`write_report` reads only the dataset,
except for the two optional analyses that need more simulation: the criticality scan (each
node, lane and region disrupted in turn) and the attribution of losses to causes (the run
repeated without each disruption). Both are rebuilt from the dataset's attrs, so a report can
be made from a results file alone.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
import yaml

from analysis import figures
from analysis.scorecard import VERDICT, scorecard
from analysis.style import percent
from analysis.tables import format_number, kpi_summary
from sim.io.atomic import write_text_atomic
from sim.io.datasets import dataset_config, network_of, run_config, select_policy
from sim.measures.compare import compare, cost_benefit
from sim.measures.exposure import exposure
from sim.measures.metrics import footprint, service_by, tail_risk
from sim.measures.resilience import as_recovery_rule
from sim.spec.errors import SimError

__all__ = ["build_report", "build_study_report", "recommendations", "write_report",
           "write_study_report"]

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1150px; color: #222; line-height: 1.4; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em;
margin-top: 1.4em; } .muted { color: #666; } figure { margin: 0.5em 0; }
figure img { max-width: 100%; } figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; } td.t, th.t, th:first-child { text-align: left; }
td { white-space: nowrap; }
.better { background: #e3f4e1; } .worse { background: #fbe3e1; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.82em; }
.finding { background: #eef4fb; border-left: 4px solid #4a7ebb; padding: 0.6em 1em; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd;
      padding: 0.4em 0; z-index: 1; } nav a { margin-right: 1em; white-space: nowrap; }
.scroll { overflow-x: auto; max-width: 100%; } details > summary { cursor: pointer;
color: #4a7ebb; margin: 0.4em 0; }
"""


LONG_TABLE_ROWS = 10
FIGURE_DPI = 90
"""Pixels per inch of the embedded figures: a 12-inch figure fills the page's width."""
"""Tables with more rows start collapsed (``<details>``)."""


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return format_number(float(value))
    return html.escape(str(value))


def _align(value: object) -> str:
    """Text left, numbers (and formatted intervals) right."""
    if isinstance(value, (int, float, np.number, bool, np.bool_)):
        return ""
    text = str(value)
    return "" if text[:1].isdigit() or text[:1] in "-+[" else "t"


def _table(frame: pd.DataFrame, *, index: bool = True,
           row_class: Callable[[pd.Series], str] | None = None, collapsed: bool = False) -> str:
    head = ([html.escape(str(frame.index.name or ""))] if index else []) + [
        html.escape(str(c)) for c in frame.columns]
    rows = []
    for label, row in frame.iterrows():
        cells = ([f"<td class='t'>{html.escape(str(label))}</td>"] if index else []) + [
            f"<td class='{_align(v)}'>{_fmt(v)}</td>" for v in row.values]
        css = row_class(row) if row_class else ""
        rows.append(f"<tr class='{css}'>" + "".join(cells) + "</tr>")
    table = ("<div class='scroll'><table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head)
             + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")
    if collapsed or len(rows) > LONG_TABLE_ROWS:  # the page stays short, the rows a click away
        return f"<details><summary>{len(rows)} rows</summary>{table}</details>"
    return table


def _figure(figure: plt.Figure, caption: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _interval(mean: float, low: float, high: float) -> str:
    if not np.isfinite(low):
        return _fmt(mean)
    return f"{_fmt(mean)} [{_fmt(low)}, {_fmt(high)}]"


def _kpi_section(dataset: xr.Dataset) -> str:
    summary = kpi_summary(dataset)
    if "policy" in dataset.dims:
        wide: dict[Any, dict[Any, Any]] = {}
        for (policy, kpi), row in summary.iterrows():
            wide.setdefault(kpi, {"units": row["units"], "mean over": row["over"]})[policy] = \
                _interval(row["mean"], row["ci_low"], row["ci_high"])
        frame = pd.DataFrame.from_dict(wide, orient="index")
        frame = frame[[c for c in frame.columns if c not in ("units", "mean over")]
                      + ["units", "mean over"]]
    else:
        frame = pd.DataFrame({
            "mean [95 % CI]": [_interval(r["mean"], r["ci_low"], r["ci_high"])
                               for _, r in summary.iterrows()],
            "5 %-95 % of replicates": [f"{_fmt(r['p05'])} .. {_fmt(r['p95'])}"
                                      for _, r in summary.iterrows()],
            "units": summary["units"], "mean over": summary["over"]}, index=summary.index)
    frame.index.name = "KPI"
    return ("<h2 id='kpis'>Key performance indicators</h2><p>Mean over replicates with its 95 % "
            "t confidence interval; <i>mean over</i> says which replicates (the resilience "
            "KPIs exist only where there was an event) and, for totals, over how many recorded "
            "days. <code>calm_*</code>: the same replicates without any event.</p>"
            + _table(frame))


def _findings(dataset: xr.Dataset, baseline: str | None) -> str:
    lines = []
    if "policy" in dataset.dims:
        table = cost_benefit(dataset, baseline=baseline)
        base = table.attrs["baseline"]
        others = table.drop_sel(policy=base)
        if others.sizes["policy"]:
            best = str(others.net_benefit.idxmax("policy").values)
            lines.append(_money_finding(table, best))
            front = [str(p) for p in table.policy.values[table.pareto.values.astype(bool)]]
            lines.append("On the Pareto front of operating cost, fill rate and CO2e per unit: "
                         + ", ".join(html.escape(p) for p in front) + ".")
    else:
        fill = dataset.fill_rate
        lines.append(f"Fill rate {percent(float(fill.mean()))} (5 % of replicates below "
                     f"{percent(float(fill.quantile(0.05)))}); lost sales "
                     f"{_fmt(float(dataset.lost_sales.mean()))} units on average.")
        if {"time_to_recover", "recovery_censored", "fell_short"} <= set(dataset.data_vars) \
                and dataset.time_to_recover.notnull().any():
            lines.append(_recovery_finding(dataset))
    return "<div class='finding'>" + "".join(f"<p>{line}</p>" for line in lines) + "</div>"


def _recovery_finding(dataset: xr.Dataset) -> str:
    """TTS, TTR and loss of a single run in words, with the rule they were read by."""
    rule = as_recovery_rule(dataset_config(dataset).get("resilience"))
    hit = int(dataset.time_to_recover.count())
    censored = int(np.nansum(dataset.recovery_censored.values))
    never = hit - int(np.nansum(dataset.fell_short.values))
    return (f"In the {hit} of {dataset.sizes['replicate']} replicates with a disruption, "
            f"network service held for {_fmt(float(dataset.time_to_survive.mean()))} days "
            f"after the first one (time to survive) and was back within "
            f"{_fmt(100 * rule.tolerance)} points of the same replicate without events, for "
            f"{rule.hold_days} days in a row, after "
            f"{_fmt(float(dataset.time_to_recover.mean()))} days (time to recover; {censored} "
            f"not recovered by the end, {never} never fell short). The disruptions cost "
            f"{_fmt(float(dataset.resilience_loss.mean()))} units of service per replicate "
            "hit (resilience loss).")


def _money_finding(table: xr.Dataset, best: str) -> str:
    """The best strategy's economics in words, in the reading that applies."""
    base, row = table.attrs["baseline"], table.sel(policy=best)
    net = float(row.net_benefit)
    over = (f"over the {table.attrs['days']} recorded days; fill rate "
            f"{percent(float(row.fill_rate))}")
    if net > 0:
        head = (f"Against <b>{html.escape(base)}</b>, <b>{html.escape(best)}</b> has the "
                f"largest net benefit in this scenario ({_fmt(net)} {over}). ")
    else:
        head = (f"No strategy compared does better than <b>{html.escape(base)}</b> in this "
                f"scenario: the closest, <b>{html.escape(best)}</b>, loses {_fmt(-net)} ({over}). ")
    if table.attrs["reading"] == "per event":
        breakeven = float(row.breakeven_events_per_year)
        when = ("it pays even if the event never happens" if breakeven == 0 else
                "it does not pay however often the event happens" if np.isinf(breakeven)
                else f"it pays for itself if such an event happens more than "
                     f"{breakeven:.3g} times a year (once every {1 / breakeven:.3g} years)")
        return head + (
            f"Each event like this one, it avoids {_fmt(float(row.loss_avoided_per_event))} of "
            f"shortage cost ({_fmt(float(row.lost_sales_avoided_per_event))} units) for "
            f"{_fmt(float(row.event_cost))} of extra cost in the event; it costs "
            f"{_fmt(float(row.running_cost_per_year))} a year to run when nothing happens: "
            f"{when}.")
    return head + (
        f"Under these random events it is expected to save "
        f"{_fmt(float(row.net_saving_per_year))} a year (95 % interval "
        f"{_fmt(float(row.net_saving_per_year_low))} to "
        f"{_fmt(float(row.net_saving_per_year_high))}; annualised over the recorded days): "
        f"{_fmt(float(row.loss_avoided_per_year))} of shortage cost avoided against "
        f"{_fmt(float(row.added_cost_per_year))} of added operating cost.")


def _verdict_class(row: pd.Series) -> str:
    return {"better": "better", "worse": "worse"}.get(str(row.get("verdict", "")), "")


def _comparison_section(dataset: xr.Dataset, baseline: str | None) -> str:
    table = compare(dataset, baseline=baseline)
    base = table.attrs["baseline"]
    frame = table[["difference", "t_low", "t_high", "bootstrap_low", "bootstrap_high",
                   "p_better", "replicates_needed", "better"]].to_dataframe().reset_index()
    frame["verdict"] = [VERDICT[int(b)] for b in frame.pop("better")]
    frame = frame[["policy", "kpi", "units", "difference", "t_low", "t_high", "bootstrap_low",
                   "bootstrap_high", "p_better", "replicates_needed", "verdict"]].rename(columns={
        "difference": f"minus {base}", "t_low": "t 95 % low", "t_high": "t 95 % high",
        "bootstrap_low": "BCa low", "bootstrap_high": "BCa high",
        "p_better": "P(better)", "replicates_needed": "replicates for ±1 %"})
    frame = frame.set_index(["policy"])
    frame.index.name = "strategy"
    kpi = "lost_sales" if "lost_sales" in dataset else str(table.kpi.values[0])
    parts = [
        "<h2 id='comparison'>Strategies compared</h2>",
        f"<p>Paired differences against <b>{html.escape(base)}</b> under common random "
        "numbers (replicate r of every strategy saw the same demand and events). "
        "<i>P(better)</i> is the share of replicates in which the strategy did better; "
        "the last column is how many replicates a ±1 % (of the baseline) t interval needs.</p>",
        _table(frame, row_class=_verdict_class),
        _figure(figures.paired_differences(dataset, kpi, baseline=base),
                f"Per-replicate difference in {kpi} against {base}."),
    ]
    money = cost_benefit(dataset, baseline=base)
    parts += ["<h3>Cost against resilience</h3>", _money_text(money), _table(_money_frame(money)),
              _figure(figures.cost_vs_loss_avoided(dataset, baseline=base),
                      "Added cost against loss avoided, and the cost-service-CO2e Pareto front.")]
    parts += ["<h3 id='recommendation'>Recommendation</h3>",
              "<p>Strategies ranked by net benefit in this scenario (shortage cost avoided "
              "minus added operating cost over the recorded days, mean over the replicates; "
              "the money table above reads it per event or a year). <i>Recommended</i>: the "
              "best net benefit among those that clearly lower total cost and sit on the "
              "Pareto front; <i>pays "
              "off</i>: clearly lowers total cost; <i>no clear effect</i>: neither lost sales "
              "nor total cost change beyond noise.</p>",
              _table(recommendations(dataset, base), row_class=_recommend_class)]
    card = scorecard(dataset, baseline=base)
    if not card.empty:
        parts += ["<h3 id='scorecard'>Guideline scorecard</h3>",
                  "<p>The six dimensions of the 2024 guide, each read through the KPIs that "
                  "measure it: the baseline's mean, then each strategy's mean and its paired "
                  "difference; green is clearly better, red clearly worse (95 % t interval "
                  "excludes zero).</p>", _scorecard_table(card, base)]
    return "".join(parts)


MONEY_COLUMNS = {
    "per event": {"running_cost_per_year": "running cost a year", "event_cost": "cost per event",
                  "loss_avoided_per_event": "loss avoided per event",
                  "lost_sales_avoided_per_event": "units saved per event",
                  "net_benefit_per_event": "net benefit per event",
                  "breakeven_events_per_year": "break-even events a year"},
    "per year": {"added_cost_per_year": "added cost a year",
                 "loss_avoided_per_year": "loss avoided a year",
                 "lost_sales_avoided_per_year": "units saved a year",
                 "net_saving_per_year": "net saving a year",
                 "net_saving_per_year_low": "95 % low", "net_saving_per_year_high": "95 % high"},
}


def _money_text(money: xr.Dataset) -> str:
    days = money.attrs["days"]
    common = ("Operating cost is holding (on hand and in transit), transport and the "
              "strategy's own costs; loss is the shortage penalties. Money is split with each "
              "replicate's undisrupted twin (same demand, no events). ")
    if money.attrs["reading"] == "per event":
        return ("<p>" + common + "Every replicate met the same scripted event, so the money "
                "reads per event: the running cost a year comes from the twins (what the "
                "strategy costs when nothing happens, normal-time shortfalls included); cost "
                "and loss avoided per event from the difference between each run and its twin. "
                "Break-even = running cost a year / net benefit per event: how many such events "
                "a year the strategy needs to pay (0: it pays without any). ROI = net saving / "
                "added cost over the run, where the strategy costs more and avoids loss; "
                "otherwise it says whether the strategy dominates or is dominated.</p>")
    return ("<p>" + common + f"The events are random (or there are none), so there is no "
            f"per-event reading: expected money a year, annualised over the {days} recorded "
            "days, with paired 95 % t intervals over the replicates.</p>")


def _money_frame(money: xr.Dataset) -> pd.DataFrame:
    columns = MONEY_COLUMNS[money.attrs["reading"]]
    frame = money[list(columns)].to_dataframe().rename(columns=columns)
    frame["ROI"] = [_roi_text(money.sel(policy=p)) for p in money.policy.values]
    frame["Pareto"] = money.pareto.values
    frame = frame.drop(index=money.attrs["baseline"])
    frame.index.name = "strategy"
    return frame


def _roi_text(row: xr.Dataset) -> str:
    reading = str(row.roi_reading.values)
    return _fmt(float(row.roi)) if reading == "ROI" else reading


def recommendations(dataset: xr.Dataset, baseline: str | None = None) -> pd.DataFrame:
    """Strategies ranked by net benefit, with what the paired comparison says of each.

    Parameters
    ----------
    dataset : xarray.Dataset
        Runs with a ``policy`` dimension.
    baseline : str, optional
        The reference strategy (the first by default).

    Returns
    -------
    pandas.DataFrame
        One row per strategy other than the baseline, best net benefit first: fill rate,
        lost sales avoided, added cost, loss avoided, net benefit, ROI, Pareto, the verdicts
        on lost sales and total cost, and a ``recommendation``.
    """
    money = cost_benefit(dataset, baseline=baseline)
    base = money.attrs["baseline"]
    verdicts = compare(dataset, baseline=base, kpis=["lost_sales", "total_cost"], resamples=0)
    rows = []
    for strategy in verdicts.policy.values:
        row = money.sel(policy=strategy)
        lost = int(verdicts.better.sel(policy=strategy, kpi="lost_sales"))
        cost = int(verdicts.better.sel(policy=strategy, kpi="total_cost"))
        rows.append({"strategy": str(strategy), "fill rate": float(row.fill_rate),
                     "lost sales avoided": float(row.lost_sales_avoided),
                     "added cost": float(row.added_cost), "loss avoided": float(row.loss_avoided),
                     "net benefit": float(row.net_benefit), "ROI": _roi_text(row),
                     "net saving a year": float(row.net_saving_per_year),
                     "break-even events a year": float(row.breakeven_events_per_year),
                     "Pareto": bool(row.pareto), "lost sales": VERDICT[lost],
                     "total cost": VERDICT[cost]})
    frame = pd.DataFrame(rows).sort_values("net benefit", ascending=False)
    advice = []
    chosen = False
    for _, row in frame.iterrows():
        clear_cost = row["total cost"] == "better"
        if clear_cost and row["Pareto"] and not chosen:
            advice.append("recommended")
            chosen = True
        elif clear_cost:
            advice.append("pays off")
        elif row["lost sales"] == row["total cost"] == "no clear change":
            advice.append("no clear effect")
        elif row["total cost"] == "worse":
            advice.append("costs more than it saves")
        else:
            advice.append("protects service at a cost")
    frame["recommendation"] = advice
    return frame.set_index("strategy")


def _recommend_class(row: pd.Series) -> str:
    return {"recommended": "better", "pays off": "better",
            "costs more than it saves": "worse"}.get(str(row.get("recommendation")), "")


def _scorecard_table(card: pd.DataFrame, baseline: str) -> str:
    strategies = list(dict.fromkeys(card.strategy))
    head = ["dimension", "KPI", "", f"{html.escape(baseline)} (baseline)"] + [
        html.escape(s) for s in strategies]
    heads = "".join(f"<th class='{'t' if k < 3 else ''}'>{h}</th>" for k, h in enumerate(head))
    rows = []
    for (dimension, kpi), group in card.groupby(["dimension", "kpi"], sort=False):
        first = group.iloc[0]
        cells = [f"<td class='t'>{html.escape(dimension)}</td>",
                 f"<td class='t' title='{html.escape(first.meaning)}'>{html.escape(kpi)}</td>",
                 f"<td class='t muted'>{html.escape(first.direction)}</td>",
                 f"<td>{_fmt(first.baseline_mean)}</td>"]
        by_strategy = group.set_index("strategy")
        for strategy in strategies:
            row = by_strategy.loc[strategy]
            sign = "+" if row.difference > 0 else ""
            css = {"better": "better", "worse": "worse"}.get(row.verdict, "")
            cells.append(f"<td class='{css}' title='{html.escape(row.verdict)}'>"
                         f"{_fmt(row['mean'])} ({sign}{_fmt(row.difference)})</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<details><summary>{len(rows)} rows: each KPI per strategy, against "
            f"{html.escape(baseline)}</summary><div class='scroll'><table><thead><tr>" + heads
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div></details>")


def _region_section(dataset: xr.Dataset) -> str:
    """Fill rate by region and by firm serving customers, per strategy (mean over replicates)."""
    if "node_demand" not in dataset:
        return ""
    parts = []
    for by, label in (("region", "region"), ("node", "firm")):
        grouped = service_by(dataset, by)
        table = grouped.fill_rate.mean("replicate")
        demand = grouped.demand.mean("replicate")
        if "policy" in demand.dims:
            demand = demand.max("policy")
        table = table.where(demand > 0, drop=True)
        if table.sizes[by] < 2 and by == "region":
            return ""
        frame = (table.transpose(by, "policy").to_pandas() if "policy" in table.dims
                 else table.to_pandas().to_frame("fill rate"))
        frame.index.name = label
        parts.append(_table(frame))
    return ("<h2 id='regions'>By region and firm</h2><p>Fill rate of end customers (mean over "
            "replicates), by region and by the firms that serve them.</p>" + "".join(parts))


def _risk_section(dataset: xr.Dataset) -> str:
    rows = {}
    for policy in figures._policies(dataset):
        run = dataset if policy is None else dataset.sel(policy=policy)
        risk = tail_risk(run)
        for kpi in ("lost_sales", "total_cost"):
            label = kpi if policy is None else f"{policy}: {kpi}"
            row = {f"p{round(float(q) * 100)}": float(v) for q, v in zip(
                risk[f"{kpi}_quantile"]["quantile"].values, risk[f"{kpi}_quantile"].values,
                strict=True)}
            row["VaR 95 %"] = float(risk[f"{kpi}_var"])
            row["CVaR 95 %"] = float(risk[f"{kpi}_cvar"])
            rows[label] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "KPI"
    return ("<h2 id='risk'>Tail risk</h2><p>Percentiles over replicates; CVaR 95 % is the mean "
            "of the worst 5 % of replicates.</p>" + _table(frame, collapsed=True))


def _cost_section(dataset: xr.Dataset) -> str:
    parts = ["<h2 id='costs'>Costs and footprint</h2>",
             _figure(figures.costs_by_kind(dataset), "Mean cost by kind over the recorded days.")]
    rows = {}
    for policy in figures._policies(dataset):
        run = dataset if policy is None else select_policy(dataset, policy)
        try:
            per_unit = footprint(run).mean("replicate")
        except SimError:
            continue
        rows[policy or "run"] = {str(p): float(v) for p, v in zip(
            per_unit["product"].values, per_unit.values, strict=True)}
        if "co2e_kg" in run:
            rows[policy or "run"]["total CO2e [kg]"] = float(run.co2e_kg.mean())
    if rows:
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "strategy"
        parts += ["<p>Cradle-to-gate CO2e per unit delivered, by product [kg CO2e/unit], along "
                  "the flows that happened (mean over replicates), and the total.</p>",
                  _table(frame)]
    return "".join(parts)


def _exposure_section(dataset: xr.Dataset, scan: xr.Dataset | None) -> str:
    network = network_of(dataset)
    plain, backed = exposure(network), exposure(network, count_backups=True)
    names = [str(n) for n in plain.node.values]

    def points(table: xr.Dataset, node: str) -> str:
        row = table.single_point.sel(node=node)
        return ", ".join(str(u) for u in row.upstream.values[row.values]) or "none"

    frame = pd.DataFrame({
        "kind": [str(k) for k in plain.node_kind.values],
        "region": [str(r) for r in plain.node_region.values],
        "tier-2+ suppliers": plain.indirect_suppliers.values,
        "upstream regions": plain.upstream_regions.values,
        "single points of failure": [points(plain, n) for n in names],
        "with standby options": [points(backed, n) for n in names],
    }, index=pd.Index(names, name="node"))
    parts = ["<h2 id='exposure'>Industry-chain map: exposure and criticality</h2>",
             "<p>Each firm's indirect exposure through its tier-2+ suppliers and the upstream "
             "nodes whose loss alone cuts one of its inputs (single points of failure), in "
             "day-to-day sourcing and counting backup and expedite lanes.</p>", _table(frame)]
    if scan is not None:
        parts += [
            f"<p>Criticality scan: each node, lane and region disrupted alone for "
            f"{scan.attrs['duration_days']} days ({scan.sizes['replicate']} replicates each, "
            f"same demand), ranked by the {scan.attrs['kpi']} it adds.</p>",
            _figure(figures.criticality_ranking(scan, top=8),
                    "The eight most critical targets, with 95 % t intervals."),
        ]
    parts.append(_figure(figures.network_map(dataset, criticality=scan),
                         "The network by tier; lane width is mean flow."))
    return "".join(parts)


def _attribution_section(dataset: xr.Dataset, attribution: xr.Dataset,
                         baseline: str | None) -> str:
    policy = None
    if "policy" in attribution.dims:
        policy = baseline if baseline is not None else str(attribution.policy.values[0])
        attribution = attribution.sel(policy=policy)
    frame = attribution[["effect", "effect_low", "effect_high", "share"]].to_dataframe()
    frame = frame.reset_index().set_index("cause")[["kpi", "effect", "effect_low",
                                                    "effect_high", "share"]]
    parts = ["<h2 id='attribution'>Why did this happen?</h2>",
             "<p>The same replicates rerun without each disruption (common random numbers): a "
             "cause's effect is what the KPI loses when it is there"
             + (f", for <b>{html.escape(policy)}</b>" if policy else "") + ". "
             "The interaction is the part no single cause explains.</p>",
             _table(frame),
             _table(pd.DataFrame({"total": attribution.total.values,
                                  "interaction": attribution.interaction.values},
                                 index=pd.Index(attribution.kpi.values, name="kpi")),
                    collapsed=True)]
    if "daily_shortage" in attribution:
        parts.append(_figure(figures.attribution_over_time(attribution),
                             "Mean daily shortage each disruption added."))
    return "".join(parts)


NAV_PLACEHOLDER = "<!-- contents -->"
SECTION_TITLES = (("kpis", "KPIs"), ("service", "Service"), ("comparison", "Strategies"),
                  ("regions", "Regions"), ("risk", "Tail risk"), ("costs", "Costs"),
                  ("bullwhip", "Bullwhip"), ("exposure", "Exposure"), ("attribution", "Why"),
                  ("config", "Config"))


def _contents(body: str) -> str:
    """The contents bar: a link to each section the report has (it stays at the top)."""
    links = [f"<a href='#{anchor}'>{label}</a>" for anchor, label in SECTION_TITLES
             if f"id='{anchor}'" in body]
    return "<nav>" + "".join(links) + "</nav>"


def _provenance(dataset: xr.Dataset) -> str:
    config = run_config(dataset)
    run = config.get("run", {})
    facts = {
        "network": dataset.attrs.get("network_name", ""),
        "engine": dataset.attrs.get("engine", ""),
        "replicates": dataset.sizes.get("replicate", ""),
        "recorded days (after warm-up)": f"{run.get('days')} (+{run.get('warmup_days')})",
        "seed": dataset.attrs.get("seed", ""),
        "record": dataset.attrs.get("record", ""),
        "simulator version": dataset.attrs.get("sim_version", ""),
        "git revision": dataset.attrs.get("git_revision", ""),
        "run at (UTC)": dataset.attrs.get("created_utc", ""),
        "simulation wall time [s]": f"{float(dataset.attrs.get('wall_time_s', 0)):.1f}",
    }
    frame = pd.DataFrame({"value": [str(v) for v in facts.values()]},
                         index=pd.Index(list(facts), name="run"))
    summary = (f"{facts['network']}: {facts['engine']} engine, {facts['replicates']} "
               f"replicates x {facts['recorded days (after warm-up)']} days, seed "
               f"{facts['seed']}; version, revision and timing")
    return f"<details><summary>{html.escape(summary)}</summary>{_table(frame)}</details>"


def build_report(dataset: xr.Dataset, *, baseline: str | None = None,
                 scan: xr.Dataset | None = None, attribution: xr.Dataset | None = None,
                 title: str | None = None) -> str:
    """The report of a run as one HTML string (figures embedded).

    Parameters
    ----------
    dataset : xarray.Dataset
        A run of :func:`sim.simulate` or :func:`sim.simulate_policies` (summary or full).
    baseline : str, optional
        The reference strategy of a run with a ``policy`` dimension (the first by default).
    scan : xarray.Dataset, optional
        A :func:`sim.criticality_scan` of the network, to rank what is critical.
    attribution : xarray.Dataset, optional
        An :func:`sim.attribute` of the run, to explain its losses.
    title : str, optional
        The heading (the network's name by default).
    """
    title = title or f"Supply-chain resilience report: {dataset.attrs.get('network_name', '')}"
    config_text = yaml.safe_dump(run_config(dataset), sort_keys=False)
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='muted'>Written {datetime.now(UTC).isoformat(timespec='seconds')}</p>",
        NAV_PLACEHOLDER,
        _provenance(dataset),
        _findings(dataset, baseline),
        _kpi_section(dataset),
    ]
    if "network_service_level" in dataset:
        sections += ["<h2 id='service'>Service over time</h2>",
                     _figure(figures.service_level_over_time(dataset),
                             "Daily share of demand served on arrival; shaded: disruptions "
                             "from the event log.")]
    if "policy" in dataset.dims and dataset.sizes["policy"] > 1:
        sections.append(_comparison_section(dataset, baseline))
    sections += [_region_section(dataset), _risk_section(dataset), _cost_section(dataset)]
    if "bullwhip" in dataset and dataset.sizes.get("tier", 0):
        sections += ["<h2 id='bullwhip'>Bullwhip</h2>",
                     _figure(figures.bullwhip_by_tier(dataset),
                             "Variance of orders placed over variance of end demand, by "
                             "ordering tier (95 % CI).")]
    sections.append(_exposure_section(dataset, scan))
    if attribution is not None:
        sections.append(_attribution_section(dataset, attribution, baseline))
    sections.append(f"<h2 id='config'>Resolved configuration</h2><p>Enough to rerun this "
                    f"report's run exactly (<code>sim.rerun(dataset)</code>).</p>"
                    f"<details><summary>config ({len(config_text.splitlines())} lines)"
                    f"</summary><pre>{html.escape(config_text)}</pre></details>")
    body = "\n".join(sections)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            + body.replace(NAV_PLACEHOLDER, _contents(body)) + "</body></html>")


def write_report(dataset: xr.Dataset | str | Path, path: str | Path, *,
                 baseline: str | None = None, scan: xr.Dataset | None = None,
                 attribution: xr.Dataset | None = None, title: str | None = None) -> Path:
    """Write the HTML report of a run (atomically) and return its path.

    The report reads datasets only. The sections that need more runs take them as arguments:
    :func:`sim.studies.report_inputs.report_inputs` runs the criticality scan and the loss
    attribution of a run (``python -m sim`` and ``python -m sim report`` do it for you).

    Parameters
    ----------
    dataset : xarray.Dataset or path
        The run, or its NetCDF file.
    path : str or Path
        Where to write the report.
    baseline : str, optional
        The reference strategy (runs with a ``policy`` dimension).
    scan : xarray.Dataset, optional
        A :func:`sim.criticality_scan` of the network, to rank what is critical (without one
        the structural exposure map stays).
    attribution : xarray.Dataset, optional
        An :func:`sim.attribute` of the run, to explain its losses.
    title : str, optional
        The heading.
    """
    if not isinstance(dataset, xr.Dataset):
        dataset = xr.load_dataset(dataset, engine="h5netcdf")
    names = [str(p) for p in dataset.policy.values] if "policy" in dataset.dims else []
    base = baseline if baseline is not None else (names[0] if names else None)
    text = build_report(dataset, baseline=base, scan=scan, attribution=attribution, title=title)
    return write_text_atomic(path, text)


def build_study_report(dataset: xr.Dataset, *, kpis: tuple[str, ...] = ("lost_sales",
                                                                          "total_cost"),
                       indices: xr.Dataset | None = None, title: str | None = None) -> str:
    """The report of a study (a sweep or a sensitivity design) as one HTML string.

    Parameters
    ----------
    dataset : xarray.Dataset
        Per-replicate KPIs of a study (:func:`sim.studies.study.run_study`): one dimension per swept
        parameter for a grid, or ``point`` for a sampled design.
    kpis : tuple of str
        The KPIs to show.
    indices : xarray.Dataset, optional
        Sensitivity indices (:func:`sim.studies.sensitivity.analyze`).
    title : str, optional
        The heading.
    """
    import json

    parameters = json.loads(dataset.attrs.get("parameters", "[]"))
    kpis = tuple(k for k in kpis if k in dataset)
    title = title or "Study report"
    swept = [str(d) for d in dataset[kpis[0]].dims if d != "replicate"] if kpis else []
    facts = pd.DataFrame({"value": [
        ", ".join(parameters), str(int(np.prod([dataset.sizes[d] for d in swept]))),
        str(dataset.sizes.get("replicate", "")), str(dataset.attrs.get("seed", "")),
        str(dataset.attrs.get("sim_version", "")), str(dataset.attrs.get("git_revision", ""))]},
        index=pd.Index(["parameters", "points", "replicates per point", "seed",
                        "simulator version", "git revision"], name="study"))
    sections = [f"<h1>{html.escape(title)}</h1>",
                f"<p class='muted'>Written {datetime.now(UTC).isoformat(timespec='seconds')}. "
                "Every point runs the same replicates (common random numbers).</p>",
                _table(facts)]
    if indices is not None:
        for kpi in indices.kpi.values:
            sections.append(_figure(figures.sensitivity_indices(indices, str(kpi)),
                                    f"Sensitivity of mean {kpi}."))
        frame = indices.to_dataframe().reset_index().set_index("parameter")
        sections += ["<h2>Sensitivity indices</h2>", _table(frame)]
    elif "point" not in swept and swept:
        for kpi in kpis:
            sections.append(_figure(figures.tornado(dataset, kpi),
                                    f"Range of mean {kpi} as each parameter moves alone."))
            if len(swept) >= 2:
                rest = {d: dataset.sizes[d] // 2 for d in swept[2:]}
                sections.append(_figure(
                    figures.kpi_heatmap(dataset.isel(rest), kpi, x=swept[1], y=swept[0]),
                    f"Mean {kpi} over {swept[0]} and {swept[1]}"
                    + (" (other parameters at their middle value)" if rest else "") + "."))
    if kpis:
        means = dataset[list(kpis)].mean("replicate").to_dataframe()
        if len(means) <= 400:
            sections += ["<h2>Mean KPIs per point</h2>", _table(means)]
    config = yaml.safe_dump(json.loads(dataset.attrs.get("config", "{}")), sort_keys=False)
    sections.append(f"<h2>Base configuration</h2><details><summary>config "
                    f"({len(config.splitlines())} lines)</summary>"
                    f"<pre>{html.escape(config)}</pre></details>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(sections) + "</body></html>")


def write_study_report(dataset: xr.Dataset, path: str | Path, *,
                       kpis: tuple[str, ...] = ("lost_sales", "total_cost"),
                       indices: xr.Dataset | None = None, title: str | None = None) -> Path:
    """Write :func:`build_study_report` to ``path`` (atomically) and return the path."""
    return write_text_atomic(path, build_study_report(dataset, kpis=kpis, indices=indices,
                                                      title=title))
