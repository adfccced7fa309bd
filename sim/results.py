"""Results as one :class:`xarray.Dataset` with named dimensions (the schema of ``DESIGN.md``).

Dimensions: ``replicate``, ``day`` (recorded days, 0 = first day after warm-up), ``node``,
``lane``, ``input`` (a (node, input item) pair). Coordinates describe each node (kind, item, tier,
region, cluster), lane (source, target, carrier, mode, lead time) and input. Daily variables are
those of :mod:`sim.trace`; per-replicate KPIs those of :mod:`sim.kpis`. Every variable carries
``units`` and ``description`` attributes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from sim.kpis import KPI_VARS, NODE_KPI_VARS
from sim.layout import Layout
from sim.trace import INPUT_VARS, LANE_VARS, NODE_VARS, Trace

__all__ = ["coordinates", "save_dataset", "to_dataset"]


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
        "lane": ("lane", list(layout.lane_ids)),
        "lane_source": ("lane", [lane.source for lane in lanes]),
        "lane_target": ("lane", [lane.target for lane in lanes]),
        "lane_item": ("lane", [item_of[lane.source] for lane in lanes]),
        "lane_carrier": ("lane", [lane.carrier for lane in lanes]),
        "lane_mode": ("lane", [lane.mode for lane in lanes]),
        "lane_lead_time_days": ("lane", layout.lane_lead.astype(np.int64)),
        "input": ("input", list(layout.input_ids)),
        "input_node": ("input", [layout.node_ids[n] for n in layout.input_node]),
        "input_item": ("input", list(layout.input_item)),
    }


def to_dataset(layout: Layout, trace: Trace | None, kpis: dict[str, np.ndarray],
               replicates: np.ndarray, *, days: int) -> xr.Dataset:
    """Assemble traces and KPIs into a dataset.

    Parameters
    ----------
    layout : Layout
        The network's arrays.
    trace : Trace or None
        Daily traces, shape (replicate, day, ...); ``None`` keeps only the KPIs.
    kpis : dict of str to ndarray
        Output of :func:`sim.kpis.replicate_kpis`.
    replicates : ndarray
        Replicate numbers.
    days : int
        Number of recorded days.
    """
    data_vars: dict[str, xr.Variable] = {}
    if trace is not None:
        for group, variables, dim in (("node", NODE_VARS, "node"), ("lane", LANE_VARS, "lane"),
                                      ("input", INPUT_VARS, "input")):
            for name, var in variables.items():
                data_vars[name] = xr.Variable(("replicate", "day", dim),
                                              getattr(trace, group)[name],
                                              attrs={"units": var.units,
                                                     "description": var.description})
    for name, var in KPI_VARS.items():
        data_vars[name] = xr.Variable(("replicate",), kpis[name],
                                      attrs={"units": var.units, "description": var.description,
                                             "kpi": 1})
    for name, var in NODE_KPI_VARS.items():
        data_vars[name] = xr.Variable(("replicate", "node"), kpis[name],
                                      attrs={"units": var.units, "description": var.description,
                                             "kpi": 1})
    coords = coordinates(layout)
    coords["replicate"] = ("replicate", np.asarray(replicates, dtype=np.int64))
    coords["day"] = ("day", np.arange(days, dtype=np.int64))
    return xr.Dataset(data_vars, coords=coords)


def save_dataset(dataset: xr.Dataset, path: str | Path) -> Path:
    """Write a dataset to NetCDF atomically (a temporary file, then a rename).

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    encoding = {name: {"zlib": True, "complevel": 4} for name, var in dataset.data_vars.items()
                if var.dtype.kind == "f"}
    dataset.to_netcdf(partial, engine="h5netcdf", encoding=encoding)
    partial.replace(path)
    return path
