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
from sim.policy import SHORT_OF_SUPPLY, PolicyPlan
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
        self.sources = layout.lane_source[self.lanes]
        self.nodes = layout.input_node[inputs]
        role = layout.lane_role[self.lanes]
        share = plan.share[self.lanes]
        self.primary_share = np.where(role == 0, share, 0.0)[:, None]
        self.backup_share = np.where(role == 1, share, 0.0)[:, None]
        self.expedite_share = np.where(role == 2, share, 0.0)[:, None]
        self.static_share = self.primary_share[:, 0]
        self.backup = (role == 1)[:, None]
        self.expedite_lane = (role == 2)[:, None]
        self.lag = plan.activation_lag[self.lanes][:, None]
        self.lane_capacity = layout.lane_capacity[self.lanes][:, None]
        self.bom = layout.input_bom[inputs][:, None]
        self.cover = plan.expedite_cover[inputs][:, None]

    def within(self, other: _LaneSubset) -> np.ndarray:
        """Positions of this subset's lanes among ``other``'s (a superset)."""
        return np.searchsorted(other.lanes, self.lanes)


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
        if dynamic:
            known = knowledge_events(events, plan.detection_delay, plan.notice_days,
                                     draws.warned(plan.warned_kinds))
            known_nodes = EffectSchedule(known, NODE_CAPACITY, n, r)
            known_closed = EffectSchedule(known, LANE_CAPACITY, e, r)
            known_slowed = EffectSchedule(known, LANE_LEAD, e, r)
            knowledge = (known_nodes, known_closed, known_slowed)
            known_versions: tuple[int, ...] = ()
            short_days = np.zeros((self.choice.lanes.size, r))
            share_today = np.repeat(self.static_share[:, None], r, axis=1)  # choice rows vary
        ring_size = ring_size_of(layout.max_lead, events)
        capped = self.lanes_capped or lanes_closed is not None

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
            else:
                stretch = lanes_slowed.at(t)
                if lanes_slowed.version != slowed_version:  # lead times change with events only
                    slowed_version = lanes_slowed.version
                    days = np.ceil(lead[:, None] * stretch - 1e-9).astype(np.int64)
                    slot_offset = days * (e * r) + lane_offsets  # slot (t + days) at t = 0
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
            np.copyto(quantity, np.where(position <= level, level + full["order_gap"] - position,
                                         0.0))
            np.maximum(quantity, 0.0, out=quantity)
            if dynamic:  # what is known of the lanes of inputs with a choice
                lanes = self.choice.lanes
                for schedule in knowledge:
                    schedule.at(t)
                versions = tuple(schedule.version for schedule in knowledge)
                if versions != known_versions or short_days.any():  # else as yesterday
                    known_versions = versions
                    known_lane = known_nodes.factors[self.choice.sources] * \
                        known_closed.factors[lanes]
                    known_lane *= known_slowed.factors[lanes] <= plan.stretch_tolerance
                    share_today[lanes] = self._dynamic_shares(known_lane, short_days,
                                                              activated)
                pending, pending_next = np.multiply(share_today, self.input_of_lane @ quantity,
                                                    out=pending_next), pending
            else:
                pending, pending_next = product(self.share_of_input, quantity,
                                                pending_next), pending
            if plan.expedite:
                self._expedite(pending, quantity, share_today if dynamic else None, known_lane,
                               forecast, net, owed)

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
            nodes["capacity_factor"][:] = factor
            holding = nodes["holding_cost"]
            np.multiply(stock, full["unit_value"], out=holding)
            holding += self.input_value @ inputs
            holding *= full["holding_rate_day"]
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
                nodes["fixed_cost"][:] = self.activation_fee @ activated
            if plan.uses_pooling:
                premium += np.maximum(transferred, 0.0) * plan.pool_cost
                nodes["transferred"][:] = transferred
            if plan.uses_reserves:
                premium += released * full["release_cost"]
                reservation += reserve * full["reserve_cost"]
                nodes["reserve_released"][:] = released
            np.add(holding, nodes["transport_cost"], out=nodes["cost"])
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

    def _dynamic_shares(self, known_lane: np.ndarray, short_days: np.ndarray,
                        activated: np.ndarray) -> np.ndarray:
        """Today's shares of the lanes of inputs with a choice (``InputBuffer.shares``).

        Also counts the days each backup lane has been needed, and marks in ``activated`` the
        lanes whose backup starts today.
        """
        c = self.choice
        working = c.primary_share * known_lane
        available = c.by_input @ working
        short = (c.input_of_lane @ (available < SHORT_OF_SUPPLY).astype(float)) > 0
        np.copyto(short_days, np.where(c.backup & short, short_days + 1, 0.0))
        activated[c.lanes] = (c.backup & (short_days == c.lag + 1)).astype(float)
        backups = np.where(c.backup & (short_days > c.lag), c.backup_share * known_lane, 0.0)
        backup_total = c.by_input @ backups
        available_lane = c.input_of_lane @ available
        backup_lane = c.input_of_lane @ backup_total
        with np.errstate(divide="ignore", invalid="ignore"):
            filled = working + (1.0 - available_lane) * backups / backup_lane
            reallocated = working / available_lane
        return np.where(backup_lane > 0, filled,
                        np.where(available_lane > 0, reallocated, c.static_share[:, None]))

    def _expedite(self, pending: np.ndarray, quantity: np.ndarray, shares: np.ndarray | None,
                  known_lane: np.ndarray | None, forecast: np.ndarray, net: np.ndarray,
                  owed: np.ndarray) -> None:
        """Send the urgent part of orders over expedite lanes: rewrite their inputs' rows."""
        x = self.expediting
        known = 1.0 if known_lane is None else known_lane[self.expediting_in_choice]
        weights = x.expedite_share * known
        total = x.by_input @ weights
        total_lane = x.input_of_lane @ total
        with np.errstate(divide="ignore", invalid="ignore"):
            split = np.where(total_lane > 0, weights / total_lane, 0.0)
        room = x.by_input @ np.where(x.expedite_lane,
                                     np.maximum(0.0, x.lane_capacity - owed[x.lanes]), 0.0)
        gap = forecast[x.nodes] * x.cover - net[x.nodes]
        ordered = quantity[x.inputs]
        urgent = np.minimum(np.minimum(ordered, x.bom * np.maximum(0.0, gap)), room)
        expedited = np.where(total > 0, urgent, 0.0)
        regular = shares[x.lanes] if shares is not None else x.static_share[:, None]
        pending[x.lanes] = (x.input_of_lane @ (ordered - expedited)) * regular + \
            (x.input_of_lane @ expedited) * split

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
