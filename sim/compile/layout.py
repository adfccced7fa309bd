"""Integer-indexed arrays of a network, shared by both engines, the policies and the results.

Nodes, lanes, inputs and demand zones get positions 0..N-1, 0..E-1, 0..K-1, 0..Z-1. An *input*
is one (node, input item) pair: each BOM entry of a manufacturer, and the stocked item of a
warehouse. Manufacturers' inputs come first, node by node, then warehouses' (one each), so node
n's inputs are ``input_first[n]`` to ``input_first[n] + input_count[n]`` and all manufacturer
inputs form one contiguous block ``0:n_manufacturer_inputs`` (the batch engine works on it as a
view).

The layout also carries the *nominal flows*: the mean and standard deviation of each node's daily
outflow when every node passes demand upstream one for one (base-stock), computed from the demand
zones down to the suppliers through shares and BOMs. The variance sum assumes independent flows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.spec.errors import Issue
from sim.spec.network import (
    BACKORDER_DAYS_PER_LOST_SALE,
    DEMAND_LAWS,
    LANE_ROLES,
    NODE_KINDS,
    Network,
)
from sim.spec.units import DAYS_PER_YEAR

__all__ = ["KIND_CODES", "LAW_CODES", "ROLE_CODES", "Layout", "nominal_overloads"]

KIND_CODES = {kind: code for code, kind in enumerate(NODE_KINDS)}
ROLE_CODES = {role: code for code, role in enumerate(LANE_ROLES)}
LAW_CODES = {law: code for code, law in enumerate(DEMAND_LAWS)}
SUPPLIER, MANUFACTURER, WAREHOUSE = (KIND_CODES[k] for k in NODE_KINDS)


@dataclass(frozen=True, eq=False)
class Layout:
    """Arrays describing a :class:`~sim.spec.network.Network` by position.

    Build with :meth:`of`; all arrays are read-only.
    """

    network: Network
    # nodes, shape (node,)
    node_ids: tuple[str, ...]
    kind: np.ndarray
    capacity: np.ndarray
    unit_value: np.ndarray
    holding_rate: np.ndarray
    production_co2e: np.ndarray
    initial_stock: np.ndarray  # NaN where the policy's steady state applies
    tier: np.ndarray
    # inputs, shape (input,)
    input_node: np.ndarray
    input_item: tuple[str, ...]
    input_bom: np.ndarray
    input_value: np.ndarray
    input_first: np.ndarray  # shape (node,): first input of each node
    input_count: np.ndarray  # shape (node,): number of inputs (0 for suppliers)
    # lanes, shape (lane,)
    lane_ids: tuple[str, ...]
    lane_source: np.ndarray
    lane_target: np.ndarray
    lane_input: np.ndarray
    lane_lead: np.ndarray
    lane_capacity: np.ndarray
    lane_share: np.ndarray
    lane_role: np.ndarray  # 0 primary, 1 backup, 2 expedite
    lane_cost: np.ndarray
    lane_co2e: np.ndarray  # kg CO2e per unit shipped over the whole lane
    # demand zones, shape (zone,)
    lane_pipeline_owner: np.ndarray  # node paying the holding of the lane's units in transit
    lane_pipeline_rate: np.ndarray  # their holding cost [money per unit per day]
    zone_ids: tuple[str, ...]
    zone_node: np.ndarray
    zone_law: np.ndarray
    zone_mean: np.ndarray
    zone_sd: np.ndarray
    zone_shortage_cost: np.ndarray
    zone_backorder_cost: np.ndarray
    zone_region: tuple[str, ...]
    # nominal flows
    mean_outflow: np.ndarray  # (node,)
    sd_outflow: np.ndarray  # (node,)
    mean_zone_demand: np.ndarray  # (node,)
    lane_mean_flow: np.ndarray  # (lane,)
    lane_initial_flow: np.ndarray  # (lane,): the starting pipeline, by default the mean flow
    backorder: bool

    @classmethod
    def of(cls, network: Network) -> Layout:
        """Compile a network into arrays (cached on the network object)."""
        cached = network.__dict__.get("_layout")
        if cached is None:
            cached = _compile(network)
            network.__dict__["_layout"] = cached
        return cached

    @property
    def n_nodes(self) -> int:
        """Number of nodes N."""
        return len(self.node_ids)

    @property
    def n_lanes(self) -> int:
        """Number of lanes E."""
        return len(self.lane_ids)

    @property
    def n_inputs(self) -> int:
        """Number of (node, input item) pairs K."""
        return len(self.input_node)

    @property
    def n_zones(self) -> int:
        """Number of demand zones Z."""
        return len(self.zone_ids)

    @cached_property
    def n_manufacturer_inputs(self) -> int:
        """Number of manufacturer inputs: they are inputs ``0:n_manufacturer_inputs``."""
        return int(self.input_count[self.kind == MANUFACTURER].sum())

    def inputs_of(self, node: int) -> slice:
        """Positions of one node's inputs."""
        return slice(int(self.input_first[node]),
                     int(self.input_first[node] + self.input_count[node]))

    @cached_property
    def input_ids(self) -> tuple[str, ...]:
        """Readable id of each input: ``"node/item"``."""
        return tuple(f"{self.node_ids[n]}/{item}" for n, item in
                     zip(self.input_node, self.input_item, strict=True))

    @cached_property
    def max_lead(self) -> int:
        """Longest lane lead time in days (0 without lanes)."""
        return int(self.lane_lead.max()) if self.n_lanes else 0

    @cached_property
    def produces(self) -> np.ndarray:
        """Boolean (node,): suppliers and manufacturers."""
        return self.kind != WAREHOUSE


