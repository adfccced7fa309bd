"""Phases of the batch engine's day compiled (numba), where numpy made many small calls a day.

Each kernel does what its phase's numpy lines did, in the same order and with the same
arithmetic (the lines are kept in ``tests/array_policy.py`` and whole runs are held to them bit
for bit, ``tests/test_kernels.py``): on the demo's (node, replicate) arrays at R = 1,000 each
numpy call or sparse product cost more in overhead than in arithmetic. Sums over a node's zones
or lanes are the rows of the engine's CSR incidence matrices from 0.0 in stored order
(:func:`sim.engines.kernels.csr_rows`), as scipy's product adds them.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from sim.engines.kernels import (
    CSR,
    csr_row,
    csr_rows,
    maximum,
    minimum,
    pool_transfers,
    rationed,
    slot_sum,
    taken_from,
)

__all__ = ["OrderArrays", "ServeArrays", "position_and_level", "serve", "update_forecast"]


class ServeArrays(NamedTuple):
    """The engine's constants the serve phase reads.

    ``by_zone_node`` (node, zone) sums a node's zones, ``node_of_zone`` (zone, node) gives each
    zone its node's value; ``pool`` (group, member) holds the pooling groups of the ``pooled``
    nodes (empty without pooling).
    """

    by_zone_node: CSR
    node_of_zone: CSR
    pool: CSR
    pooled: np.ndarray


@numba.njit(cache=True, nogil=True)
def serve(a: ServeArrays, flags: np.ndarray, demand: np.ndarray, backlog: np.ndarray,
          stock: np.ndarray, outflow: np.ndarray, reserve: np.ndarray,
          service_yesterday: np.ndarray, threshold: np.ndarray, release: np.ndarray,
          released: np.ndarray, transferred: np.ndarray, fraction: np.ndarray,
          zone_fraction: np.ndarray, served_node: np.ndarray, outflow_left: np.ndarray,
          shortage: np.ndarray) -> None:  # pragma: no cover - compiled
    """Serve end customers, after releasing reserves; then pool (``BatchEngine.serve``).

    ``flags`` are (reserves, pooling, backorder). Zone arrays are (zone, replicate), node
    arrays (node, replicate). Reserves below their node's service threshold yesterday release
    up to ``release`` into stock; each node serves its zones' demand and backlog, rationed in
    proportion; pooled nodes pass spare stock to peers with unmet demand. Writes ``served_node``,
    ``outflow_left`` (what may still leave each node today), ``shortage`` (of today's demand)
    and, on backorder networks, ``backlog``; updates ``stock``, ``reserve``, ``released`` and
    ``transferred`` in place.
    """
    reserves, pooling, backorder = flags[0], flags[1], flags[2]
    nodes, reps = stock.shape
    if reserves:
        for i in range(nodes):
            for k in range(reps):
                freed = minimum(release[i, k], reserve[i, k]) if reserve[i, k] > 0 and \
                    service_yesterday[i, k] < threshold[i, k] else 0.0
                released[i, k] = freed
                reserve[i, k] -= freed
                stock[i, k] += freed
    request = demand + backlog
    request_node = np.empty_like(stock)
    csr_rows(a.by_zone_node, request, request_node)
    rationed(stock, outflow, request_node, fraction)
    csr_rows(a.node_of_zone, fraction, zone_fraction)
    served = request * zone_fraction
    csr_rows(a.by_zone_node, served, served_node)
    taken_from(stock, served_node)
    for i in range(nodes):
        for k in range(reps):
            outflow_left[i, k] = outflow[i, k] - served_node[i, k]
    if pooling:
        served = _pool(a, request, served, served_node, stock, outflow_left, transferred)
    for z in range(demand.shape[0]):
        for k in range(reps):
            shortage[z, k] = demand[z, k] - maximum(0.0, served[z, k] - backlog[z, k])
    if backorder:  # else the shortage is lost
        for z in range(demand.shape[0]):
            for k in range(reps):
                backlog[z, k] = request[z, k] - served[z, k]


@numba.njit(cache=True, nogil=True)
def _pool(a, request, served, served_node, stock, outflow_left,
          transferred):  # pragma: no cover - compiled
    """Lateral transshipment within pooling groups (``StockingPoint.pool``).

    The members' transfers are :func:`~sim.engines.kernels.pool_transfers`; the units a node
    takes are spread over its zones by their unmet demand. Returns the zones' units served;
    ``served_node`` gains the units taken, ``stock`` and ``outflow_left`` lose those given.
    """
    unmet_zone = request - served
    unmet_node = np.empty_like(stock)
    csr_rows(a.by_zone_node, unmet_zone, unmet_node)
    taken_node = np.empty_like(stock)
    unmet_pooled = np.empty((a.pooled.size, stock.shape[1]))
    for m in range(a.pooled.size):
        unmet_pooled[m] = unmet_node[a.pooled[m]]
    pool_transfers(a.pool.indptr, a.pool.indices, a.pool.data, a.pooled, unmet_pooled, stock,
                   outflow_left, transferred, taken_node)
    taken_zone, unmet_of_zone = np.empty_like(served), np.empty_like(served)
    csr_rows(a.node_of_zone, taken_node, taken_zone)
    csr_rows(a.node_of_zone, unmet_node, unmet_of_zone)
    extra = np.empty_like(served)
    for z in range(served.shape[0]):
        for k in range(served.shape[1]):
            unmet = unmet_zone[z, k]
            extra[z, k] = taken_zone[z, k] * unmet / unmet_of_zone[z, k] if unmet > 0 else 0.0
    more = np.empty_like(stock)
    csr_rows(a.by_zone_node, extra, more)
    for i in range(stock.shape[0]):
        for k in range(stock.shape[1]):
            served_node[i, k] += more[i, k]
    return served + extra


class OrderArrays(NamedTuple):
    """The engine's constants the order phase reads before sourcing.

    ``by_source`` (node, lane) and ``by_zone_node`` (node, zone) sum a node's outgoing lanes and
    zones; ``slope_of_node`` (input, node) weighs the forecasts in the levels; ``by_input``
    (input, lane) sums an input's lanes; ``bom_of_node`` (input, node) turns net stock into
    input units. Forecasts: ``pos`` (node, zone) weighs the zones' demand seen at the point of
    sale, by the nodes ``pos_rows`` with information delays ``pos_delay``; ``moving`` and
    ``smoothing`` are the nodes forecasting by moving average and exponential smoothing.
    """

    by_source: CSR
    by_zone_node: CSR
    slope_of_node: CSR
    by_input: CSR
    bom_of_node: CSR
    pos: CSR
    pos_rows: np.ndarray
    pos_delay: np.ndarray
    moving: np.ndarray
    smoothing: np.ndarray


@numba.njit(cache=True, nogil=True)
def update_forecast(a: OrderArrays, t: int, window: int, alpha: float, demand: np.ndarray,
                    orders_received: np.ndarray, demand_days: np.ndarray,
                    forecast: np.ndarray, history: np.ndarray,
                    nominal: np.ndarray) -> None:  # pragma: no cover - compiled
    """Update m(t) of forecasting nodes (``StockingPoint.update_forecast``).

    Each node's signal is its zones' demand plus the orders it received; point-of-sale nodes
    see their share of the zones' demand ``pos_delay`` days late (their nominal outflow before
    that); moving averages keep the last ``window`` signals in ``history`` (slot, moving node,
    replicate), summed slot after slot; smoothing weighs the signal by ``alpha``.
    """
    signal = np.empty_like(forecast)
    csr_rows(a.by_zone_node, demand, signal)
    signal += orders_received
    for p in range(a.pos_rows.size):
        i, day = a.pos_rows[p], t - a.pos_delay[p]
        if day < 0:
            signal[i] = nominal[i]
        else:
            csr_row(a.pos, i, demand_days[day], signal[i])
    if a.moving.size:
        slot = history[t % window]
        for m in range(a.moving.size):
            slot[m] = signal[a.moving[m]]
        total = np.empty(history.shape[1:])
        slot_sum(history, total)  # slot after slot: the same bits in any chunk
        for m in range(a.moving.size):
            forecast[a.moving[m]] = total[m] / window
    kept = 1.0 - alpha
    for i in a.smoothing:
        forecast[i] = alpha * signal[i] + kept * forecast[i]


@numba.njit(cache=True, nogil=True)
def position_and_level(a: OrderArrays, backorder: bool, stock: np.ndarray, owed: np.ndarray,
                       backlog: np.ndarray, in_transit: np.ndarray, inputs: np.ndarray,
                       forecast: np.ndarray, level_base: np.ndarray, owed_node: np.ndarray,
                       backlog_node: np.ndarray, net: np.ndarray, level: np.ndarray,
                       on_order: np.ndarray,
                       position: np.ndarray) -> None:  # pragma: no cover - compiled
    """Net stock, order-up-to levels and inventory positions (``StockingPoint.order``).

    ``owed_node`` and (with backorders) ``backlog_node`` are what each node owes; ``net`` its
    stock less that; ``level`` each input's base level plus its slope on the forecasts;
    ``position`` its stock, plus what is on order over its lanes (in transit or owed), plus its
    node's net stock in input units.
    """
    csr_rows(a.by_source, owed, owed_node)
    if backorder:
        csr_rows(a.by_zone_node, backlog, backlog_node)
    for i in range(stock.shape[0]):
        for k in range(stock.shape[1]):
            net[i, k] = stock[i, k] - (owed_node[i, k] + backlog_node[i, k])
    _added(a.slope_of_node, forecast, level_base, level)
    for j in range(owed.shape[0]):
        for k in range(owed.shape[1]):
            on_order[j, k] = in_transit[j, k] + owed[j, k]
    _added(a.by_input, on_order, inputs, position)
    _added(a.bom_of_node, net, position, position)


@numba.njit(inline="always")
def _added(matrix, x, base, out):  # pragma: no cover - compiled
    """``out = base + matrix @ x`` (``out`` may be ``base``), row by row."""
    row = np.empty(x.shape[1])
    for i in range(out.shape[0]):
        csr_row(matrix, i, x, row)
        for k in range(row.size):
            out[i, k] = base[i, k] + row[k]
