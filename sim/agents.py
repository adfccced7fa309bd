"""Mesa agents of the reference engine: one per firm node, carrier and demand zone.

Each agent has one method per phase of the day (``../DESIGN.md``); the model calls the phases in
order for every agent. Within a phase an agent writes only its own state or the lanes it owns
(a source owns the orders owed on its outgoing lanes, a carrier the shipments in transit), and it
reads only what earlier phases wrote, so the result does not depend on activation order.

Quantities are in units of the agent's item; see :mod:`sim.policy` for the replenishment rules.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa

from sim.network import DemandZone as DemandZoneSpec
from sim.network import Lane as LaneSpec
from sim.network import Node

if TYPE_CHECKING:
    from sim.model import SupplyChainModel

__all__ = [
    "Carrier",
    "DemandZone",
    "InputBuffer",
    "LaneState",
    "Manufacturer",
    "StockingPoint",
    "Supplier",
    "Warehouse",
]


def scaled(capacity: float, factor: float) -> float:
    """Capacity times a factor, with a stopped node at exactly 0 (also when capacity is inf)."""
    return capacity * factor if factor > 0 else 0.0


class LaneState:
    """Orders and shipments of one lane (owned by its carrier and its source).

    Attributes
    ----------
    pending : float
        Ordered today; reaches the source tomorrow [units].
    owed : float
        Received by the source, not yet shipped [units].
    in_transit : float
        Shipped, not yet delivered [units].
    """

    def __init__(self, spec: LaneSpec, index: int, ring_size: int, mean_flow: float) -> None:
        self.spec = spec
        self.index = index
        self.lead = spec.lead_time_days
        self.capacity = spec.capacity_per_day
        self.share = spec.share
        self.source: StockingPoint
        self.target: StockingPoint
        self.buffer: InputBuffer
        self.carrier: Carrier
        # Steady state: one day of orders on the way, `lead` days of shipments in transit.
        self.ring = [0.0] * ring_size
        for day in range(self.lead):
            self.ring[day % ring_size] = mean_flow
        self.in_transit = mean_flow * self.lead
        self.pending = mean_flow
        self.owed = 0.0
        self.ordered = self.shipped = self.delivered = 0.0

    @property
    def on_order(self) -> float:
        """Ordered over this lane and not yet delivered [units]."""
        return self.in_transit + self.owed + self.pending


class InputBuffer:
    """Stock of one input item at one node, with the lanes that bring it."""

    def __init__(self, index: int, item: str, bom: float, order_up_to: float, stock: float,
                 unit_value: float) -> None:
        self.index = index
        self.item = item
        self.bom = bom
        self.order_up_to = order_up_to
        self.stock = stock
        self.unit_value = unit_value
        self.lanes: list[LaneState] = []


class StockingPoint(mesa.Agent):
    """A node that stocks one item: the shared behaviour of suppliers, manufacturers, warehouses.

    Parameters
    ----------
    model : SupplyChainModel
        The model.
    spec : Node
        The node's description.
    index : int
        Position of the node in the network (its column in the results).
    """

    model: SupplyChainModel

    def __init__(self, model: SupplyChainModel, spec: Node, index: int) -> None:
        super().__init__(model)
        levels = model.levels
        self.spec = spec
        self.index = index
        self.stock = float(levels.initial_stock[index])
        self.fg_level = float(levels.fg_level[index])
        self.capacity = spec.capacity_per_day
        self.capacity_factor = 1.0
        self.inputs: list[InputBuffer] = []  # filled by the model (a warehouse has one)
        self.in_lanes: list[LaneState] = []
        self.out_lanes: list[LaneState] = []
        self.zones: list[DemandZone] = []
        self._outflow_left = 0.0
        self.production = self.received = self.served = self.shipped = 0.0
        self.holding_cost = self.transport_cost = self.shortage_cost = self.co2e = 0.0

    # -- helpers -----------------------------------------------------------------------------
    def owed_downstream(self) -> float:
        """Orders of downstream nodes not yet shipped, plus end-customer backorders [units]."""
        return sum(lane.owed for lane in self.out_lanes) + sum(z.backlog for z in self.zones)

    def outflow_limit(self) -> float:
        """Units the node can hand out today (served plus shipped)."""
        return math.inf if self.capacity_factor > 0 else 0.0

    def take_delivery(self, buffer: InputBuffer, quantity: float) -> None:
        """Phase 2: a carrier unloads a shipment into this node's stock."""
        buffer.stock += quantity
        self.received += quantity

    # -- phases --------------------------------------------------------------------------------
    def begin_day(self, capacity_factor: float) -> None:
        """Phase 1: take the day's capacity factor (1 = undisrupted); clear the day's flows."""
        self.capacity_factor = capacity_factor
        self.received = 0.0

    def receive_orders(self) -> None:
        """Phase 2: yesterday's orders from downstream reach this node."""
        for lane in self.out_lanes:
            lane.owed += lane.pending
            lane.pending = 0.0

    def produce(self) -> None:
        """Phase 3: make units (suppliers and manufacturers)."""
        self.production = 0.0

    def serve(self) -> None:
        """Phase 4: serve end customers, rationing in proportion to what each zone requests."""
        self._outflow_left = self.outflow_limit()
        self.served = 0.0
        if not self.zones:
            return
        requests = [zone.demand + zone.backlog for zone in self.zones]
        total = sum(requests)
        available = max(0.0, min(self.stock, self._outflow_left))
        fraction = available / total if total > available else 1.0
        served_total = 0.0
        for zone, request in zip(self.zones, requests, strict=True):
            served_total += zone.take(request * fraction)
        self.served = served_total
        self.stock = max(0.0, self.stock - served_total)
        self._outflow_left -= served_total

    def ship(self) -> None:
        """Phase 5: ship what downstream nodes ordered, rationing in proportion when short."""
        wants = [min(lane.owed, lane.capacity) for lane in self.out_lanes]
        total = sum(wants)
        available = max(0.0, min(self.stock, self._outflow_left))
        fraction = available / total if total > available else 1.0
        shipped = 0.0
        for lane, want in zip(self.out_lanes, wants, strict=True):
            quantity = want * fraction
            lane.owed -= quantity
            lane.carrier.load(lane, quantity)
            shipped += quantity
        self.shipped = shipped
        self.stock = max(0.0, self.stock - shipped)

    def order(self) -> None:
        """Phase 6: order each input up to its level; split the order by lane shares."""
        net_stock = self.stock - self.owed_downstream()
        for buffer in self.inputs:
            position = buffer.stock + sum(lane.on_order for lane in buffer.lanes) \
                + buffer.bom * net_stock
            quantity = max(0.0, buffer.order_up_to - position)
            for lane in buffer.lanes:
                lane.pending = lane.ordered = lane.share * quantity

    def account(self) -> None:
        """Phase 7: costs and emissions of the day."""
        spec = self.spec
        held = self.stock * spec.unit_value + sum(b.stock * b.unit_value for b in self.inputs)
        self.holding_cost = held * spec.holding_cost_rate / 365.0
        self.transport_cost = sum(lane.shipped * lane.spec.cost_per_unit for lane in self.in_lanes)
        self.shortage_cost = sum(zone.penalty() for zone in self.zones)
        self.co2e = self.production * spec.production_co2e_kg_per_unit + sum(
            lane.shipped * lane.spec.co2e_kg_per_unit for lane in self.in_lanes)


