"""The Mesa reference engine: :class:`SupplyChainModel`, one replicate of one scenario.

The day, in this order (``../DESIGN.md``):

1. **Disrupt**: apply the day's events (node capacity factors).
2. **Receive**: carriers unload shipments due today; yesterday's orders reach their sources.
3. **Produce**: suppliers and manufacturers make units.
4. **Serve demand**: demand arrives; each node serves its zones, rationing in proportion.
5. **Ship**: each node ships what it owes downstream, within lane capacity, rationing when short.
6. **Order**: each node orders its inputs up to their levels, split by lane shares.
7. **Account**: costs and emissions; the day is recorded.

This engine is the readable reference; :mod:`sim.batch` runs the same day on arrays.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import mesa
import numpy as np
from mesa.agent import AgentSet

from sim.agents import (
    Carrier,
    DemandZone,
    InputBuffer,
    LaneState,
    Manufacturer,
    StockingPoint,
    Supplier,
    Warehouse,
)
from sim.layout import Layout
from sim.network import Network
from sim.policy import BaseStockPolicy
from sim.scenario import Scenario, ScenarioDraws
from sim.trace import Trace

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
    policy : BaseStockPolicy, optional
        Replenishment policy (default: base-stock with z = 1.65).
    disruptions : sequence, optional
        Disruption specs or mappings (:mod:`sim.disruptions`).
    seed : int
        Root seed of the scenario.
    replicate : int
        Which replicate of the scenario to run (its draws are ``SeedSequence(seed).spawn(R)[r]``).
    draws : ScenarioDraws, optional
        Precomputed draws of this replicate (a chunk of one); drawn here when omitted.
    record : bool
        Keep daily traces in :attr:`trace`.
    shuffle : bool
        Activate agents in random order in every phase (the result must not change: a test).

    Attributes
    ----------
    t : int
        Simulated day index (0 is the first warm-up day).
    trace : Trace or None
        Recorded days of this replicate (one replicate row).
    """

    def __init__(
        self,
        network: Network,
        *,
        days: int,
        warmup_days: int = 0,
        policy: BaseStockPolicy | None = None,
        disruptions: Any = (),
        seed: int = 0,
        replicate: int = 0,
        draws: ScenarioDraws | None = None,
        record: bool = True,
        shuffle: bool = False,
    ) -> None:
        scenario = Scenario(network, days=days, warmup_days=warmup_days,
                            disruptions=disruptions, seed=seed)
        super().__init__(rng=np.random.default_rng(scenario.seed_sequence(replicate,
                                                                           MODEL_STREAM)))
        self.network = network
        self.supply_scenario = scenario  # not `scenario`: Mesa >= 3.5 owns Model.scenario
        self.layout = Layout.of(network)
        self.policy = policy or BaseStockPolicy()
        self.levels = self.policy.levels(self.layout)
        self.draws = draws if draws is not None else scenario.draw([replicate])
        self.warmup_days = warmup_days
        self.horizon = scenario.horizon
        self.ring_size = self.layout.max_lead + 1
        self.t = 0
        self._activate = "shuffle_do" if shuffle else "do"
        self._build()
        self.trace = (Trace(1, days, self.layout.n_nodes, self.layout.n_lanes,
                            self.layout.n_inputs) if record else None)

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        layout, levels = self.layout, self.levels
        nodes = [AGENT_CLASS[spec.kind](self, spec, i) for i, spec in enumerate(self.network.nodes)]
        for k in range(layout.n_inputs):
            node = nodes[layout.input_node[k]]
            node.inputs.append(InputBuffer(k, layout.input_item[k], float(layout.input_bom[k]),
                                           float(levels.order_up_to[k]),
                                           float(levels.initial_inputs[k]),
                                           float(layout.input_value[k])))
        buffers = [buffer for node in nodes for buffer in node.inputs]
        self.lanes = []
        by_carrier: dict[str, list[LaneState]] = defaultdict(list)
        for j, spec in enumerate(self.network.lanes):
            lane = LaneState(spec, j, self.ring_size, float(layout.lane_mean_flow[j]))
            lane.source = nodes[layout.lane_source[j]]
            lane.target = nodes[layout.lane_target[j]]
            lane.buffer = buffers[layout.lane_input[j]]
            lane.source.out_lanes.append(lane)
            lane.target.in_lanes.append(lane)
            lane.buffer.lanes.append(lane)
            by_carrier[spec.carrier].append(lane)
            self.lanes.append(lane)
        carriers = [Carrier(self, carrier_id, lanes) for carrier_id, lanes in
                    sorted(by_carrier.items())]
        zones = []
        for z, spec in enumerate(self.network.demand):
            node = nodes[layout.zone_node[z]]
            zone = DemandZone(self, spec, z, node)
            node.zones.append(zone)
            zones.append(zone)
        self.nodes = AgentSet(nodes, random=self.random)
        self.carriers = AgentSet(carriers, random=self.random)
        self.zones = AgentSet(zones, random=self.random)
        self.node_list: list[StockingPoint] = nodes

    # -- the day -------------------------------------------------------------------------------
    @property
    def day(self) -> int:
        """Recorded-day number of the current day (negative during the warm-up)."""
        return self.t - self.warmup_days

    def step(self) -> None:
        """Advance one day through the seven phases."""
        if self.t >= self.horizon:
            self.running = False
            return
        act = self._activate
        self.disrupt()
        getattr(self.carriers, act)("deliver")
        getattr(self.nodes, act)("receive_orders")
        getattr(self.nodes, act)("produce")
        getattr(self.zones, act)("arrive")
        getattr(self.nodes, act)("serve")
        getattr(self.nodes, act)("ship")
        getattr(self.nodes, act)("order")
        getattr(self.nodes, act)("account")
        if self.trace is not None and self.day >= 0:
            self._record(self.day)
        self.t += 1
        self.running = self.t < self.horizon

    def disrupt(self) -> None:
        """Phase 1: set each node's capacity factor from the events active today."""
        factors = self.draws.node_capacity_factor(self.t, self.layout.n_nodes)[0]
        for node in self.node_list:
            node.begin_day(float(factors[node.index]))

    def run(self) -> SupplyChainModel:
        """Run every remaining day; return the model."""
        while self.t < self.horizon:
            self.step()
        return self

    # -- recording -----------------------------------------------------------------------------
    def _record(self, d: int) -> None:
        node, lane, inputs = self.trace.node, self.trace.lane, self.trace.input
        for agent in self.node_list:
            i = agent.index
            demand = shortage = lost = backlog = 0.0
            for zone in agent.zones:
                demand += zone.demand
                shortage += zone.shortage
                lost += zone.lost
                backlog += zone.backlog
            values = {
                "stock": agent.stock,
                "production": agent.production,
                "received": agent.received,
                "demand": demand,
                "served": agent.served,
                "shortage": shortage,
                "lost": lost,
                "backlog": backlog,
                "shipped": agent.shipped,
                "owed": sum(x.owed for x in agent.out_lanes),
                "in_transit": sum(x.in_transit for x in agent.in_lanes),
                "capacity_factor": agent.capacity_factor,
                "holding_cost": agent.holding_cost,
                "transport_cost": agent.transport_cost,
                "shortage_cost": agent.shortage_cost,
                "cost": agent.holding_cost + agent.transport_cost + agent.shortage_cost,
                "co2e": agent.co2e,
            }
            for name, value in values.items():
                node[name][0, d, i] = value
            for buffer in agent.inputs:
                inputs["input_stock"][0, d, buffer.index] = buffer.stock
        for state in self.lanes:
            j = state.index
            lane["lane_ordered"][0, d, j] = state.ordered
            lane["lane_shipped"][0, d, j] = state.shipped
            lane["lane_delivered"][0, d, j] = state.delivered
            lane["lane_owed"][0, d, j] = state.owed
            lane["lane_in_transit"][0, d, j] = state.in_transit
