"""The KPI accumulator's day in numpy, as it ran before :mod:`sim.measures.kpis_kernel`.

Kept unchanged as the reference the compiled day is held to bit for bit
(``tests/test_metrics.py`` replays full traces through both).
"""

from __future__ import annotations

import numpy as np

from sim.compile.grouping import incidence, product, row_sums
from sim.compile.layout import Layout
from sim.measures.kpis import NETWORK_SERIES, order_tiers
from sim.measures.trace import NODE, DayBlock, Trace
from sim.spec.units import STOCKOUT_TOLERANCE

__all__ = ["array_kpis"]


class _Variance:
    """Streaming variance over days per (group, replicate), shifted by a nominal value."""

    def __init__(self, shift: np.ndarray, replicates: int) -> None:
        self.shift = np.asarray(shift, dtype=float)[:, None]
        self.sums = np.zeros((self.shift.shape[0], replicates))
        self.squares = np.zeros_like(self.sums)
        self.count = 0

    def add(self, values: np.ndarray) -> None:
        centred = values - self.shift
        self.sums += centred
        self.squares += centred * centred
        self.count += 1


class _ArrayKpis:
    """``KpiAccumulator``'s state and day (``record``) as numpy lines and sparse products."""

    def __init__(self, replicates: int, days: int, layout: Layout) -> None:
        n, k = layout.n_nodes, layout.n_inputs
        self.by_variable = row_sums(len(NODE), n)
        self.nodes_row, self.inputs_row = row_sums(1, n), row_sums(1, k)
        self.stock_value_row = row_sums(1, n, layout.unit_value)
        self.input_value_row = row_sums(1, k, layout.input_value)
        self.serving = np.flatnonzero(layout.mean_zone_demand > 0)
        self.totals = np.zeros((len(NODE), replicates))
        self.stock_units, self.stock_value = np.zeros(replicates), np.zeros(replicates)
        self.stockouts, self.peak_shortage = np.zeros(replicates), np.zeros(replicates)
        self.final_backlog, self.transferred = np.zeros(replicates), np.zeros(replicates)
        self.node_demand = np.zeros((n, replicates))
        self.node_shortage = np.zeros((n, replicates))
        self.node_served = np.zeros((n, replicates))
        self.lane_flow = np.zeros((layout.n_lanes, replicates))
        tiers = order_tiers(layout)
        self.by_tier = incidence(np.searchsorted(tiers, layout.tier[layout.lane_target]),
                                 tiers.size)
        self.orders = np.empty((tiers.size, replicates))
        self.order_variance = _Variance(self.by_tier @ layout.lane_mean_flow, replicates)
        self.demand_variance = _Variance(np.array([layout.zone_mean.sum()]), replicates)
        self.network_demand = np.zeros((days, replicates))
        self.network_shortage = np.zeros((days, replicates))

    def series(self, block: DayBlock, totals: np.ndarray) -> dict[str, np.ndarray]:
        demand, shortage = totals[NODE["demand"]], totals[NODE["shortage"]]
        level = np.ones_like(demand)
        np.subtract(1.0, shortage / np.where(demand > 0, demand, 1.0), out=level,
                    where=demand > 0)
        return {
            "network_service_level": level,
            "network_shortage": shortage,
            "network_backlog": totals[NODE["backlog"]],
            "network_stock": totals[NODE["stock"]] + (self.inputs_row @ block.inputs)[0],
            "network_cost": totals[NODE["cost"]],
        }

    def record(self, day: int, block: DayBlock) -> dict[str, np.ndarray]:
        totals = self.by_variable @ block.nodes.reshape(-1, block.nodes.shape[-1])
        series = self.series(block, totals)
        self.totals += totals
        self.stock_units += series["network_stock"]
        self.stock_value += ((self.stock_value_row @ block.node("stock"))[0]
                             + (self.input_value_row @ block.inputs)[0])
        demand, shortage = block.node("demand"), block.node("shortage")
        self.node_demand += demand
        self.node_shortage += shortage
        self.node_served += block.node("served")
        moved = block.node("transferred")
        self.transferred += (self.nodes_row @ np.maximum(moved, 0.0))[0]
        if self.serving.size:
            limit = STOCKOUT_TOLERANCE * np.maximum(demand[self.serving], 1.0)
            self.stockouts += (shortage[self.serving] > limit).sum(axis=0)
        np.maximum(self.peak_shortage, series["network_shortage"], out=self.peak_shortage)
        self.final_backlog = series["network_backlog"].copy()
        assert block.lane_shipped is not None and block.lane_ordered is not None
        self.lane_flow += block.lane_shipped
        self.order_variance.add(product(self.by_tier, np.ascontiguousarray(block.lane_ordered),
                                        self.orders))
        network_demand = totals[NODE["demand"]]
        self.demand_variance.add(network_demand[None])
        self.network_demand[day] = network_demand
        self.network_shortage[day] = series["network_shortage"]
        return series


def array_kpis(trace: Trace, layout: Layout) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The numpy accumulators after replaying a full trace, and every day's network series.

    Returns the accumulators by the names of ``KpiArrays`` fields (sums of variances as
    ``order_sums`` and so on) and the series, (day, series, replicate).
    """
    replicates, days = trace.shape
    kpis = _ArrayKpis(replicates, days, layout)
    series = np.empty((days, len(NETWORK_SERIES), replicates))
    for day in range(days):
        block = trace.day(day)
        block = DayBlock(np.ascontiguousarray(block.nodes), np.ascontiguousarray(block.inputs),
                         np.ascontiguousarray(block.lanes))
        series[day] = np.stack(list(kpis.record(day, block).values()))
    state = {name: getattr(kpis, name) for name in (
        "totals", "stock_units", "stock_value", "stockouts", "peak_shortage", "final_backlog",
        "node_demand", "node_shortage", "node_served", "transferred", "lane_flow",
        "network_demand", "network_shortage")}
    state.update(order_sums=kpis.order_variance.sums, order_squares=kpis.order_variance.squares,
                 demand_sums=kpis.demand_variance.sums,
                 demand_squares=kpis.demand_variance.squares)
    return state, series
