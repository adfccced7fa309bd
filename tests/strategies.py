"""Hypothesis strategies: random valid supply-chain networks and disruptions."""

from __future__ import annotations

import math

from hypothesis import strategies as st

import sim


@st.composite
def networks(draw: st.DrawFn, *, max_tiers: int = 4, max_width: int = 3,
             max_lead: int = 6, unmet: str | None = None, min_tiers: int = 2) -> sim.Network:
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
            if t == 0 or not items_below:
                node = sim.Node(node_id, "supplier", f"raw{t}_{i}",
                                capacity_per_day=draw(capacity))
            elif draw(st.booleans()):
                inputs = draw(st.lists(st.sampled_from(items_below), min_size=1, max_size=3,
                                       unique=True))
                bom = {item: draw(st.sampled_from([0.5, 1.0, 2.0])) for item in inputs}
                node = sim.Node(node_id, "manufacturer", f"item{t}_{i}", bom=bom,
                                capacity_per_day=draw(capacity),
                                unit_value=draw(st.floats(1, 50)))
            else:
                node = sim.Node(node_id, "warehouse", draw(st.sampled_from(items_below)),
                                capacity_per_day=draw(st.one_of(st.just(math.inf),
                                                                st.floats(20, 200))))
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
                            co2e_kg_per_unit_km=0.001,
                            share=share))
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
    return sim.Network(name="random", nodes=nodes, lanes=lanes, demand=demand,
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
