"""Per-replicate KPIs computed from daily traces (the same code for both engines).

All sums run over the recorded days (after warm-up) and over the whole network unless the name
says otherwise. Definitions:

* ``fill_rate``: 1 - (units of demand not served on the day they arrived) / (units demanded).
* ``cycle_service_level``: share of (day, demand node) pairs with no shortage.
* ``lost_sales``: units lost; ``shortage_units``: units not served on arrival (lost or
  backordered); ``backlog_unit_days``: sum of end-of-day backorders; ``final_backlog``.
* ``mean_stock_units``: mean over days of finished plus input stock, all items summed;
  ``mean_inventory_value``: the same at unit values [money].
* ``holding_cost_total``, ``transport_cost_total``, ``shortage_cost_total``, ``total_cost``
  [money].
* ``co2e_kg`` and ``co2e_per_unit_served`` [kg CO2e, kg CO2e/unit].
* ``peak_shortage``: the largest network shortage of one day [units/day].
* ``node_fill_rate`` (replicate, node): fill rate of each node's end customers (NaN without).
"""

from __future__ import annotations

import numpy as np

from sim.layout import Layout
from sim.trace import Trace, Var

__all__ = ["KPI_VARS", "NODE_KPI_VARS", "replicate_kpis"]

STOCKOUT_TOLERANCE = 1e-9  # relative: a shortage below this share of a day's demand is rounding

KPI_VARS: dict[str, Var] = {
    "fill_rate": Var("1", "share of demand served on the day it arrived"),
    "cycle_service_level": Var("1", "share of (day, demand node) pairs without shortage"),
    "demand_units": Var("units", "end-customer demand"),
    "served_units": Var("units", "units served to end customers"),
    "lost_sales": Var("units", "end-customer demand lost"),
    "shortage_units": Var("units", "demand not served on the day it arrived"),
    "backlog_unit_days": Var("unit days", "sum over days of end-of-day backorders"),
    "final_backlog": Var("units", "backorders at the end of the run"),
    "peak_shortage": Var("units/day", "largest network shortage of one day"),
    "mean_stock_units": Var("units", "mean finished plus input stock, all items"),
    "mean_inventory_value": Var("money", "mean finished plus input stock at unit value"),
    "holding_cost_total": Var("money", "holding cost"),
    "transport_cost_total": Var("money", "freight"),
    "shortage_cost_total": Var("money", "shortage and backorder penalties"),
    "total_cost": Var("money", "holding + transport + shortage cost"),
    "co2e_kg": Var("kg CO2e", "production and transport emissions"),
    "co2e_per_unit_served": Var("kg CO2e/unit", "emissions per unit served to end customers"),
}
NODE_KPI_VARS: dict[str, Var] = {
    "node_fill_rate": Var("1", "fill rate of the node's end customers (NaN without any)"),
}


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def replicate_kpis(trace: Trace, layout: Layout) -> dict[str, np.ndarray]:
    """KPIs of each replicate of a trace.

    Parameters
    ----------
    trace : Trace
        Daily traces, shape (replicate, day, ...).
    layout : Layout
        The network's arrays (unit values, which nodes serve demand).

    Returns
    -------
    dict of str to ndarray
        Shape (replicate,) for :data:`KPI_VARS`, (replicate, node) for :data:`NODE_KPI_VARS`.
    """
    node, inputs = trace.node, trace.input["input_stock"]
    demand_rd = node["demand"].sum(axis=2)
    shortage_rd = node["shortage"].sum(axis=2)
    demand = demand_rd.sum(axis=1)
    shortage = shortage_rd.sum(axis=1)
    served = node["served"].sum(axis=(1, 2))

    serving = layout.mean_zone_demand > 0
    daily_demand = node["demand"][:, :, serving]
    stockout = node["shortage"][:, :, serving] > STOCKOUT_TOLERANCE * np.maximum(daily_demand, 1)
    pairs = stockout.shape[1] * stockout.shape[2]
    csl = 1.0 - stockout.sum(axis=(1, 2)) / pairs if pairs else np.full(len(demand), np.nan)

    value = (node["stock"] * layout.unit_value).sum(axis=2) + (inputs * layout.input_value).sum(
        axis=2)
    co2e = node["co2e"].sum(axis=(1, 2))
    costs = {f"{name}_total": node[name].sum(axis=(1, 2))
             for name in ("holding_cost", "transport_cost", "shortage_cost")}
    return {
        "fill_rate": 1.0 - _ratio(shortage, demand),
        "cycle_service_level": csl,
        "demand_units": demand,
        "served_units": served,
        "lost_sales": node["lost"].sum(axis=(1, 2)),
        "shortage_units": shortage,
        "backlog_unit_days": node["backlog"].sum(axis=(1, 2)),
        "final_backlog": node["backlog"][:, -1, :].sum(axis=1),
        "peak_shortage": shortage_rd.max(axis=1),
        "mean_stock_units": (node["stock"].sum(axis=2) + inputs.sum(axis=2)).mean(axis=1),
        "mean_inventory_value": value.mean(axis=1),
        **costs,
        "total_cost": (costs["holding_cost_total"] + costs["transport_cost_total"]
                       + costs["shortage_cost_total"]),
        "co2e_kg": co2e,
        "co2e_per_unit_served": _ratio(co2e, served),
        "node_fill_rate": 1.0 - _ratio(node["shortage"].sum(axis=1), node["demand"].sum(axis=1)),
    }
