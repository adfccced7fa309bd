"""Resilience, service, inventory, cost, footprint and tail-risk metrics from a dataset alone.

Every function takes a dataset written by :func:`sim.simulate` (never re-simulating) and returns
an :class:`xarray.Dataset` or DataArray with named dimensions. Metrics ``by`` a grouping come
per ``"node"``, ``"region"``, ``"cluster"`` or for the whole ``"network"``; those built from
daily series per replicate need ``record="full"`` (the network-wide ones also exist as KPIs in
every recording mode), and say so when they are not there.

* :func:`service`: fill rate, cycle service level, lost sales, backorders, peak shortage;
* :func:`resilience`: time to survive, time to recover and resilience loss per group, against
  the undisrupted twin (:mod:`sim.measures.resilience`);
* :func:`inventory`: mean stock, days of cover and turns;
* :func:`costs`: cost by kind (holding, pipeline holding, shortage, transport, premium,
  reservation, fixed);
* :func:`footprint`: cradle-to-gate CO2e per delivered unit of each product, along the flows
  that actually happened (the guide's measure 14);
* :func:`bullwhip`: order variance amplification per tier;
* :func:`tail_risk` and :func:`cvar`: percentiles and conditional value at risk over replicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import xarray as xr

from sim.measures.counterfactual import measure
from sim.measures.resilience import DEFAULT_HOLD_DAYS, DEFAULT_TOLERANCE, RecoveryRule
from sim.spec.errors import ConfigError, Issue
from sim.spec.units import DAYS_PER_YEAR, STOCKOUT_TOLERANCE

__all__ = ["GROUPINGS", "bullwhip", "costs", "cvar", "disruption_start", "footprint",
           "inventory", "resilience", "service", "service_by", "tail_risk"]

GROUPINGS = ("network", "node", "region", "cluster")
COST_KINDS = {  # cost kind -> KPI
    "holding": "holding_cost_total",
    "pipeline_holding": "pipeline_holding_cost_total",
    "shortage": "shortage_cost_total",
    "transport": "transport_cost_total",
    "premium": "premium_cost_total",
    "reservation": "reservation_cost_total",
    "fixed": "fixed_cost_total",
}


def _need(dataset: xr.Dataset, names: Sequence[str], what: str) -> None:
    missing = [n for n in names if n not in dataset or "replicate" not in dataset[n].dims]
    if missing:
        raise ConfigError(Issue("metrics", what, dataset.attrs.get("record", "?"),
                                f"needs daily {', '.join(missing)} per replicate: run with "
                                f"record='full'"))


def _grouped(variable: xr.DataArray, by: str) -> xr.DataArray:
    """Sum a (..., node) variable into the groups of ``by``."""
    if by not in GROUPINGS:
        raise ConfigError(Issue("metrics", "by", by, f"must be one of {', '.join(GROUPINGS)}"))
    if by == "network":
        return variable.sum("node")
    if by == "node":
        return variable
    return variable.groupby(variable[f"node_{by}"].rename(by)).sum("node")


def service(dataset: xr.Dataset, by: str = "node") -> xr.Dataset:
    """Service of end customers per replicate and group.

    Returns fill rate (share served on arrival), cycle service level (share of days without
    shortage), lost sales, backorder unit-days and peak one-day shortage; groups without demand
    give NaN rates.
    """
    _need(dataset, ("demand", "shortage", "lost", "backlog"), "service")
    demand = _grouped(dataset.demand, by)
    shortage = _grouped(dataset.shortage, by)
    total = demand.sum("day")
    days_with_demand = (demand > 0).sum("day")
    short_days = (shortage > STOCKOUT_TOLERANCE * np.maximum(demand, 1.0)).sum("day")
    return xr.Dataset({
        "fill_rate": (1 - shortage.sum("day") / total).where(total > 0),
        "cycle_service_level": (1 - short_days / days_with_demand).where(days_with_demand > 0),
        "lost_sales": _grouped(dataset.lost, by).sum("day"),
        "backlog_unit_days": _grouped(dataset.backlog, by).sum("day"),
        "peak_shortage": shortage.max("day"),
    })


def service_by(dataset: xr.Dataset, by: str = "region") -> xr.Dataset:
    """Fill rate, demand and shortage per replicate and group, from the per-node KPIs.

    Works in every recording mode (the KPIs are always kept): ``fill_rate`` of a group is
    1 - its shortage over its demand (NaN for a group without end customers).
    """
    for name in ("node_demand", "node_shortage"):
        if name not in dataset:
            raise ConfigError(Issue("metrics", "service_by", name,
                                    "missing from the dataset (written by an older version?)"))
    demand = _grouped(dataset.node_demand, by)
    shortage = _grouped(dataset.node_shortage, by)
    return xr.Dataset({
        "fill_rate": (1 - shortage / demand).where(demand > 0).assign_attrs(units="1"),
        "demand": demand.assign_attrs(units="units"),
        "shortage": shortage.assign_attrs(units="units"),
    })


def disruption_start(dataset: xr.Dataset) -> xr.DataArray:
    """Per replicate, the recorded day its first event acting on recorded days starts (-1: none).

    From the dataset's event log; events already running at day 0 count from day 0.
    """
    start = np.full(dataset.sizes["replicate"], -1, dtype=np.int64)
    if "event_start" in dataset:
        position = {int(r): i for i, r in enumerate(dataset.replicate.values)}
        days = dataset.sizes.get("day", np.iinfo(np.int64).max)
        acting = (dataset.event_end + dataset.event_ramp_days > 0) & (dataset.event_start < days)
        for replicate, day in zip(dataset.event_replicate.values[acting.values],
                                  np.maximum(dataset.event_start.values[acting.values], 0),
                                  strict=True):
            i = position.get(int(replicate))
            if i is not None and (start[i] < 0 or day < start[i]):
                start[i] = day
    return xr.DataArray(start, dims="replicate", coords={"replicate": dataset.replicate})


def resilience(dataset: xr.Dataset, by: str = "network", *, twin: xr.Dataset | None = None,
               tolerance: float = DEFAULT_TOLERANCE,
               hold_days: int = DEFAULT_HOLD_DAYS) -> xr.Dataset:
    """Time to survive, time to recover and resilience loss per replicate and group.

    Each group's daily service is read against the same group in the undisrupted twin
    (:mod:`sim.measures.resilience`), for every event occurrence of the event log: TTS, TTR and
    censoring of each replicate's first occurrence, loss over all of them.

    Parameters
    ----------
    dataset : xarray.Dataset
        A run with ``record="full"`` and its event log.
    by : {"network", "node", "region", "cluster"}
        Grouping of the demand nodes.
    twin : xarray.Dataset
        The same run with every disruption muted (``record="full"``):
        :func:`sim.calm_twin` runs it from the dataset's attrs (this module only reads).
    tolerance, hold_days
        See :class:`sim.measures.resilience.RecoveryRule`.

    Returns
    -------
    xarray.Dataset
        ``time_to_survive``, ``time_to_recover`` [days], ``recovery_censored`` [1] and
        ``resilience_loss`` [units], NaN for replicates without events.
    """
    _need(dataset, ("demand", "shortage"), "resilience")
    if twin is None:
        raise ConfigError(Issue("resilience", "twin", None, "needs the run's undisrupted twin "
                                "(metrics never simulate): pass twin=sim.calm_twin(dataset)"))
    _need(twin, ("demand", "shortage"), "resilience (its twin)")
    rule = RecoveryRule(tolerance=tolerance, hold_days=hold_days)
    events = _event_table(dataset)
    series = {}
    for name, data in (("run", dataset), ("twin", twin)):
        demand = _grouped(data.demand, by).transpose(..., "replicate", "day")
        served = demand - _grouped(data.shortage, by).transpose(..., "replicate", "day")
        series[name] = (demand, served)
    demand = series["run"][0]
    groups = demand.dims[:-2]
    flat = int(np.prod([demand.sizes[d] for d in groups])) if groups else 1
    shape = (flat, demand.sizes["replicate"], demand.sizes["day"])
    results: dict[str, list[np.ndarray]] = {}
    for g in range(flat):
        run = tuple(a.values.reshape(shape)[g] for a in series["run"])
        calm = tuple(a.values.reshape(shape)[g] for a in series["twin"])
        per_replicate, _ = measure(run, calm, events, 0, rule)
        for key, values in per_replicate.items():
            results.setdefault(key, []).append(values)
    dims = (*groups, "replicate")
    coords = {name: coord for name, coord in demand.isel(day=0, drop=True).coords.items()}
    units = {"time_to_survive": "days", "time_to_recover": "days", "recovery_censored": "1",
             "resilience_loss": "units"}
    out = xr.Dataset({key: (dims, np.stack(results[key]).reshape(
        *[demand.sizes[d] for d in groups], -1), {"units": unit, "tolerance": tolerance,
                                                  "hold_days": hold_days})
        for key, unit in units.items()}, coords=coords)
    has_demand = demand.sum("day") > 0
    return out.where(has_demand).transpose("replicate", ...)


def _event_table(dataset: xr.Dataset) -> np.ndarray:
    """The dataset's event log, as :func:`~sim.measures.counterfactual.occurrences` reads it."""
    table = np.zeros(dataset.sizes.get("event", 0),
                     dtype=[("replicate", np.int64), ("cause", np.int64), ("start", np.int64),
                            ("end", np.int64), ("ramp_days", np.int64)])
    if "event_start" not in dataset:
        return table
    position = {int(r): i for i, r in enumerate(dataset.replicate.values)}
    table["replicate"] = [position.get(int(r), -1) for r in dataset.event_replicate.values]
    table["cause"] = dataset.event_cause.values
    table["start"] = dataset.event_start.values
    table["end"] = dataset.event_end.values
    table["ramp_days"] = dataset.event_ramp_days.values
    return table[table["replicate"] >= 0]


