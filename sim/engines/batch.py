"""The batch engine: the day of :mod:`sim.engines.mesa.model` on arrays of many replicates at once.

State holds (replicate, node), (replicate, lane), (replicate, input) values and a pipeline ring
buffer of (lead-time slot, replicate, lane) values indexed by arrival day modulo its length. In
memory every array is entity-major, (node, replicate) etc., so that one node's or one lane's
values across replicates are one contiguous row. There is no Python loop over replicates, nodes
or lanes inside a day:

* grouped sums (a node's outgoing lanes, its zones, an input's lanes) are products with sparse
  0/1 incidence matrices in CSR form, which add rows in the order the Mesa agents add their
  lanes; measured 4-6x faster than ``np.add.reduceat`` on these shapes (``benchmarks/``);
* a manufacturer's kits are the minimum over its inputs: a padded gather for small BOMs,
  ``np.minimum.reduceat`` for wide ones;
* per-lane broadcasts of per-node values are row gathers (``np.take``), or sparse products when
  they are also scaled;
* the pipeline ring is indexed by arrival day: with fixed lead times each lane writes each slot
  once per cycle, on the day before it is due to be read, so a shipment is *assigned* to its
  (arrival slot, lane) and today's deliveries are a view of today's slot (no copy, no reset).

Every phase performs the same arithmetic as the Mesa agents, element by element, so the two
engines agree to rounding (the equivalence tests hold them to rtol 1e-9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sparse

from sim.compile.effects import (
    LANE_CAPACITY,
    LANE_LEAD,
    NODE_CAPACITY,
    knowledge_events,
    schedules,
)
from sim.compile.effects import ring_size as ring_size_of
from sim.compile.grouping import incidence
from sim.compile.layout import MANUFACTURER, WAREHOUSE
from sim.compile.plan import PolicyPlan
from sim.compile.scenario import ScenarioDraws
from sim.engines.batch_parts import (
    GroupMin,
    Knowledge,
    LaneSubset,
    SourcingState,
    compiled_products,
)
from sim.engines.batch_policy import PolicySteps
from sim.engines.day import PHASES
from sim.engines.recording import Recording
from sim.measures.trace import LANE, NODE, DayBlock
from sim.spec.units import DAYS_PER_YEAR, ROUNDING

__all__ = ["BatchEngine"]

# what sim.engines.kernels.node_costs writes into the day block, and the constants it reads
COST_VARS = np.array([NODE[name] for name in (
    "holding_cost", "pipeline_holding_cost", "transport_cost", "shortage_cost", "premium_cost",
    "reservation_cost", "fixed_cost", "cost", "public_cost", "co2e")], dtype=np.int64)
COST_CONSTANTS = ("unit_value", "holding_rate_day", "fee_per_day", "release_cost",
                  "reserve_cost", "public_fee", "public_reserve_share", "public_node_share",
                  "production_co2e")


def product(matrix: sparse.csr_matrix, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``matrix @ x`` written into ``out``, compiled (:func:`sim.engines.kernels.csr_product`).

    The same sums in the same order as scipy's product (``sim.compile.grouping.product``), so
    the same bits, without zeroing ``out`` in a pass of its own first.
    """
    from sim.engines.kernels import csr_product  # numba: compiled on first use, not at import

    if x.ndim == 2 and x.flags.c_contiguous and out.flags.c_contiguous:
        csr_product(matrix.indptr, matrix.indices, matrix.data, x, out)
    else:
        out[...] = matrix @ x
    return out


def added(base: np.ndarray, matrix: sparse.csr_matrix, x: np.ndarray,
          out: np.ndarray) -> np.ndarray:
    """``base + matrix @ x`` written into ``out`` (which may be ``base``), compiled.

    :func:`sim.engines.kernels.csr_product_added`: the bits of numpy's ``base + (matrix @ x)``
    without the product's temporary.
    """
    from sim.engines.kernels import csr_product_added  # numba: compiled on first use

    if x.ndim == 2 and all(a.flags.c_contiguous for a in (x, base, out)):
        csr_product_added(matrix.indptr, matrix.indices, matrix.data, x, base, out)
    else:
        np.add(base, matrix @ x, out=out)
    return out


