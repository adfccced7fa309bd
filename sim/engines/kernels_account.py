"""The batch engine's account phase compiled (numba): the day's service, and the recorded block.

``BatchEngine.account`` made some thirty numpy calls and sparse products a recorded day to fill
the day block (:data:`sim.measures.trace.NODE_VARS`) with every measure on, each costing more in
overhead than its arithmetic on the demo's (node, replicate) arrays; here they are one call.
Sums over a node's zones or lanes are the rows of the engine's CSR incidence matrices, added in
their stored order from 0.0 as scipy's product adds them, and the costs are
:func:`sim.engines.kernels.node_costs`: the same bits as the numpy lines
(``tests/test_kernels.py`` holds whole runs to them).

Products of one operand by several matrices are one product by the matrices stacked, whose
row segments of ``n`` rows land in the block's variables ``segments`` names
(:func:`stacked_product`).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from sim.engines.kernels import CSR, csr_row, csr_rows, node_costs

__all__ = ["ROWS", "AccountArrays", "account", "stacked_product"]


class AccountArrays(NamedTuple):
    """The engine's constants the account phase reads (made once per engine).

    ``by_zone_node`` (node, zone), ``by_target`` (node, lane) and ``input_value`` (node, input)
    sum over a node's zones, inbound lanes and inputs; ``shortage_penalty`` and
    ``backorder_penalty`` (node, zone) weigh zones by their penalties; ``activation_fee``
    (node, lane) by the backups' fees. ``from_in_transit`` and ``from_shipped`` are stacked
    (segment x node, lane) matrices whose segments land in the block variables
    ``in_transit_rows`` and ``shipped_rows``; ``cost_rows`` are the variables
    :func:`~sim.engines.kernels.node_costs` writes. ``rows`` holds the block's row of each
    variable the phase writes, in :data:`ROWS` order.
    """

    by_zone_node: CSR
    by_target: CSR
    input_value: CSR
    shortage_penalty: CSR
    backorder_penalty: CSR
    activation_fee: CSR
    from_in_transit: CSR
    in_transit_rows: np.ndarray
    from_shipped: CSR
    shipped_rows: np.ndarray
    cost_rows: np.ndarray
    rows: np.ndarray
    choice_lanes: np.ndarray  # the lanes of inputs with a choice (dynamic sourcing)


ROWS = ("stock", "production", "received", "demand", "served", "shortage", "lost", "backlog",
        "shipped", "owed", "capacity_factor", "shortage_cost", "fixed_cost", "rerouted",
        "transferred", "reserve_released", "co2e")
"""The block variables :func:`account` writes itself, in the order of ``AccountArrays.rows``."""
(STOCK, PRODUCTION, RECEIVED, DEMAND, SERVED, SHORTAGE, LOST, BACKLOG, SHIPPED, OWED, FACTOR,
 SHORTAGE_COST, FIXED_COST, REROUTED, TRANSFERRED, RELEASED, CO2E) = range(len(ROWS))


@numba.njit(cache=True, nogil=True)
def stacked_product(csr: CSR, x: np.ndarray, block: np.ndarray,
                    segments: np.ndarray) -> None:  # pragma: no cover - compiled
    """Rows ``s x n .. s x n + n - 1`` of ``csr @ x`` into ``block[segments[s]]`` (node, rep)."""
    n = block.shape[1]
    for s in range(segments.size):
        for i in range(n):
            csr_row(csr, s * n + i, x, block[segments[s], i])


@numba.njit(cache=True, nogil=True)
def account(a: AccountArrays, block: np.ndarray, recorded: bool, flags: np.ndarray,
            scalars: np.ndarray, stock: np.ndarray, production: np.ndarray,
            served_node: np.ndarray, shipped_node: np.ndarray, owed_node: np.ndarray,
            factor: np.ndarray, inputs: np.ndarray, demand: np.ndarray, shortage: np.ndarray,
            backlog: np.ndarray, delivered: np.ndarray, in_transit: np.ndarray,
            shipped: np.ndarray, activated: np.ndarray, cancel: np.ndarray,
            first_reroute: np.ndarray, transferred: np.ndarray, released: np.ndarray,
            reserve: np.ndarray, cost_constants: np.ndarray,
            service_yesterday: np.ndarray) -> None:  # pragma: no cover - compiled
    """Yesterday's service for the reserves, and the day block of a recorded day.

    ``StockingPoint.account``, in the order of the numpy lines it replaced. ``flags`` are
    (reserves, pooling, backorder, dynamic, public costs); ``scalars`` (pool cost per unit,
    switch cost). Node arrays are (node, replicate), zone arrays (zone, replicate), lane arrays
    (lane, replicate), ``first_reroute`` (choice lane, replicate); ``block`` is the day's
    (variable, node, replicate) array, written when ``recorded``.
    """
    reserves, pooling = flags[0], flags[1]
    rows = a.rows
    node_demand, node_shortage = block[rows[DEMAND]], block[rows[SHORTAGE]]
    if not recorded:
        if not (reserves or pooling):
            return
        node_demand, node_shortage = np.empty_like(stock), np.empty_like(stock)
    csr_rows(a.by_zone_node, demand, node_demand)
    csr_rows(a.by_zone_node, shortage, node_shortage)
    if reserves:
        for i in range(stock.shape[0]):
            for k in range(stock.shape[1]):
                wanted = node_demand[i, k]
                service_yesterday[i, k] = 1.0 - node_shortage[i, k] / wanted if wanted > 0 \
                    else 1.0
    if recorded:
        _fill(a, block, flags, scalars, stock, production, served_node, shipped_node,
              owed_node, factor, inputs, shortage, backlog, delivered, in_transit, shipped,
              activated, cancel, first_reroute, transferred, released, reserve,
              cost_constants)


@numba.njit(cache=True, nogil=True)
def _fill(a, block, flags, scalars, stock, production, served_node, shipped_node, owed_node,
          factor, inputs, shortage, backlog, delivered, in_transit, shipped, activated, cancel,
          first_reroute, transferred, released, reserve, cost_constants):  # pragma: no cover
    """The block's variables (demand and shortage already there), as ``_fill_block`` wrote them."""
    reserves, pooling, backorder, dynamic, public = flags[0], flags[1], flags[2], flags[3], \
        flags[4]
    pool_cost, switch_cost = scalars[0], scalars[1]
    rows = a.rows
    block[rows[STOCK]] = stock
    block[rows[PRODUCTION]] = production
    csr_rows(a.by_target, delivered, block[rows[RECEIVED]])
    block[rows[SERVED]] = served_node
    if backorder:  # else nothing is backordered, and lost = shortage
        csr_rows(a.by_zone_node, backlog, block[rows[BACKLOG]])
    else:
        block[rows[LOST]] = block[rows[SHORTAGE]]
    block[rows[SHIPPED]] = shipped_node
    block[rows[OWED]] = owed_node
    stacked_product(a.from_in_transit, in_transit, block, a.in_transit_rows)
    block[rows[FACTOR]] = factor
    held_inputs = np.empty_like(stock)
    csr_rows(a.input_value, inputs, held_inputs)
    stacked_product(a.from_shipped, shipped, block, a.shipped_rows)  # freight and its CO2e
    penalties = block[rows[SHORTAGE_COST]]
    csr_rows(a.shortage_penalty, shortage, penalties)
    if backorder:
        more = np.empty_like(penalties)
        csr_rows(a.backorder_penalty, backlog, more)
        penalties += more
    if dynamic:
        csr_rows(a.activation_fee, activated, block[rows[FIXED_COST]])
        csr_rows(a.by_target, cancel, block[rows[REROUTED]])
        if switch_cost > 0:
            switches = np.zeros_like(shipped)
            for j in range(a.choice_lanes.size):
                for k in range(switches.shape[1]):
                    switches[a.choice_lanes[j], k] = 1.0 if first_reroute[j, k] else 0.0
            charged = np.empty_like(stock)
            csr_rows(a.by_target, switches, charged)
            fixed = block[rows[FIXED_COST]]
            for i in range(fixed.shape[0]):
                for k in range(fixed.shape[1]):
                    fixed[i, k] += switch_cost * charged[i, k]
    if pooling:
        block[rows[TRANSFERRED]] = transferred
    if reserves:
        block[rows[RELEASED]] = released
    # the freight's CO2e is in the block's co2e row: node_costs reads it before it writes it
    node_costs(block, a.cost_rows, cost_constants, held_inputs, stock, production, released,
               reserve, transferred, block[rows[CO2E]], pool_cost, pooling, reserves, public)