def inventory(dataset: xr.Dataset, by: str = "node") -> xr.Dataset:
    """Mean finished stock, days of cover and turns per group (per replicate when recorded).

    Days of cover: mean stock over mean daily outflow (units served plus shipped); turns: yearly
    outflow over mean stock (365 days a year). Works on full runs (per replicate) and on
    summary runs (from the daily means over replicates).
    """
    if "stock" not in dataset:
        raise ConfigError(Issue("metrics", "inventory", dataset.attrs.get("record", "?"),
                                "needs daily stock: run with record='full' or 'summary'"))
    stock = _grouped(dataset.stock, by).mean("day")
    outflow = _grouped(dataset.served + dataset.shipped, by).mean("day")
    value = _grouped(dataset.stock * dataset.node_unit_value, by).mean("day")
    return xr.Dataset({
        "mean_stock": stock.assign_attrs(units="units"),
        "mean_stock_value": value.assign_attrs(units="money"),
        "days_of_cover": (stock / outflow).where(outflow > 0).assign_attrs(units="days"),
        "turns": (DAYS_PER_YEAR * outflow / stock).where(stock > 0).assign_attrs(units="1/year"),
    })


def costs(dataset: xr.Dataset) -> xr.DataArray:
    """Per-replicate cost by kind: (replicate, cost_kind) [money]."""
    parts = [dataset[kpi] for kpi in COST_KINDS.values()]
    return xr.concat(parts, dim=xr.DataArray(list(COST_KINDS), dims="cost_kind",
                                             name="cost_kind")).rename("cost").assign_attrs(
        units="money", description="cost over the recorded days, by kind")


