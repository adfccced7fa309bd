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

from sim.disruptions import NODE_CAPACITY
from sim.grouping import incidence, product
from sim.layout import MANUFACTURER, WAREHOUSE, Layout
from sim.policy import Levels
from sim.recording import Recording
from sim.scenario import ScenarioDraws
from sim.trace import LANE, NODE, DayBlock

__all__ = ["BatchEngine", "CapacitySchedule"]

PADDED_MAX_WIDTH = 8


class CapacitySchedule:
    """Day-by-day node capacity factors of a chunk, from its events, kept incrementally.

    The factor of a (node, replicate) is 1 minus the largest severity among events active that
    day, exactly as :func:`sim.disruptions.node_capacity_factor` computes it; here only the events
    active on a day are scanned, and only on days when an event starts or ends.
    """

    def __init__(self, events: np.ndarray, replicates: int, nodes: int) -> None:
        events = events[events["kind"] == NODE_CAPACITY]
        self.events = events[np.argsort(events["start"], kind="stable")]
        self.change_days = set(self.events["start"].tolist()) | set(self.events["end"].tolist())
        self.factor = np.ones((nodes, replicates))
        self.version = 0  # bumped whenever the factors change
        self._active = self.events[:0]
        self._next = 0

    def at(self, day: int) -> np.ndarray:
        """Factors (node, replicate) for a simulated day; ask days in increasing order."""
        if day not in self.change_days:
            return self.factor
        stop = np.searchsorted(self.events["start"], day, side="right")
        active = np.concatenate([self._active, self.events[self._next:stop]])
        self._active = active[active["end"] > day]
        self._next = stop
        self.factor.fill(1.0)
        self.version += 1
        if self._active.size:
            np.minimum.at(self.factor, (self._active["target"], self._active["replicate"]),
                          1.0 - self._active["severity"])
        return self.factor


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


