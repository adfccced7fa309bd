"""Per-replicate KPIs, accumulated day by day (the same code for both engines).

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

from sim.grouping import row_sums
from sim.layout import Layout
from sim.trace import NODE, DayBlock, Trace, Var

__all__ = ["KPI_VARS", "NETWORK_SERIES", "NODE_KPI_VARS", "KpiAccumulator", "NodeTotals",
           "network_series", "replicate_kpis"]

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
    "policy_cost_total": Var("money", "fees, premiums, transfers and reserves of the policy"),
    "total_cost": Var("money", "holding + transport + shortage + policy cost"),
    "co2e_kg": Var("kg CO2e", "production and transport emissions"),
    "co2e_per_unit_served": Var("kg CO2e/unit", "emissions per unit served to end customers"),
    "transferred_units": Var("units", "units moved between pooling peers"),
    "reserve_released_units": Var("units", "emergency reserve released"),
    "backup_units": Var("units", "units shipped over backup lanes"),
    "expedited_units": Var("units", "units shipped over expedite lanes"),
}
NODE_KPI_VARS: dict[str, Var] = {
    "node_fill_rate": Var("1", "fill rate of the node's end customers (NaN without any)"),
}


NETWORK_SERIES: dict[str, Var] = {
    "network_service_level": Var("1", "share of the day's demand served that day, whole network"),
    "network_shortage": Var("units/day", "demand not served on the day, whole network"),
    "network_backlog": Var("units", "end-customer backorders at day end, whole network"),
    "network_stock": Var("units", "finished plus input stock at day end, whole network"),
    "network_cost": Var("money/day", "holding + transport + shortage cost, whole network"),
}


class NodeTotals:
    """Per-replicate sums over nodes (and inputs) of a day block, in a fixed order.

    Sparse products (:mod:`sim.grouping`) add nodes in index order whatever the number of
    replicates, so the KPIs of a replicate are the same bits in any chunk and in both engines.
    """

    def __init__(self, layout: Layout) -> None:
        n, k = layout.n_nodes, layout.n_inputs
        self.by_variable = row_sums(len(NODE), n)  # (variable, variable x node)
        self.nodes_row = row_sums(1, n)
        self.inputs = row_sums(1, k)
        self.stock_value = row_sums(1, n, layout.unit_value)
        self.input_value = row_sums(1, k, layout.input_value)

    def nodes(self, block: DayBlock) -> np.ndarray:
        """Every node variable summed over nodes: (variable, replicate)."""
        values = block.nodes.reshape(-1, block.nodes.shape[-1])
        return self.by_variable @ values


def network_series(block: DayBlock, totals: np.ndarray,
                   node_totals: NodeTotals) -> dict[str, np.ndarray]:
    """Network totals of one day, per replicate (shape (replicate,)).

    ``totals`` is ``node_totals.nodes(block)``: every node variable summed over nodes.
    """
    demand, shortage = totals[NODE["demand"]], totals[NODE["shortage"]]
    level = np.ones_like(demand)
    np.subtract(1.0, shortage / np.where(demand > 0, demand, 1.0), out=level, where=demand > 0)
    return {
        "network_service_level": level,
        "network_shortage": shortage,
        "network_backlog": totals[NODE["backlog"]],
        "network_stock": totals[NODE["stock"]] + (node_totals.inputs @ block.inputs)[0],
        "network_cost": totals[NODE["cost"]],
    }


class KpiAccumulator:
    """Per-replicate KPIs (:data:`KPI_VARS`, :data:`NODE_KPI_VARS`), updated day by day."""

    def __init__(self, replicates: int, days: int, layout: Layout,
                 node_totals: NodeTotals | None = None) -> None:
        self.days = days
        self.node_totals = node_totals or NodeTotals(layout)
        self.serving = np.flatnonzero(layout.mean_zone_demand > 0)
        self.totals = np.zeros((len(NODE), replicates))  # every node variable, summed
        self.stock_units = np.zeros(replicates)
        self.stock_value = np.zeros(replicates)
        self.stockouts = np.zeros(replicates)
        self.peak_shortage = np.zeros(replicates)
        self.final_backlog = np.zeros(replicates)
        self.node_demand = np.zeros((layout.n_nodes, replicates))
        self.node_shortage = np.zeros((layout.n_nodes, replicates))
        self.transferred = np.zeros(replicates)

    def record(self, day: int, block: DayBlock, totals: np.ndarray,
               series: dict[str, np.ndarray]) -> None:
        """Add one day (``totals``: node variables summed over nodes, (variable, replicate))."""
        self.totals += totals
        self.stock_units += series["network_stock"]
        self.stock_value += ((self.node_totals.stock_value @ block.node("stock"))[0]
                             + (self.node_totals.input_value @ block.inputs)[0])
        demand, shortage = block.node("demand"), block.node("shortage")
        self.node_demand += demand
        self.node_shortage += shortage
        moved = block.node("transferred")
        self.transferred += (self.node_totals.nodes_row @ np.maximum(moved, 0.0))[0]
        if self.serving.size:
            limit = STOCKOUT_TOLERANCE * np.maximum(demand[self.serving], 1.0)
            self.stockouts += (shortage[self.serving] > limit).sum(axis=0)
        np.maximum(self.peak_shortage, series["network_shortage"], out=self.peak_shortage)
        self.final_backlog = series["network_backlog"].copy()

    def result(self) -> dict[str, np.ndarray]:
        """The KPIs: (replicate,) arrays, and (replicate, node) for ``node_fill_rate``."""
        t = {name: self.totals[i] for name, i in NODE.items()}
        pairs = self.days * self.serving.size
        csl = 1.0 - self.stockouts / pairs if pairs else np.full_like(self.stockouts, np.nan)
        costs = t["holding_cost"] + t["transport_cost"] + t["shortage_cost"] + t["policy_cost"]
        return {
            "fill_rate": 1.0 - _ratio(t["shortage"], t["demand"]),
            "cycle_service_level": csl,
            "demand_units": t["demand"],
            "served_units": t["served"],
            "lost_sales": t["lost"],
            "shortage_units": t["shortage"],
            "backlog_unit_days": t["backlog"],
            "final_backlog": self.final_backlog,
            "peak_shortage": self.peak_shortage,
            "mean_stock_units": self.stock_units / self.days,
            "mean_inventory_value": self.stock_value / self.days,
            "holding_cost_total": t["holding_cost"],
            "transport_cost_total": t["transport_cost"],
            "shortage_cost_total": t["shortage_cost"],
            "policy_cost_total": t["policy_cost"],
            "total_cost": costs,
            "co2e_kg": t["co2e"],
            "co2e_per_unit_served": _ratio(t["co2e"], t["served"]),
            "transferred_units": self.transferred,
            "reserve_released_units": t["reserve_released"],
            "backup_units": t["backup_inflow"],
            "expedited_units": t["expedited_inflow"],
            "node_fill_rate": (1.0 - _ratio(self.node_shortage, self.node_demand)).T,
        }


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def replicate_kpis(trace: Trace, layout: Layout) -> dict[str, np.ndarray]:
    """KPIs of each replicate of a full trace (replaying its days through the accumulator)."""
    replicates, days = trace.shape
    node_totals = NodeTotals(layout)
    accumulator = KpiAccumulator(replicates, days, layout, node_totals)
    for day in range(days):
        block = trace.day(day)
        block = DayBlock(np.ascontiguousarray(block.nodes), np.ascontiguousarray(block.inputs))
        totals = node_totals.nodes(block)
        accumulator.record(day, block, totals, network_series(block, totals, node_totals))
    return accumulator.result()
