"""A compiled yardstick for the batch engine: the bare day as one fused numba loop.

Not an engine. It implements only the bare day (base-stock without forecasts, no disruptions,
no measures, lost sales) and exists to say how far the batch engine is from what this hardware
can do. It runs the same day on the same demand, with the engine's layout (entity-major arrays,
replicates contiguous), but each phase is one compiled pass per entity: no temporaries, no
Python between operations, the replicate loop innermost so the compiler vectorises it. It is
checked equal to the batch engine bit for bit (``tests/test_reference_kernel.py``).

Why it can be equal bit for bit: it takes its constants and its first day's state from the batch
engine itself (:meth:`BatchEngine.start`), and every grouped sum walks the engine's own CSR
incidence matrices in their stored order starting from 0.0, as scipy's ``csr_matvecs`` does.
numba does not contract a*b + c into a fused multiply-add unless ``fastmath`` is on, and it is
off here.

A one-replicate-at-a-time loop (the state of a replicate in registers) was tried first and was
slower than the engine itself (1.0-1.5x its time on the demo at R = 200): these networks are a
few dozen sparse rows per replicate, and walking them once per replicate costs more than walking
them once per day with a vector of replicates.

It records as the engine's recording modes do, so their costs compare:

* ``"kpis"``: per-replicate totals of every node variable, stock units, per-node demand,
  shortage and service, stock-outs, peak shortage, lane flows, order variance per tier and the
  daily network demand and shortage (:class:`sim.measures.kpis.KpiAccumulator`);
* ``"summary"``: that plus, for every day, the sum and centred sum of squares over replicates of
  every node variable and input stock, with the engine's own moments kernel (as
  :class:`sim.engines.recording._Moments`, so the same bits),
  and the network series of every replicate (:class:`sim.engines.recording.SummaryAccumulator`);
* ``"trace"``: that of ``"kpis"`` plus every daily node variable, input stock and lane shipment
  of every replicate (what the equality test compares).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from sim.compile.plan import PolicyPlan
from sim.compile.scenario import ScenarioDraws
from sim.engines.batch import BatchEngine
from sim.engines.kernels import moments
from sim.measures.kpis import order_tiers
from sim.measures.trace import NODE
from sim.spec.units import STOCKOUT_TOLERANCE

__all__ = ["MODES", "ReferenceResult", "run_reference"]

MODES = {"kpis": 1, "summary": 2, "trace": 3}
V = len(NODE)
# node-variable rows, as module constants the compiled loops fold
STOCK, PRODUCTION, RECEIVED, DEMAND, SERVED = (NODE[k] for k in (
    "stock", "production", "received", "demand", "served"))
SHORTAGE, LOST, SHIPPED, OWED, IN_TRANSIT = (NODE[k] for k in (
    "shortage", "lost", "shipped", "owed", "in_transit"))
IN_TRANSIT_VALUE, FACTOR, HOLDING, PIPELINE, TRANSPORT = (NODE[k] for k in (
    "in_transit_value", "capacity_factor", "holding_cost", "pipeline_holding_cost",
    "transport_cost"))
SHORTAGE_COST, PREMIUM, RESERVATION, FIXED, COST, CO2E = (NODE[k] for k in (
    "shortage_cost", "premium_cost", "reservation_cost", "fixed_cost", "cost", "co2e"))
BACKUP_INFLOW, EXPEDITED_INFLOW = NODE["backup_inflow"], NODE["expedited_inflow"]
SERIES = 3  # network series kept per replicate and day in "summary": shortage, stock, cost


@dataclass
class ReferenceResult:
    """What the kernel recorded; per-replicate arrays have replicates last, as the engine's."""

    totals: np.ndarray  # (variable, replicate): every node variable summed over nodes and days
    node_demand: np.ndarray  # (node, replicate)
    node_shortage: np.ndarray
    node_served: np.ndarray
    stock_units: np.ndarray  # (replicate,)
    stockouts: np.ndarray
    peak_shortage: np.ndarray
    lane_flow: np.ndarray  # (lane, replicate)
    order_sums: np.ndarray  # (ordering tier, replicate): shifted sums of daily orders
    order_squares: np.ndarray
    network_demand: np.ndarray  # (day, replicate)
    network_shortage: np.ndarray
    sums: np.ndarray | None = None  # (day, variable x node + input): "summary" moments
    m2: np.ndarray | None = None
    series: np.ndarray | None = None  # (day, SERIES, replicate)
    nodes: np.ndarray | None = None  # (day, variable, node, replicate): "trace"
    inputs: np.ndarray | None = None  # (day, input, replicate)
    shipped: np.ndarray | None = None  # (day, lane, replicate)


