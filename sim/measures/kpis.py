"""Per-replicate KPIs, accumulated day by day (the same code for both engines).

All sums run over the recorded days (after warm-up) and over the whole network unless the name
says otherwise. Definitions:

* ``fill_rate``: 1 - (units of demand not served on the day they arrived) / (units demanded).
* ``cycle_service_level``: share of (day, demand node) pairs with no shortage.
* ``lost_sales``: units lost; ``shortage_units``: units not served on arrival (lost or
  backordered); ``backlog_unit_days``: sum of end-of-day backorders; ``final_backlog``.
* ``mean_stock_units``: mean over days of finished plus input stock on hand, all items summed;
  ``mean_inventory_value``: the same at unit values [money]; ``mean_pipeline_units`` and
  ``mean_pipeline_value``: units in transit and their value at the sources' unit values;
  ``mean_total_inventory_value``: on hand plus in transit [money].
* ``holding_cost_total`` (on-hand stock), ``pipeline_holding_cost_total`` (units in transit,
  charged to their owner, the buyer by default), ``transport_cost_total``,
  ``shortage_cost_total``, ``total_cost`` [money].
* ``co2e_kg`` and ``co2e_per_unit_served`` [kg CO2e, kg CO2e/unit].
* ``peak_shortage``: the largest network shortage of one day [units/day].
* ``premium_cost_total``, ``reservation_cost_total``, ``fixed_cost_total`` and their sum
  ``policy_cost_total``: what the measures of the policy cost, by kind [money];
  ``public_cost_total``: the part of ``total_cost`` a public budget pays [money].
* ``time_to_survive``, ``time_to_recover``, ``recovery_censored``, ``fell_short`` (of the
  replicate's first event occurrence) and ``resilience_loss`` (over all its occurrences),
  ``disruption_count``: network service against the replicate's undisrupted twin
  (:mod:`sim.measures.resilience`, :mod:`sim.measures.counterfactual`); NaN in a replicate without
  events. The runner fills them in, with the twin's ``calm_*`` KPIs, after both runs
  (:func:`sim.engines.runner.run_chunk`).
* ``node_fill_rate`` (replicate, node): fill rate of each node's end customers (NaN without).
* ``node_served`` (replicate, node): units each node served to end customers;
  ``node_demand`` and ``node_shortage``: its end customers' demand and what was not served on
  the day (so fill rates add up by region or cluster).
* ``lane_flow`` (replicate, lane): units shipped over each lane.
* ``bullwhip`` (replicate, tier): variance over days of the orders placed by the nodes of a
  tier, over the variance of end-customer demand (:func:`order_tiers`).
"""

from __future__ import annotations

import numpy as np

from sim.compile.grouping import incidence
from sim.compile.layout import Layout
from sim.measures.counterfactual import CALM_KPIS
from sim.measures.trace import NODE, DayBlock, Trace, Var
from sim.spec.units import STOCKOUT_TOLERANCE