def footprint(dataset: xr.Dataset) -> xr.DataArray:
    """Cradle-to-gate CO2e per unit delivered to end customers, by product and replicate.

    Along the flows that happened: a node's unit carries its own production emissions plus,
    for each input, the BOM quantity times the flow-weighted mean footprint of the units that
    arrived over that input's lanes (source footprint plus the lane's transport emissions).
    Lanes with no flow in a replicate are weighted equally. A product's footprint is the mean
    over the nodes serving end customers with it, weighted by units served.

    Returns
    -------
    xarray.DataArray
        (replicate, product) [kg CO2e per unit].
    """
    for name in ("lane_flow", "node_served"):
        if name not in dataset:
            raise ConfigError(Issue("metrics", "footprint", name,
                                    "missing from the dataset (written by an older version?)"))
    nodes = [str(n) for n in dataset.node.values]
    index = {n: i for i, n in enumerate(nodes)}
    source = [index[str(s)] for s in dataset.lane_source.values]
    target = [index[str(t)] for t in dataset.lane_target.values]
    item_of = [str(i) for i in dataset.node_item.values]
    bom = {(str(n), str(i)): float(b) for n, i, b in zip(
        dataset.input_node.values, dataset.input_item.values, dataset.input_bom.values,
        strict=True)}
    flow = dataset.lane_flow.transpose("replicate", "lane").values
    lane_co2e = dataset.lane_co2e_kg_per_unit.values
    per_unit = np.repeat(dataset.node_co2e_kg_per_unit.values[None, :], flow.shape[0], axis=0)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(nodes)))
    graph.add_edges_from(zip(source, target, strict=True))
    inputs_of: dict[int, dict[str, list[int]]] = {}  # node -> input item -> its lanes
    for j, (s, t) in enumerate(zip(source, target, strict=True)):
        inputs_of.setdefault(t, {}).setdefault(item_of[s], []).append(j)
    for node in nx.topological_sort(graph):
        for item, lanes in inputs_of.get(node, {}).items():
            weights = flow[:, lanes]
            total = weights.sum(axis=1, keepdims=True)
            weights = np.where(total > 0, weights / np.where(total > 0, total, 1.0),
                               1.0 / len(lanes))
            arriving = per_unit[:, [source[j] for j in lanes]] + lane_co2e[lanes]
            per_unit[:, node] += bom[(nodes[node], item)] * (weights * arriving).sum(axis=1)
    served = dataset.node_served.transpose("replicate", "node").values
    products = sorted({item_of[i] for i in range(len(nodes)) if served[:, i].sum() > 0})
    out = np.full((flow.shape[0], len(products)), np.nan)
    for p, product in enumerate(products):
        columns = [i for i in range(len(nodes)) if item_of[i] == product]
        weight = served[:, columns]
        total = weight.sum(axis=1)
        out[:, p] = np.where(total > 0, (weight * per_unit[:, columns]).sum(axis=1)
                             / np.where(total > 0, total, 1.0), np.nan)
    return xr.DataArray(out, dims=("replicate", "product"),
                        coords={"replicate": dataset.replicate, "product": products},
                        name="co2e_per_delivered_unit",
                        attrs={"units": "kg CO2e/unit",
                               "description": "cradle-to-gate footprint along actual flows"})


