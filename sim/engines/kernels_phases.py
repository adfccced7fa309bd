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
    csr_rows,
    maximum,
    minimum,
    pool_transfers,
    rationed,
    taken_from,
)

__all__ = ["ServeArrays", "serve"]


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


@numba.njit(cache=True)
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


@numba.njit(cache=True)
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