class Supplier(StockingPoint):
    """Makes its item from unlimited raw material, up to its capacity."""

    def produce(self) -> None:
        """Phase 3: make up to the finished-goods level plus what is owed, within capacity."""
        room = max(0.0, self.fg_level + self.owed_downstream() - self.stock)
        self.production = min(scaled(self.capacity, self.capacity_factor), room)
        self.stock += self.production


class Manufacturer(StockingPoint):
    """Assembles its item from the inputs of its bill of materials."""

    def produce(self) -> None:
        """Phase 3: make what capacity, inputs and the finished-goods target allow."""
        room = max(0.0, self.fg_level + self.owed_downstream() - self.stock)
        kits = min(buffer.stock / buffer.bom for buffer in self.inputs)
        self.production = min(scaled(self.capacity, self.capacity_factor), kits, room)
        for buffer in self.inputs:
            buffer.stock = max(0.0, buffer.stock - buffer.bom * self.production)
        self.stock += self.production


class Warehouse(StockingPoint):
    """Stores the item it receives; its capacity limits units handed out per day."""

    def take_delivery(self, buffer: InputBuffer, quantity: float) -> None:
        """Phase 2: deliveries go straight into stock."""
        self.stock += quantity
        self.received += quantity

    def outflow_limit(self) -> float:
        """Handling capacity of the day (served plus shipped)."""
        return scaled(self.capacity, self.capacity_factor)


class Carrier(mesa.Agent):
    """Moves shipments along the lanes it operates, respecting each lane's lead time.

    A shipment loaded on day t over a lane of lead time L is unloaded at the start of day t + L.
    """

    model: SupplyChainModel

    def __init__(self, model: SupplyChainModel, carrier_id: str, lanes: list[LaneState]) -> None:
        super().__init__(model)
        self.carrier_id = carrier_id
        self.lanes = lanes
        for lane in lanes:
            lane.carrier = self

    def deliver(self) -> None:
        """Phase 2: unload every shipment due today at its target."""
        slot = self.model.t % self.model.ring_size
        for lane in self.lanes:
            quantity = lane.ring[slot]
            lane.ring[slot] = 0.0
            lane.in_transit -= quantity
            lane.delivered = quantity
            lane.shipped = 0.0
            lane.target.take_delivery(lane.buffer, quantity)

    def load(self, lane: LaneState, quantity: float) -> None:
        """Phase 5 (called by the shipping node): put units on the lane."""
        lane.ring[(self.model.t + lane.lead) % self.model.ring_size] += quantity
        lane.in_transit += quantity
        lane.shipped = quantity


class DemandZone(mesa.Agent):
    """End customers of one node: demand arrives, is served, lost or backordered."""

    model: SupplyChainModel

    def __init__(self, model: SupplyChainModel, spec: DemandZoneSpec, index: int,
                 node: StockingPoint) -> None:
        super().__init__(model)
        self.spec = spec
        self.index = index
        self.node = node
        self.shortage_cost_per_unit = float(model.layout.zone_shortage_cost[index])
        self.backorders = model.layout.backorder
        self.demand = self.backlog = self.served = self.shortage = self.lost = 0.0

    def arrive(self) -> None:
        """Phase 4, first: today's demand arrives (drawn by the scenario)."""
        self.demand = float(self.model.draws.demand[0, self.model.t, self.index])

    def take(self, quantity: float) -> float:
        """Phase 4: receive ``quantity`` from the node; backorders are filled first."""
        self.served = quantity
        self.shortage = self.demand - max(0.0, quantity - self.backlog)
        if self.backorders:
            self.backlog = self.backlog + self.demand - quantity
            self.lost = 0.0
        else:
            self.lost = self.shortage
        return quantity

    def penalty(self) -> float:
        """Phase 7: shortage and backorder penalties of the day [money]."""
        return (self.shortage * self.shortage_cost_per_unit
                + self.backlog * self.spec.backorder_cost_per_unit_day)