def _csr(matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    matrix = matrix.tocsr()
    return (matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64),
            matrix.data.astype(np.float64))


def _check_bare(engine: BatchEngine, draws: ScenarioDraws) -> None:
    plan, layout = engine.plan, engine.layout
    refused = {"events": len(draws.events) > 0, "backorders": layout.backorder,
               "dynamic sourcing": plan.dynamic, "expediting": plan.expedite,
               "reserves": plan.uses_reserves, "pooling": plan.uses_pooling,
               "forecasts": engine.forecasting.size > 0, "public costs": plan.public_costs}
    on = [name for name, value in refused.items() if value]
    if on:
        raise ValueError(f"the reference kernel runs the bare day only; this run has {on}")


def run_reference(plan: PolicyPlan, draws: ScenarioDraws, warmup_days: int,
                  mode: str = "kpis") -> ReferenceResult:
    """Run the bare day of ``plan`` on ``draws`` and record it as ``mode`` says.

    Parameters
    ----------
    plan : PolicyPlan
        A bare policy on a lost-sales network (anything else is refused).
    draws : ScenarioDraws
        Demand of the replicates, without events.
    warmup_days : int
        Days before recording starts.
    mode : {"kpis", "summary", "trace"}
        What to record (module docstring).
    """
    engine = BatchEngine(plan)
    _check_bare(engine, draws)
    layout, reps = engine.layout, len(draws.replicates)
    s = engine.start(draws, warmup_days, None)
    engine.disrupt(s, 0)  # without events, capacities stay as on day 0
    days = draws.horizon - warmup_days
    n, e, k = layout.n_nodes, layout.n_lanes, layout.n_inputs
    tiers = order_tiers(layout)
    lane_tier = np.searchsorted(tiers, layout.tier[layout.lane_target]).astype(np.int64)
    # the order-up-to level is constant without forecasts: the engine's sum, computed once
    level = s.full["level_base"][:, 0] + engine.slope_of_node @ s.forecast[:, 0]
    matrices = tuple(_csr(matrix) for matrix in (
        engine.by_source, engine.by_target, engine.by_input, engine.by_zone_node,
        engine.node_of_zone, engine.source_of_lane, engine.used_by, engine.bom_of_node,
        engine.share_of_input, engine.in_transit_value, engine.pipeline_holding,
        engine.freight_and_co2e, engine.shortage_penalty, engine.premium, engine.input_value,
        engine.inflow_by_role))

    def column(values: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(values[:, 0])

    constants = (column(s.capacity), column(s.outflow), column(s.lane_cap),
                 column(s.full["fg_level"]), column(s.full["order_gap"]), level,
                 np.asarray(layout.input_bom, dtype=float), column(s.full["unit_value"]),
                 column(s.full["holding_rate_day"]), column(s.full["production_co2e"]),
                 column(s.full["fee_per_day"]))
    index = np.int64
    structure = (engine.manufacturers.astype(index),
                 layout.input_first[engine.manufacturers].astype(index),
                 layout.input_count[engine.manufacturers].astype(index),
                 engine.warehouses.astype(index), engine.warehouse_input.astype(index),
                 int(engine.m_inputs), layout.lane_lead.astype(index), bool(s.capped),
                 np.flatnonzero(layout.mean_zone_demand > 0).astype(index), lane_tier,
                 np.bincount(lane_tier, layout.lane_mean_flow, tiers.size))
    state = (s.stock.copy(), s.inputs.copy(), s.owed.copy(), s.pending.copy(),
             s.in_transit.copy(), s.ring.copy())
    out = ReferenceResult(
        totals=np.zeros((V, reps)), node_demand=np.zeros((n, reps)),
        node_shortage=np.zeros((n, reps)), node_served=np.zeros((n, reps)),
        stock_units=np.zeros(reps), stockouts=np.zeros(reps), peak_shortage=np.zeros(reps),
        lane_flow=np.zeros((e, reps)), order_sums=np.zeros((tiers.size, reps)),
        order_squares=np.zeros((tiers.size, reps)), network_demand=np.zeros((days, reps)),
        network_shortage=np.zeros((days, reps)))
    code = MODES[mode]
    width = V * n + k
    kept = days if code == MODES["summary"] else 0
    summary = (np.zeros((kept, width)), np.zeros((kept, width)), np.zeros((kept, SERIES, reps)))
    traced = days if code == MODES["trace"] else 0
    trace = (np.zeros((traced, V, n, reps)), np.zeros((traced, k, reps)),
             np.zeros((traced, e, reps)))
    kpis = (out.totals, out.node_demand, out.node_shortage, out.node_served, out.stock_units,
            out.stockouts, out.peak_shortage, out.lane_flow, out.order_sums, out.order_squares,
            out.network_demand, out.network_shortage)
    _simulate(np.ascontiguousarray(s.demand_days), warmup_days, s.ring_size, code, matrices,
              constants, structure, state, kpis, summary, trace)
    if code == MODES["summary"]:
        out.sums, out.m2, out.series = summary
    if code == MODES["trace"]:
        out.nodes, out.inputs, out.shipped = trace
    return out


@numba.njit(inline="always")
def _dot(csr, i, x, out):
    """``out = (row i of the CSR matrix) @ x`` for every replicate: stored order, from 0.0."""
    indptr, indices, data = csr
    out[:] = 0.0
    for j in range(indptr[i], indptr[i + 1]):
        weight, row = data[j], x[indices[j]]
        for r in range(out.size):
            out[r] += weight * row[r]


@numba.njit
def _simulate(demand, warmup, ring_size, mode, matrices, constants, structure, state, kpis,
              summary, trace):
    """Every day: the phases, then the recorded block, KPIs and summaries of all replicates."""
    stock, inputs, owed = state[0], state[1], state[2]
    (n, reps), k, e = stock.shape, inputs.shape[0], owed.shape[0]
    zones = demand.shape[1]
    scratch = (np.empty((n, reps)), np.empty((n, reps)), np.empty((n, reps)),
               np.empty((n, reps)), np.empty((n, reps)), np.empty((k, reps)),
               np.empty((k, reps)), np.empty((e, reps)), np.empty((e, reps)),
               np.empty((zones, reps)), np.empty((zones, reps)), np.empty((zones, reps)),
               np.empty(reps), np.empty((e, reps)), np.empty((n, reps)))
    block = np.zeros((V, n, reps))
    for t in range(demand.shape[0]):
        delivered = _day(t, demand[t], ring_size, matrices, constants, structure, state, scratch)
        if t < warmup:
            continue
        day = t - warmup
        _block(demand[t], delivered, matrices, constants, state, scratch, block)
        _kpis(day, block, inputs, state[3], scratch[13], structure, kpis)
        if mode == 2:
            _moments(day, block, inputs, summary[0], summary[1])
            series = summary[2]
            for r in range(reps):
                series[day, 0, r] = kpis[11][day, r]
                series[day, 1, r] = 0.0
                series[day, 2, r] = 0.0
                for i in range(n):
                    series[day, 1, r] += block[STOCK, i, r]
                    series[day, 2, r] += block[COST, i, r]
        elif mode == 3:
            trace[0][day] = block
            trace[1][day] = inputs
            trace[2][day] = scratch[13]


@numba.njit(inline="always")
def _day(t, demand, ring_size, matrices, constants, structure, state, scratch):
    """All replicates' day: receive, produce, serve, ship, order (sim.engines.batch, bare).

    Returns the day's deliveries (lane, replicate), a view of the ring as in the engine.
    """
    (by_source, _, by_input, by_zone_node, node_of_zone, source_of_lane, used_by, bom_of_node,
     share_of_input) = matrices[:9]
    capacity, outflow, lane_cap, fg_level, order_gap, level, bom = constants[:7]
    manufacturers, starts, counts, warehouses, warehouse_input, m, lead, capped = structure[:8]
    stock, inputs, owed, pending, in_transit, ring = state
    (owed_node, production, fraction, outflow_left, net, received, position, wants, on_order,
     request, served, shortage, row, shipped, served_node) = scratch
    n, reps = stock.shape
    k, e, zones = inputs.shape[0], owed.shape[0], request.shape[0]
    # receive
    delivered = ring[t % ring_size]
    for lane in range(e):
        for r in range(reps):
            in_transit[lane, r] -= delivered[lane, r]
    for i in range(k):
        _dot(by_input, i, delivered, received[i])
    for i in range(m):
        for r in range(reps):
            inputs[i, r] += received[i, r]
    for w in range(warehouses.size):
        for r in range(reps):
            stock[warehouses[w], r] += received[warehouse_input[w], r]
    for lane in range(e):
        for r in range(reps):
            owed[lane, r] += pending[lane, r]
    # produce
    for i in range(n):
        _dot(by_source, i, owed, owed_node[i])
        for r in range(reps):
            room = max(0.0, fg_level[i] + (owed_node[i, r] + 0.0) - stock[i, r])
            production[i, r] = min(capacity[i], room)
    for g in range(manufacturers.size):
        node = manufacturers[g]
        for r in range(reps):
            kits = np.inf
            for i in range(starts[g], starts[g] + counts[g]):
                kits = min(kits, inputs[i, r] / bom[i])
            production[node, r] = min(production[node, r], kits)
    for i in range(m):
        _dot(used_by, i, production, row)
        for r in range(reps):
            inputs[i, r] = max(inputs[i, r] - row[r], 0.0)
    for w in range(warehouses.size):
        production[warehouses[w]] = 0.0
    for i in range(n):
        for r in range(reps):
            stock[i, r] += production[i, r]
    # serve
    for zone in range(zones):
        for r in range(reps):
            request[zone, r] = demand[zone, r] + 0.0
    for i in range(n):
        _dot(by_zone_node, i, request, row)
        for r in range(reps):
            available = max(0.0, min(stock[i, r], outflow[i]))
            fraction[i, r] = available / row[r] if row[r] > available else 1.0
    for zone in range(zones):
        _dot(node_of_zone, zone, fraction, row)
        for r in range(reps):
            served[zone, r] = request[zone, r] * row[r]
            shortage[zone, r] = demand[zone, r] - max(0.0, served[zone, r] - 0.0)
    for i in range(n):
        _dot(by_zone_node, i, served, served_node[i])
        for r in range(reps):
            stock[i, r] = max(stock[i, r] - served_node[i, r], 0.0)
            outflow_left[i, r] = outflow[i] - served_node[i, r]
    # ship
    for lane in range(e):
        for r in range(reps):
            wants[lane, r] = min(owed[lane, r], lane_cap[lane]) if capped else owed[lane, r]
    for i in range(n):
        if capped:
            _dot(by_source, i, wants, row)
        else:
            row[:] = owed_node[i]
        for r in range(reps):
            available = max(0.0, min(stock[i, r], outflow_left[i, r]))
            fraction[i, r] = available / row[r] if row[r] > available else 1.0
    for lane in range(e):
        _dot(source_of_lane, lane, fraction, shipped[lane])
        slot = ring[(t + lead[lane]) % ring_size, lane]
        for r in range(reps):
            shipped[lane, r] *= wants[lane, r]
            owed[lane, r] -= shipped[lane, r]
            in_transit[lane, r] += shipped[lane, r]
            slot[r] = shipped[lane, r]
    for i in range(n):
        _dot(by_source, i, shipped, row)
        for r in range(reps):
            stock[i, r] = max(stock[i, r] - row[r], 0.0)
    # order
    for i in range(n):
        _dot(by_source, i, owed, owed_node[i])
        for r in range(reps):
            net[i, r] = stock[i, r] - (owed_node[i, r] + 0.0)
    for lane in range(e):
        for r in range(reps):
            on_order[lane, r] = in_transit[lane, r] + owed[lane, r]
    for i in range(k):
        _dot(by_input, i, on_order, row)
        for r in range(reps):
            position[i, r] = inputs[i, r] + row[r]
        _dot(bom_of_node, i, net, row)
        for r in range(reps):
            position[i, r] += row[r]
            q = level[i] + order_gap[i] - position[i, r] if position[i, r] <= level[i] else 0.0
            position[i, r] = max(q, 0.0)  # the order quantity, in place
    for lane in range(e):
        _dot(share_of_input, lane, position, pending[lane])
    return delivered


@numba.njit(inline="always")
def _block(demand, delivered, matrices, constants, state, scratch, block):
    """The day's node variables (``BatchEngine._fill_block``, bare) into (variable, node, rep)."""
    (by_source, by_target, _, by_zone_node, _, _, _, _, _, transit_value, pipeline,
     freight_co2e, penalty, premium, input_value, inflow) = matrices
    unit_value, holding_rate, production_co2e, fee = constants[7:11]
    stock, inputs, in_transit = state[0], state[1], state[4]
    owed_node, production, shortage, row = scratch[0], scratch[1], scratch[11], scratch[12]
    shipped, served_node = scratch[13], scratch[14]
    n, reps = stock.shape
    for i in range(n):
        block[STOCK, i] = stock[i]
        block[PRODUCTION, i] = production[i]
        _dot(by_target, i, delivered, block[RECEIVED, i])
        _dot(by_zone_node, i, demand, block[DEMAND, i])
        _dot(by_zone_node, i, shortage, block[SHORTAGE, i])
        block[LOST, i] = block[SHORTAGE, i]
        _dot(by_source, i, shipped, block[SHIPPED, i])
        block[SERVED, i] = served_node[i]
        block[OWED, i] = owed_node[i]
        _dot(by_target, i, in_transit, block[IN_TRANSIT, i])
        _dot(transit_value, i, in_transit, block[IN_TRANSIT_VALUE, i])
        block[FACTOR, i] = 1.0
        _dot(input_value, i, inputs, row)
        _dot(pipeline, i, in_transit, block[PIPELINE, i])
        _dot(freight_co2e, i, shipped, block[TRANSPORT, i])
        _dot(penalty, i, shortage, block[SHORTAGE_COST, i])
        _dot(premium, i, shipped, block[PREMIUM, i])
        _dot(freight_co2e, n + i, shipped, block[CO2E, i])
        _dot(inflow, i, shipped, block[BACKUP_INFLOW, i])
        _dot(inflow, n + i, shipped, block[EXPEDITED_INFLOW, i])
        for r in range(reps):
            holding = stock[i, r] * unit_value[i]
            holding += row[r]
            block[HOLDING, i, r] = holding * holding_rate[i]
            block[RESERVATION, i, r] = fee[i]
            cost = block[HOLDING, i, r] + block[PIPELINE, i, r]
            cost += block[TRANSPORT, i, r]
            cost += block[SHORTAGE_COST, i, r]
            cost += block[PREMIUM, i, r]
            cost += block[RESERVATION, i, r]
            cost += block[FIXED, i, r]
            block[COST, i, r] = cost
            block[CO2E, i, r] = production[i, r] * production_co2e[i] + block[CO2E, i, r]


@numba.njit(inline="always")
def _kpis(day, block, inputs, pending, shipped, structure, kpis):
    """The KPI accumulators' day (``KpiAccumulator.record``, bare)."""
    serving, lane_tier, tier_shift = structure[8], structure[9], structure[10]
    (totals, node_demand, node_shortage, node_served, stock_units, stockouts, peak, lane_flow,
     order_sums, order_squares, network_demand, network_shortage) = kpis
    _, n, reps = block.shape
    k, e = inputs.shape[0], pending.shape[0]
    for v in range(V):
        for r in range(reps):
            total = 0.0
            for i in range(n):
                total += block[v, i, r]
            totals[v, r] += total
    for r in range(reps):
        stock_total, demand_total, shortage_total = 0.0, 0.0, 0.0
        for i in range(n):
            stock_total += block[STOCK, i, r]
            demand_total += block[DEMAND, i, r]
            shortage_total += block[SHORTAGE, i, r]
        input_total = 0.0
        for i in range(k):
            input_total += inputs[i, r]
        stock_units[r] += stock_total + input_total
        peak[r] = max(peak[r], shortage_total)
        network_demand[day, r] = demand_total
        network_shortage[day, r] = shortage_total
    for i in range(n):
        for r in range(reps):
            node_demand[i, r] += block[DEMAND, i, r]
            node_shortage[i, r] += block[SHORTAGE, i, r]
            node_served[i, r] += block[SERVED, i, r]
    for j in range(serving.size):
        i = serving[j]
        for r in range(reps):
            limit = STOCKOUT_TOLERANCE * max(block[DEMAND, i, r], 1.0)
            stockouts[r] += 1.0 if block[SHORTAGE, i, r] > limit else 0.0
    tiers = order_sums.shape[0]
    orders = np.zeros((tiers, reps))
    for lane in range(e):
        for r in range(reps):
            lane_flow[lane, r] += shipped[lane, r]
            orders[lane_tier[lane], r] += pending[lane, r]
    for g in range(tiers):
        for r in range(reps):
            centred = orders[g, r] - tier_shift[g]
            order_sums[g, r] += centred
            order_squares[g, r] += centred * centred


@numba.njit(inline="always")
def _moments(day, block, inputs, sums, m2):
    """Sum and centred sum of squares over replicates of one day: ``kernels.moments`` itself.

    The engine's compiled pass (eight partial sums, which the compiler vectorises), so the same
    bits; a plain running sum here was a chain of dependent additions, about 4x slower, and
    made this yardstick slower than the engine.
    """
    rows = block.shape[0] * block.shape[1]
    moments(block.reshape(rows, block.shape[2]), sums[day, :rows], m2[day, :rows])
    moments(inputs, sums[day, rows:], m2[day, rows:])
