"""The batch engine: the day of :mod:`sim.model` on arrays of many replicates at once.

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

import numpy as np
import scipy.sparse as sparse

from sim.effects import (
    LANE_CAPACITY,
    LANE_LEAD,
    NODE_CAPACITY,
    EffectSchedule,
    knowledge_events,
)
from sim.effects import ring_size as ring_size_of
from sim.grouping import incidence, product
from sim.layout import MANUFACTURER, WAREHOUSE, Layout
from sim.policy import SHORT_TOLERANCE, STALL_TOLERANCE, PolicyPlan, lane_pairs
from sim.recording import Recording
from sim.scenario import ScenarioDraws
from sim.trace import LANE, NODE, DayBlock

__all__ = ["BatchEngine"]

PADDED_MAX_WIDTH = 8


class _GroupMin:
    """Minimum over contiguous groups of rows (each manufacturer's inputs).

    ``values`` holds the rows plus one last row of +inf; small groups use a dense padded index
    whose missing entries point at that row (one gather and one min), wide ones reduceat.
    """

    def __init__(self, starts: np.ndarray, sizes: np.ndarray, n_rows: int) -> None:
        self.starts = starts
        widest = int(sizes.max()) if sizes.size else 0
        # measured: the padded gather wins for BOMs of a few items, reduceat for wide ones
        self.padded = sizes.size and widest <= PADDED_MAX_WIDTH
        if self.padded:
            self.index = np.full((sizes.size, widest), n_rows)
            for column in range(widest):
                has = sizes > column
                self.index[has, column] = starts[has] + column

    def __call__(self, values: np.ndarray) -> np.ndarray:
        if self.padded:
            return values[self.index].min(axis=1)
        return np.minimum.reduceat(values[:-1], self.starts, axis=0)


class _LaneSubset:
    """Some inputs with all their lanes, re-indexed, for steps that only they need.

    Dynamic sourcing only changes the shares of inputs with a choice of lanes, and expediting
    only the orders of inputs with an expedite lane; every other input keeps its static share
    (one lane: share 1), so these steps run on the subset alone.
    """

    def __init__(self, layout: Layout, plan: PolicyPlan, inputs: np.ndarray) -> None:
        self.inputs = inputs
        self.lanes = np.flatnonzero(np.isin(layout.lane_input, inputs))  # in lane order
        local = np.searchsorted(inputs, layout.lane_input[self.lanes])
        self.by_input = incidence(local, inputs.size)  # (local input, local lane)
        self.input_of_lane = self.by_input.T.tocsr()
        # input_of_lane @ (by_input @ x) in one product: each lane gets its input's sum, added
        # in lane order as the agents add
        self.same_input = (self.input_of_lane @ self.by_input).tocsr()
        self.same_input.sort_indices()
        self.sources = layout.lane_source[self.lanes]
        self.nodes = layout.input_node[inputs]
        role = layout.lane_role[self.lanes]
        share = plan.share[self.lanes]
        self.primary_share = np.where(role == 0, share, 0.0)[:, None]
        self.expedite_share = np.where(role == 2, share, 0.0)[:, None]
        self.static_share = self.primary_share[:, 0]
        self.period = 1.0 + layout.lane_lead[self.lanes].astype(float)  # protection L_j
        static_period = self.period * (self.static_share > 0)
        order = np.argsort(local, kind="stable")  # lanes grouped by input, for group maxima
        self.grouped = order
        self.group_starts = np.searchsorted(local[order], np.arange(inputs.size))
        horizon = np.maximum.reduceat(static_period[order], self.group_starts) if order.size \
            else np.zeros(0)
        self.static_horizon = (self.input_of_lane @ horizon)[:, None]  # of the static split
        self.backup = (role == 1)[:, None]
        self.expedite_lane = (role == 2)[:, None]
        self.primary = (role == 0)[:, None]
        self.regular = (role != 2)[:, None]
        self.lag = plan.activation_lag[self.lanes][:, None]
        self.lane_capacity = layout.lane_capacity[self.lanes][:, None]
        self.source_room = plan.source_room[self.lanes][:, None]
        self.bom = layout.input_bom[inputs][:, None]
        self.cover = plan.expedite_cover[inputs][:, None]
        self.nominal_need = (layout.input_bom[inputs] * layout.mean_outflow[self.nodes])[:, None]
        # today's split -> protection: P = sum_j L_j f_j, V = sum_ij min(L_i, L_j) f_i f_j
        period = self.period
        self.period_sum = incidence(local, inputs.size, period)
        position = np.full(layout.n_lanes, -1, dtype=np.int64)
        position[self.lanes] = np.arange(self.lanes.size)
        first, second = lane_pairs(layout)
        mine = position[first] >= 0
        self.pair_first, self.pair_second = position[first[mine]], position[second[mine]]
        self.pair_sum = incidence(local[self.pair_first], inputs.size,
                                  np.minimum(period[self.pair_first], period[self.pair_second]))
        levels = plan.levels
        self.level_fixed = levels.level_fixed[inputs][:, None]
        self.safety_unit = levels.safety_unit[inputs][:, None]
        self.slope_unit = levels.slope_unit[inputs][:, None]

    def within(self, other: _LaneSubset) -> np.ndarray:
        """Positions of this subset's lanes among ``other``'s (a superset)."""
        return np.searchsorted(other.lanes, self.lanes)


def _scaled(capacity: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Capacity times a factor, exactly 0 where the factor is 0 (also for inf capacity)."""
    out = np.zeros(np.broadcast_shapes(capacity.shape, factor.shape))
    np.multiply(capacity, factor, out=out, where=factor > 0)
    return out


class _Knowledge:
    """Schedules of what buyers know of node capacity, lane capacity and lane lead times."""

    def __init__(self, events: np.ndarray, nodes: int, lanes: int, replicates: int) -> None:
        self.nodes = EffectSchedule(events, NODE_CAPACITY, nodes, replicates)
        self.closed = EffectSchedule(events, LANE_CAPACITY, lanes, replicates)
        self.slowed = EffectSchedule(events, LANE_LEAD, lanes, replicates)

    def at(self, day: int) -> tuple[int, int, int]:
        """Move to ``day``; the schedules' versions (they change when the factors do)."""
        for schedule in (self.nodes, self.closed, self.slowed):
            schedule.at(day)
        return self.nodes.version, self.closed.version, self.slowed.version


class _SourcingState:
    """Dynamic sourcing state of the lanes of inputs with a choice, (choice lane, replicate)."""

    def __init__(self, lanes: int, inputs: int, all_lanes: int, replicates: int) -> None:
        shape = (lanes, replicates)
        self.known_cap = np.full(shape, np.inf)  # set from knowledge on the first day
        self.foreseen_cap = self.known_cap
        self.works = np.ones(shape, dtype=bool)
        self.room = np.zeros(shape)
        self.short_days = np.zeros(shape)
        self.stalled_days = np.zeros(shape)
        self.engaged = np.zeros(shape, dtype=bool)
        # the split of a nominal order and what it was computed for, per replicate
        self.split_works = np.zeros(shape, dtype=bool)  # differs from day 0's: computed then
        self.split_active = np.zeros(shape, dtype=bool)
        self.split_known = self.known_cap
        self.split_tight = np.zeros(replicates, dtype=bool)
        self.split_level_base = np.zeros((inputs, replicates))
        self.split_slope = np.zeros((inputs, replicates))
        self.horizon_lane = np.zeros(shape)
        self.rerouting = np.zeros(shape, dtype=bool)
        self.first_reroute = np.zeros(shape, dtype=bool)
        self.cancel = np.zeros((all_lanes, replicates))  # every lane; choice rows vary


class BatchEngine:
    """Runs chunks of replicates of one network under one policy.

    Parameters
    ----------
    plan : PolicyPlan
        The policy resolved on the network (:meth:`sim.policy.Policy.plan`); its layout is the
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
        self.kits = _GroupMin(layout.input_first[self.manufacturers],
                              layout.input_count[self.manufacturers], m)
        self.warehouses = np.flatnonzero(layout.kind == WAREHOUSE)
        self.warehouse_input = layout.input_first[self.warehouses]  # a warehouse has one input
        self.lanes_capped = bool(np.isfinite(layout.lane_capacity).any())
        # policy parts
        self.static_share = static
        self.has_expedite = (self.by_input @ (role == 2).astype(float)) > 0  # (k,) inputs
        lanes_of_input = np.bincount(layout.lane_input, minlength=k)
        self.choice = _LaneSubset(layout, plan, np.flatnonzero(lanes_of_input > 1))
        self.expediting = _LaneSubset(layout, plan, np.flatnonzero(self.has_expedite))
        self.expediting_in_choice = self.expediting.within(self.choice)
        self.expediting_inputs_in_choice = np.searchsorted(self.choice.inputs,
                                                           self.expediting.inputs)
        self.forecasting = np.flatnonzero(plan.forecast_method > 0)
        self.pos = sparse.csr_matrix(plan.pos_weights) if plan.forecast_pos.any() else None
        groups = plan.pool_group
        pooled = np.flatnonzero(groups >= 0)
        self.pooled = pooled
        if pooled.size:
            self.pool = incidence(groups[pooled], int(groups.max()) + 1)  # (group, pooled)
            self.pool_of_member = self.pool.T.tocsr()
        self._columns = {  # per-entity constants, broadcast to (entity, replicate) per chunk
            "capacity": layout.capacity, "fg_level": levels.fg_level,
            "level_base": levels.level_base, "order_gap": levels.order_gap,
            "bom": layout.input_bom[:m], "all_bom": layout.input_bom,
            "lane_capacity": layout.lane_capacity, "unit_value": layout.unit_value,
            "production_co2e": layout.production_co2e,
            "holding_rate_day": layout.holding_rate / 365.0,
            "fee_per_day": plan.fee_per_day,
            "reserve_cost": layout.unit_value * plan.reserve_holding_rate,
            "release_cost": plan.reserve_release_cost,
            "reserve_threshold": plan.reserve_threshold,
            "reserve_release": plan.reserve_release,
            "nominal": layout.mean_outflow,
            "expedite_cover": plan.expedite_cover,
        }

    def run(self, draws: ScenarioDraws, warmup_days: int, recording: Recording | None) -> None:
        """Simulate every day of a chunk, handing recorded days to ``recording``.

        Parameters
        ----------
        draws : ScenarioDraws
            The chunk's demand and events.
        warmup_days : int
            Days before recording starts.
        recording : Recording or None
            Recorders of the chunk.
        """
        layout, levels, plan = self.layout, self.levels, self.plan
        r = len(draws.replicates)
        n, e, z, m = layout.n_nodes, layout.n_lanes, layout.n_zones, self.m_inputs
        k = layout.n_inputs
        lead = layout.lane_lead
        backorder = layout.backorder
        by_source, by_zone_node, by_input = self.by_source, self.by_zone_node, self.by_input
        lanes_wanted = recording is not None and recording.wants_lanes
        # Constants as full (entity, replicate) arrays: with few replicates per row, broadcasting
        # a column costs per row more than the arithmetic itself (measured 4x).
        full = {name: np.repeat(np.asarray(value, dtype=float)[:, None], r, axis=1)
                for name, value in self._columns.items()}

        # what the events do, day by day
        events = draws.events
        kinds = set(events["kind"].tolist())
        nodes_hit = EffectSchedule(events, NODE_CAPACITY, n, r)
        lanes_closed = EffectSchedule(events, LANE_CAPACITY, e, r) if LANE_CAPACITY in kinds \
            else None
        lanes_slowed = EffectSchedule(events, LANE_LEAD, e, r) if LANE_LEAD in kinds else None
        dynamic = plan.dynamic
        known_lane = None  # (choice lane, replicate): what is known of the lanes, if dynamic
        if dynamic:  # what is foreseen (warned events from their notice) and known now
            warned = draws.warned(plan.warned_kinds)
            foreseen = _Knowledge(knowledge_events(events, plan.detection_delay,
                                                   plan.notice_days, warned), n, e, r)
            current = _Knowledge(knowledge_events(events, plan.detection_delay, plan.notice_days,
                                                  warned, ahead=False),
                                 n, e, r) if plan.notice_days else None
            known_versions: tuple[int, ...] = ()
            sourcing = _SourcingState(self.choice.lanes.size, self.choice.inputs.size, e, r)
        ring_size = ring_size_of(layout.max_lead, events)
        capped = self.lanes_capped or lanes_closed is not None
        latest_arrival = lead.copy()  # (lane,): latest day a shipment in transit arrives

        # state, entity-major: (node | lane | input | zone, replicate)
        flow = layout.lane_initial_flow
        stock = np.repeat(levels.initial_stock[:, None], r, axis=1)
        inputs = np.repeat(levels.initial_inputs[:, None], r, axis=1)
        owed = np.zeros((e, r))
        pending = np.repeat(flow[:, None], r, axis=1)
        in_transit = np.repeat((flow * lead)[:, None], r, axis=1)
        ring = np.zeros((ring_size, e, r))  # (arrival day % ring_size, lane, replicate)
        ahead = lead[None, :] > np.arange(layout.max_lead)[:, None]  # (day, lane): due that day
        ring[:layout.max_lead] = np.where(ahead, flow[None, :], 0.0)[:, :, None]
        ring_flat = ring.reshape(-1)
        slowed_version = -1
        lane_offsets = (np.arange(e)[:, None] * r + np.arange(r)[None, :]).astype(np.int64)
        backlog = np.zeros((z, r))
        demand_days = np.ascontiguousarray(draws.demand.transpose(1, 2, 0))  # (day, zone, rep)
        lane_rows = np.arange(e)
        backlog_node = np.zeros((n, r))
        forecast = full["nominal"].copy()
        window = plan.window
        history = np.repeat(full["nominal"][None], window, axis=0) if \
            (plan.forecast_method == 1).any() else None
        reserve = np.repeat(plan.reserve_units[:, None], r, axis=1)
        service_yesterday = np.ones((n, r))
        released = np.zeros((n, r))
        transferred = np.zeros((n, r))
        activated = np.zeros((e, r))
        kit_ratio = np.full((m + 1, r), np.inf)  # last row: +inf, for padded minima
        on_order = np.empty((e, r))
        received_input = np.empty((k, r))
        position = np.empty((k, r))
        bom_net = np.empty((k, r))
        quantity = np.empty((k, r))
        pending_next = np.empty((e, r))
        used_now = np.empty((m, r))
        zone_fraction = np.empty((z, r))
        lane_cap = np.empty((e, r))
        wants = owed if not capped else np.empty((e, r))
        shipped = np.empty((e, r))
        capacity = np.zeros((n, r))
        outflow = np.zeros((n, r))
        fraction = np.ones((n, r))
        seen = (-1, -1)

        # one recorded day: node variables in the order of NODE_VARS, written in place
        block = DayBlock(np.zeros((len(NODE), n, r)), inputs,
                         np.zeros((len(LANE), e, r)) if lanes_wanted else None)
        nodes = {name: block.nodes[i] for name, i in NODE.items()}

        for t in range(draws.horizon):
            # 1. disrupt: today's factors (arrays change only when an event starts or ends)
            factor = nodes_hit.at(t)
            closed = lanes_closed.at(t) if lanes_closed is not None else None
            if (nodes_hit.version, lanes_closed.version if closed is not None else 0) != seen:
                seen = (nodes_hit.version, lanes_closed.version if closed is not None else 0)
                up = factor > 0
                capacity.fill(0.0)
                np.multiply(full["capacity"], factor, out=capacity, where=up)
                np.copyto(outflow, np.where(up, np.inf, 0.0))
                outflow[self.warehouses] = capacity[self.warehouses]
                if capped:
                    lane_cap.fill(0.0)
                    working = closed if closed is not None else np.ones((e, r))
                    np.multiply(full["lane_capacity"], working, out=lane_cap, where=working > 0)

            # 2. receive: shipments due today, then yesterday's orders reach their sources
            if lanes_slowed is None:  # each slot written once per cycle: read it as a view
                delivered = ring[t % ring_size]
            else:  # stretched lead times may land two shipments in one slot: add, then clear
                delivered = ring[t % ring_size].copy()
                ring[t % ring_size].fill(0.0)
            in_transit -= delivered
            product(by_input, delivered, received_input)
            inputs[:m] += received_input[:m]
            stock[self.warehouses] += received_input[self.warehouse_input]
            orders_received = by_source @ pending if self.forecasting.size else None
            if dynamic:  # yesterday's cancellations reach the sources with the orders
                owed -= sourcing.cancel
            owed += pending

            # 3. produce
            owed_node = by_source @ owed
            if backorder:
                backlog_node = by_zone_node @ backlog
            room = np.maximum(0.0, full["fg_level"] + (owed_node + backlog_node) - stock)
            production = np.minimum(capacity, room)
            if m:
                np.divide(inputs[:m], full["bom"], out=kit_ratio[:-1])
                production[self.manufacturers] = np.minimum(production[self.manufacturers],
                                                            self.kits(kit_ratio))
                used = inputs[:m]
                used -= product(self.used_by, production, used_now)
                np.maximum(used, 0.0, out=used)
            production[self.warehouses] = 0.0
            stock += production

            # 4. serve end customers, after releasing reserves; then pool
            if plan.uses_reserves:
                release = (reserve > 0) & (service_yesterday < full["reserve_threshold"])
                np.copyto(released, np.where(release, np.minimum(full["reserve_release"],
                                                                 reserve), 0.0))
                reserve -= released
                stock += released
            demand = demand_days[t]
            request = demand + backlog
            request_node = by_zone_node @ request
            available = np.maximum(0.0, np.minimum(stock, outflow))
            fraction.fill(1.0)
            np.divide(available, request_node, out=fraction, where=request_node > available)
            served = request * product(self.node_of_zone, fraction, zone_fraction)
            served_node = by_zone_node @ served
            np.maximum(stock - served_node, 0.0, out=stock)
            outflow_left = outflow - served_node
            if plan.uses_pooling:
                served, served_node, outflow_left = self._pool(
                    request, served, served_node, stock, outflow_left, transferred)
            shortage = demand - np.maximum(0.0, served - backlog)
            if backorder:  # else the shortage is lost (recorded below)
                backlog = request - served

            # 5. ship what is owed downstream
            if capped:
                np.minimum(owed, lane_cap, out=wants)
                want_node = by_source @ wants
            else:  # wants are what is owed, whose sums are already known
                want_node = owed_node
            available = np.maximum(0.0, np.minimum(stock, outflow_left))
            fraction.fill(1.0)
            np.divide(available, want_node, out=fraction, where=want_node > available)
            product(self.source_of_lane, fraction, shipped)
            shipped *= wants
            owed -= shipped
            shipped_node = by_source @ shipped
            np.maximum(stock - shipped_node, 0.0, out=stock)
            in_transit += shipped
            if lanes_slowed is None:
                ring[(t + lead) % ring_size, lane_rows] = shipped
                if dynamic:
                    latest_arrival = t + lead
            else:
                stretch = lanes_slowed.at(t)
                if lanes_slowed.version != slowed_version:  # lead times change with events only
                    slowed_version = lanes_slowed.version
                    days = np.ceil(lead[:, None] * stretch - 1e-9).astype(np.int64)
                    slot_offset = days * (e * r) + lane_offsets  # slot (t + days) at t = 0
                    longest = days.max(axis=1)
                latest_arrival = np.maximum(latest_arrival, t + longest)
                index = slot_offset + (t % ring_size) * (e * r)
                index[index >= ring.size] -= ring.size  # wrap: the slot of (t + days) % size
                ring_flat[index] += shipped

            # 6. order inputs up to their levels, over the lanes that work
            owed_node = by_source @ owed
            if backorder:
                backlog_node = by_zone_node @ backlog
            owed_downstream = owed_node + backlog_node
            net = stock - owed_downstream
            if self.forecasting.size:
                self._update_forecast(t, demand, orders_received, demand_days, forecast,
                                      history, full["nominal"])
            level = full["level_base"] + self.slope_of_node @ forecast
            np.add(in_transit, owed, out=on_order)
            np.add(inputs, product(by_input, on_order, position), out=position)
            position += product(self.bom_of_node, net, bom_net)
            if dynamic:  # what is known of the lanes of inputs with a choice, and what works
                versions = foreseen.at(t) + (current.at(t) if current is not None else ())
                if versions != known_versions:  # else as yesterday
                    known_versions = versions
                    known_lane, sourcing.foreseen_cap = self._known_lanes(foreseen)
                    sourcing.known_cap = sourcing.foreseen_cap if current is None else \
                        self._known_lanes(current)[1]
                self._review_lanes(sourcing, owed, shipped, position, level, forecast,
                                   ring, t, latest_arrival[self.choice.lanes] - t)
            np.copyto(quantity, np.where(position <= level, level + full["order_gap"] - position,
                                         0.0))
            np.maximum(quantity, 0.0, out=quantity)
            pending, pending_next = product(self.share_of_input, quantity,
                                            pending_next), pending
            expedited = split = None
            if plan.expedite:
                expedited, split = self._expedited(quantity, known_lane, forecast, net, owed)
                if not dynamic:
                    x = self.expediting
                    pending[x.lanes] = (x.input_of_lane @ (quantity[x.inputs] - expedited)) * \
                        x.static_share[:, None] + (x.input_of_lane @ expedited) * split
            if dynamic:
                self._choose_sources(sourcing, quantity, expedited, split, pending, activated,
                                     forecast)

            # 7. account and record
            if plan.uses_reserves or plan.uses_pooling or recording is not None:
                node_demand = by_zone_node @ demand
                node_shortage = by_zone_node @ shortage
                if plan.uses_reserves:
                    service_yesterday.fill(1.0)
                    np.subtract(1.0, node_shortage / np.where(node_demand > 0, node_demand, 1.0),
                                out=service_yesterday, where=node_demand > 0)
            day = t - warmup_days
            if recording is None or day < 0:
                continue
            nodes["stock"][:] = stock
            nodes["production"][:] = production
            nodes["received"][:] = self.by_target @ delivered
            nodes["demand"][:] = node_demand
            nodes["served"][:] = served_node
            nodes["shortage"][:] = node_shortage
            if backorder:  # else nothing is backordered, and lost = shortage
                nodes["backlog"][:] = by_zone_node @ backlog
            else:
                nodes["lost"][:] = nodes["shortage"]
            nodes["shipped"][:] = shipped_node
            nodes["owed"][:] = owed_node
            nodes["in_transit"][:] = self.by_target @ in_transit
            nodes["in_transit_value"][:] = self.in_transit_value @ in_transit
            nodes["capacity_factor"][:] = factor
            holding = nodes["holding_cost"]
            np.multiply(stock, full["unit_value"], out=holding)
            holding += self.input_value @ inputs
            holding *= full["holding_rate_day"]
            nodes["pipeline_holding_cost"][:] = self.pipeline_holding @ in_transit
            freight_and_co2e = self.freight_and_co2e @ shipped
            nodes["transport_cost"][:] = freight_and_co2e[:n]
            penalties = nodes["shortage_cost"]
            penalties[:] = self.shortage_penalty @ shortage
            if backorder:
                penalties += self.backorder_penalty @ backlog
            premium, reservation = nodes["premium_cost"], nodes["reservation_cost"]
            premium[:] = self.premium @ shipped
            reservation[:] = full["fee_per_day"]
            if dynamic:
                fixed = nodes["fixed_cost"]
                fixed[:] = self.activation_fee @ activated
                nodes["rerouted"][:] = self.by_target @ sourcing.cancel
                if plan.switch_cost > 0:
                    switches = np.zeros((e, r))
                    switches[self.choice.lanes] = sourcing.first_reroute
                    fixed += plan.switch_cost * (self.by_target @ switches)
            if plan.uses_pooling:
                premium += np.maximum(transferred, 0.0) * plan.pool_cost
                nodes["transferred"][:] = transferred
            if plan.uses_reserves:
                premium += released * full["release_cost"]
                reservation += reserve * full["reserve_cost"]
                nodes["reserve_released"][:] = released
            np.add(holding, nodes["pipeline_holding_cost"], out=nodes["cost"])
            nodes["cost"] += nodes["transport_cost"]
            nodes["cost"] += penalties
            nodes["cost"] += premium
            nodes["cost"] += reservation
            nodes["cost"] += nodes["fixed_cost"]
            np.multiply(production, full["production_co2e"], out=nodes["co2e"])
            nodes["co2e"] += freight_and_co2e[n:]
            inflows = self.inflow_by_role @ shipped
            nodes["backup_inflow"][:] = inflows[:n]
            nodes["expedited_inflow"][:] = inflows[n:]
            block.lane_ordered, block.lane_shipped = pending, shipped
            if lanes_wanted:
                block.lanes[LANE["lane_ordered"]] = pending
                block.lanes[LANE["lane_shipped"]] = shipped
                block.lanes[LANE["lane_delivered"]] = delivered
                block.lanes[LANE["lane_owed"]] = owed
                block.lanes[LANE["lane_in_transit"]] = in_transit
                if dynamic:
                    block.lanes[LANE["lane_cancelled"]] = sourcing.cancel
            recording.record(day, block)

    # -- policy steps ----------------------------------------------------------------------------
    def _update_forecast(self, t: int, demand: np.ndarray, orders_received: np.ndarray,
                         demand_days: np.ndarray, forecast: np.ndarray,
                         history: np.ndarray | None, nominal: np.ndarray) -> None:
        """Update m(t) of forecasting nodes (``StockingPoint.update_forecast``)."""
        plan = self.plan
        signal = (self.by_zone_node @ demand) + orders_received
        if self.pos is not None:
            pos = plan.forecast_pos
            for delay in np.unique(plan.info_delay[pos]):
                rows = pos & (plan.info_delay == delay)
                if t - delay < 0:
                    signal[rows] = nominal[rows]
                else:
                    signal[rows] = (self.pos @ demand_days[t - delay])[rows]
        rows = self.forecasting
        method = plan.forecast_method
        if history is not None:
            moving = rows[method[rows] == 1]
            history[t % plan.window, moving] = signal[moving]
            forecast[moving] = history[:, moving].sum(axis=0) / plan.window
        smooth = rows[method[rows] == 2]
        forecast[smooth] = plan.alpha * signal[smooth] + (1.0 - plan.alpha) * forecast[smooth]

    def _known_lanes(self, known: _Knowledge) -> tuple[np.ndarray, np.ndarray]:
        """What buyers know of the lanes with a choice (``SupplyChainModel._known_capacity``).

        Returns the known capacity factor of each lane (for the expedite split) and its known
        capacity for its buyer [units/day].
        """
        c = self.choice
        source = known.nodes.factors[c.sources]
        closure = known.closed.factors[c.lanes]
        usable = known.slowed.factors[c.lanes] <= self.plan.stretch_tolerance
        known_lane = source * closure
        known_lane *= usable
        cap = np.minimum(_scaled(c.lane_capacity, closure), _scaled(c.source_room, source))
        return known_lane, np.where(usable, cap, 0.0)

    def _review_lanes(self, state: _SourcingState, owed: np.ndarray, shipped: np.ndarray,
                      position: np.ndarray, level: np.ndarray, forecast: np.ndarray,
                      ring: np.ndarray, t: int, last_arrival: np.ndarray) -> None:
        """Stalls, what works, rooms and cancellations; today's levels from the split.

        ``InputBuffer.review_lanes``, ``level_of_split`` and ``late_pipeline``: subtracts from
        ``position`` the owed orders that will not come in time and the pipeline arriving beyond
        the split's horizon, and writes the levels of inputs with a choice into ``level``.
        ``last_arrival`` (choice lane,): days from today to the latest arrival a lane can have
        in transit; ring slots further out hold a past cycle's values.
        """
        c = self.choice
        owed_c = owed[c.lanes]
        stalled = (owed_c > STALL_TOLERANCE) & (shipped[c.lanes] <= STALL_TOLERANCE)
        state.stalled_days = (state.stalled_days + 1) * stalled
        works = c.regular & (state.known_cap > 0) & (state.stalled_days < self.plan.reroute_after)
        state.works = works
        state.room = np.where(works, np.maximum(0.0, state.known_cap - owed_c), 0.0)
        m = forecast[c.nodes]
        bad = c.regular & ~works & (owed_c > 0)
        if bad.any():
            self._move_stuck_orders(state, owed_c, bad, c.bom * m, position)
        elif state.rerouting.any() or state.first_reroute.any():  # nothing stuck any more
            state.cancel[c.lanes] = 0.0
            state.rerouting[:] = state.first_reroute[:] = False
        # today's split of a nominal order, and the protection it gives: it changes only
        # with what works, the active backups and what is known (replicate by replicate)
        active = c.backup & works & (state.short_days > c.lag)
        changed = (works != state.split_works).any(axis=0) | \
            (active != state.split_active).any(axis=0)
        if state.known_cap is not state.split_known:
            changed |= (state.known_cap != state.split_known).any(axis=0)
        if changed.any():
            state.split_works, state.split_active = works, active
            state.split_known = state.known_cap
            self._split_protection(state, np.flatnonzero(changed))
        cols = np.flatnonzero(state.split_tight)
        if cols.size:  # elsewhere the static split: the plan's level, already there
            level[np.ix_(c.inputs, cols)] = state.split_level_base[:, cols] + \
                state.split_slope[:, cols] * m[:, cols]
        horizon_lane = state.horizon_lane
        # lanes that may have arrivals after the horizon: up to their latest arrival day
        beyond = np.flatnonzero((horizon_lane < last_arrival[:, None]).any(axis=1))
        if beyond.size:  # pipeline that lands after any order placed today
            slots = ring.shape[0]
            rows, horizon_rows = c.lanes[beyond], horizon_lane[beyond]
            last = last_arrival[beyond][:, None]
            days = np.arange(int(horizon_rows.min()) + 1, int(last.max()) + 1)
            ahead = ring[(t + days) % slots][:, rows]  # (day, lane, replicate)
            live = (days[:, None, None] > horizon_rows) & (days[:, None, None] <= last)
            late = np.zeros((c.lanes.size, horizon_lane.shape[1]))
            late[beyond] = (ahead * live).sum(axis=0)  # day by day, as the agents add
            position[c.inputs] -= c.by_input @ late

    def _move_stuck_orders(self, state: _SourcingState, owed_c: np.ndarray, bad: np.ndarray,
                           need: np.ndarray, position: np.ndarray) -> None:
        """Owed orders on lanes that do not work: uncounted, cancelled within spare room."""
        c = self.choice
        ready = state.works & (c.primary | (state.short_days >= c.lag))
        ready_room = c.by_input @ np.where(ready, state.room, 0.0)
        spare = np.maximum(0.0, ready_room - need)
        stuck = c.by_input @ np.where(bad, owed_c, 0.0)
        ratio = np.zeros_like(stuck)
        np.divide(spare, stuck, out=ratio, where=stuck > 0)
        np.minimum(ratio, 1.0, out=ratio)
        cancel = np.where(bad, owed_c * (c.input_of_lane @ ratio), 0.0)  # ratio per input
        state.cancel[c.lanes] = cancel
        state.first_reroute = (cancel > 0) & ~state.rerouting
        state.rerouting = (state.rerouting | (cancel > 0)) & bad
        position[c.inputs] -= np.where(ready_room > 0, stuck, 0.0)

    def _split_protection(self, state: _SourcingState, cols: np.ndarray) -> None:
        """The split of a nominal day's order and its protection (``level_of_split``).

        For the replicates ``cols``: whether some input's split is not the static one, the
        level's parts there (``split_level_base + split_slope x m``) and each lane's horizon.
        """
        c = self.choice
        works, active = state.split_works[:, cols], state.split_active[:, cols]
        nominal = np.repeat(c.nominal_need, cols.size, axis=1)
        capacity = np.where(works, state.known_cap[:, cols], 0.0)
        nominal_lane = c.input_of_lane @ nominal
        tight = self._off_static(nominal_lane * c.static_share[:, None], capacity, works, active)
        tight &= nominal_lane > 0
        state.split_tight[cols] = tight.any(axis=0)
        amounts = self._allocate(nominal, active, capacity, works, state.known_cap[:, cols])
        split = np.repeat(c.static_share[:, None], cols.size, axis=1)
        np.divide(amounts, nominal_lane, out=split, where=tight)
        mean = c.period_sum @ split
        variance = c.pair_sum @ (split[c.pair_first] * split[c.pair_second])
        state.split_level_base[:, cols] = c.level_fixed + c.safety_unit * np.sqrt(variance)
        state.split_slope[:, cols] = c.slope_unit * mean
        periods = (c.period[:, None] * (split > 0))[c.grouped]
        state.horizon_lane[:, cols] = c.input_of_lane @ np.maximum.reduceat(
            periods, c.group_starts, axis=0)

    def _choose_sources(self, state: _SourcingState, quantity: np.ndarray,
                        expedited: np.ndarray | None, split: np.ndarray | None,
                        pending: np.ndarray, activated: np.ndarray,
                        forecast: np.ndarray) -> None:
        """Split orders of inputs with a choice by what lanes deliver (``StockingPoint.order``).

        Counts the days each input is short (its order beyond its primaries' room), activates
        backups past their lag, and marks in ``activated`` the backups first used in a
        shortfall.
        """
        c = self.choice
        regular = quantity[c.inputs]
        expedite_lane = None
        if expedited is not None:
            exp_c = np.zeros_like(regular)
            exp_c[self.expediting_inputs_in_choice] = expedited
            regular = regular - exp_c
            split_c = np.zeros((c.lanes.size, regular.shape[1]))
            split_c[self.expediting_in_choice] = split
            expedite_lane = (c.input_of_lane @ exp_c) * split_c
        working = c.primary & state.works
        primary_room = c.by_input @ np.where(working, state.room, 0.0)
        foreseen = c.by_input @ np.where(working, state.foreseen_cap, 0.0)
        need = c.bom * forecast[c.nodes]  # today's order or a normal day's, now or foreseen
        short = (np.maximum(regular, need) - primary_room > SHORT_TOLERANCE) | \
            (need - foreseen > SHORT_TOLERANCE)
        short = c.input_of_lane @ short.astype(float) > 0
        state.short_days = (state.short_days + 1) * (c.backup & short)
        active = c.backup & state.works & (state.short_days > c.lag)
        amounts = self._allocate(regular, active, state.room, state.works, state.known_cap)
        first_use = active & (amounts > 0) & ~state.engaged
        state.engaged = (state.engaged | first_use) & short
        activated[c.lanes] = first_use.astype(float)
        pending[c.lanes] = amounts if expedite_lane is None else amounts + expedite_lane

    def _allocate(self, quantity: np.ndarray, active: np.ndarray, room: np.ndarray,
                  works: np.ndarray, known_cap: np.ndarray) -> np.ndarray:
        """Units of each input's order on each lane within ``room`` (``InputBuffer.allocate``).

        Inputs with no backup active and room on every primary for its share get the static
        split; the others are computed on the replicates where any input needs it.
        """
        c = self.choice
        static = (c.input_of_lane @ quantity) * c.static_share[:, None]
        tight = self._off_static(static, room, works, active)
        if not tight.any():
            return static
        cols = np.flatnonzero(tight.any(axis=0))
        full = self._allocate_all(quantity[:, cols], static[:, cols], active[:, cols],
                                  room[:, cols], works[:, cols], known_cap[:, cols])
        static[:, cols] = np.where(tight[:, cols], full, static[:, cols])
        return static

    def _off_static(self, static: np.ndarray, room: np.ndarray, works: np.ndarray,
                    active: np.ndarray) -> np.ndarray:
        """Lanes of inputs whose split is not ``static`` (``InputBuffer._plain``, negated).

        An input keeps its static split when no backup is active and every primary works with
        room for its static amount.
        """
        c = self.choice
        off = (c.primary & (~works | (room < static))) | active
        return c.same_input @ off.astype(float) > 0

    def _allocate_all(self, quantity: np.ndarray, static: np.ndarray, active: np.ndarray,
                      room: np.ndarray, works: np.ndarray, known_cap: np.ndarray) -> np.ndarray:
        """The passes of ``InputBuffer.allocate``; a pass with nothing left adds exact zeros.

        ``static`` is each lane's static amount, quantity x share.
        """
        c = self.choice
        primary = c.primary & works
        share = c.static_share[:, None]
        x = np.minimum(room, static) * primary
        left = np.maximum(0.0, quantity - c.by_input @ x)
        if left.any():
            x += self._spread(left, np.where(primary, room - x, 0.0))
            left = np.maximum(0.0, quantity - c.by_input @ x)
        if active.any() and left.any():
            y = self._spread(left, np.where(active, room, 0.0))
            left = np.maximum(0.0, left - c.by_input @ y)
            x += y
        if not left.any():
            return x
        left = c.input_of_lane @ left
        weights = np.where(np.isfinite(known_cap), known_cap, 1.0) * (primary | active)
        total = c.same_input @ weights
        queue = left * share
        np.divide(left * weights, total, out=queue, where=total > 0)
        return x + queue

    def _spread(self, amount: np.ndarray, room: np.ndarray) -> np.ndarray:
        """``amount`` of each input over its lanes in proportion to room (``agents._spread``)."""
        c = self.choice
        unlimited = np.isinf(room)
        finite = np.where(unlimited, 0.0, room) if unlimited.any() else room
        total = c.by_input @ finite
        ratio = np.ones_like(total)
        np.divide(amount, total, out=ratio, where=total > 0)
        np.minimum(ratio, 1.0, out=ratio)
        out = finite * (c.input_of_lane @ ratio)  # 0 where the total is 0: every room there is 0
        if unlimited.any():  # lanes of unlimited room take it all, equally
            count = c.by_input @ unlimited.astype(float)
            each = np.zeros_like(total)
            np.divide(amount, count, out=each, where=count > 0)
            out = np.where(c.input_of_lane @ count > 0, np.where(unlimited, c.input_of_lane @ each,
                                                                 0.0), out)
        return out

    def _expedited(self, quantity: np.ndarray, known_lane: np.ndarray | None,
                   forecast: np.ndarray, net: np.ndarray,
                   owed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The urgent part of orders that goes over expedite lanes, and its split over them.

        Returns ``(expedited, split)``: units per expediting input and the fraction of them on
        each of its lanes (``StockingPoint.order``).
        """
        x = self.expediting
        known = 1.0 if known_lane is None else known_lane[self.expediting_in_choice]
        weights = x.expedite_share * known
        total = x.by_input @ weights
        total_lane = x.input_of_lane @ total
        split = np.zeros(np.broadcast_shapes(weights.shape, total_lane.shape))
        np.divide(weights, total_lane, out=split, where=total_lane > 0)
        room = x.by_input @ np.where(x.expedite_lane,
                                     np.maximum(0.0, x.lane_capacity - owed[x.lanes]), 0.0)
        gap = forecast[x.nodes] * x.cover - net[x.nodes]
        ordered = quantity[x.inputs]
        urgent = np.minimum(np.minimum(ordered, x.bom * np.maximum(0.0, gap)), room)
        return np.where(total > 0, urgent, 0.0), split

    def _pool(self, request: np.ndarray, served: np.ndarray, served_node: np.ndarray,
              stock: np.ndarray, outflow_left: np.ndarray,
              transferred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lateral transshipment within pooling groups (see ``StockingPoint.pool``)."""
        members = self.pooled
        unmet_zone = request - served
        unmet = (self.by_zone_node @ unmet_zone)[members]
        spare = np.maximum(0.0, np.minimum(stock[members], outflow_left[members]))
        spare_group, unmet_group = self.pool @ spare, self.pool @ unmet
        moved = self.pool_of_member @ np.minimum(spare_group, unmet_group)
        spare_all, unmet_all = self.pool_of_member @ spare_group, self.pool_of_member @ unmet_group
        with np.errstate(divide="ignore", invalid="ignore"):
            given = np.where((spare > 0) & (moved > 0), moved * spare / spare_all, 0.0)
            taken = np.where((unmet > 0) & (moved > 0), moved * unmet / unmet_all, 0.0)
        transferred.fill(0.0)
        transferred[members] = taken - given
        stock[members] = np.maximum(0.0, stock[members] - given)
        outflow_left = outflow_left.copy()
        outflow_left[members] -= given
        taken_node = np.zeros_like(stock)
        taken_node[members] = taken
        unmet_node = self.by_zone_node @ unmet_zone
        with np.errstate(divide="ignore", invalid="ignore"):
            extra = np.where(unmet_zone > 0, (self.node_of_zone @ taken_node) * unmet_zone
                             / (self.node_of_zone @ unmet_node), 0.0)
        served = served + extra
        return served, served_node + self.by_zone_node @ extra, outflow_left