class BatchEngine:
    """Runs chunks of replicates of one network under one policy.

    Parameters
    ----------
    layout : Layout
        The network's arrays.
    levels : Levels
        The policy resolved on that network.
    """

    def __init__(self, layout: Layout, levels: Levels) -> None:
        self.layout = layout
        self.levels = levels
        n, e, k = layout.n_nodes, layout.n_lanes, layout.n_inputs
        m = self.m_inputs = layout.n_manufacturer_inputs  # manufacturer inputs are 0:m
        # Grouped sums, and gathers scaled by a constant, as sparse products. A product with one
        # entry a per row computes 0 + a * x = a * x exactly, as the agents do.
        self.by_source = incidence(layout.lane_source, n)
        self.by_target = incidence(layout.lane_target, n)
        self.by_input = incidence(layout.lane_input, k)
        self.by_zone_node = incidence(layout.zone_node, n)
        self.freight_and_co2e = sparse.vstack([  # one pass over shipments for both
            incidence(layout.lane_target, n, layout.lane_cost),
            incidence(layout.lane_target, n, layout.lane_co2e)]).tocsr()
        self.input_value = incidence(layout.input_node, n, layout.input_value)
        self.shortage_penalty = incidence(layout.zone_node, n, layout.zone_shortage_cost)
        self.backorder_penalty = incidence(layout.zone_node, n, layout.zone_backorder_cost)
        self.bom_of_node = incidence(layout.input_node, n, layout.input_bom).T.tocsr()  # (k, n)
        self.used_by = self.bom_of_node[:m]  # (m, n): input used per unit made
        self.share_of_input = incidence(layout.lane_input, k, layout.lane_share).T.tocsr()
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
        self.ring_size = layout.max_lead + 1
        self._columns = {  # per-entity constants, broadcast to (entity, replicate) per chunk
            "capacity": layout.capacity, "fg_level": levels.fg_level,
            "order_up_to": levels.order_up_to, "bom": layout.input_bom[:m],
            "lane_capacity": layout.lane_capacity, "unit_value": layout.unit_value,
            "production_co2e": layout.production_co2e,
            "holding_rate_day": layout.holding_rate / 365.0,
        }
        assert e == len(layout.lane_lead)

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
        layout, levels = self.layout, self.levels
        r = len(draws.replicates)
        n, e, z, m = layout.n_nodes, layout.n_lanes, layout.n_zones, self.m_inputs
        lead, ring_size = layout.lane_lead, self.ring_size
        backorder = layout.backorder
        by_source, by_zone_node, by_input = self.by_source, self.by_zone_node, self.by_input
        lanes_wanted = recording is not None and recording.wants_lanes
        # Constants as full (entity, replicate) arrays: with few replicates per row, broadcasting
        # a column costs per row more than the arithmetic itself (measured 4x).
        full = {name: np.repeat(np.asarray(value, dtype=float)[:, None], r, axis=1)
                for name, value in self._columns.items()}

        # state, entity-major: (node | lane | input | zone, replicate)
        flow = layout.lane_mean_flow
        stock = np.repeat(levels.initial_stock[:, None], r, axis=1)
        inputs = np.repeat(levels.initial_inputs[:, None], r, axis=1)
        owed = np.zeros((e, r))
        pending = np.repeat(flow[:, None], r, axis=1)
        in_transit = np.repeat((flow * lead)[:, None], r, axis=1)
        ring = np.zeros((ring_size, e, r))  # (arrival day % ring_size, lane, replicate)
        ahead = lead[None, :] > np.arange(layout.max_lead)[:, None]  # (day, lane): due that day
        ring[:layout.max_lead] = np.where(ahead, flow[None, :], 0.0)[:, :, None]
        backlog = np.zeros((z, r))
        demand_days = np.ascontiguousarray(draws.demand.transpose(1, 2, 0))  # (day, zone, rep)
        schedule = CapacitySchedule(draws.events, r, n)
        lane_rows = np.arange(e)
        backlog_node = np.zeros((n, r))
        kit_ratio = np.full((m + 1, r), np.inf)  # last row: +inf, for padded minima
        k = layout.n_inputs
        on_order = np.empty((e, r))
        received_input = np.empty((k, r))
        position = np.empty((k, r))
        bom_net = np.empty((k, r))
        quantity = np.empty((k, r))
        pending_next = np.empty((e, r))
        used_now = np.empty((m, r))
        zone_fraction = np.empty((z, r))
        wants = owed if not self.lanes_capped else np.empty((e, r))
        shipped = np.empty((e, r))
        capacity = np.zeros((n, r))
        outflow = np.zeros((n, r))
        fraction = np.ones((n, r))
        seen_version = -1

        # one recorded day: node variables in the order of NODE_VARS, written in place
        block = DayBlock(np.zeros((len(NODE), n, r)), inputs,
                         np.zeros((len(LANE), e, r)) if lanes_wanted else None)
        nodes = {name: block.nodes[i] for name, i in NODE.items()}

        for t in range(draws.horizon):
            # 1. disrupt (capacity arrays change only when an event starts or ends)
            factor = schedule.at(t)
            if schedule.version != seen_version:
                seen_version = schedule.version
                up = factor > 0
                capacity.fill(0.0)
                np.multiply(full["capacity"], factor, out=capacity, where=up)
                np.copyto(outflow, np.where(up, np.inf, 0.0))
                outflow[self.warehouses] = capacity[self.warehouses]

            # 2. receive: shipments due today, then yesterday's orders reach their sources
            delivered = ring[t % ring_size]  # a view: nothing writes this slot before tomorrow
            in_transit -= delivered
            product(by_input, delivered, received_input)
            inputs[:m] += received_input[:m]
            stock[self.warehouses] += received_input[self.warehouse_input]
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

            # 4. serve end customers
            demand = demand_days[t]
            request = demand + backlog
            request_node = by_zone_node @ request
            available = np.maximum(0.0, np.minimum(stock, outflow))
            fraction.fill(1.0)
            np.divide(available, request_node, out=fraction, where=request_node > available)
            served = request * product(self.node_of_zone, fraction, zone_fraction)
            shortage = demand - np.maximum(0.0, served - backlog)
            if backorder:  # else the shortage is lost (recorded below)
                backlog = backlog + demand - served
            served_node = by_zone_node @ served
            np.maximum(stock - served_node, 0.0, out=stock)
            outflow_left = outflow - served_node

            # 5. ship what is owed downstream
            if self.lanes_capped:
                np.minimum(owed, full["lane_capacity"], out=wants)
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
            ring[(t + lead) % ring_size, lane_rows] = shipped

            # 6. order inputs up to their levels
            owed_node = by_source @ owed
            if backorder:
                backlog_node = by_zone_node @ backlog
            net = stock - (owed_node + backlog_node)
            np.add(in_transit, owed, out=on_order)
            np.add(inputs, product(by_input, on_order, position), out=position)
            position += product(self.bom_of_node, net, bom_net)
            np.subtract(full["order_up_to"], position, out=quantity)
            np.maximum(quantity, 0.0, out=quantity)
            pending, pending_next = product(self.share_of_input, quantity, pending_next), pending

            # 7. account and record
            day = t - warmup_days
            if recording is None or day < 0:
                continue
            nodes["stock"][:] = stock
            nodes["production"][:] = production
            nodes["received"][:] = self.by_target @ delivered
            nodes["demand"][:] = by_zone_node @ demand
            nodes["served"][:] = served_node
            nodes["shortage"][:] = by_zone_node @ shortage
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
            np.add(holding, nodes["transport_cost"], out=nodes["cost"])
            nodes["cost"] += penalties
            np.multiply(production, full["production_co2e"], out=nodes["co2e"])
            nodes["co2e"] += freight_and_co2e[n:]
            if lanes_wanted:
                block.lanes[LANE["lane_ordered"]] = pending
                block.lanes[LANE["lane_shipped"]] = shipped
                block.lanes[LANE["lane_delivered"]] = delivered
                block.lanes[LANE["lane_owed"]] = owed
                block.lanes[LANE["lane_in_transit"]] = in_transit
            recording.record(day, block)
