"""The Mesa reference engine: :class:`SupplyChainModel`, one replicate of one scenario.

Each day runs the phases of :mod:`sim.engines.day` in order, one method each (:meth:`disrupt`,
:meth:`receive`, :meth:`produce`, :meth:`serve`, :meth:`ship`, :meth:`order`, :meth:`account`),
and each phase activates the agents of :mod:`sim.engines.mesa.agents` that take part in it.

This engine is the readable reference; :mod:`sim.engines.batch` runs the same day on arrays.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import mesa
import numpy as np
from mesa.agent import AgentSet

from sim.compile.effects import (
    LANE_CAPACITY,
    LANE_LEAD,
    NODE_CAPACITY,
    effect_factors,
    knowledge_events,
    ring_size,
)
from sim.compile.plan import PolicyPlan, plan_policy
from sim.compile.scenario import Scenario, ScenarioDraws
from sim.engines.day import PHASES, scaled
from sim.engines.mesa.agents import (
    Carrier,
    DemandZone,
    InputBuffer,
    LaneState,
    Manufacturer,
    StockingPoint,
    Supplier,
    Warehouse,
)
from sim.engines.recording import Recording
from sim.measures.trace import NODE_VARS, DayBlock, Trace
from sim.spec.network import Network
from sim.spec.policy import BaseStockPolicy, Policy

__all__ = ["MODEL_STREAM", "SupplyChainModel"]

AGENT_CLASS = {"supplier": Supplier, "manufacturer": Manufacturer, "warehouse": Warehouse}
MODEL_STREAM = 1_000_000  # the Mesa model's own generator; the simulation itself draws none


class SupplyChainModel(mesa.Model):
    """One replicate of a supply chain, one agent per node, carrier and demand zone.

    Parameters
    ----------
    network : Network
        The supply chain.
    days : int
        Days to record (after the warm-up).
    warmup_days : int
        Days simulated before recording starts.
    policy : Policy, optional
        The strategy (:mod:`sim.spec.policy`; default: base-stock with z = 1.65 and nothing else).
    disruptions : sequence, optional
        Disruption specs or mappings (:mod:`sim.spec.disruptions`).
    seed : int
        Root seed of the scenario.
    replicate : int
        Which replicate of the scenario to run (its draws are ``SeedSequence(seed).spawn(R)[r]``).
    draws : ScenarioDraws, optional
        Precomputed draws of this replicate (a chunk of one); drawn here when omitted.
    record : {"full", "summary", "kpis"}, Recording or None
        What to keep of the recorded days (:mod:`sim.engines.recording`), or the recorders to feed;
        ``None`` keeps nothing.
    shuffle : bool
        Activate agents in random order in every phase (the result must not change: a test).

    Attributes
    ----------
    t : int
        Simulated day index (0 is the first warm-up day).
    recording : Recording or None
        The recorders fed by each recorded day; ``.trace`` is the full trace when kept.
    """

    def __init__(
        self,
        network: Network,
        *,
        days: int,
        warmup_days: int = 0,
        policy: Policy | None = None,
        disruptions: Any = (),
        seed: int = 0,
        replicate: int = 0,
        draws: ScenarioDraws | None = None,
        record: str | Recording | None = "full",
        shuffle: bool = False,
    ) -> None:
        scenario = Scenario(network, days=days, warmup_days=warmup_days,
                            disruptions=disruptions, seed=seed)
        self.supply_scenario = scenario  # not `scenario`: Mesa >= 3.5 owns Model.scenario
        plan = plan_policy(policy or BaseStockPolicy(), network)
        if isinstance(record, str):
            record = Recording(record, np.array([replicate]), days, plan.layout)
        self._setup(plan, draws if draws is not None else scenario.draw([replicate]), warmup_days,
                    scenario.seed_sequence(replicate, MODEL_STREAM), record, shuffle)

    @classmethod
    def from_plan(cls, plan: PolicyPlan, draws: ScenarioDraws, warmup_days: int, *,
                  record: Recording | None = None, shuffle: bool = False) -> SupplyChainModel:
        """The model of one replicate from a compiled plan and its draws (nothing re-planned).

        ``draws`` holds one replicate (:meth:`ScenarioDraws.replicate`); this is how
        :class:`sim.engines.registry.MesaRun` builds the models of a chunk.
        """
        model = cls.__new__(cls)
        replicate = int(draws.replicates[0])
        model._setup(plan, draws, warmup_days, np.random.SeedSequence([MODEL_STREAM, replicate]),
                     record, shuffle)
        return model

    def _setup(self, plan: PolicyPlan, draws: ScenarioDraws, warmup_days: int,
               seed: np.random.SeedSequence, record: Recording | None, shuffle: bool) -> None:
        super().__init__(rng=np.random.default_rng(seed))
        self.plan = plan
        self.policy = plan.policy
        self.network = plan.network  # with what the policy adds (shared warehouses)
        self.layout = plan.layout
        self.levels = plan.levels
        self.draws = draws
        self.warmup_days = warmup_days
        self.horizon = draws.horizon
        self.ring_size = ring_size(self.layout.max_lead, draws.events)
        warned = draws.warned(plan.warned_kinds)
        # what nodes foresee (warned events `notice_days` early) and what they know happens
        self.known_events = knowledge_events(draws.events, plan.detection_delay,
                                             plan.notice_days, warned)
        self.current_events = knowledge_events(
            draws.events, plan.detection_delay, plan.notice_days, warned,
            ahead=False) if plan.notice_days else None
        self.t = 0
        self._activate = "shuffle_do" if shuffle else "do"
        self._build()
        self.recording = record

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        layout, levels, plan = self.layout, self.levels, self.plan
        nodes = [AGENT_CLASS[spec.kind](self, spec, i) for i, spec in enumerate(self.network.nodes)]
        for k in range(layout.n_inputs):
            node = nodes[layout.input_node[k]]
            node.inputs.append(InputBuffer(k, layout.input_item[k], float(layout.input_bom[k]),
                                           levels, float(levels.initial_inputs[k]),
                                           float(layout.input_value[k])))
        buffers = sorted((b for node in nodes for b in node.inputs), key=lambda b: b.index)
        self.buffers: list[InputBuffer] = buffers  # in input order
        self.lanes = []
        by_carrier: dict[str, list[LaneState]] = defaultdict(list)
        for j, spec in enumerate(self.network.lanes):
            lane = LaneState(spec, j, self.ring_size, float(layout.lane_initial_flow[j]),
                             float(plan.share[j]), int(layout.lane_role[j]),
                             int(plan.activation_lag[j]), float(plan.source_room[j]))
            lane.source = nodes[layout.lane_source[j]]
            lane.target = nodes[layout.lane_target[j]]
            lane.buffer = buffers[layout.lane_input[j]]
            lane.source.out_lanes.append(lane)
            lane.target.in_lanes.append(lane)
            lane.buffer.lanes.append(lane)
            nodes[layout.lane_pipeline_owner[j]].owned_pipeline.append(
                (lane, float(layout.lane_pipeline_rate[j])))
            by_carrier[spec.carrier].append(lane)
            self.lanes.append(lane)
        carriers = [Carrier(self, carrier_id, lanes) for carrier_id, lanes in
                    sorted(by_carrier.items())]
        zones = []
        for z, zone_spec in enumerate(self.network.demand):
            node = nodes[layout.zone_node[z]]
            zone = DemandZone(self, zone_spec, z, node)
            node.zones.append(zone)
            zones.append(zone)
        self.nodes = AgentSet(nodes, random=self.random)
        self.carriers = AgentSet(carriers, random=self.random)
        self.zones = AgentSet(zones, random=self.random)
        self.node_list: list[StockingPoint] = nodes
        self.pool_members: dict[int, list[StockingPoint]] = defaultdict(list)
        for node in nodes:
            if node.pool_group >= 0:
                self.pool_members[node.pool_group].append(node)
        self.pooling = AgentSet([n for n in nodes if n.pool_group >= 0], random=self.random)
        self.pos_zones = [np.flatnonzero(plan.pos_weights[i]).tolist() for i in range(len(nodes))]

    # -- the day -------------------------------------------------------------------------------
    @property
    def day(self) -> int:
        """Recorded-day number of the current day (negative during the warm-up)."""
        return self.t - self.warmup_days

    def step(self) -> None:
        """Advance one day through the phases of :data:`sim.engines.day.PHASES`, in order."""
        if self.t >= self.horizon:
            self.running = False
            return
        for phase in PHASES:
            getattr(self, phase)()
        if self.recording is not None and self.day >= 0:
            self.recording.record(self.day, self.day_block())
        self.t += 1
        self.running = self.t < self.horizon

    def disrupt(self) -> None:
        """Phase 1: today's conditions from the events: node and lane factors, what is known."""
        t, layout, events = self.t, self.layout, self.draws.events
        nodes = effect_factors(events, t, NODE_CAPACITY, layout.n_nodes, 1)[:, 0]
        capacity = effect_factors(events, t, LANE_CAPACITY, layout.n_lanes, 1)[:, 0]
        lead = effect_factors(events, t, LANE_LEAD, layout.n_lanes, 1)[:, 0]
        for node in self.node_list:
            node.begin_day(float(nodes[node.index]))
        for lane in self.lanes:
            lane.capacity_factor = float(capacity[lane.index])
            lane.lead_factor = float(lead[lane.index])
        if self.plan.dynamic:
            foreseen = self._known_capacity(self.known_events, set_factor=True)
            current = foreseen if self.current_events is None else \
                self._known_capacity(self.current_events)
            for lane, now, ahead in zip(self.lanes, current, foreseen, strict=True):
                lane.known_cap, lane.foreseen_cap = now, ahead

    def receive(self) -> None:
        """Phase 2: carriers unload shipments due today; yesterday's orders reach their sources."""
        self._each(self.carriers, "deliver")
        self._each(self.nodes, "receive_orders")

    def produce(self) -> None:
        """Phase 3: suppliers and manufacturers make units."""
        self._each(self.nodes, "produce")

    def serve(self) -> None:
        """Phase 4: demand arrives, reserves are released, nodes serve their zones, then pool."""
        self._each(self.zones, "arrive")
        self._each(self.nodes, "release_reserve")
        self._each(self.nodes, "serve")
        self._each(self.pooling, "offer_to_pool")
        self._each(self.pooling, "pool")

    def ship(self) -> None:
        """Phase 5: each node ships what it owes downstream, within lane capacity."""
        self._each(self.nodes, "ship")

    def order(self) -> None:
        """Phase 6: forecasts are updated; each node orders its inputs up to their levels."""
        self._each(self.nodes, "update_forecast")
        self._each(self.nodes, "order")

    def account(self) -> None:
        """Phase 7: costs and emissions of the day."""
        self._each(self.nodes, "account")

    def _each(self, agents: AgentSet, method: str) -> None:
        """Call ``method`` on every agent of the set (in random order when shuffling)."""
        getattr(agents, self._activate)(method)

    def _known_capacity(self, known: np.ndarray, set_factor: bool = False) -> list[float]:
        """Known capacity of each lane for its buyer [units/day] (``BatchEngine._known_lanes``).

        With ``set_factor``, also sets each lane's known capacity factor (the expedite split).
        """
        t, layout = self.t, self.layout
        known_nodes = effect_factors(known, t, NODE_CAPACITY, layout.n_nodes, 1)[:, 0]
        known_capacity = effect_factors(known, t, LANE_CAPACITY, layout.n_lanes, 1)[:, 0]
        known_lead = effect_factors(known, t, LANE_LEAD, layout.n_lanes, 1)[:, 0]
        tolerance = self.plan.stretch_tolerance
        out = []
        for lane in self.lanes:
            j = lane.index
            usable = known_lead[j] <= tolerance
            source = float(known_nodes[layout.lane_source[j]])
            closure = float(known_capacity[j])
            if set_factor:
                lane.known = source * closure if usable else 0.0
            out.append(min(scaled(lane.capacity, closure), scaled(lane.source_room, source))
                       if usable else 0.0)
        return out

    def run(self) -> SupplyChainModel:
        """Run every remaining day; return the model."""
        while self.t < self.horizon:
            self.step()
        return self

    # -- recording -----------------------------------------------------------------------------
    @property
    def trace(self) -> Trace | None:
        """Full daily trace of this replicate (``record="full"``), else ``None``."""
        if self.recording is None or self.recording.trace is None:
            return None
        return self.recording.trace.trace

    def day_block(self) -> DayBlock:
        """Today's variables (:mod:`sim.measures.trace`) as a block of one replicate."""
        nodes, lanes = self.node_list, self.lanes
        role = self.layout.lane_role
        columns = {
            "stock": [a.stock for a in nodes],
            "production": [a.production for a in nodes],
            "received": [a.received for a in nodes],
            "demand": [sum(z.demand for z in a.zones) for a in nodes],
            "served": [a.served for a in nodes],
            "shortage": [sum(z.shortage for z in a.zones) for a in nodes],
            "lost": [sum(z.lost for z in a.zones) for a in nodes],
            "backlog": [sum(z.backlog for z in a.zones) for a in nodes],
            "shipped": [a.shipped for a in nodes],
            "owed": [sum(lane.owed for lane in a.out_lanes) for a in nodes],
            "in_transit": [sum(lane.in_transit for lane in a.in_lanes) for a in nodes],
            "in_transit_value": [sum(lane.in_transit * lane.source.spec.unit_value
                                     for lane in a.in_lanes) for a in nodes],
            "capacity_factor": [a.capacity_factor for a in nodes],
            "holding_cost": [a.holding_cost for a in nodes],
            "pipeline_holding_cost": [a.pipeline_holding_cost for a in nodes],
            "transport_cost": [a.transport_cost for a in nodes],
            "shortage_cost": [a.shortage_cost for a in nodes],
            "premium_cost": [a.premium_cost for a in nodes],
            "reservation_cost": [a.reservation_cost for a in nodes],
            "fixed_cost": [a.fixed_cost for a in nodes],
            "cost": [a.cost for a in nodes],
            "public_cost": [a.public_cost for a in nodes],
            "co2e": [a.co2e for a in nodes],
            "transferred": [a.transferred for a in nodes],
            "reserve_released": [a.released for a in nodes],
            "backup_inflow": [sum(x.shipped for x in a.in_lanes if role[x.index] == 1)
                              for a in nodes],
            "expedited_inflow": [sum(x.shipped for x in a.in_lanes if role[x.index] == 2)
                                 for a in nodes],
            "rerouted": [a.rerouted for a in nodes],
        }
        lane_columns = [
            [lane.ordered for lane in lanes],
            [lane.shipped for lane in lanes],
            [lane.delivered for lane in lanes],
            [lane.owed for lane in lanes],
            [lane.in_transit for lane in lanes],
            [lane.cancel for lane in lanes],
        ]
        return DayBlock(
            np.array([columns[name] for name in NODE_VARS], dtype=float)[:, :, None],
            np.array([b.stock for b in self.buffers], dtype=float)[:, None],
            np.array(lane_columns, dtype=float).reshape(len(lane_columns), len(lanes), 1),
        )