class _Chunk:
    """The state of one chunk of replicates between phases (set by :meth:`BatchEngine.start`).

    Arrays are entity-major, (node | lane | input | zone, replicate); the phases update most of
    them in place (the day block holds views of some).
    """

    if TYPE_CHECKING:  # attributes are set by `start` and the phases
        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...


class BatchEngine(PolicySteps):
    """Runs chunks of replicates of one network under one policy.

    Parameters
    ----------
    plan : PolicyPlan
        The policy resolved on the network (:func:`sim.compile.plan.plan_policy`); its layout is the
        network the engine runs.
    """

    def __init__(self, plan: PolicyPlan) -> None:
        layout, levels = plan.layout, plan.levels
        self.plan, self.layout, self.levels = plan, layout, levels
        n, k = layout.n_nodes, layout.n_inputs
        m = self.m_inputs = layout.n_manufacturer_inputs  # manufacturer inputs are 0:m
        role = layout.lane_role
        # Grouped sums, and gathers scaled by a constant, as sparse products. A product with one
        # entry a per row computes 0 + a * x = a * x exactly, as the agents do.
        self.by_source = incidence(layout.lane_source, n)
        self.by_target = incidence(layout.lane_target, n)
        self.by_input = incidence(layout.lane_input, k)
        self.by_zone_node = incidence(layout.zone_node, n)
        self.freight_and_co2e = sparse.vstack([  # one pass over shipments for both
            incidence(layout.lane_target, n, layout.lane_cost),
            incidence(layout.lane_target, n, layout.lane_co2e)]).tocsr()
        self.premium = incidence(layout.lane_target, n, plan.premium)
        self.activation_fee = incidence(layout.lane_target, n, plan.activation_fee)
        self.inflow_by_role = sparse.vstack([  # backup and expedite inflows of each node
            incidence(layout.lane_target, n, (role == 1).astype(float)),
            incidence(layout.lane_target, n, (role == 2).astype(float))]).tocsr()
        self.input_value = incidence(layout.input_node, n, layout.input_value)
        self.shortage_penalty = incidence(layout.zone_node, n, layout.zone_shortage_cost)
        self.backorder_penalty = incidence(layout.zone_node, n, layout.zone_backorder_cost)
        self.in_transit_value = incidence(layout.lane_target, n,
                                          layout.unit_value[layout.lane_source])
        self.pipeline_holding = incidence(layout.lane_pipeline_owner, n,
                                          layout.lane_pipeline_rate)
        self.bom_of_node = incidence(layout.input_node, n, layout.input_bom).T.tocsr()  # (k, n)
        self.used_by = self.bom_of_node[:m]  # (m, n): input used per unit made
        self.slope_of_node = incidence(layout.input_node, n, levels.level_slope).T.tocsr()
        static = np.where(role == 0, plan.share, 0.0)
        self.share_of_input = incidence(layout.lane_input, k, static).T.tocsr()  # (e, k)
        self.input_of_lane = self.by_input.T.tocsr()  # (e, k): x[lane_input]
        # row gathers x[lane_source], x[zone_node] as products: 4x faster than np.take here
        self.source_of_lane = self.by_source.T.tocsr()
        self.node_of_zone = self.by_zone_node.T.tocsr()
        # manufacturers' kits: minimum of input stock / BOM over each manufacturer's inputs
        self.manufacturers = np.flatnonzero(layout.kind == MANUFACTURER)
        self.kits = GroupMin(layout.input_first[self.manufacturers],
                              layout.input_count[self.manufacturers], m)
        self.warehouses = np.flatnonzero(layout.kind == WAREHOUSE)
        self.warehouse_input = layout.input_first[self.warehouses]  # a warehouse has one input
        self.is_warehouse = layout.kind == WAREHOUSE
        self.every_lane = np.ones(layout.n_lanes, dtype=bool)  # a lane's outflow: its capacity
        self.lanes_capped = bool(np.isfinite(layout.lane_capacity).any())
        self.public_costs = plan.public_costs  # a property of arrays: once, not every day
        # policy parts
        self.static_share = static
        self.has_expedite = (self.by_input @ (role == 2).astype(float)) > 0  # (k,) inputs
        lanes_of_input = np.bincount(layout.lane_input, minlength=k)
        self.choice = LaneSubset(layout, plan, np.flatnonzero(lanes_of_input > 1))
        self.expediting = LaneSubset(layout, plan, np.flatnonzero(self.has_expedite))
        self.expediting_in_choice = self.expediting.within(self.choice)
        self.expediting_inputs_in_choice = np.searchsorted(self.choice.inputs,
                                                           self.expediting.inputs)
        self.choice_arrays = self.expedite_arrays = None
        if plan.dynamic or plan.expedite:  # numba: imported only for the engines that run it
            from sim.engines.kernels_sourcing import choice_arrays
            if plan.dynamic:
                self.choice_arrays = choice_arrays(self.choice)
            if plan.expedite:
                self.expedite_arrays = choice_arrays(self.expediting)
        self.forecasting = np.flatnonzero(plan.forecast_method > 0)
        self.moving = np.flatnonzero(plan.forecast_method == 1)  # moving averages
        self.smoothing = np.flatnonzero(plan.forecast_method == 2)  # exponential smoothing
        self.pos = sparse.csr_matrix(plan.pos_weights) if plan.forecast_pos.any() else None
        pos = plan.forecast_pos  # point-of-sale nodes by information delay: (delay, nodes)
        self.pos_delays = [(int(delay), np.flatnonzero(pos & (plan.info_delay == delay)))
                           for delay in np.unique(plan.info_delay[pos])]
        groups = plan.pool_group
        pooled = np.flatnonzero(groups >= 0)
        self.pooled = pooled
        if pooled.size:
            self.pool = incidence(groups[pooled], int(groups.max()) + 1)  # (group, pooled)
        self._columns = {  # per-entity constants, broadcast to (entity, replicate) per chunk
            "capacity": layout.capacity, "fg_level": levels.fg_level,
            "level_base": levels.level_base, "order_gap": levels.order_gap,
            "bom": layout.input_bom[:m], "all_bom": layout.input_bom,
            "lane_capacity": layout.lane_capacity, "unit_value": layout.unit_value,
            "production_co2e": layout.production_co2e,
            "holding_rate_day": layout.holding_rate / DAYS_PER_YEAR,
            "fee_per_day": plan.fee_per_day,
            "public_fee": plan.public_fee_per_day,
            "public_reserve_share": plan.public_reserve_share,
            "public_node_share": plan.public_node_share,
            "reserve_cost": layout.unit_value * plan.reserve_holding_rate,
            "release_cost": plan.reserve_release_cost,
            "reserve_threshold": plan.reserve_threshold,
            "reserve_release": plan.reserve_release,
            "nominal": layout.mean_outflow,
            "expedite_cover": plan.expedite_cover,
        }
        self._compiled_phases()
        compiled_products(self)  # the day's products without SciPy's overhead per call

    def _compiled_phases(self) -> None:
        """The constants the compiled phases read (:mod:`sim.engines.kernels_phases`, ...)."""
        plan, layout = self.plan, self.layout
        self.serve_arrays = self._serve_arrays()
        self.serve_flags = np.array([plan.uses_reserves, plan.uses_pooling, layout.backorder])
        self.order_arrays = self._order_arrays()
        self.account_arrays = self._account_arrays()
        self.account_flags = np.array([plan.uses_reserves, plan.uses_pooling, layout.backorder,
                                       plan.dynamic, self.public_costs])
        self.account_scalars = np.array([float(plan.pool_cost), float(plan.switch_cost)])

    def _serve_arrays(self) -> Any:
        """The constants of the compiled serve phase (``kernels_phases.ServeArrays``)."""
        from sim.engines.kernels import csr  # numba: compiled on first use, not at import
        from sim.engines.kernels_phases import ServeArrays

        pool = self.pool if self.pooled.size else sparse.csr_matrix((0, 0))
        return ServeArrays(by_zone_node=csr(self.by_zone_node),
                           node_of_zone=csr(self.node_of_zone), pool=csr(pool),
                           pooled=self.pooled.astype(np.int64))

    def _order_arrays(self) -> Any:
        """The constants of the compiled order phase (``kernels_phases.OrderArrays``)."""
        from sim.engines.kernels import csr  # numba: compiled on first use, not at import
        from sim.engines.kernels_phases import OrderArrays

        rows = [rows for _, rows in self.pos_delays]
        delays = [np.full(rows.size, delay) for delay, rows in self.pos_delays]
        pos = self.pos if self.pos is not None else sparse.csr_matrix(
            (self.layout.n_nodes, self.layout.n_zones))
        index = np.int64
        return OrderArrays(
            by_source=csr(self.by_source), by_zone_node=csr(self.by_zone_node),
            slope_of_node=csr(self.slope_of_node), by_input=csr(self.by_input),
            bom_of_node=csr(self.bom_of_node), pos=csr(pos),
            pos_rows=np.concatenate(rows).astype(index) if rows else np.zeros(0, index),
            pos_delay=np.concatenate(delays).astype(index) if delays else np.zeros(0, index),
            moving=self.moving.astype(index), smoothing=self.smoothing.astype(index))

    def _account_arrays(self) -> Any:
        """The constants of the compiled account phase (``kernels_account.AccountArrays``)."""
        from sim.engines.kernels import csr  # numba: compiled on first use, not at import
        from sim.engines.kernels_account import ROWS, AccountArrays

        def rows(*names: str) -> np.ndarray:
            return np.array([NODE[name] for name in names], dtype=np.int64)

        return AccountArrays(
            by_zone_node=csr(self.by_zone_node), by_target=csr(self.by_target),
            input_value=csr(self.input_value), shortage_penalty=csr(self.shortage_penalty),
            backorder_penalty=csr(self.backorder_penalty),
            activation_fee=csr(self.activation_fee),
            from_in_transit=csr(sparse.vstack([self.by_target, self.in_transit_value,
                                               self.pipeline_holding])),
            in_transit_rows=rows("in_transit", "in_transit_value", "pipeline_holding_cost"),
            from_shipped=csr(sparse.vstack([self.freight_and_co2e, self.premium,
                                            self.inflow_by_role])),
            shipped_rows=rows("transport_cost", "co2e", "premium_cost", "backup_inflow",
                              "expedited_inflow"),
            cost_rows=COST_VARS, rows=rows(*ROWS),
            choice_lanes=self.choice.lanes.astype(np.int64))

    def run(self, draws: ScenarioDraws, warmup_days: int, recording: Recording | None) -> None:
        """Simulate every day of a chunk, handing recorded days to ``recording``.

        Each day runs the phases of :data:`sim.engines.day.PHASES` in order, as
        :meth:`sim.engines.mesa.model.SupplyChainModel.step` does.

        Parameters
        ----------
        draws : ScenarioDraws
            The chunk's demand and events.
        warmup_days : int
            Days before recording starts.
        recording : Recording or None
            Recorders of the chunk.
        """
        state = self.start(draws, warmup_days, recording)
        phases = [getattr(self, name) for name in PHASES]
        for t in range(draws.horizon):
            for phase in phases:
                phase(state, t)
            if recording is not None and t >= warmup_days:
                recording.record(t - warmup_days, state.block)

    def start(self, draws: ScenarioDraws, warmup_days: int,
              recording: Recording | None) -> _Chunk:
        """The chunk's state on its first day: every node in the steady state of its rules."""
        layout, levels, plan = self.layout, self.levels, self.plan
        s = _Chunk()
        r = s.r = len(draws.replicates)
        n, e, z, m = layout.n_nodes, layout.n_lanes, layout.n_zones, self.m_inputs
        k = layout.n_inputs
        lead = layout.lane_lead
        s.warmup_days, s.recording = warmup_days, recording
        s.lanes_wanted = recording is not None and recording.wants_lanes
        # Constants as full (entity, replicate) arrays: with few replicates per row, broadcasting
        # a column costs per row more than the arithmetic itself (measured 4x).
        s.full = {name: np.repeat(np.asarray(value, dtype=float)[:, None], r, axis=1)
                  for name, value in self._columns.items()}
        s.cost_constants = np.stack([s.full[name] for name in COST_CONSTANTS])
        s.full.update(zip(COST_CONSTANTS, s.cost_constants, strict=True))  # views, not copies

        # what the events do, day by day, and what is known of them
        events = draws.events
        self._schedules(s, draws)
        s.known_lane = None  # (choice lane, replicate): what is known of the lanes, if dynamic
        if plan.dynamic:
            s.known_versions = ()
            s.sourcing = SourcingState(self.choice.lanes.size, self.choice.inputs.size, e, r)
        s.ring_size = ring_size_of(layout.max_lead, events)
        s.capped = self.lanes_capped or s.lanes_closed is not None
        s.lane_cap = s.full["lane_capacity"]  # (lane, replicate) today; events scale it
        s.lane_cap_closed = np.empty((e, r)) if s.lanes_closed is not None else None
        s.latest_arrival = lead.copy()  # (lane,): latest day a shipment in transit arrives

        # state, entity-major: (node | lane | input | zone, replicate)
        flow = layout.lane_initial_flow
        s.stock = np.repeat(levels.initial_stock[:, None], r, axis=1)
        s.inputs = np.repeat(levels.initial_inputs[:, None], r, axis=1)
        s.owed = np.zeros((e, r))
        s.pending = np.repeat(flow[:, None], r, axis=1)
        s.in_transit = np.repeat((flow * lead)[:, None], r, axis=1)
        s.ring = np.zeros((s.ring_size, e, r))  # (arrival day % ring_size, lane, replicate)
        ahead = lead[None, :] > np.arange(layout.max_lead)[:, None]  # (day, lane): due that day
        s.ring[:layout.max_lead] = np.where(ahead, flow[None, :], 0.0)[:, :, None]
        s.backlog = np.zeros((z, r))
        s.demand_days = np.ascontiguousarray(draws.demand.transpose(1, 2, 0))  # (day, zone, rep)
        s.lane_rows = np.arange(e)
        s.backlog_node = np.zeros((n, r))
        s.forecast = s.full["nominal"].copy()
        # the last `window` signals of the moving-average nodes only, (slot, node, replicate)
        s.history = np.repeat(s.full["nominal"][self.moving][None], plan.window, axis=0) if \
            self.moving.size else np.zeros((1, 0, r))
        s.reserve = np.repeat(plan.reserve_units[:, None], r, axis=1)
        s.service_yesterday = np.ones((n, r))
        s.released = np.zeros((n, r))
        s.transferred = np.zeros((n, r))
        s.activated = np.zeros((e, r))
        s.kit_ratio = np.full((m + 1, r), np.inf)  # last row: +inf, for padded minima
        s.on_order = np.empty((e, r))
        s.owed_node, s.net = np.empty((n, r)), np.empty((n, r))
        s.received_input = np.empty((k, r))
        s.position = np.empty((k, r))
        s.level = np.empty((k, r))
        s.production = np.empty((n, r))
        s.quantity = np.empty((k, r))
        s.pending_next = np.empty((e, r))
        s.used_now = np.empty((m, r))
        s.zone_fraction = np.empty((z, r))
        s.served_node, s.outflow_left = np.empty((n, r)), np.empty((n, r))
        s.shortage = np.empty((z, r))
        s.wants = s.owed if not s.capped else np.empty((e, r))
        s.shipped = np.empty((e, r))
        s.capacity = np.zeros((n, r))
        s.outflow = np.zeros((n, r))
        s.fraction = np.ones((n, r))
        s.seen = (-1, -1)
        s.no_reroutes = np.zeros((0, r), dtype=bool)  # without dynamic sourcing

        # one recorded day: node variables in the order of NODE_VARS, written in place
        s.block = DayBlock(np.zeros((len(NODE), n, r)), s.inputs,
                           np.zeros((len(LANE), e, r)) if s.lanes_wanted else None)
        s.nodes = {name: s.block.nodes[i] for name, i in NODE.items()}
        return s

    def _schedules(self, s: _Chunk, draws: ScenarioDraws) -> None:
        """The chunk's event schedules, moving together (one compiled call a day).

        What the events do to nodes and lanes; with dynamic sourcing, also what is foreseen
        (warned events from their notice) and known now.
        """
        layout, plan, events = self.layout, self.plan, draws.events
        sizes = {NODE_CAPACITY: layout.n_nodes, LANE_CAPACITY: layout.n_lanes,
                 LANE_LEAD: layout.n_lanes}
        kinds = set(events["kind"].tolist())
        wanted = [("nodes_hit", events, NODE_CAPACITY)]
        wanted += [(name, events, kind) for name, kind in (
            ("lanes_closed", LANE_CAPACITY), ("lanes_slowed", LANE_LEAD)) if kind in kinds]
        knowledge = []
        if plan.dynamic:
            warned = draws.warned(plan.warned_kinds)
            knowledge.append(("foreseen", knowledge_events(events, plan.detection_delay,
                                                           plan.notice_days, warned)))
            if plan.notice_days:
                knowledge.append(("current", knowledge_events(
                    events, plan.detection_delay, plan.notice_days, warned, ahead=False)))
        for name, known in knowledge:
            wanted += [(f"{name}.{kind}", known, kind) for kind in Knowledge.KINDS]
        made = dict(zip([name for name, _, _ in wanted], schedules(
            [(chosen, kind, sizes[kind], 0) for _, chosen, kind in wanted], s.r), strict=True))
        s.nodes_hit = made["nodes_hit"]
        s.lanes_closed, s.lanes_slowed = made.get("lanes_closed"), made.get("lanes_slowed")
        s.foreseen = s.current = None
        for name, _ in knowledge:
            setattr(s, name, Knowledge(*(made[f"{name}.{kind}"] for kind in Knowledge.KINDS)))

    # -- the day, phase by phase (sim.engines.day.PHASES) ----------------------------------------
    def disrupt(self, s: _Chunk, t: int) -> None:
        """Today's capacity factors (``SupplyChainModel.disrupt``); arrays change with events."""
        from sim.engines.kernels import scaled_capacity  # numba: compiled on first use

        s.factor = s.nodes_hit.at(t)
        closed = s.lanes_closed.at(t) if s.lanes_closed is not None else None
        versions = (s.nodes_hit.version, s.lanes_closed.version if closed is not None else 0)
        if versions == s.seen:
            return
        s.seen = versions
        full = s.full
        scaled_capacity(full["capacity"], s.factor, self.is_warehouse, s.capacity, s.outflow)
        if s.capped and closed is not None:  # else the lanes' own capacities, read only
            s.lane_cap = s.lane_cap_closed
            scaled_capacity(full["lane_capacity"], closed, self.every_lane, s.lane_cap,
                            s.lane_cap)

    def receive(self, s: _Chunk, t: int) -> None:
        """Shipments due today, then yesterday's orders reach their sources.

        Mesa: ``Carrier.deliver`` and ``StockingPoint.receive_orders``.
        """
        m = self.m_inputs
        slot = t % s.ring_size
        if s.lanes_slowed is None:  # each slot written once per cycle: read it as a view
            s.delivered = s.ring[slot]
        else:  # stretched lead times may land two shipments in one slot: add, then clear
            s.delivered = s.ring[slot].copy()
            s.ring[slot].fill(0.0)
        s.in_transit -= s.delivered
        product(self.by_input, s.delivered, s.received_input)
        s.inputs[:m] += s.received_input[:m]
        s.stock[self.warehouses] += s.received_input[self.warehouse_input]
        s.orders_received = self.by_source @ s.pending if self.forecasting.size else None
        if self.plan.dynamic:  # yesterday's cancellations reach the sources with the orders
            s.owed -= s.sourcing.cancel
        s.owed += s.pending

    def produce(self, s: _Chunk, t: int) -> None:
        """Suppliers and manufacturers make units (``StockingPoint.produce``)."""
        from sim.engines.kernels import production_room, taken_from  # numba: on first use

        m = self.m_inputs
        s.owed_node = self.by_source @ s.owed
        if self.layout.backorder:
            s.backlog_node = self.by_zone_node @ s.backlog
        production = s.production
        production_room(s.full["fg_level"], s.owed_node, s.backlog_node, s.stock, s.capacity,
                        production)
        if m:
            np.divide(s.inputs[:m], s.full["bom"], out=s.kit_ratio[:-1])
            production[self.manufacturers] = np.minimum(production[self.manufacturers],
                                                        self.kits(s.kit_ratio))
            taken_from(s.inputs[:m], product(self.used_by, production, s.used_now))
        production[self.warehouses] = 0.0
        s.stock += production

    def serve(self, s: _Chunk, t: int) -> None:
        """Serve end customers, after releasing reserves; then pool.

        Mesa: ``DemandZone.arrive``, ``StockingPoint.release_reserve`` and ``serve``, then
        ``offer_to_pool`` and ``pool``; compiled: :func:`sim.engines.kernels_phases.serve`.
        """
        from sim.engines.kernels_phases import serve  # numba: compiled on first use

        full = s.full
        s.demand = s.demand_days[t]
        serve(self.serve_arrays, self.serve_flags, s.demand, s.backlog, s.stock, s.outflow,
              s.reserve, s.service_yesterday, full["reserve_threshold"],
              full["reserve_release"], s.released, s.transferred, s.fraction, s.zone_fraction,
              s.served_node, s.outflow_left, s.shortage)

    def ship(self, s: _Chunk, t: int) -> None:
        """Ship what is owed downstream, within lane capacity (``StockingPoint.ship``)."""
        from sim.engines.kernels import (  # numba: compiled on first use
            rationed,
            ship_stretched,
            taken_from,
        )

        owed, shipped, lead = s.owed, s.shipped, self.layout.lane_lead
        if s.capped:
            np.minimum(owed, s.lane_cap, out=s.wants)
            want_node = self.by_source @ s.wants
        else:  # wants are what is owed, whose sums are already known
            want_node = s.owed_node
        rationed(s.stock, s.outflow_left, want_node, s.fraction)
        product(self.source_of_lane, s.fraction, shipped)
        shipped *= s.wants
        owed -= shipped
        s.shipped_node = self.by_source @ shipped
        taken_from(s.stock, s.shipped_node)
        s.in_transit += shipped
        if s.lanes_slowed is None:
            s.ring[(t + lead) % s.ring_size, s.lane_rows] = shipped
            if self.plan.dynamic:
                s.latest_arrival = t + lead
            return
        stretch = s.lanes_slowed.at(t)
        ship_stretched(s.ring, lead, stretch, t, ROUNDING, shipped, s.latest_arrival)

    def order(self, s: _Chunk, t: int) -> None:
        """Order inputs up to their levels, over the lanes that work.

        Mesa: ``StockingPoint.update_forecast`` and ``order``.
        """
        level, position, net = self._positions(s, t)
        self._place_orders(s, t, level, position, net)

    def _positions(self, s: _Chunk, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forecasts updated; each input's level and position, each node's net stock.

        Compiled: :func:`sim.engines.kernels_phases.update_forecast` and
        :func:`~sim.engines.kernels_phases.position_and_level`.
        """
        from sim.engines.kernels_phases import position_and_level, update_forecast

        plan, full = self.plan, s.full
        if self.forecasting.size:
            update_forecast(self.order_arrays, t, plan.window, plan.alpha, s.demand,
                            s.orders_received, s.demand_days, s.forecast, s.history,
                            full["nominal"])
        position_and_level(self.order_arrays, self.layout.backorder, s.stock, s.owed, s.backlog,
                           s.in_transit, s.inputs, s.forecast, full["level_base"], s.owed_node,
                           s.backlog_node, s.net, s.level, s.on_order, s.position)
        return s.level, s.position, s.net

    def _place_orders(self, s: _Chunk, t: int, level: np.ndarray, position: np.ndarray,
                      net: np.ndarray) -> None:
        """Quantities up to the levels, split over lanes: statically, or by what works."""
        from sim.engines.kernels import order_up_to  # numba: compiled on first use

        plan, full = self.plan, s.full
        if plan.dynamic:  # what is known of the lanes of inputs with a choice, and what works
            sourcing = s.sourcing
            versions = s.foreseen.at(t) + (s.current.at(t) if s.current is not None else ())
            if versions != s.known_versions:  # else as yesterday
                s.known_versions = versions
                s.known_lane, sourcing.foreseen_cap = self._known_lanes(s.foreseen)
                sourcing.known_cap = sourcing.foreseen_cap if s.current is None else \
                    self._known_lanes(s.current)[1]
            self._review_lanes(sourcing, s.owed, s.shipped, position, level, s.forecast,
                               s.ring, t, s.latest_arrival[self.choice.lanes] - t)
        quantity = s.quantity
        order_up_to(position, level, full["order_gap"], quantity)
        s.pending, s.pending_next = product(self.share_of_input, quantity,
                                            s.pending_next), s.pending
        expedited = split = None
        if plan.expedite:
            expedited, split = self._expedited(quantity, s.known_lane, s.forecast, net, s.owed)
            if not plan.dynamic:
                x = self.expediting
                s.pending[x.lanes] = (x.input_of_lane @ (quantity[x.inputs] - expedited)) * \
                    x.static_share[:, None] + (x.input_of_lane @ expedited) * split
        if plan.dynamic:
            self._choose_sources(s.sourcing, quantity, expedited, split, s.pending,
                                 s.activated, s.forecast)

    def account(self, s: _Chunk, t: int) -> None:
        """Yesterday's service for the reserves; costs and emissions of a recorded day.

        Mesa: ``StockingPoint.account`` (and ``SupplyChainModel.day_block``); compiled:
        :func:`sim.engines.kernels_account.account` says what it writes.
        """
        from sim.engines.kernels_account import account  # numba: compiled on first use

        plan = self.plan
        recorded = s.recording is not None and t >= s.warmup_days
        if not (plan.uses_reserves or plan.uses_pooling or recorded):
            return
        cancel, first_reroute = (s.sourcing.cancel, s.sourcing.first_reroute) if plan.dynamic \
            else (s.shipped, s.no_reroutes)
        account(self.account_arrays, s.block.nodes, recorded, self.account_flags,
                self.account_scalars, s.stock, s.production, s.served_node, s.shipped_node,
                s.owed_node, s.factor, s.inputs, s.demand, s.shortage, s.backlog, s.delivered,
                s.in_transit, s.shipped, s.activated, cancel, first_reroute, s.transferred,
                s.released, s.reserve, s.cost_constants, s.service_yesterday)
        if recorded:
            self._fill_lanes(s)

    def _fill_lanes(self, s: _Chunk) -> None:
        """The lane variables of the block (all of them when full traces are kept)."""
        block = s.block
        block.lane_ordered, block.lane_shipped = s.pending, s.shipped
        if not s.lanes_wanted:
            return
        block.lanes[LANE["lane_ordered"]] = s.pending
        block.lanes[LANE["lane_shipped"]] = s.shipped
        block.lanes[LANE["lane_delivered"]] = s.delivered
        block.lanes[LANE["lane_owed"]] = s.owed
        block.lanes[LANE["lane_in_transit"]] = s.in_transit
        if self.plan.dynamic:
            block.lanes[LANE["lane_cancelled"]] = s.sourcing.cancel
