"""The policy steps and the account phase in arrays, as the batch engine ran them before.

:mod:`sim.engines.kernels_sourcing` replaced the dynamic-sourcing and expediting methods of
``PolicySteps``, :mod:`sim.engines.kernels` the pooling and :mod:`sim.engines.kernels_account`
the account phase; they are kept here, unchanged, as the reference the kernels are held to bit
for bit (``tests/test_kernels.py`` runs whole chunks through both). :class:`ArrayEngine` is the
batch engine with them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engines.batch import COST_VARS, BatchEngine, added, product
from sim.engines.batch_parts import Knowledge, SourcingState
from sim.engines.day import scaled
from sim.spec.units import SHORT_TOLERANCE, STALL_TOLERANCE

__all__ = ["ArrayEngine", "ArrayPolicySteps"]


class ArrayPolicySteps:
    """``PolicySteps``' dynamic-sourcing methods and the forecasts in numpy (before the kernels)."""

    def _update_forecast(self, t: int, demand: np.ndarray, orders_received: np.ndarray,
                         demand_days: np.ndarray, forecast: np.ndarray,
                         history: np.ndarray | None, nominal: np.ndarray) -> None:
        """Update m(t) of forecasting nodes (``StockingPoint.update_forecast``)."""
        plan = self.plan
        signal = (self.by_zone_node @ demand) + orders_received
        if self.pos is not None:
            for delay, rows in self.pos_delays:
                if t - delay < 0:
                    signal[rows] = nominal[rows]
                else:
                    signal[rows] = (self.pos @ demand_days[t - delay])[rows]
        if history is not None:  # the signals of the moving-average nodes only
            from sim.engines.kernels import slot_sum  # numba: compiled on first use

            moving = self.moving
            history[t % plan.window] = signal[moving]
            total = np.empty(history.shape[1:])
            slot_sum(history, total)  # slot after slot: the same bits in any chunk
            forecast[moving] = total / plan.window
        smooth = self.smoothing
        forecast[smooth] = plan.alpha * signal[smooth] + (1.0 - plan.alpha) * forecast[smooth]

    def _known_lanes(self, known: Knowledge) -> tuple[np.ndarray, np.ndarray]:
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
        cap = np.minimum(scaled(c.lane_capacity, closure), scaled(c.source_room, source))
        return known_lane, np.where(usable, cap, 0.0)

    def _review_lanes(self, state: SourcingState, owed: np.ndarray, shipped: np.ndarray,
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
            # (day, lane, replicate), gathering only these lanes' rows of those slots
            ahead = ring[((t + days) % slots)[:, None], rows[None, :]]
            live = (days[:, None, None] > horizon_rows) & (days[:, None, None] <= last)
            late = np.zeros((c.lanes.size, horizon_lane.shape[1]))
            # day by day, as the agents add: not .sum(axis=0), which numpy may add pairwise
            # (blocks of eight days) when the (lane, replicate) part is small
            for arriving in ahead * live:
                late[beyond] += arriving
            position[c.inputs] -= c.by_input @ late

    def _move_stuck_orders(self, state: SourcingState, owed_c: np.ndarray, bad: np.ndarray,
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
        cancel[cancel <= STALL_TOLERANCE] = 0.0  # rounding, not a switch (nor its cost)
        state.cancel[c.lanes] = cancel
        state.first_reroute = (cancel > 0) & ~state.rerouting
        state.rerouting = (state.rerouting | (cancel > 0)) & bad
        position[c.inputs] -= np.where(ready_room > 0, stuck, 0.0)

    def _split_protection(self, state: SourcingState, cols: np.ndarray) -> None:
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

    def _choose_sources(self, state: SourcingState, quantity: np.ndarray,
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
        split; the others go through the passes. Compiled (:func:`sim.engines.kernels.allocate`):
        in arrays the passes were 15 % of a run with every measure and disruption on.
        """
        from sim.engines.kernels import allocate  # numba: compiled on first use, not at import

        c = self.choice
        out = np.empty((c.lanes.size, quantity.shape[1]))
        allocate(np.ascontiguousarray(quantity), np.ascontiguousarray(active),
                 np.ascontiguousarray(room), np.ascontiguousarray(works),
                 np.ascontiguousarray(known_cap), c.by_input.indptr, c.by_input.indices,
                 c.primary[:, 0], c.static_share, out)
        return out

    def _off_static(self, static: np.ndarray, room: np.ndarray, works: np.ndarray,
                    active: np.ndarray) -> np.ndarray:
        """Lanes of inputs whose split is not ``static`` (``InputBuffer._plain``, negated).

        An input keeps its static split when no backup is active and every primary works with
        room for its static amount.
        """
        c = self.choice
        off = (c.primary & (~works | (room < static))) | active
        return c.same_input @ off.astype(float) > 0


    def _expedited(self, quantity: np.ndarray, known_lane: np.ndarray | None,
                   forecast: np.ndarray, net: np.ndarray,
                   owed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The urgent part of orders over expedite lanes, and its split over them."""
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
        pool_of_member = self.pool.tocsr().T.tocsr()
        unmet_zone = request - served
        unmet = (self.by_zone_node @ unmet_zone)[members]
        spare = np.maximum(0.0, np.minimum(stock[members], outflow_left[members]))
        spare_group, unmet_group = self.pool @ spare, self.pool @ unmet
        moved = pool_of_member @ np.minimum(spare_group, unmet_group)
        spare_all, unmet_all = pool_of_member @ spare_group, pool_of_member @ unmet_group
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


class ArrayPhases:
    """Phases of ``BatchEngine`` in numpy, before they were compiled."""

    def serve(self, s: Any, t: int) -> None:
        """Serve end customers, after releasing reserves; then pool.

        Mesa: ``DemandZone.arrive``, ``StockingPoint.release_reserve`` and ``serve``, then
        ``offer_to_pool`` and ``pool``; the numpy lines :func:`sim.engines.kernels_phases.serve`
        replaced.
        """
        from sim.engines.kernels import rationed, taken_from  # numba: compiled on first use

        plan, full = self.plan, s.full
        if plan.uses_reserves:
            release = (s.reserve > 0) & (s.service_yesterday < full["reserve_threshold"])
            np.copyto(s.released, np.where(release, np.minimum(full["reserve_release"],
                                                               s.reserve), 0.0))
            s.reserve -= s.released
            s.stock += s.released
        demand = s.demand = s.demand_days[t]
        request = demand + s.backlog
        request_node = self.by_zone_node @ request
        rationed(s.stock, s.outflow, request_node, s.fraction)
        served = request * product(self.node_of_zone, s.fraction, s.zone_fraction)
        served_node = self.by_zone_node @ served
        taken_from(s.stock, served_node)
        outflow_left = s.outflow - served_node
        if plan.uses_pooling:
            served, served_node, outflow_left = self._pool(
                request, served, served_node, s.stock, outflow_left, s.transferred)
        s.served_node, s.outflow_left = served_node, outflow_left
        s.shortage = demand - np.maximum(0.0, served - s.backlog)
        if self.layout.backorder:  # else the shortage is lost (recorded below)
            s.backlog = request - served

    def _positions(self, s: Any, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forecasts updated; each input's level and position, each node's net stock.

        The numpy lines :mod:`sim.engines.kernels_phases` replaced (``BatchEngine.order``).
        """
        full = s.full
        s.owed_node = self.by_source @ s.owed
        if self.layout.backorder:
            s.backlog_node = self.by_zone_node @ s.backlog
        net = s.stock - (s.owed_node + s.backlog_node)
        if self.forecasting.size:
            self._update_forecast(t, s.demand, s.orders_received, s.demand_days, s.forecast,
                                  s.history if self.moving.size else None, full["nominal"])
        level = added(full["level_base"], self.slope_of_node, s.forecast, s.level)
        np.add(s.in_transit, s.owed, out=s.on_order)
        position = added(s.inputs, self.by_input, s.on_order, s.position)
        added(position, self.bom_of_node, net, position)
        return level, position, net

    def account(self, s: Any, t: int) -> None:
        """Yesterday's service for the reserves; costs and emissions of a recorded day.

        Mesa: ``StockingPoint.account`` (and ``SupplyChainModel.day_block``); the numpy lines
        :func:`sim.engines.kernels_account.account` replaced.
        """
        plan = self.plan
        recorded = s.recording is not None and t >= s.warmup_days
        if not (plan.uses_reserves or plan.uses_pooling or recorded):
            return
        node_demand = self.by_zone_node @ s.demand
        node_shortage = self.by_zone_node @ s.shortage
        if plan.uses_reserves:
            s.service_yesterday.fill(1.0)
            np.subtract(1.0, node_shortage / np.where(node_demand > 0, node_demand, 1.0),
                        out=s.service_yesterday, where=node_demand > 0)
        if recorded:
            self._fill_block(s, node_demand, node_shortage)
            self._fill_lanes(s)

    def _fill_block(self, s: Any, node_demand: np.ndarray,
                    node_shortage: np.ndarray) -> None:
        """Write the day's variables (:data:`sim.measures.trace.NODE_VARS`) into the block."""
        from sim.engines.kernels import node_costs  # numba: compiled on first use

        plan, nodes = self.plan, s.nodes
        n, backorder = self.layout.n_nodes, self.layout.backorder
        stock, shipped, in_transit = s.stock, s.shipped, s.in_transit
        nodes["stock"][:] = stock
        nodes["production"][:] = s.production
        product(self.by_target, s.delivered, nodes["received"])
        nodes["demand"][:] = node_demand
        nodes["served"][:] = s.served_node
        nodes["shortage"][:] = node_shortage
        if backorder:  # else nothing is backordered, and lost = shortage
            product(self.by_zone_node, s.backlog, nodes["backlog"])
        else:
            nodes["lost"][:] = nodes["shortage"]
        nodes["shipped"][:] = s.shipped_node
        nodes["owed"][:] = s.owed_node
        product(self.by_target, in_transit, nodes["in_transit"])
        product(self.in_transit_value, in_transit, nodes["in_transit_value"])
        nodes["capacity_factor"][:] = s.factor
        held_inputs = self.input_value @ s.inputs
        product(self.pipeline_holding, in_transit, nodes["pipeline_holding_cost"])
        freight_and_co2e = self.freight_and_co2e @ shipped
        nodes["transport_cost"][:] = freight_and_co2e[:n]
        product(self.shortage_penalty, s.shortage, nodes["shortage_cost"])
        if backorder:
            nodes["shortage_cost"] += self.backorder_penalty @ s.backlog
        product(self.premium, shipped, nodes["premium_cost"])
        if plan.dynamic:
            self._fill_sourcing_costs(s)
        if plan.uses_pooling:
            nodes["transferred"][:] = s.transferred
        if plan.uses_reserves:
            nodes["reserve_released"][:] = s.released
        node_costs(s.block.nodes, COST_VARS, s.cost_constants, held_inputs, stock, s.production,
                   s.released, s.reserve, s.transferred, freight_and_co2e[n:],
                   float(plan.pool_cost), plan.uses_pooling, plan.uses_reserves,
                   self.public_costs)
        inflows = self.inflow_by_role @ shipped
        nodes["backup_inflow"][:] = inflows[:n]
        nodes["expedited_inflow"][:] = inflows[n:]

    def _fill_sourcing_costs(self, s: Any) -> None:
        """Activation fees, switching costs and rerouted units of dynamic sourcing."""
        nodes, plan = s.nodes, self.plan
        fixed = nodes["fixed_cost"]
        fixed[:] = self.activation_fee @ s.activated
        nodes["rerouted"][:] = self.by_target @ s.sourcing.cancel
        if plan.switch_cost > 0:
            switches = np.zeros((self.layout.n_lanes, s.r))
            switches[self.choice.lanes] = s.sourcing.first_reroute
            fixed += plan.switch_cost * (self.by_target @ switches)


class ArrayEngine(ArrayPolicySteps, ArrayPhases, BatchEngine):
    """The batch engine with the array form of dynamic sourcing and accounting."""