__all__ = ["CALM_VARS", "KPI_ARRAYS", "KPI_VARS", "NETWORK_SERIES", "RESILIENCE_VARS",
           "KpiAccumulator", "NodeTotals", "network_series", "order_tiers", "replicate_kpis"]


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
    "mean_inventory_value": Var("money", "mean finished plus input stock on hand at unit value"),
    "mean_pipeline_units": Var("units", "mean units in transit"),
    "mean_pipeline_value": Var("money", "mean value of the units in transit"),
    "mean_total_inventory_value": Var("money", "mean value on hand plus in transit"),
    "holding_cost_total": Var("money", "holding cost of stock on hand"),
    "pipeline_holding_cost_total": Var("money", "holding cost of units in transit, paid by their "
                                       "owner"),
    "transport_cost_total": Var("money", "freight"),
    "shortage_cost_total": Var("money", "shortage and backorder penalties"),
    "premium_cost_total": Var("money", "per-unit charges of the measures (premiums, transfers, "
                              "reserve releases)"),
    "reservation_cost_total": Var("money", "running charges of the measures (reservation and "
                                  "warehouse fees, reserve holding)"),
    "fixed_cost_total": Var("money", "one-off charges of the measures (activations, "
                            "switch-overs)"),
    "policy_cost_total": Var("money", "premium + reservation + fixed cost of the measures"),
    "total_cost": Var("money", "holding + pipeline holding + transport + shortage + policy "
                      "cost"),
    "public_cost_total": Var("money", "the part of total_cost a public budget pays (public "
                             "reserves, shared warehouses, subsidised fees)"),
    "co2e_kg": Var("kg CO2e", "production and transport emissions"),
    "co2e_per_unit_served": Var("kg CO2e/unit", "emissions per unit served to end customers"),
    "transferred_units": Var("units", "units moved between pooling peers"),
    "reserve_released_units": Var("units", "emergency reserve released"),
    "backup_units": Var("units", "units shipped over backup lanes"),
    "expedited_units": Var("units", "units shipped over expedite lanes"),
    "rerouted_units": Var("units", "owed orders cancelled at sources that stopped delivering "
                          "and re-placed on lanes that work"),
}
# Filled in by the runner from the run and its undisrupted twin (NaN without events)
RESILIENCE_VARS: dict[str, Var] = {
    "time_to_survive": Var("days", "days from the replicate's first disruption until network "
                           "service falls more than the tolerance below its undisrupted twin "
                           "(days to the end when it never does)"),
    "time_to_recover": Var("days", "days from the first disruption until service is back within "
                           "the tolerance of the twin for hold_days days in a row (0: never "
                           "short; days to the end when censored)"),
    "recovery_censored": Var("1", "1 when service was not back by the end of the run (the time "
                             "to recover is then a lower bound)"),
    "fell_short": Var("1", "1 when service fell more than the tolerance below the twin after "
                      "the first disruption; 0: it never did (the time to survive is then the "
                      "days to the end, a lower bound)"),
    "resilience_loss": Var("units", "units the undisrupted twin served and the run did not, over "
                           "every disruption until recovery (each day once)"),
    "disruption_count": Var("1", "event occurrences acting on the recorded days (events of one "
                            "cause starting on one day count once)"),
}
CALM_VARS: dict[str, Var] = {
    f"calm_{name}": Var(var.units, f"the undisrupted twin's {name}: {var.description}")
    for name, var in KPI_VARS.items() if name in CALM_KPIS
}
# Per-replicate KPIs with a second dimension: name -> (variable, dimension)
KPI_ARRAYS: dict[str, tuple[Var, str]] = {
    "node_fill_rate": (Var("1", "fill rate of the node's end customers (NaN without any)"),
                       "node"),
    "node_served": (Var("units", "units the node served to end customers"), "node"),
    "node_demand": (Var("units", "demand of the node's end customers"), "node"),
    "node_shortage": (Var("units", "demand of the node's end customers not served on the day "
                          "it arrived"), "node"),
    "lane_flow": (Var("units", "units shipped over the lane"), "lane"),
    "bullwhip": (Var("1", "variance of the daily orders placed by the tier's nodes over the "
                     "variance of daily end-customer demand"), "tier"),
}


NETWORK_SERIES: dict[str, Var] = {
    "network_service_level": Var("1", "share of the day's demand served that day, whole network"),
    "network_shortage": Var("units/day", "demand not served on the day, whole network"),
    "network_backlog": Var("units", "end-customer backorders at day end, whole network"),
    "network_stock": Var("units", "finished plus input stock at day end, whole network"),
    "network_cost": Var("money/day", "every cost of the day (as total_cost), whole network"),
}


class NodeTotals:
    """Per-replicate sums over nodes of a day block, in a fixed order.

    Nodes are added in index order from 0.0 whatever the number of replicates, so the KPIs of a
    replicate are the same bits in any chunk and in both engines.
    """

    def __init__(self, layout: Layout) -> None:
        self.n_nodes = layout.n_nodes

    def nodes(self, block: DayBlock) -> np.ndarray:
        """Every node variable summed over nodes: (variable, replicate)."""
        from sim.measures.kpis_kernel import node_sums  # numba: compiled on first use

        values = np.ascontiguousarray(block.nodes)
        totals = np.empty((values.shape[0], values.shape[-1]))
        node_sums(values, totals)
        return totals


