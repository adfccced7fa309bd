"""A recorded day of the KPI accumulator, compiled (numba).

:meth:`sim.measures.kpis.KpiAccumulator.record` made some thirty numpy calls and sparse products
a day (the network series, then every accumulator), each costing more in overhead than its
arithmetic on (node, replicate) arrays: a fifth of the batch engine's bare day on the demo. Here
they are one call. Every sum adds its terms in the order of the sparse products it replaced
(from 0.0, nodes, inputs or lanes in index order), ``np.maximum`` keeps its ties and NaN, and
the results are the same bits (``tests/test_metrics.py`` holds them to the numpy lines, kept in
``tests/array_recording.py``).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

__all__ = ["SERIES", "KpiArrays", "node_sums", "record_day"]

SERIES = ("network_service_level", "network_shortage", "network_backlog", "network_stock",
          "network_cost")
"""The rows of the network series :func:`record_day` writes (``kpis.NETWORK_SERIES`` order)."""


class KpiArrays(NamedTuple):
    """The accumulators and constants of a :class:`~sim.measures.kpis.KpiAccumulator`.

    Per replicate (replicate,) or (node | lane | tier, replicate) sums, updated in place;
    ``network_demand`` and ``network_shortage`` are (day, replicate). ``rows`` are the block
    rows of stock, demand, shortage, served, transferred, backlog and cost; ``unit_value``
    (node,) and ``input_value`` (input,) value the stock; ``serving`` are the nodes with end
    customers; ``tier_starts``, ``tier_lanes``, ``tier_weights`` the CSR rows summing lanes into
    the ordering tiers, ``order_shift`` (tier,) and ``demand_shift`` (1,) the nominal values
    the variances are taken around. ``counts`` holds the days added to the two variances.
    """

    totals: np.ndarray
    stock_units: np.ndarray
    stock_value: np.ndarray
    stockouts: np.ndarray
    peak_shortage: np.ndarray
    final_backlog: np.ndarray
    node_demand: np.ndarray
    node_shortage: np.ndarray
    node_served: np.ndarray
    transferred: np.ndarray
    lane_flow: np.ndarray
    order_sums: np.ndarray
    order_squares: np.ndarray
    demand_sums: np.ndarray
    demand_squares: np.ndarray
    network_demand: np.ndarray
    network_shortage: np.ndarray
    counts: np.ndarray
    rows: np.ndarray
    unit_value: np.ndarray
    input_value: np.ndarray
    serving: np.ndarray
    tier_starts: np.ndarray
    tier_lanes: np.ndarray
    tier_weights: np.ndarray
    order_shift: np.ndarray
    demand_shift: np.ndarray
    stockout_tolerance: float


STOCK, DEMAND, SHORTAGE, SERVED, TRANSFERRED, BACKLOG, COST = range(7)
"""Positions in ``KpiArrays.rows``."""


@numba.njit(cache=True, nogil=True)
def node_sums(nodes: np.ndarray, totals: np.ndarray) -> None:  # pragma: no cover - compiled
    """Every node variable summed over nodes: ``totals`` (variable, replicate).

    From 0.0, nodes in index order: the sums of ``NodeTotals.nodes``'s product (its weights are
    1.0, and 1.0 x v is v).
    """
    for v in range(nodes.shape[0]):
        total = totals[v]
        total[:] = 0.0
        for i in range(nodes.shape[1]):
            row = nodes[v, i]
            for k in range(row.size):
                total[k] += row[k]


@numba.njit(inline="always")
def _maximum(a, b):  # pragma: no cover - compiled
    """``np.maximum(a, b)``: NaN propagates, a tie gives ``b``."""
    return a if (a > b or a != a) else b


@numba.njit(cache=True, nogil=True)
def record_day(a: KpiArrays, day: int, nodes: np.ndarray, inputs: np.ndarray,
               lane_shipped: np.ndarray, lane_ordered: np.ndarray, totals: np.ndarray,
               series: np.ndarray) -> None:  # pragma: no cover - compiled
    """Add one day: ``totals`` are the day's node variables summed over nodes (:func:`node_sums`).

    Writes the day's network series into ``series`` (:data:`SERIES`, replicate) and updates
    every accumulator of ``a`` (``KpiAccumulator.record``).
    """
    reps = totals.shape[1]
    rows = a.rows
    stock, demand, shortage = nodes[rows[STOCK]], nodes[rows[DEMAND]], nodes[rows[SHORTAGE]]
    served, moved = nodes[rows[SERVED]], nodes[rows[TRANSFERRED]]
    network_demand, network_shortage = totals[rows[DEMAND]], totals[rows[SHORTAGE]]
    for k in range(reps):
        wanted, short = network_demand[k], network_shortage[k]
        series[0, k] = 1.0 - short / wanted if wanted > 0 else 1.0
        series[1, k] = short
        series[2, k] = totals[rows[BACKLOG], k]
        held = 0.0  # input stock, inputs in order
        for g in range(inputs.shape[0]):
            held += inputs[g, k]
        series[3, k] = totals[rows[STOCK], k] + held
        series[4, k] = totals[rows[COST], k]
    kept_totals = a.totals
    kept_totals += totals
    for k in range(reps):
        a.stock_units[k] += series[3, k]
        on_hand, in_inputs, given = 0.0, 0.0, 0.0
        for i in range(stock.shape[0]):
            on_hand += a.unit_value[i] * stock[i, k]
        for g in range(inputs.shape[0]):
            in_inputs += a.input_value[g] * inputs[g, k]
        a.stock_value[k] += on_hand + in_inputs
        for i in range(moved.shape[0]):
            given += _maximum(moved[i, k], 0.0)
        a.transferred[k] += given
        short_pairs = 0
        for i in a.serving:
            limit = a.stockout_tolerance * _maximum(demand[i, k], 1.0)
            short_pairs += 1 if shortage[i, k] > limit else 0
        a.stockouts[k] += short_pairs
        a.peak_shortage[k] = _maximum(a.peak_shortage[k], series[1, k])
        a.final_backlog[k] = series[2, k]
        centred = network_demand[k] - a.demand_shift[0]
        a.demand_sums[0, k] += centred
        a.demand_squares[0, k] += centred * centred
        a.network_demand[day, k] = network_demand[k]
        a.network_shortage[day, k] = series[1, k]
    node_demand, node_shortage, node_served, lane_flow = a.node_demand, a.node_shortage, \
        a.node_served, a.lane_flow
    node_demand += demand
    node_shortage += shortage
    node_served += served
    lane_flow += lane_shipped
    orders = np.empty(reps)
    for tier in range(a.order_shift.size):
        orders[:] = 0.0
        for entry in range(a.tier_starts[tier], a.tier_starts[tier + 1]):
            weight, lane = a.tier_weights[entry], lane_ordered[a.tier_lanes[entry]]
            for k in range(reps):
                orders[k] += weight * lane[k]
        for k in range(reps):
            centred = orders[k] - a.order_shift[tier]
            a.order_sums[tier, k] += centred
            a.order_squares[tier, k] += centred * centred
    a.counts[0] += 1
