"""Mesa agents of the reference engine: one per firm node, carrier and demand zone.

Each agent has one method per phase of the day (``docs/design.md``); the model calls the phases in
order for every agent. Within a phase an agent writes only its own state or the lanes it owns
(a source owns the orders owed on its outgoing lanes; a target the orders and backup state of its
incoming lanes; a carrier the shipments in transit), and it reads only what earlier phases wrote
or the day's exogenous conditions (events, demand), so the result does not depend on activation
order.

Quantities are in units of the agent's item; the rules are those of :mod:`sim.spec.policy`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import mesa

from sim.engines.day import scaled, stretched_lead
from sim.spec.network import DemandZone as DemandZoneSpec
from sim.spec.network import Lane as LaneSpec
from sim.spec.network import Node
from sim.spec.units import DAYS_PER_YEAR, SHORT_TOLERANCE, STALL_TOLERANCE

if TYPE_CHECKING:
    from sim.compile.plan import Levels
    from sim.engines.mesa.model import SupplyChainModel

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




def _spread(amount: float, room: list[float]) -> list[float]:
    """Share ``amount`` over lanes in proportion to their room, none beyond it.

    Lanes of unlimited room take it all, equally (``BatchEngine._spread``).
    """
    unlimited = sum(1.0 if math.isinf(r) else 0.0 for r in room)
    if unlimited > 0:
        return [amount / unlimited if math.isinf(r) else 0.0 for r in room]
    total = sum(room)
    if total > 0:
        return [r * min(1.0, amount / total) for r in room]
    return [0.0] * len(room)




class LaneState:
    """Orders, shipments and sourcing state of one lane.

    Attributes
    ----------
    pending : float
        Ordered today; reaches the source tomorrow [units].
    owed : float
        Received by the source, not yet shipped [units].
    in_transit : float
        Shipped, not yet delivered [units].
    short_days : int
        Backup lanes: consecutive days the input has been short of primary supply.
    stalled_days : int
        Consecutive days the source owed on the lane and shipped nothing on it.
    known_cap : float
        What the target knows the lane can deliver per day: the source's capacity for this
        buyer and the lane's capacity, scaled by what is known of events [units/day].
    foreseen_cap : float
        The same with warned events counted from their notice (early warning) [units/day].
    cancel : float
        Owed units the target cancelled today (the source drops them tomorrow) [units].
    """

    def __init__(self, spec: LaneSpec, index: int, ring_size: int, mean_flow: float,
                 share: float, role: int, lag: int, source_room: float) -> None:
        self.spec = spec
        self.index = index
        self.lead = spec.lead_time_days
        self.capacity = spec.capacity_per_day
        self.share = share  # static share within its role (after static policy transforms)
        self.role = role  # 0 primary, 1 backup, 2 expedite
        self.lag = lag
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
        self.short_days = 0
        self.activated_today = False
        self.engaged = False  # backup lanes: already activated in the current shortfall
        self.period = 1.0 + float(self.lead)  # protection period of orders over the lane
        self.source_room = source_room
        self.known_cap = min(self.capacity, source_room)
        self.foreseen_cap = self.known_cap  # with early warning: what is known to come
        self.works = True
        self.room = 0.0
        self.stalled_days = 0
        self.cancel = 0.0
        self.rerouting = False  # owed orders being moved off this lane (one switch cost)
        self.reroute_charged = False
        self.ordered = self.shipped = self.delivered = 0.0
        self.capacity_factor = self.lead_factor = 1.0  # today's, from events
        self.known = 1.0  # share of the lane's capacity the target knows to be working

    @property
    def on_order(self) -> float:
        """Ordered over this lane and not yet delivered [units]."""
        return self.in_transit + self.owed + self.pending


class InputBuffer:
    """Stock of one input item at one node, with the lanes that bring it."""

    def __init__(self, index: int, item: str, bom: float, levels: Levels, stock: float,
                 unit_value: float) -> None:
        self.index = index
        self.item = item
        self.bom = bom
        self.level_base = float(levels.level_base[index])
        self.level_slope = float(levels.level_slope[index])
        self.level_fixed = float(levels.level_fixed[index])
        self.safety_unit = float(levels.safety_unit[index])
        self.slope_unit = float(levels.slope_unit[index])
        order_gap = float(levels.order_gap[index])
        self.order_gap = order_gap
        self.stock = stock
        self.unit_value = unit_value
        self.lanes: list[LaneState] = []

    # -- dynamic sourcing: orders follow what the lanes can deliver, in units ----------------
    def review_lanes(self, reroute_after: int, need: float) -> float:
        """What works, each lane's room, the owed orders to cancel; return units not counted.

        A lane works when it is known to have capacity and its source has not stalled (owed on
        the lane without shipping for ``reroute_after`` days). While another lane works and
        takes orders today (a primary, or a backup past its lag), owed orders on lanes that do
        not work no longer count in the position (they will not come in time), and they are
        cancelled, to be re-placed, as far as those lanes have room beyond a normal day's
        ``need``. The return value is what the position stops counting.
        """
        for lane in self.lanes:
            stalled = lane.owed > STALL_TOLERANCE and lane.shipped <= STALL_TOLERANCE
            lane.stalled_days = lane.stalled_days + 1 if stalled else 0
            lane.works = lane.role != 2 and lane.known_cap > 0 \
                and lane.stalled_days < reroute_after
            lane.room = max(0.0, lane.known_cap - lane.owed) if lane.works else 0.0
        ready_room = sum(lane.room if lane.works and (lane.role == 0
                                                      or lane.short_days >= lane.lag)
                         else 0.0 for lane in self.lanes)
        spare = max(0.0, ready_room - need)
        bad = [lane.role != 2 and not lane.works and lane.owed > 0 for lane in self.lanes]
        stuck = sum(lane.owed if b else 0.0 for lane, b in zip(self.lanes, bad, strict=True))
        ratio = min(1.0, spare / stuck) if stuck > 0 else 0.0
        for lane, b in zip(self.lanes, bad, strict=True):
            lane.cancel = lane.owed * ratio if b else 0.0
            if lane.cancel <= STALL_TOLERANCE:  # rounding, not a switch (nor its cost)
                lane.cancel = 0.0
            lane.reroute_charged = lane.cancel > 0 and not lane.rerouting
            lane.rerouting = (lane.rerouting or lane.cancel > 0) and b
        return stuck if ready_room > 0 else 0.0

    def active_backups(self) -> list[bool]:
        """Backup lanes past their activation lag that work."""
        return [lane.role == 1 and lane.works and lane.short_days > lane.lag
                for lane in self.lanes]

    def allocate(self, quantity: float, active: list[bool], room: list[float]) -> list[float]:
        """Split an order by what each lane can deliver (``BatchEngine._allocate``).

        Primary lanes first, in share proportion within their room; the overflow to primaries
        with room left; then to active backups within their room; what still remains queues on
        the working lanes in proportion to their known capacity (or, if none works, on the
        primaries by share). With no backup active and room on every primary for its share,
        that is the static split, taken as it is.
        """
        lanes = self.lanes
        share = self.static_shares
        if self._plain(quantity, active, room):
            return [s * quantity for s in share]
        primary = [lane.role == 0 and lane.works for lane in lanes]
        x = [min(r, quantity * s) if p else 0.0
             for r, s, p in zip(room, share, primary, strict=True)]
        left = max(0.0, quantity - sum(x))
        extra = _spread(left, [r - v if p else 0.0
                               for r, v, p in zip(room, x, primary, strict=True)])
        x = [v + w for v, w in zip(x, extra, strict=True)]
        left = max(0.0, quantity - sum(x))
        y = _spread(left, [r if a else 0.0 for r, a in zip(room, active, strict=True)])
        left = max(0.0, left - sum(y))
        weights = [(lane.known_cap if math.isfinite(lane.known_cap) else 1.0) if p or a else 0.0
                   for lane, p, a in zip(lanes, primary, active, strict=True)]
        total = sum(weights)
        queue = [left * w / total for w in weights] if total > 0 else [left * s for s in share]
        return [a + b + c for a, b, c in zip(x, y, queue, strict=True)]

    def _plain(self, quantity: float, active: list[bool], room: list[float]) -> bool:
        """No backup active and every primary works with room for its share of ``quantity``."""
        return not any(active) and all(lane.works and r >= quantity * lane.share
                                       for lane, r in zip(self.lanes, room, strict=True)
                                       if lane.role == 0)

    def level_of_split(self, forecast: float, nominal_flow: float) -> tuple[float, float]:
        """Level and horizon for today's split of a nominal order (``_split_protection``).

        The nominal order (the node's nominal daily flow) is split over what works at its known
        capacity (not net of what is owed: a day's delay must not move the target); the level's
        pipeline part covers the forecast ``forecast`` over that split's mean protection period.
        An early warning does not move it: a warned source still delivers until the event.
        Returns the order-up-to level and the horizon H: the longest protection period among
        the lanes of the split; pipeline arriving later does not protect today's order.
        """
        nominal = self.bom * nominal_flow
        capacity = [lane.known_cap if lane.works else 0.0 for lane in self.lanes]
        active = self.active_backups()
        if nominal > 0 and not self._plain(nominal, active, capacity):
            amounts = self.allocate(nominal, active, capacity)
            split = [a / nominal for a in amounts]
        else:  # the static split: the plan's level exactly
            split = self.static_shares
        mean = 0.0
        variance = 0.0
        horizon = 0.0
        for a, f in zip(self.lanes, split, strict=True):
            mean += a.period * f
            if f > 0:
                horizon = max(horizon, a.period)
            for b, g in zip(self.lanes, split, strict=True):
                variance += min(a.period, b.period) * (f * g)
        level = self.level_fixed + self.safety_unit * math.sqrt(variance) \
            + self.slope_unit * mean * forecast
        return level, horizon

    def late_pipeline(self, t: int, horizon: float, ring_size: int) -> float:
        """Units in transit that arrive more than ``horizon`` days from today [units]."""
        late = 0.0
        for lane in self.lanes:
            lane_late = 0.0
            for d in range(int(horizon) + 1, ring_size):
                lane_late += lane.ring[(t + d) % ring_size]
            late += lane_late
        return late

    def settle_backups(self, short: bool, amounts: list[float]) -> None:
        """Count shortfall days; mark backups that start delivering in this shortfall."""
        for lane, amount in zip(self.lanes, amounts, strict=True):
            if lane.role != 1:
                continue
            active = lane.works and lane.short_days > lane.lag
            lane.activated_today = active and amount > 0 and not lane.engaged
            lane.engaged = (lane.engaged or lane.activated_today) and short

    @property
    def static_shares(self) -> list[float]:
        """The static split: primary lanes by share, others 0."""
        return [lane.share if lane.role == 0 else 0.0 for lane in self.lanes]

    def expedite_room(self) -> float:
        """Spare daily capacity of the expedite lanes: capacity minus what is owed on them."""
        return sum(max(0.0, lane.capacity - lane.owed) for lane in self.lanes if lane.role == 2)

    def expedite_split(self, dynamic: bool) -> list[float]:
        """Share of the expedited quantity for each lane (expedite lanes only)."""
        weights = [lane.share * (lane.known if dynamic else 1.0) if lane.role == 2 else 0.0
                   for lane in self.lanes]
        total = sum(weights)
        return [w / total for w in weights] if total > 0 else weights


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
        plan = model.plan
        levels = plan.levels
        self.spec = spec
        self.index = index
        self.stock = float(levels.initial_stock[index])
        self.fg_level = float(levels.fg_level[index])
        self.capacity = spec.capacity_per_day
        self.capacity_factor = 1.0
        self.inputs: list[InputBuffer] = []  # filled by the model (a warehouse has one)
        self.in_lanes: list[LaneState] = []
        self.owned_pipeline: list[tuple[LaneState, float]] = []  # (lane, holding per unit-day)
        self.out_lanes: list[LaneState] = []
        self.zones: list[DemandZone] = []
        # forecasting
        self.nominal_demand = float(model.layout.mean_outflow[index])
        self.forecast_method = int(plan.forecast_method[index])
        self.forecast_pos = bool(plan.forecast_pos[index])
        self.info_delay = int(plan.info_delay[index])
        self.forecast = self.nominal_demand
        self.history: deque[float] = deque([self.nominal_demand] * plan.window,
                                           maxlen=plan.window)
        self.orders_received = 0.0
        # pooling and reserve
        self.pool_group = int(plan.pool_group[index])
        self.spare = self.unmet = 0.0
        self.reserve = float(plan.reserve_units[index])
        self.service_yesterday = 1.0
        self._outflow_left = 0.0
        self.production = self.received = self.served = self.shipped = 0.0
        self.transferred = self.released = 0.0
        self.holding_cost = self.transport_cost = self.shortage_cost = self.co2e = 0.0
        self.pipeline_holding_cost = 0.0
        self.premium_cost = self.reservation_cost = self.fixed_cost = 0.0
        self.cost = self.public_cost = 0.0
        self.rerouted = 0.0

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
        received = 0.0
        for lane in self.out_lanes:
            received += lane.pending
            lane.owed -= lane.cancel  # cancelled by the buyer yesterday
            lane.owed += lane.pending
            lane.pending = 0.0
        self.orders_received = received

    def produce(self) -> None:
        """Phase 3: make units (suppliers and manufacturers)."""
        self.production = 0.0

    def release_reserve(self) -> None:
        """Phase 4, first: release emergency reserve if yesterday's service fell too low."""
        self.released = 0.0
        plan = self.model.plan
        if self.reserve > 0 and self.service_yesterday < plan.reserve_threshold[self.index]:
            self.released = min(float(plan.reserve_release[self.index]), self.reserve)
            self.reserve -= self.released
            self.stock += self.released

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

    def offer_to_pool(self) -> None:
        """Phase 4, pooling: state what can be spared and what is still unmet."""
        self.transferred = 0.0
        self.unmet = sum(zone.unmet for zone in self.zones)
        self.spare = max(0.0, min(self.stock, self._outflow_left))

    def pool(self) -> None:
        """Phase 4, pooling: give spare stock to, or take it from, the group, the same day."""
        members = self.model.pool_members[self.pool_group]
        spare = sum(m.spare for m in members)
        unmet = sum(m.unmet for m in members)
        moved = min(spare, unmet)
        if moved <= 0:
            return
        given = moved * self.spare / spare if self.spare > 0 else 0.0
        taken = moved * self.unmet / unmet if self.unmet > 0 else 0.0
        self.stock = max(0.0, self.stock - given)
        self._outflow_left -= given
        if taken > 0:
            extra = 0.0
            for zone in self.zones:
                extra += zone.take_more(taken * zone.unmet / self.unmet)
            self.served += extra
        self.transferred = taken - given

    def ship(self) -> None:
        """Phase 5: ship what downstream nodes ordered, rationing in proportion when short."""
        wants = [min(lane.owed, scaled(lane.capacity, lane.capacity_factor))
                 for lane in self.out_lanes]
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

    def update_forecast(self) -> None:
        """Phase 6, first: update the demand forecast m(t) behind the order-up-to levels."""
        if self.forecast_method == 0:
            return
        model = self.model
        if self.forecast_pos:
            day = model.t - self.info_delay
            if day < 0:
                signal = self.nominal_demand
            else:
                weights = model.plan.pos_weights[self.index]
                demand = model.draws.demand[0, day]
                signal = float(sum(weights[z] * demand[z] for z in model.pos_zones[self.index]))
        else:
            signal = sum(zone.demand for zone in self.zones) + self.orders_received
        if self.forecast_method == 1:
            self.history.append(signal)
            self.forecast = sum(self.history) / len(self.history)
        else:
            alpha = model.plan.alpha
            self.forecast = alpha * signal + (1.0 - alpha) * self.forecast

    def order(self) -> None:
        """Phase 6: order each input up to its level; split the order over the lanes."""
        plan = self.model.plan
        owed = self.owed_downstream()
        net_stock = self.stock - owed
        for buffer in self.inputs:
            position = buffer.stock + sum(lane.on_order for lane in buffer.lanes) \
                + buffer.bom * net_stock
            level = buffer.level_base + buffer.level_slope * self.forecast
            choosing = plan.dynamic and len(buffer.lanes) > 1
            if choosing:
                position -= buffer.review_lanes(plan.reroute_after, buffer.bom * self.forecast)
                level, horizon = buffer.level_of_split(self.forecast, self.nominal_demand)
                position -= buffer.late_pipeline(self.model.t, horizon, self.model.ring_size)
            quantity = level + buffer.order_gap - position if position <= level else 0.0
            quantity = max(0.0, quantity)
            expedited, split = 0.0, None
            if plan.expedite:
                split = buffer.expedite_split(plan.dynamic)
                if sum(split) > 0:
                    cover = float(plan.expedite_cover[buffer.index])
                    urgent = buffer.bom * max(0.0, self.forecast * cover - net_stock)
                    expedited = min(quantity, urgent, buffer.expedite_room())
                else:
                    split = None
            if choosing:
                regular = quantity - expedited
                primary_room = sum(lane.room for lane in buffer.lanes
                                   if lane.role == 0 and lane.works)
                # short: the primaries cannot carry today's order or a normal day's, now or
                # in what is foreseen
                need = buffer.bom * self.forecast
                foreseen = sum(lane.foreseen_cap for lane in buffer.lanes
                               if lane.role == 0 and lane.works)
                short = max(regular, need) - primary_room > SHORT_TOLERANCE \
                    or need - foreseen > SHORT_TOLERANCE
                for lane in buffer.lanes:
                    if lane.role == 1:
                        lane.short_days = lane.short_days + 1 if short else 0
                amounts = buffer.allocate(regular, buffer.active_backups(),
                                          [lane.room for lane in buffer.lanes])
                buffer.settle_backups(short, amounts)
                if split is not None:
                    amounts = [a + expedited * x for a, x in zip(amounts, split, strict=True)]
            elif split is not None:
                amounts = [(quantity - expedited) * s + expedited * x
                           for s, x in zip(buffer.static_shares, split, strict=True)]
            else:
                amounts = [s * quantity for s in buffer.static_shares]
            for lane, amount in zip(buffer.lanes, amounts, strict=True):
                lane.pending = lane.ordered = amount

    def account(self) -> None:
        """Phase 7: costs and emissions of the day; today's service level for tomorrow."""
        plan = self.model.plan
        spec, i = self.spec, self.index
        held = self.stock * spec.unit_value + sum(b.stock * b.unit_value for b in self.inputs)
        self.holding_cost = held * spec.holding_cost_rate / DAYS_PER_YEAR
        self.pipeline_holding_cost = sum(lane.in_transit * rate
                                         for lane, rate in self.owned_pipeline)
        self.transport_cost = sum(lane.shipped * lane.spec.cost_per_unit for lane in self.in_lanes)
        self.shortage_cost = sum(zone.penalty() for zone in self.zones)
        self.co2e = self.production * spec.production_co2e_kg_per_unit + sum(
            lane.shipped * lane.spec.co2e_kg_per_unit for lane in self.in_lanes)
        premium = sum(lane.shipped * float(plan.premium[lane.index]) for lane in self.in_lanes)
        premium += max(self.transferred, 0.0) * plan.pool_cost
        premium += self.released * float(plan.reserve_release_cost[i])
        reservation = float(plan.fee_per_day[i])
        reservation += self.reserve * spec.unit_value * float(plan.reserve_holding_rate[i])
        self.premium_cost, self.reservation_cost = premium, reservation
        self.fixed_cost = sum(float(plan.activation_fee[lane.index]) for lane in self.in_lanes
                              if lane.activated_today)
        self.rerouted = sum(lane.cancel for lane in self.in_lanes)
        self.fixed_cost += plan.switch_cost * sum(1.0 if lane.reroute_charged else 0.0
                                                  for lane in self.in_lanes)
        self.cost = (self.holding_cost + self.pipeline_holding_cost + self.transport_cost
                     + self.shortage_cost + premium + reservation + self.fixed_cost)
        self.public_cost = self.public_share_of(self.cost)
        demand = sum(zone.demand for zone in self.zones)
        shortage = sum(zone.shortage for zone in self.zones)
        self.service_yesterday = 1.0 - shortage / demand if demand > 0 else 1.0

    def public_share_of(self, cost: float) -> float:
        """What a public budget pays of today's ``cost`` (``BatchEngine._fill_public_cost``)."""
        plan, i = self.model.plan, self.index
        own = float(plan.public_fee_per_day[i]) + float(plan.public_reserve_share[i]) * (
            self.reserve * self.spec.unit_value * float(plan.reserve_holding_rate[i])
            + self.released * float(plan.reserve_release_cost[i]))
        share = float(plan.public_node_share[i])
        return share * cost + (1.0 - share) * own


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

    A shipment loaded on day t over a lane of lead time L (stretched by the day's events) is
    unloaded at the start of day t + L.
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
        lead = stretched_lead(lane.lead, lane.lead_factor)
        lane.ring[(self.model.t + lead) % self.model.ring_size] += quantity
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
        self.backorder_cost_per_unit_day = float(model.layout.zone_backorder_cost[index])
        self.backorders = model.layout.backorder
        self.demand = self.backlog = self.served = self.shortage = self.lost = 0.0
        self._backlog_before = 0.0

    def arrive(self) -> None:
        """Phase 4, first: today's demand arrives (drawn by the scenario)."""
        self.demand = float(self.model.draws.demand[0, self.model.t, self.index])
        self._backlog_before = self.backlog

    @property
    def unmet(self) -> float:
        """Requested today (demand plus backorders) and not served yet [units]."""
        return self.demand + self._backlog_before - self.served

    def take(self, quantity: float) -> float:
        """Phase 4: receive ``quantity`` from the node; backorders are filled first."""
        self.served = quantity
        self._settle()
        return quantity

    def take_more(self, quantity: float) -> float:
        """Phase 4, pooling: receive more units moved in from a peer."""
        self.served += quantity
        self._settle()
        return quantity

    def _settle(self) -> None:
        self.shortage = self.demand - max(0.0, self.served - self._backlog_before)
        if self.backorders:
            self.backlog = self._backlog_before + self.demand - self.served
            self.lost = 0.0
        else:
            self.lost = self.shortage

    def penalty(self) -> float:
        """Phase 7: shortage and backorder penalties of the day [money]."""
        return (self.shortage * self.shortage_cost_per_unit
                + self.backlog * self.backorder_cost_per_unit_day)