def network_series(series: np.ndarray) -> dict[str, np.ndarray]:
    """The day's network series by name (:data:`NETWORK_SERIES`), each (replicate,).

    ``series`` is what :meth:`KpiAccumulator.record` returns, (series, replicate); the values
    are its rows, not copies.
    """
    return dict(zip(NETWORK_SERIES, series, strict=True))


def order_tiers(layout: Layout) -> np.ndarray:
    """Tiers that place orders (the tiers of lane targets), in increasing order."""
    return np.unique(layout.tier[layout.lane_target]).astype(np.int64)


def _variance(sums: np.ndarray, squares: np.ndarray, count: int) -> np.ndarray:
    """Variance over days from the sums of (x - shift) and of its square.

    Shifted by a nominal value, so that the difference of the two sums does not cancel digits.
    """
    if count < 2:
        return np.full(sums.shape, np.nan)
    return (squares - sums * sums / count) / (count - 1)


class KpiAccumulator:
    """Per-replicate KPIs (:data:`KPI_VARS`, :data:`KPI_ARRAYS`), updated day by day.

    Parameters
    ----------
    replicates, days : int
        Chunk size and recorded days.
    layout : Layout
        The network's arrays.
    node_totals : NodeTotals, optional
        Shared with the other recorders.
    """

    def __init__(self, replicates: int, days: int, layout: Layout,
                 node_totals: NodeTotals | None = None) -> None:
        from sim.measures.kpis_kernel import KpiArrays  # numba: only when something records

        self.days = days
        self.node_totals = node_totals or NodeTotals(layout)
        self.serving = np.flatnonzero(layout.mean_zone_demand > 0)
        tiers = order_tiers(layout)
        by_tier = incidence(np.searchsorted(tiers, layout.tier[layout.lane_target]),
                            tiers.size).tocsr()
        n, e, r = layout.n_nodes, layout.n_lanes, replicates

        def zeros(*shape: int) -> np.ndarray:
            return np.zeros(shape)

        self.arrays = KpiArrays(
            totals=zeros(len(NODE), r), stock_units=zeros(r), stock_value=zeros(r),
            stockouts=zeros(r), peak_shortage=zeros(r), final_backlog=zeros(r),
            node_demand=zeros(n, r), node_shortage=zeros(n, r), node_served=zeros(n, r),
            transferred=zeros(r), lane_flow=zeros(e, r), order_sums=zeros(tiers.size, r),
            order_squares=zeros(tiers.size, r), demand_sums=zeros(1, r),
            demand_squares=zeros(1, r), network_demand=zeros(days, r),
            network_shortage=zeros(days, r), counts=np.zeros(1, dtype=np.int64),
            rows=np.array([NODE[name] for name in ("stock", "demand", "shortage", "served",
                                                   "transferred", "backlog", "cost")],
                          dtype=np.int64),
            unit_value=np.array(layout.unit_value, dtype=np.float64),
            input_value=np.array(layout.input_value, dtype=np.float64),
            serving=self.serving.astype(np.int64),
            tier_starts=by_tier.indptr.astype(np.int64),
            tier_lanes=by_tier.indices.astype(np.int64),
            tier_weights=by_tier.data.astype(np.float64),
            order_shift=np.asarray(by_tier @ layout.lane_mean_flow, dtype=np.float64),
            demand_shift=np.array([layout.zone_mean.sum()], dtype=np.float64),
            stockout_tolerance=float(STOCKOUT_TOLERANCE))
        self._series = np.empty((len(NETWORK_SERIES), r))

    def record(self, day: int, block: DayBlock, totals: np.ndarray) -> np.ndarray:
        """Add one day; its network series, (series, replicate) in :data:`NETWORK_SERIES` order.

        ``totals`` are the day's node variables summed over nodes, (variable, replicate)
        (:meth:`NodeTotals.nodes`). The series are overwritten by the next day's.
        Compiled: :func:`sim.measures.kpis_kernel.record_day`.
        """
        from sim.measures.kpis_kernel import record_day  # numba: compiled on first use

        assert block.lane_shipped is not None  # every engine hands the lane flows over
        assert block.lane_ordered is not None
        record_day(self.arrays, day, block.nodes, block.inputs,
                   np.ascontiguousarray(block.lane_shipped),
                   np.ascontiguousarray(block.lane_ordered), totals, self._series)
        return self._series

    def result(self) -> dict[str, np.ndarray]:
        """The KPIs: (replicate,) arrays, and (replicate, other) for :data:`KPI_ARRAYS`."""
        a = self.arrays
        t = {name: a.totals[i] for name, i in NODE.items()}
        pairs = self.days * self.serving.size
        csl = 1.0 - a.stockouts / pairs if pairs else np.full_like(a.stockouts, np.nan)
        policy = t["premium_cost"] + t["reservation_cost"] + t["fixed_cost"]
        costs = (t["holding_cost"] + t["pipeline_holding_cost"] + t["transport_cost"]
                 + t["shortage_cost"] + policy)
        return {
            "fill_rate": 1.0 - _ratio(t["shortage"], t["demand"]),
            "cycle_service_level": csl,
            "demand_units": t["demand"],
            "served_units": t["served"],
            "lost_sales": t["lost"],
            "shortage_units": t["shortage"],
            "backlog_unit_days": t["backlog"],
            "final_backlog": a.final_backlog.copy(),
            "peak_shortage": a.peak_shortage,
            "mean_stock_units": a.stock_units / self.days,
            "mean_inventory_value": a.stock_value / self.days,
            "mean_pipeline_units": t["in_transit"] / self.days,
            "mean_pipeline_value": t["in_transit_value"] / self.days,
            "mean_total_inventory_value": (a.stock_value + t["in_transit_value"]) / self.days,
            "holding_cost_total": t["holding_cost"],
            "pipeline_holding_cost_total": t["pipeline_holding_cost"],
            "transport_cost_total": t["transport_cost"],
            "shortage_cost_total": t["shortage_cost"],
            "premium_cost_total": t["premium_cost"],
            "reservation_cost_total": t["reservation_cost"],
            "fixed_cost_total": t["fixed_cost"],
            "policy_cost_total": policy,
            "total_cost": costs,
            "public_cost_total": t["public_cost"],
            "co2e_kg": t["co2e"],
            "co2e_per_unit_served": _ratio(t["co2e"], t["served"]),
            "transferred_units": a.transferred,
            "reserve_released_units": t["reserve_released"],
            "backup_units": t["backup_inflow"],
            "expedited_units": t["expedited_inflow"],
            "rerouted_units": t["rerouted"],
            "node_fill_rate": (1.0 - _ratio(a.node_shortage, a.node_demand)).T,
            "node_served": a.node_served.T.copy(),
            "node_demand": a.node_demand.T.copy(),
            "node_shortage": a.node_shortage.T.copy(),
            "lane_flow": a.lane_flow.T.copy(),
            "bullwhip": _ratio(_variance(a.order_sums, a.order_squares, int(a.counts[0])),
                               _variance(a.demand_sums, a.demand_squares,
                                         int(a.counts[0]))).T,
        }


    def daily(self) -> tuple[np.ndarray, np.ndarray]:
        """Network demand and units served on the day, each (replicate, day)."""
        demand = np.ascontiguousarray(self.arrays.network_demand.T)
        return demand, demand - self.arrays.network_shortage.T


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def replicate_kpis(trace: Trace, layout: Layout) -> dict[str, np.ndarray]:
    """KPIs of each replicate of a full trace (replaying its days through the accumulator).

    The resilience KPIs need the undisrupted twin and are not among them.
    """
    replicates, days = trace.shape
    node_totals = NodeTotals(layout)
    accumulator = KpiAccumulator(replicates, days, layout, node_totals)
    for day in range(days):
        block = trace.day(day)
        block = DayBlock(np.ascontiguousarray(block.nodes), np.ascontiguousarray(block.inputs),
                         np.ascontiguousarray(block.lanes))
        accumulator.record(day, block, node_totals.nodes(block))
    return accumulator.result()
