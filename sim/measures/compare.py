"""Paired comparison of strategies under common random numbers.

Two runs of the same network, scenario and seed differ only by their policy: replicate r of
each saw the same demand and the same events, so the difference of a KPI replicate by replicate
isolates what the strategy did. :func:`compare` reports for each strategy and KPI the mean
paired difference against a baseline with a t interval and a bootstrap interval, the share of
replicates in which the strategy does better, and the replicates needed for a chosen precision.
:func:`cost_benefit` turns that into what an enterprise reads: running cost a year, cost and
loss avoided per event, break-even frequency, or the expected annual saving under random
events; :func:`pareto_front` marks the strategies no other beats on every
objective.

Comparisons refuse runs that did not share their replicates, seed, network and disruptions:
without common random numbers the pairing would be wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import xarray as xr
from scipy import stats

from sim.io.datasets import dataset_config
from sim.spec.errors import ConfigError, Issue
from sim.spec.units import DAYS_PER_YEAR

__all__ = ["KPI_DIRECTION", "READINGS", "combine", "compare", "cost_benefit", "derived_kpis",
           "pareto_front", "recorded_days", "replicates_needed"]

# +1: higher is better; -1: lower is better
KPI_DIRECTION: dict[str, int] = {
    "fill_rate": 1, "cycle_service_level": 1, "served_units": 1, "time_to_survive": 1,
    "lost_sales": -1, "shortage_units": -1, "backlog_unit_days": -1, "final_backlog": -1,
    "peak_shortage": -1, "mean_stock_units": -1, "mean_inventory_value": -1,
    "holding_cost_total": -1, "pipeline_holding_cost_total": -1, "mean_pipeline_value": -1,
    "mean_pipeline_units": -1, "mean_total_inventory_value": -1, "transport_cost_total": -1,
    "shortage_cost_total": -1,
    "premium_cost_total": -1, "reservation_cost_total": -1, "fixed_cost_total": -1,
    "public_cost_total": -1,
    "policy_cost_total": -1, "total_cost": -1, "operating_cost": -1, "co2e_kg": -1,
    "co2e_per_unit_served": -1, "time_to_recover": -1, "resilience_loss": -1,
    "recovery_censored": -1, "fell_short": -1,
    "inventory_turns": 1, "green_supply_share": 1, "max_region_supply_share": -1,
    "bullwhip_top": -1,
}
DEFAULT_KPIS = ("fill_rate", "lost_sales", "time_to_recover", "resilience_loss",
                "total_cost", "operating_cost", "policy_cost_total", "mean_inventory_value",
                "co2e_per_unit_served")


def derived_kpis(dataset: xr.Dataset) -> xr.Dataset:
    """Per-replicate KPIs computed from others, used by comparisons and the scorecard.

    ``operating_cost`` (total cost without shortage penalties: what the firm pays to run),
    ``inventory_turns`` (yearly units served over mean stock), ``green_supply_share`` (share of
    units shipped by green nodes), ``max_region_supply_share`` (largest share of the units
    shipped that leave one region: supply concentration) and ``bullwhip_top`` (the bullwhip
    ratio of the most upstream ordering tier).
    """
    if "policy" in dataset.dims:
        return xr.concat([derived_kpis(dataset.sel(policy=p)) for p in dataset.policy.values],
                         dim="policy")
    out = xr.Dataset(coords={"replicate": dataset.replicate})
    if {"total_cost", "shortage_cost_total"} <= set(dataset.data_vars):
        out["operating_cost"] = (dataset.total_cost - dataset.shortage_cost_total).assign_attrs(
            units="money", description="holding (on hand and in transit) + transport + policy "
            "cost (no penalties)", kpi=1)
    if {"served_units", "mean_stock_units"} <= set(dataset.data_vars):
        stock = dataset.mean_stock_units
        out["inventory_turns"] = (dataset.served_units * DAYS_PER_YEAR / recorded_days(dataset)
                                  / stock.where(stock > 0)).assign_attrs(
            units="1/year", description="yearly units served over mean stock", kpi=1)
    if "lane_flow" in dataset:
        dataset = dataset.dropna("lane", how="all", subset=["lane_flow"])  # lanes of others
        flow = dataset.lane_flow
        total = flow.sum("lane")
        source = dataset.lane_source.values
        if "node_green" in dataset.coords:
            green_nodes = set(dataset.node.values[dataset.node_green.values.astype(bool)])
            green = xr.DataArray([s in green_nodes for s in source], dims="lane")
            out["green_supply_share"] = (flow.where(green, 0.0).sum("lane") / total).where(
                total > 0).assign_attrs(units="1", description="share of units shipped by "
                                        "green nodes", kpi=1)
        region_of = dict(zip(dataset.node.values, dataset.node_region.values, strict=True))
        region_of = {node: region for node, region in region_of.items()
                     if isinstance(region, str)}
        regions = xr.DataArray([region_of[s] for s in source], dims="lane", name="source_region")
        by_region = flow.groupby(regions).sum("lane")
        out["max_region_supply_share"] = (by_region.max("source_region") / total).where(
            total > 0).assign_attrs(units="1", description="largest share of units shipped "
                                    "from one region", kpi=1)
    if "bullwhip" in dataset and dataset.sizes.get("tier", 0):
        out["bullwhip_top"] = dataset.bullwhip.isel(tier=-1, drop=True).assign_attrs(
            units="1", description="bullwhip ratio of the most upstream ordering tier", kpi=1)
    return out


def recorded_days(dataset: xr.Dataset) -> int:
    """Days recorded in a run (from its day axis, else its config)."""
    if "day" in dataset.sizes:
        return int(dataset.sizes["day"])
    config = dataset_config(dataset)
    return int(config.get("run", {}).get("days", DAYS_PER_YEAR))


def _signature(dataset: xr.Dataset) -> tuple:
    """What two runs must share to be compared pair by pair."""
    config = dataset_config(dataset)
    run = config.get("run", {})
    return (json.dumps(config.get("network"), sort_keys=True, default=str),
            json.dumps(config.get("disruptions"), sort_keys=True, default=str),
            run.get("days"), run.get("warmup_days"), dataset.attrs.get("seed"),
            tuple(int(r) for r in dataset.replicate.values))


def _with_baseline(runs: Any, baseline: str | None, where: str) -> tuple[xr.Dataset, str]:
    """The runs combined (checked for common random numbers) and the baseline, checked."""
    data = combine(runs)
    names = [str(p) for p in data.policy.values]
    baseline = baseline if baseline is not None else names[0]
    if baseline not in names:
        raise ConfigError(Issue(where, "baseline", baseline,
                                f"not one of the runs ({', '.join(names)})"))
    return data, baseline


def combine(runs: Mapping[str, xr.Dataset] | Sequence[xr.Dataset] | xr.Dataset
            ) -> xr.Dataset:
    """Per-replicate KPIs of several runs along a ``policy`` dimension (checked for CRN).

    Accepts a mapping ``{name: dataset}``, a sequence of datasets (named by their policy), or a
    dataset that already has a ``policy`` dimension.
    """
    if isinstance(runs, xr.Dataset):
        if "policy" not in runs.dims:
            raise ConfigError(Issue("compare", "runs", "one dataset",
                                    "needs a policy dimension, or several runs"))
        return xr.merge([_kpis(runs), derived_kpis(runs)], compat="override")
    named: dict[str, xr.Dataset] = {}
    if isinstance(runs, Mapping):
        named = {str(name): cast(xr.Dataset, ds) for name, ds in runs.items()}
    else:
        for i, ds in enumerate(runs):
            config = dataset_config(ds)
            name = str((config.get("policy") or {}).get("name", f"run{i}"))
            named[name if name not in named else f"{name}_{i}"] = ds
    runs = named
    if len(runs) < 2:
        raise ConfigError(Issue("compare", "runs", list(runs), "needs at least two runs"))
    signatures = {name: _signature(ds) for name, ds in runs.items()}
    first_name, first = next(iter(signatures.items()))
    labels = ("network", "disruptions", "days", "warm-up", "seed", "replicates")
    for name, signature in signatures.items():
        for label, a, b in zip(labels, first, signature, strict=True):
            if a != b:
                raise ConfigError(Issue("compare", name, label,
                                        f"differs from {first_name!r}: paired comparison needs "
                                        "the same network, disruptions, days, seed and "
                                        "replicates (common random numbers)"))
    parts = [xr.merge([_kpis(ds), derived_kpis(ds)], compat="override")
             for ds in runs.values()]
    combined = xr.concat(parts, dim=xr.DataArray(list(runs), dims="policy", name="policy"),
                         coords="minimal", compat="override", join="outer")
    combined.attrs = dict(next(iter(runs.values())).attrs)
    return combined


def _kpis(dataset: xr.Dataset) -> xr.Dataset:
    """The scalar per-replicate KPIs (with the policy dimension when there is one)."""
    return dataset[[n for n, v in dataset.data_vars.items()
                    if v.attrs.get("kpi") == 1 and set(v.dims) <= {"policy", "replicate"}]]


def replicates_needed(sd: np.ndarray | float, half_width: np.ndarray | float,
                      confidence: float = 0.95) -> np.ndarray:
    """Replicates for a t interval of the mean difference with the given half-width.

    Solves n = (t_{n-1} sd / h)^2 by fixed-point iteration from the normal quantile.
    """
    sd, h = np.asarray(sd, dtype=float), np.asarray(half_width, dtype=float)
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.maximum(2.0, np.ceil((z * sd / h) ** 2))
        for _ in range(20):
            n = np.maximum(2.0, np.ceil((stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / h) ** 2))
    return np.where(np.isfinite(n), n, np.nan)


def _bootstrap_interval(diff: np.ndarray, confidence: float, resamples: int,
                        rng: np.random.Generator) -> tuple[float, float]:
    if resamples == 0:  # asked for the t interval only
        return np.nan, np.nan
    if diff.size < 3 or np.ptp(diff) == 0:
        mean = float(diff.mean()) if diff.size else np.nan
        return mean, mean
    result = stats.bootstrap((diff,), np.mean, confidence_level=confidence,
                             n_resamples=resamples, method="BCa", random_state=rng)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def compare(runs: Mapping[str, xr.Dataset] | Sequence[xr.Dataset] | xr.Dataset,
            baseline: str | None = None, kpis: Sequence[str] | None = None, *,
            confidence: float = 0.95, resamples: int = 2000, relative_half_width: float = 0.01,
            random_state: int | np.random.Generator | None = 0) -> xr.Dataset:
    """Paired differences of KPIs between strategies and a baseline.

    Parameters
    ----------
    runs : mapping, sequence of datasets, or dataset with a ``policy`` dimension
        The runs; they must share network, disruptions, days, seed and replicates.
    baseline : str, optional
        The reference strategy (the first by default).
    kpis : sequence of str, optional
        Per-replicate KPIs to compare (those of :data:`DEFAULT_KPIS` present by default).
    confidence : float
        Level of both intervals.
    resamples : int
        Bootstrap resamples (BCa intervals, :func:`scipy.stats.bootstrap`; 0 skips them). The
        bootstrap interval needs replicates to reach its level (measured coverage of a 95 %
        interval: 91.5 % at 25 replicates, 93 % at 60, 95.5 % at 100); below about 100 read
        the t interval, which is exact for normal differences and robust beyond.
    relative_half_width : float
        Precision target for ``replicates_needed``: this fraction of the baseline mean.
    random_state : int or Generator, optional
        Seed of the bootstrap.

    Returns
    -------
    xarray.Dataset
        Dimensions ``policy`` (the other strategies) and ``kpi``; variables ``baseline_mean``,
        ``mean``, ``difference`` (strategy minus baseline), ``t_low``/``t_high``,
        ``bootstrap_low``/``bootstrap_high``, ``p_better`` (share of replicates where the
        strategy is better, ties half), ``significant`` (the t interval excludes 0),
        ``better`` (+1 better, -1 worse, 0 no clear difference), ``replicates_needed``.
    """
    data, baseline = _with_baseline(runs, baseline, "compare")
    names = [str(p) for p in data.policy.values]
    kpis = list(kpis) if kpis is not None else [k for k in DEFAULT_KPIS if k in data]
    unknown = [k for k in kpis if k not in data]
    if unknown:
        raise ConfigError(Issue("compare", "kpis", unknown[0], "not a per-replicate KPI of "
                                "these runs"))
    rng = np.random.default_rng(random_state)
    others = [n for n in names if n != baseline]
    shape = (len(others), len(kpis))
    fields = ("baseline_mean", "mean", "difference", "t_low", "t_high", "bootstrap_low",
              "bootstrap_high", "p_better", "replicates_needed", "n")
    out = {f: np.full(shape, np.nan) for f in fields}
    base = data.sel(policy=baseline)
    t_quantile = 0.5 + confidence / 2
    for i, other in enumerate(others):
        row = data.sel(policy=other)
        for j, kpi in enumerate(kpis):
            a, b = base[kpi].values.astype(float), row[kpi].values.astype(float)
            ok = np.isfinite(a) & np.isfinite(b)
            diff = b[ok] - a[ok]
            n = diff.size
            out["n"][i, j] = n
            if n == 0:
                continue
            out["baseline_mean"][i, j] = a[ok].mean()
            out["mean"][i, j] = b[ok].mean()
            mean = diff.mean()
            out["difference"][i, j] = mean
            sd = diff.std(ddof=1) if n > 1 else np.nan
            half = stats.t.ppf(t_quantile, n - 1) * sd / math.sqrt(n) if n > 1 else np.nan
            out["t_low"][i, j], out["t_high"][i, j] = mean - half, mean + half
            low, high = _bootstrap_interval(diff, confidence, resamples, rng)
            out["bootstrap_low"][i, j], out["bootstrap_high"][i, j] = low, high
            signed = KPI_DIRECTION.get(kpi, 1) * diff
            out["p_better"][i, j] = ((signed > 0).sum() + 0.5 * (signed == 0).sum()) / n
            target = relative_half_width * abs(out["baseline_mean"][i, j])
            out["replicates_needed"][i, j] = replicates_needed(sd, target, confidence) \
                if target > 0 and np.isfinite(sd) else np.nan
    result = xr.Dataset({f: (("policy", "kpi"), v) for f, v in out.items()},
                        coords={"policy": others, "kpi": kpis})
    significant = (result.t_low > 0) | (result.t_high < 0)
    direction = xr.DataArray([KPI_DIRECTION.get(k, 1) for k in kpis], dims="kpi")
    result["significant"] = significant
    result["better"] = (np.sign(result.difference) * direction).where(significant, 0).fillna(0)
    units = {k: data[k].attrs.get("units", "") for k in kpis}
    result = result.assign_coords(units=("kpi", [units[k] for k in kpis]))
    result.attrs.update(baseline=baseline, confidence=confidence, resamples=resamples,
                        relative_half_width=relative_half_width)
    return result


READINGS = ("per event", "per year")


def cost_benefit(runs: Mapping[str, xr.Dataset] | Sequence[xr.Dataset] | xr.Dataset,
                 baseline: str | None = None, *, confidence: float = 0.95) -> xr.Dataset:
    """What each strategy costs and saves against a baseline, a year and per event.

    Money is split with each replicate's undisrupted twin (the ``calm_*`` KPIs): what a
    strategy costs to run comes from the calm runs, what it does in a disruption from the
    difference between the run and its twin. Operating cost is total cost without shortage
    penalties (holding on hand and in transit, transport, the measures' own costs); loss is
    the shortage penalties.

    * ``running_cost_per_year``: added total cost of the calm twins, annualised (x 365 /
      recorded days): reservation fees, extra stock, dearer lanes, and the penalties of the
      shortfalls a strategy has even when nothing happens (a lean buffer's).
    * ``event_cost``: added operating cost per event occurrence (premiums, activations paid
      in the event); ``loss_avoided_per_event`` and ``lost_sales_avoided_per_event``: the fall
      in the event's penalties and lost units; ``net_benefit_per_event`` = loss avoided -
      event cost.
    * ``breakeven_events_per_year`` = running cost a year / net benefit per event: how often
      such an event must happen for the measure to pay (0: it pays without any; inf: never).
    * Per year over the run as simulated (every reading): ``added_cost_per_year``,
      ``loss_avoided_per_year``, ``net_saving_per_year`` with paired t intervals
      (``_low``/``_high``), and ``lost_sales_avoided_per_year``; ``added_cost``,
      ``loss_avoided``, ``net_benefit`` and ``lost_sales_avoided`` are the same over the
      recorded days.
    * ``roi`` = net saving / added cost where the strategy costs more and avoids loss;
      otherwise undefined, and ``roi_reading`` says why: ``dominates`` (no dearer, no worse),
      ``dominated`` (no cheaper, no better), ``cheaper, worse`` (saves operating cost and
      loses to shortages; ``net_saving_per_year`` says which weighs more).

    The ``reading`` attr says which numbers apply: ``per event`` when every replicate met the
    same scripted event(s) (the per-event columns and the break-even), ``per year`` under
    stochastic events or a risk register, or without a twin (the expected annual cost, loss
    and net saving with their intervals; the per-event columns are NaN).
    """
    data, baseline = _with_baseline(runs, baseline, "cost_benefit")
    days = recorded_days(data)
    year = DAYS_PER_YEAR / days
    operating = data.total_cost - data.shortage_cost_total
    base = data.sel(policy=baseline)
    paired = {
        "added_cost": operating - operating.sel(policy=baseline),
        "loss_avoided": base.shortage_cost_total - data.shortage_cost_total,
        "lost_sales_avoided": base.lost_sales - data.lost_sales,
    }
    paired["net_benefit"] = paired["loss_avoided"] - paired["added_cost"]
    out = xr.Dataset()
    for name, diff in paired.items():
        mean = diff.mean("replicate")
        out[name] = mean.assign_attrs(units="units" if "sales" in name else "money",
                                      description=f"mean over replicates, over the {days} "
                                      "recorded days")
        per_year = name.replace("net_benefit", "net_saving") + "_per_year"
        out[per_year] = (mean * year).assign_attrs(
            units="units/year" if "sales" in name else "money/year",
            description=f"annualised over the {days} recorded days")
        if "sales" not in name:
            low, high = _t_interval(diff * year, confidence)
            out[f"{per_year}_low"], out[f"{per_year}_high"] = low, high
    out = out.merge(_per_event(data, operating, baseline, year))
    out["roi"], out["roi_reading"] = _roi(out.added_cost, out.loss_avoided)
    mean = data.mean("replicate")
    for name in ("fill_rate", "co2e_per_unit_served"):
        out[name] = mean[name]
    out["operating_cost"] = operating.mean("replicate").assign_attrs(units="money")
    is_base = out.policy == baseline
    for key in list(out.data_vars):
        if key not in ("fill_rate", "co2e_per_unit_served", "operating_cost", "roi_reading"):
            out[key] = out[key].where(~is_base)
    out["roi_reading"] = out.roi_reading.where(~is_base, "baseline")
    out["pareto"] = pareto_front(out, {"operating_cost": -1, "fill_rate": 1,
                                       "co2e_per_unit_served": -1})
    out.attrs.update(baseline=baseline, reading=_reading(data, baseline), days=days,
                     confidence=confidence,
                     events_per_replicate=float(base.disruption_count.mean())
                     if "disruption_count" in base else 0.0)
    if out.attrs["reading"] == "per year":
        for name in PER_EVENT:
            out[name] = xr.full_like(out[name], np.nan)
    return out


PER_EVENT = ("running_cost_per_year", "event_cost", "loss_avoided_per_event",
             "lost_sales_avoided_per_event", "net_benefit_per_event",
             "breakeven_events_per_year")


def _per_event(data: xr.Dataset, operating: xr.DataArray, baseline: str,
               year: float) -> xr.Dataset:
    """Running cost a year from the calm twins, and what each event occurrence costs and saves."""
    nan = xr.full_like(operating.mean("replicate"), np.nan)
    if not {"calm_total_cost", "calm_shortage_cost_total"} <= set(data.data_vars):
        return xr.Dataset({name: nan for name in PER_EVENT})
    calm_operating = data.calm_total_cost - data.calm_shortage_cost_total
    events = data.disruption_count.sel(policy=baseline)
    event_operating = operating - calm_operating
    event_loss = data.shortage_cost_total - data.calm_shortage_cost_total
    event_lost = data.lost_sales - data.calm_lost_sales
    count = events.where(events > 0)

    def per_event(values: xr.DataArray) -> xr.DataArray:
        return (values / count).mean("replicate")

    calm_total = data.calm_total_cost  # normal-time shortfalls are part of running it
    running = (calm_total - calm_total.sel(policy=baseline)).mean("replicate") * year
    cost = per_event(event_operating - event_operating.sel(policy=baseline))
    avoided = per_event(event_loss.sel(policy=baseline) - event_loss)
    net = avoided - cost
    with np.errstate(divide="ignore", invalid="ignore"):
        breakeven = xr.where(running <= 0, xr.where(net >= 0, 0.0, np.inf),
                             xr.where(net > 0, running / net, np.inf))
    return xr.Dataset({
        "running_cost_per_year": running.assign_attrs(
            units="money/year", description="added total cost of the calm twins (operating "
            "cost and normal-time shortage penalties), a year"),
        "event_cost": cost.assign_attrs(units="money/event", description="added operating "
                                        "cost in the disruption, per event occurrence"),
        "loss_avoided_per_event": avoided.assign_attrs(units="money/event"),
        "lost_sales_avoided_per_event": per_event(
            event_lost.sel(policy=baseline) - event_lost).assign_attrs(units="units/event"),
        "net_benefit_per_event": net.assign_attrs(units="money/event"),
        "breakeven_events_per_year": breakeven.where(net.notnull()).assign_attrs(
            units="1/year", description="running cost a year / net benefit per event"),
    })


def _roi(added: xr.DataArray, avoided: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """ROI where it means something (dearer and better), else why not."""
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = ((avoided - added) / added).where((added > 0) & (avoided > 0))
    reading = xr.where((added > 0) & (avoided > 0), "ROI",
                       xr.where((added <= 0) & (avoided >= 0), "dominates",
                                xr.where((added >= 0) & (avoided <= 0), "dominated",
                                         "cheaper, worse")))
    return roi.assign_attrs(units="1"), reading


def _reading(data: xr.Dataset, baseline: str) -> str:
    """``per event`` when every replicate met the same scripted events, else ``per year``."""
    if "calm_total_cost" not in data or not np.isfinite(data.calm_total_cost.values).all():
        return "per year"
    config = dataset_config(data)
    specs = config.get("disruptions") or []
    muted = set((config.get("run") or {}).get("mute_disruptions") or ())
    active = [spec for i, spec in enumerate(specs) if i not in muted]
    scripted = bool(active) and all(
        isinstance(spec, Mapping) and spec.get("start_day") is not None
        and spec.get("kind") in SCRIPTED_KINDS for spec in active)
    counts = data.disruption_count.sel(policy=baseline).values
    same = counts.size > 0 and counts.min() == counts.max() and counts.min() >= 1
    return "per event" if scripted and same else "per year"


SCRIPTED_KINDS = ("node_outage", "lane_disruption", "demand_shock", "regional_event")


def _t_interval(diff: xr.DataArray, confidence: float) -> tuple[xr.DataArray, xr.DataArray]:
    n = diff.count("replicate")
    mean, sd = diff.mean("replicate"), diff.std("replicate", ddof=1)
    half = xr.apply_ufunc(lambda k: stats.t.ppf(0.5 + confidence / 2, np.maximum(k - 1, 1)),
                          n) * sd / np.sqrt(n)
    return (mean - half).assign_attrs(units="money/year"), (mean + half).assign_attrs(
        units="money/year")


def pareto_front(table: xr.Dataset, objectives: Mapping[str, int]) -> xr.DataArray:
    """True for the strategies that no other strategy beats on every objective.

    ``objectives`` maps a variable to +1 (maximise) or -1 (minimise); a strategy is dominated
    when another is at least as good on all of them and better on one.
    """
    values = np.stack([table[k].values * sign for k, sign in objectives.items()], axis=1)
    n = values.shape[0]
    front = np.ones(n, dtype=bool)
    for i in range(n):
        for j in range(n):
            if i != j and (values[j] >= values[i]).all() and (values[j] > values[i]).any():
                front[i] = False
                break
    return xr.DataArray(front, dims=table[next(iter(objectives))].dims,
                        coords=table[next(iter(objectives))].coords, name="pareto")
