"""Hypothesis strategies: random valid supply-chain networks, disruptions and policies.

Needs ``hypothesis`` (a test dependency, not one of the package's). The package's own property
tests draw from these: random layered networks (:func:`networks`), scripted disruptions
(:func:`disruptions`), every disruption kind (:func:`all_disruptions`) and policies with every
measure (:func:`policies`).
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

import sim
from sim.compile.plan import plan_policy
from sim.spec.disruptions import disruption_from_mapping
from sim.spec.policy import policy_from_mapping

__all__ = ["all_disruptions", "disruptions", "networks", "policies"]


@st.composite
def networks(draw: st.DrawFn, *, max_tiers: int = 4, max_width: int = 3,
             max_lead: int = 6, unmet: str | None = None, min_tiers: int = 2,
             extra_lanes: bool = False) -> sim.Network:
    """A layered DAG: suppliers at the top tier, manufacturers and warehouses below.

    Manufacturers take 1-3 distinct input items, each from 1-3 sources with random shares;
    lane and node capacities sometimes bind; demand sits on some bottom-tier nodes (at least
    one) and sometimes higher up.
    """
    tiers = draw(st.integers(min_tiers, max_tiers))
    layers: list[list[sim.Node]] = []
    nodes: list[sim.Node] = []
    lanes: list[sim.Lane] = []
    capacity = st.one_of(st.just(math.inf), st.floats(5, 80))
    for t in range(tiers):
        width = draw(st.integers(1, max_width))
        layer = []
        for i in range(width):
            node_id = f"n{t}_{i}"
            below = [n for lay in layers for n in lay]
            items_below = sorted({n.item for n in below})
            region = draw(st.sampled_from(["east", "west", "south"]))
            green = draw(st.booleans())
            if t == 0 or not items_below:
                node = sim.Node(node_id, "supplier", f"raw{t}_{i}",
                                capacity_per_day=draw(capacity), region=region, green=green)
            elif draw(st.booleans()):
                inputs = draw(st.lists(st.sampled_from(items_below), min_size=1, max_size=3,
                                       unique=True))
                bom = {item: draw(st.sampled_from([0.5, 1.0, 2.0])) for item in inputs}
                node = sim.Node(node_id, "manufacturer", f"item{t}_{i}", bom=bom,
                                capacity_per_day=draw(capacity),
                                unit_value=draw(st.floats(1, 50)), region=region, green=green)
            else:
                node = sim.Node(node_id, "warehouse", draw(st.sampled_from(items_below)),
                                capacity_per_day=draw(st.one_of(st.just(math.inf),
                                                                st.floats(20, 200))),
                                region=region)
            if node.kind != "supplier":
                for item, _ in node.inputs:
                    sources = [n for n in below if n.item == item]
                    chosen = draw(st.lists(st.sampled_from(sources), min_size=1,
                                           max_size=min(3, len(sources)), unique_by=lambda n: n.id))
                    weights = [draw(st.integers(1, 4)) for _ in chosen]
                    for k, source in enumerate(chosen):
                        share = weights[k] / sum(weights)
                        lanes.append(sim.Lane(
                            f"{source.id}>{node_id}", source.id, node_id,
                            lead_time_days=draw(st.integers(1, max_lead)),
                            capacity_per_day=draw(st.one_of(st.just(math.inf),
                                                            st.floats(3, 60))),
                            cost_per_unit=draw(st.floats(0, 2)),
                            distance_km=draw(st.floats(0, 500)),
                            co2e_kg_per_unit_km=draw(st.sampled_from([0.001, 0.0003])),
                            mode=draw(st.sampled_from(["road", "rail", "sea"])),
                            share=share))
                    if extra_lanes and draw(st.booleans()):  # a backup or an expedite lane
                        source = draw(st.sampled_from(sources))
                        role = draw(st.sampled_from(["backup", "expedite"]))
                        lanes.append(sim.Lane(
                            f"{source.id}>{node_id}~{role}", source.id, node_id, role=role,
                            lead_time_days=draw(st.integers(1, max_lead)),
                            capacity_per_day=draw(st.one_of(st.just(math.inf),
                                                            st.floats(3, 60))),
                            cost_per_unit=draw(st.floats(0, 4)), share=1.0))
            layer.append(node)
        layers.append(layer)
        nodes.extend(layer)
    bottom = layers[-1]
    zone_nodes = [bottom[0]] + [n for n in nodes[1:] if draw(st.integers(0, 3)) == 0
                                and n is not bottom[0]]
    demand = []
    for k, node in enumerate(zone_nodes):
        law = draw(st.sampled_from(["normal", "gamma", "lognormal", "poisson"]))
        sd = 0.0 if law == "poisson" else draw(st.floats(0, 10))
        demand.append(sim.DemandZone(f"z{k}", node.id, mean=draw(st.floats(1, 30)), sd=sd, law=law))
    return sim.Network(name="random", nodes=tuple(nodes), lanes=tuple(lanes),
                       demand=tuple(demand),
                       unmet_demand=unmet or draw(st.sampled_from(["lost", "backorder"])))


@st.composite
def disruptions(draw: st.DrawFn, network: sim.Network, days: int) -> list:
    """Zero to three outages (scripted, partial or random) on random nodes."""
    out: list = []
    ids = [n.id for n in network.nodes]
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            out.append(sim.NodeOutage(draw(st.sampled_from(ids)), draw(st.integers(0, days - 1)),
                                      draw(st.integers(1, days)),
                                      severity=draw(st.sampled_from([1.0, 0.5, 0.9]))))
        else:
            out.append(sim.RandomOutages(mttf_days=draw(st.floats(5, 60)),
                                         mttr_days=draw(st.floats(1, 10)),
                                         nodes=tuple(draw(st.lists(st.sampled_from(ids),
                                                                   min_size=1, max_size=3,
                                                                   unique=True)))))
    return out


@st.composite
def all_disruptions(draw: st.DrawFn, network: sim.Network, days: int) -> list:
    """One to five disruptions of every kind, with ramps, stochastic timing and triggers."""
    nodes = [n.id for n in network.nodes]
    lanes = [lane.id for lane in network.lanes]
    zones = [z.id for z in network.demand]
    regions = sorted({n.region for n in network.nodes})
    out: list = []

    def timing() -> dict:
        if draw(st.booleans()):
            return {"start_day": draw(st.integers(0, days - 1)),
                    "duration_days": draw(st.integers(1, days))}
        return {"rate_per_year": draw(st.floats(1, 40)),
                "duration": {"law": draw(st.sampled_from(["exponential", "lognormal"])),
                             "mean_days": draw(st.floats(1, 10)), "sd_days": 3.0}}

    def ramp() -> dict:
        return {"ramp_days": draw(st.integers(0, 5)),
                "ramp": draw(st.sampled_from(["linear", "exponential"]))}

    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["node", "lane", "demand", "region", "random", "correlated"]))
        if kind == "node":
            trigger = ({"triggers": [{"disruption": {
                "kind": "lane_disruption", "lane": draw(st.sampled_from(lanes)),
                "duration_days": draw(st.integers(1, 8)), "closure": 0.0,
                "lead_time_factor": 2.0}, "probability": 0.7, "delay_days": 2}]}
                if bool(lanes) and draw(st.booleans()) else {})
            out.append(disruption_from_mapping({
                "kind": "node_outage", "node": draw(st.sampled_from(nodes)),
                "severity": draw(st.sampled_from([1.0, 0.6])), **timing(), **ramp(),
                **trigger}))
        elif kind == "lane" and lanes:
            closure = draw(st.sampled_from([0.0, 1.0, 0.5]))
            stretch = draw(st.sampled_from([1.5, 3.0] if closure == 0 else [1.0, 1.5, 3.0]))
            out.append(disruption_from_mapping({
                "kind": "lane_disruption", "lane": draw(st.sampled_from(lanes)),
                "closure": closure, "lead_time_factor": stretch, **timing(), **ramp()}))
        elif kind == "demand" and zones:
            out.append(disruption_from_mapping({
                "kind": "demand_shock", "zone": draw(st.sampled_from(zones)),
                "factor": draw(st.sampled_from([0.5, 1.6])), **timing(), **ramp()}))
        elif kind == "region":
            out.append(disruption_from_mapping({
                "kind": "regional_event", "region": draw(st.sampled_from(regions)),
                "severity": 0.8, "lane_closure": draw(st.sampled_from([0.0, 1.0])),
                "lead_time_factor": draw(st.sampled_from([1.0, 2.0])),
                "demand_factor": draw(st.sampled_from([1.0, 0.7])), **timing()}))
        elif kind == "random":
            out.append(sim.RandomOutages(mttf_days=draw(st.floats(5, 60)),
                                         mttr_days=draw(st.floats(1, 10))))
        else:
            out.append(sim.CorrelatedOutages(region=draw(st.sampled_from(regions)),
                                             rate_per_year=draw(st.floats(2, 30)),
                                             duration={"law": "exponential", "mean_days": 4},
                                             hit_probability=0.6))
    return out


@st.composite
def policies(draw: st.DrawFn, network: sim.Network) -> sim.Policy:
    """Random strategies switching on every measure that the network allows."""
    serving = sorted({z.node for z in network.demand})
    rule = draw(st.sampled_from(["base_stock", "days_of_cover", "s_S"]))
    inventory = {"rule": rule, "safety_factor": draw(st.floats(0, 2.5)),
                 "cover_days": draw(st.floats(0, 5)), "order_days": draw(st.floats(0, 4)),
                 "by_kind": {"supplier": {"safety_factor": 1.0}} if draw(st.booleans()) else {}}
    data: dict = {"inventory": inventory}
    if draw(st.booleans()):
        data["sourcing"] = {"dynamic": True,
                            "detection_delay_days": draw(st.integers(0, 3)),
                            "backup": {"activation_lag_days": draw(st.integers(0, 4)),
                                       "premium_per_unit": 1.0, "reservation_fee_per_day": 2.0,
                                       "activation_fee": 50.0},
                            "switch_over_days": draw(st.integers(0, 2)), "switch_cost": 20.0,
                            "prefer_green": draw(st.sampled_from([0.0, 0.5])),
                            "max_region_share": draw(st.sampled_from([None, 0.6]))}
        backups = sorted(lane.id for lane in network.lanes if lane.role == "backup")
        if draw(st.booleans()) and backups:  # contracts on some backup lanes, part subsidised
            contracted = draw(st.lists(st.sampled_from(backups), min_size=1, unique=True))
            data["sourcing"]["backup"].update(
                lanes=contracted,
                capacity_per_day={j: draw(st.floats(1, 50)) for j in contracted},
                fee_per_unit_capacity=0.1, public_share=draw(st.sampled_from([0.0, 0.5])))
    if draw(st.booleans()):
        data["forecast"] = {"method": draw(st.sampled_from(["moving_average", "exp_smoothing"])),
                            "window_days": draw(st.integers(1, 8)), "alpha": 0.4,
                            "signal": draw(st.sampled_from(["orders", "pos"])),
                            "info_delay_days": draw(st.integers(0, 3))}
    if draw(st.booleans()):
        data["expedite"] = {"enabled": True, "premium_per_unit": 2.0}
    if len(serving) >= 2 and draw(st.booleans()):
        data["pooling"] = {"groups": [serving[:2]], "cost_per_unit": 0.5}
    if draw(st.booleans()):
        data["reserves"] = [{"node": serving[0], "units": draw(st.floats(10, 200)),
                             "threshold": 0.95, "release_per_day": draw(st.floats(5, 50)),
                             "public_share": draw(st.sampled_from([0.0, 0.3, 1.0]))}]
    if draw(st.booleans()):
        data["early_warning"] = {"notice_days": draw(st.integers(1, 5)),
                                 "fee_per_notice_day": 1.5,
                                 "public_share": draw(st.sampled_from([0.0, 1.0]))}
    if draw(st.booleans()):
        data["green"] = {"prefer_low_emission": 0.5}
    policy = policy_from_mapping(data)
    try:
        plan_policy(policy, network)
    except sim.ConfigError:  # a static share rule with no split within capacity: drop the rules
        data.get("sourcing", {}).update(prefer_green=0.0, max_region_share=None)
        data.pop("green", None)
        policy = policy_from_mapping(data)
    return policy