def _readonly(*arrays: np.ndarray) -> None:
    for array in arrays:
        array.flags.writeable = False


def _zone_penalties(network: Network, unit_value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per zone: penalty per unit short on its day, and per backordered unit per day.

    Lost-sales networks charge the lost-sale penalty per unit short (every unit short is
    lost). Backorder networks charge the optional fixed per-unit backorder penalty on the day a
    unit is backordered, and the per unit-day penalty while it waits (by default the lost-sale
    penalty over :data:`~sim.spec.network.BACKORDER_DAYS_PER_LOST_SALE` days).
    """
    index = network.node_index
    per_short, per_unit_day = [], []
    for zone in network.demand:
        lost_sale = (unit_value[index[zone.node]] if zone.shortage_cost_per_unit is None
                     else zone.shortage_cost_per_unit)
        if network.unmet_demand == "backorder":
            per_short.append(zone.backorder_cost_per_unit)
            per_unit_day.append(lost_sale / BACKORDER_DAYS_PER_LOST_SALE
                                if zone.backorder_cost_per_unit_day is None
                                else zone.backorder_cost_per_unit_day)
        else:
            per_short.append(lost_sale)
            per_unit_day.append(0.0)
    return np.asarray(per_short, dtype=float), np.asarray(per_unit_day, dtype=float)


def _inputs(network: Network) -> tuple[list[int], list[str], list[float], np.ndarray,
                                      np.ndarray, dict[tuple[int, str], int]]:
    """Inputs, manufacturers' first (node by node), then warehouses'.

    Returns each input's node, item and units per unit made; each node's first input and
    count; and the position of each (node, item) input.
    """
    n = len(network.nodes)
    input_node: list[int] = []
    input_item: list[str] = []
    input_bom: list[float] = []
    input_first = np.zeros(n, dtype=np.int64)
    input_count = np.zeros(n, dtype=np.int64)
    input_of: dict[tuple[int, str], int] = {}
    for stocking_kind in ("manufacturer", "warehouse"):
        for i, node in enumerate(network.nodes):
            if node.kind != stocking_kind:
                continue
            input_first[i], input_count[i] = len(input_node), len(node.inputs)
            for item, qty in node.inputs:
                input_of[(i, item)] = len(input_node)
                input_node.append(i)
                input_item.append(item)
                input_bom.append(qty)
    return input_node, input_item, input_bom, input_first, input_count, input_of


def _compile(network: Network) -> Layout:
    nodes = network.nodes
    index = network.node_index
    n = len(nodes)

    kind = np.array([KIND_CODES[node.kind] for node in nodes], dtype=np.int8)
    capacity = np.array([node.capacity_per_day for node in nodes], dtype=float)
    unit_value = np.array([node.unit_value for node in nodes], dtype=float)
    holding_rate = np.array([node.holding_cost_rate for node in nodes], dtype=float)
    production_co2e = np.array([node.production_co2e_kg_per_unit for node in nodes], dtype=float)
    initial_stock = np.array([np.nan if node.initial_stock is None else node.initial_stock
                              for node in nodes], dtype=float)
    tiers = network.tiers
    tier = np.array([tiers[node.id] for node in nodes], dtype=np.int16)

    input_node, input_item, input_bom, input_first, input_count, input_of = _inputs(network)

    lanes = network.lanes
    lane_source = np.array([index[lane.source] for lane in lanes], dtype=np.int64)
    lane_target = np.array([index[lane.target] for lane in lanes], dtype=np.int64)
    lane_input = np.array([input_of[(index[lane.target], nodes[index[lane.source]].item)]
                           for lane in lanes], dtype=np.int64)
    lane_share = np.array([lane.share for lane in lanes], dtype=float)
    lane_role = np.array([ROLE_CODES[lane.role] for lane in lanes], dtype=np.int8)
    primary = lane_role == 0
    input_value = np.zeros(len(input_node))
    np.add.at(input_value, lane_input[primary], (lane_share * unit_value[lane_source])[primary])

    lane_owner = np.where([lane.pipeline_owner == "seller" for lane in lanes],
                          lane_source, lane_target).astype(np.int64)

    zones = network.demand
    zone_node = np.array([index[zone.node] for zone in zones], dtype=np.int64)
    zone_mean = np.array([zone.mean for zone in zones], dtype=float)
    zone_sd = np.array([zone.sd for zone in zones], dtype=float)
    zone_shortage_cost, zone_backorder_cost = _zone_penalties(network, unit_value)

    mean_outflow, var_outflow, lane_flow = _nominal_flows(
        network, zone_node, zone_mean, zone_sd, lane_source, lane_target, lane_input,
        np.where(primary, lane_share, 0.0), np.asarray(input_bom, dtype=float))
    mean_zone_demand = np.bincount(zone_node, weights=zone_mean, minlength=n).astype(float)

    layout = Layout(
        network=network,
        node_ids=tuple(node.id for node in nodes),
        kind=kind,
        capacity=capacity,
        unit_value=unit_value,
        holding_rate=holding_rate,
        production_co2e=production_co2e,
        initial_stock=initial_stock,
        tier=tier,
        input_node=np.asarray(input_node, dtype=np.int64),
        input_item=tuple(input_item),
        input_bom=np.asarray(input_bom, dtype=float),
        input_value=input_value,
        input_first=input_first,
        input_count=input_count,
        lane_ids=tuple(lane.id for lane in lanes),
        lane_source=lane_source,
        lane_target=lane_target,
        lane_input=lane_input,
        lane_lead=np.array([lane.lead_time_days for lane in lanes], dtype=np.int64),
        lane_capacity=np.array([lane.capacity_per_day for lane in lanes], dtype=float),
        lane_share=lane_share,
        lane_role=lane_role,
        lane_cost=np.array([lane.cost_per_unit for lane in lanes], dtype=float),
        lane_co2e=np.array([lane.co2e_kg_per_unit for lane in lanes], dtype=float),
        lane_pipeline_owner=lane_owner,
        lane_pipeline_rate=unit_value[lane_source] * holding_rate[lane_owner] / DAYS_PER_YEAR,
        zone_ids=tuple(zone.id for zone in zones),
        zone_node=zone_node,
        zone_law=np.array([LAW_CODES[zone.law] for zone in zones], dtype=np.int8),
        zone_mean=zone_mean,
        zone_sd=zone_sd,
        zone_shortage_cost=zone_shortage_cost,
        zone_backorder_cost=zone_backorder_cost,
        zone_region=tuple(zone.region or nodes[index[zone.node]].region for zone in zones),
        mean_outflow=mean_outflow,
        sd_outflow=np.sqrt(var_outflow),
        mean_zone_demand=mean_zone_demand,
        lane_mean_flow=lane_flow,
        lane_initial_flow=np.array([flow if lane.initial_flow_per_day is None
                                    else lane.initial_flow_per_day
                                    for lane, flow in zip(lanes, lane_flow, strict=True)]),
        backorder=network.unmet_demand == "backorder",
    )
    _readonly(*(v for v in vars(layout).values() if isinstance(v, np.ndarray)))
    return layout


def _nominal_flows(network: Network, zone_node: np.ndarray, zone_mean: np.ndarray,
                   zone_sd: np.ndarray, lane_source: np.ndarray, lane_target: np.ndarray,
                   lane_input: np.ndarray, lane_share: np.ndarray,
                   input_bom: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and variance of each node's daily outflow, and each lane's mean daily flow."""
    n = len(network.nodes)
    mean = np.bincount(zone_node, weights=zone_mean, minlength=n).astype(float)
    var = np.bincount(zone_node, weights=zone_sd**2, minlength=n).astype(float)
    lanes_into: list[list[int]] = [[] for _ in range(n)]
    for j, target in enumerate(lane_target):
        lanes_into[target].append(j)
    lane_flow = np.zeros(len(lane_source))
    index = network.node_index
    for node_id in reversed(network.topological_order):
        target = index[node_id]  # every customer of this node is already complete
        for j in lanes_into[target]:
            factor = lane_share[j] * input_bom[lane_input[j]]
            lane_flow[j] = factor * mean[target]
            mean[lane_source[j]] += lane_flow[j]
            var[lane_source[j]] += factor**2 * var[target]
    return mean, var, lane_flow


def nominal_overloads(layout: Layout, *, rtol: float = 1e-9) -> list[Issue]:
    """Nodes and lanes whose nominal daily flow exceeds their capacity per day.

    Such a network cannot serve its mean demand even when nothing goes wrong: the shortfall
    shows in every strategy, so it is worth a warning before any comparison.
    """
    issues = []
    for i, node_id in enumerate(layout.node_ids):
        flow, capacity = layout.mean_outflow[i], layout.capacity[i]
        if flow > capacity * (1 + rtol):
            what = "handling" if layout.kind[i] == WAREHOUSE else "production"
            issues.append(Issue(f"node {node_id!r}", "capacity_per_day", float(capacity),
                                f"the nominal flow is {flow:g} units/day, above its {what} "
                                "capacity: it falls short even without disruptions"))
    for j, lane_id in enumerate(layout.lane_ids):
        flow, capacity = layout.lane_mean_flow[j], layout.lane_capacity[j]
        if flow > capacity * (1 + rtol):
            issues.append(Issue(f"lane {lane_id!r}", "capacity_per_day", float(capacity),
                                f"the nominal flow is {flow:g} units/day at its share: it falls "
                                "short even without disruptions"))
    return issues