def bullwhip(dataset: xr.Dataset) -> xr.DataArray:
    """Per replicate and ordering tier: Var(orders placed) / Var(end demand) (a KPI)."""
    return dataset.bullwhip


def cvar(values: np.ndarray | xr.DataArray, level: float = 0.95, dim: str = "replicate"
         ) -> Any:
    """Conditional value at risk: the mean of the worst ``1 - level`` share of outcomes.

    Outcomes are losses (larger is worse). With n values, the tail holds the largest
    ``ceil(n (1 - level))`` of them (the empirical CVaR, Rockafellar & Uryasev 2002).
    """
    if isinstance(values, xr.DataArray):
        return xr.apply_ufunc(lambda v: cvar(v, level), values, input_core_dims=[[dim]],
                              vectorize=True)
    data = np.sort(np.asarray(values, dtype=float)[np.isfinite(values)])
    if data.size == 0:
        return np.nan
    tail = max(1, int(np.ceil(data.size * (1 - level) - 1e-9)))
    return float(data[-tail:].mean())


def tail_risk(dataset: xr.Dataset, kpis: Sequence[str] = ("lost_sales", "total_cost"),
              level: float = 0.95,
              quantiles: Sequence[float] = (0.5, 0.9, 0.95, 0.99)) -> xr.Dataset:
    """Percentiles, value at risk and CVaR of per-replicate KPIs (losses: larger is worse)."""
    out = {}
    for name in kpis:
        values = dataset[name]
        out[f"{name}_quantile"] = values.quantile(list(quantiles), dim="replicate")
        out[f"{name}_var"] = values.quantile(level, dim="replicate").drop_vars("quantile")
        out[f"{name}_cvar"] = cvar(values, level)
    result = xr.Dataset(out)
    result.attrs["level"] = level
    return result
