"""Results as one :class:`xarray.Dataset` with named dimensions (the schema of ``docs/design.md``).

Dimensions: ``replicate``, ``day`` (recorded days, 0 = first day after warm-up), ``node``,
``lane``, ``input`` (a (node, input item) pair) and, in summary mode, ``quantile``. Coordinates
describe each node (kind, item, tier, region, cluster), lane (source, target, carrier, mode, lead
time) and input. Per-replicate KPIs are those of :mod:`sim.measures.kpis`; the daily variables of
:mod:`sim.measures.trace` appear per replicate (``record="full"``) or as their mean and ``_sd`` over
replicates (``record="summary"``), with network series and their quantiles
(:mod:`sim.engines.recording`). Every variable carries ``units`` and ``description`` attributes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sim.compile.effects import KINDS, RAMP_EXPONENTIAL
from sim.compile.layout import Layout
from sim.engines.recording import QUANTILES, ChunkRecord
from sim.io.atomic import write_atomically, write_text_atomic
from sim.measures.kpis import (
    CALM_VARS,
    KPI_ARRAYS,
    KPI_VARS,
    NETWORK_SERIES,
    RESILIENCE_VARS,
    order_tiers,
)
from sim.measures.trace import INPUT_VARS, LANE_VARS, NODE_VARS, Var

__all__ = ["coordinates", "event_log", "save_dataset", "save_figure_atomic", "to_dataset",
           "write_text_atomic"]


def coordinates(layout: Layout) -> dict[str, tuple[str, object]]:
    """Coordinates of the node, lane and input dimensions."""
    network = layout.network
    nodes, lanes = network.nodes, network.lanes
    item_of = {node.id: node.item for node in nodes}
    return {
        "node": ("node", list(layout.node_ids)),
        "node_kind": ("node", [node.kind for node in nodes]),
        "node_item": ("node", [node.item for node in nodes]),
        "node_tier": ("node", layout.tier.astype(np.int64)),
        "node_region": ("node", [node.region for node in nodes]),
        "node_cluster": ("node", [node.cluster for node in nodes]),
        "node_unit_value": ("node", layout.unit_value.astype(float)),
        "node_green": ("node", np.array([node.green for node in nodes], dtype=bool)),
        "node_co2e_kg_per_unit": ("node", layout.production_co2e.astype(float)),
        "lane": ("lane", list(layout.lane_ids)),
        "lane_source": ("lane", [lane.source for lane in lanes]),
        "lane_target": ("lane", [lane.target for lane in lanes]),
        "lane_item": ("lane", [item_of[lane.source] for lane in lanes]),
        "lane_carrier": ("lane", [lane.carrier for lane in lanes]),
        "lane_mode": ("lane", [lane.mode for lane in lanes]),
        "lane_lead_time_days": ("lane", layout.lane_lead.astype(np.int64)),
        "lane_role": ("lane", [lane.role for lane in lanes]),
        "lane_co2e_kg_per_unit": ("lane", layout.lane_co2e.astype(float)),
        "input": ("input", list(layout.input_ids)),
        "input_node": ("input", [layout.node_ids[n] for n in layout.input_node]),
        "input_item": ("input", list(layout.input_item)),
        "input_bom": ("input", layout.input_bom.astype(float)),
        "tier": ("tier", order_tiers(layout)),
    }


def _var(dims: tuple[str, ...], data: np.ndarray, var: Var, **extra: object) -> xr.Variable:
    return xr.Variable(dims, data, attrs={"units": var.units, "description": var.description,
                                          **extra})


def to_dataset(layout: Layout, record: ChunkRecord, *, days: int, mode: str,
               warmup_days: int = 0, causes: tuple[str, ...] = ()) -> xr.Dataset:
    """Assemble what the engines recorded into a dataset.

    Parameters
    ----------
    layout : Layout
        The network's arrays.
    record : ChunkRecord
        The merged record of all replicates (:func:`sim.engines.runner.run_plan`).
    days : int
        Number of recorded days.
    mode : {"summary", "full", "kpis"}
        The recording mode (:mod:`sim.engines.recording`).
    warmup_days : int
        Warm-up of the run (event days are given in recorded days).
    causes : tuple of str
        Kind of each disruption spec of the run, for the event log.
    """
    data_vars: dict[str, xr.Variable] = {}
    for name, var in {**KPI_VARS, **RESILIENCE_VARS, **CALM_VARS}.items():
        data_vars[name] = _var(("replicate",), record.kpis[name], var, kpi=1)
    for name, (var, dim) in KPI_ARRAYS.items():
        data_vars[name] = _var(("replicate", dim), record.kpis[name], var, kpi=1)
    coords = coordinates(layout)
    coords["replicate"] = ("replicate", np.asarray(record.replicates, dtype=np.int64))
    if mode == "full":
        trace = record.trace
        for group, variables, dim in (("node", NODE_VARS, "node"), ("lane", LANE_VARS, "lane"),
                                      ("input", INPUT_VARS, "input")):
            for name, var in variables.items():
                data_vars[name] = _var(("replicate", "day", dim), getattr(trace, group)[name], var)
        assert record.series is not None  # full recording keeps the series
        for name, var in NETWORK_SERIES.items():
            data_vars[name] = _var(("replicate", "day"), record.series[name], var)
    elif mode == "summary":
        assert record.summary is not None  # summary recording keeps the moments
        node_stats, network_stats = record.summary.statistics()
        for name, (mean, sd) in node_stats.items():
            var = {**NODE_VARS, **INPUT_VARS}[name]
            dim = "input" if name in INPUT_VARS else "node"
            data_vars[name] = _var(("day", dim), mean, var, statistic="mean over replicates")
            data_vars[f"{name}_sd"] = _var(("day", dim), sd, var,
                                           statistic="standard deviation over replicates")
        kept = int(record.summary.kept_ids.size)
        for name, (quantiles, mean) in network_stats.items():
            var = NETWORK_SERIES[name]
            data_vars[name] = _var(("quantile", "day"), quantiles, var,
                                   statistic=f"quantiles over the first {kept} replicates")
            data_vars[f"{name}_mean"] = _var(("day",), mean, var,
                                             statistic="mean over all replicates")
        coords["quantile"] = ("quantile", np.asarray(QUANTILES))
    if mode != "kpis":
        coords["day"] = ("day", np.arange(days, dtype=np.int64))
    dataset = xr.Dataset(data_vars, coords=coords)
    if record.events is not None:
        dataset = dataset.merge(event_log(layout, record.events, warmup_days, causes,
                                          record.event_values))
    return dataset


EVENT_KIND_NAMES = {code: name for name, code in KINDS.items()}
EVENT_VARS = {
    **{name: RESILIENCE_VARS[name] for name in ("time_to_survive", "time_to_recover",
                                                  "recovery_censored")},
    "short": Var("1", "1 when service fell more than the tolerance below the undisrupted twin"),
    "resilience_loss": Var("units", "units the undisrupted twin served and the run did not, "
                           "from the event's start until recovery"),
}


def event_log(layout: Layout, events: np.ndarray, warmup_days: int,
              causes: tuple[str, ...] = (), values: dict[str, np.ndarray] | None = None
              ) -> xr.Dataset:
    """The events of a run as variables along an ``event`` dimension.

    Days are recorded days (negative: during the warm-up). ``event_cause`` numbers the
    disruption spec that made the event, in the order of the run's config; ``event_cause_kind``
    names its kind. ``values`` adds each event's resilience against the undisrupted twin
    (:mod:`sim.measures.counterfactual`) as ``event_<name>``: the values of its occurrence (the
    events of one replicate, cause and start day), NaN for events that do not act on recorded days.
    """
    kind = [EVENT_KIND_NAMES[int(k)] for k in events["kind"]]
    names = {"node_capacity": layout.node_ids, "lane_capacity": layout.lane_ids,
             "lane_lead": layout.lane_ids, "demand": layout.zone_ids}
    target = [names[k][int(t)] for k, t in zip(kind, events["target"], strict=True)]
    cause = events["cause"].astype(np.int64)
    variables = {
        "event_replicate": (events["replicate"].astype(np.int64), "1",
                            "replicate the event happens in"),
        "event_kind": (np.array(kind, dtype=object), "1",
                       "what it acts on: node_capacity, lane_capacity, lane_lead or demand"),
        "event_target": (np.array(target, dtype=object), "1", "node, lane or zone id"),
        "event_start": (events["start"] - warmup_days, "day", "first day (recorded days)"),
        "event_end": (events["end"] - warmup_days, "day", "first day after the full-strength "
                      "window; the ramp follows"),
        "event_ramp_days": (events["ramp_days"].astype(np.int64), "days", "recovery ramp"),
        "event_ramp": (np.where(events["ramp_kind"] == RAMP_EXPONENTIAL, "exponential",
                                "linear").astype(object), "1", "ramp shape"),
        "event_severity": (events["severity"].astype(float), "1",
                           "capacity lost, or lead-time or demand multiplier, by kind"),
        "event_cause": (cause, "1", "index of the disruption spec in the run's config"),
        "event_cause_kind": (np.array([causes[c] if c < len(causes) else "" for c in cause],
                                      dtype=object), "1", "kind of that disruption spec"),
    }
    for name, array in (values or {}).items():
        var = EVENT_VARS[name]
        variables[f"event_{name}"] = (array, var.units, var.description)
    return xr.Dataset({name: xr.Variable(("event",), data,
                                         attrs={"units": units, "description": text})
                       for name, (data, units, text) in variables.items()})


def save_dataset(dataset: xr.Dataset, path: str | Path) -> Path:
    """Write a dataset to NetCDF atomically (a temporary file, then a rename).

    Returns
    -------
    Path
        The written file.
    """
    encoding = {name: {"zlib": True, "complevel": 4} for name, var in dataset.data_vars.items()
                if var.dtype.kind == "f"}
    return write_atomically(path, lambda partial: dataset.to_netcdf(
        partial, engine="h5netcdf", encoding=encoding))


def save_figure_atomic(figure: Any, path: str | Path, **options: Any) -> Path:
    """Save a matplotlib figure atomically (a temporary file beside it, then a rename)."""
    form = Path(path).suffix.lstrip(".") or "png"  # the partial file's suffix says nothing
    return write_atomically(path, lambda partial: figure.savefig(partial, format=form,
                                                                  **options))
