"""Synthetic networks for studies: tiers, regions, clusters, sourcing redundancy, seeded.

:func:`generate_network` builds a layered manufacturing network: raw-material suppliers, one
or more tiers of part makers and assemblers, and distribution centres serving one demand zone
each. Each firm buys every input from ``sources_per_input`` firms of the tier above (fewer
when the tier has fewer makers of the item); suppliers are picked uniformly or, with
``degree="preferential"``, in proportion to (customers so far + 1) ** ``attachment`` so that a
few hubs serve many firms (the hidden common exposure that tier-2 mapping is meant to find).
Firms sit in regions and, within a region, in industrial clusters; lanes inside a region are
short road lanes run by a regional carrier, lanes between regions go through one shared
corridor carrier per pair of regions (so a corridor event hits every firm that uses it).
Capacities follow the flows the demand needs, with ``capacity_slack`` spare (a firm or lane
without day-to-day flow, such as a backup source, gets the capacity of a typical one of its
tier); optional standby backup lanes from another region feed each assembler's inputs.

The same arguments and seed give the same network, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np

from sim.spec.checks import fail
from sim.spec.errors import ConfigError
from sim.spec.network import DemandZone, Item, Lane, Network, Node

__all__ = ["GENERATOR_OPTIONS", "generate_network"]

DEGREES = ("uniform", "preferential")


def _fail(key: str, value: Any, rule: str) -> ConfigError:
    """A broken rule of the generator's options (they live under ``network.generate``)."""
    return fail("network.generate", key, value, rule)


def generate_network(*, firms_per_tier: Sequence[int] = (6, 8, 4, 3),
                     items_per_tier: Sequence[int] | None = None,
                     regions: Sequence[str] = ("north", "east", "south"),
                     clusters_per_region: int = 2, inputs_per_firm: int = 2,
                     sources_per_input: int = 2, degree: str = "uniform",
                     attachment: float = 1.0, demand_mean: float = 100.0,
                     demand_cv: float = 0.2, capacity_slack: float = 0.3,
                     local_lead_time_days: int = 2, corridor_lead_time_days: int = 6,
                     backup_lanes: bool = True, seed: int = 0,
                     name: str = "cluster") -> Network:
    """A seeded synthetic multi-tier network.

    Parameters
    ----------
    firms_per_tier : sequence of int
        Firms per tier from the most upstream (raw-material suppliers) to the distribution
        centres (the last entry); at least two tiers.
    items_per_tier : sequence of int, optional
        Distinct items made in each tier (default: about half the firms, so most items have
        two makers; the last tier stocks the products of the tier before it).
    regions : sequence of str
        Region names; firms are spread over them in turn.
    clusters_per_region : int
        Industrial clusters per region (``region-c1``, ...).
    inputs_per_firm : int
        Distinct input items per manufacturer (at most the items of the tier above).
    sources_per_input : int
        Suppliers per input (sourcing redundancy); shares split equally.
    degree : {"uniform", "preferential"}
        How suppliers are picked.
    attachment : float
        Exponent of preferential attachment.
    demand_mean : float
        Mean daily demand of each distribution centre's zone [units/day].
    demand_cv : float
        Coefficient of variation of daily demand (normal).
    capacity_slack : float
        Spare capacity over the nominal flow of each firm and lane.
    local_lead_time_days, corridor_lead_time_days : int
        Lead times of lanes within a region and between regions.
    backup_lanes : bool
        Add a standby lane from a maker not used yet (from another region when there is one)
        for every input of the last manufacturing tier that has such a maker.
    seed : int
        Seed of the choices.
    name : str
        Network name.
    """
    tiers = _checked_tiers(firms_per_tier, regions, degree, {
        "inputs_per_firm": inputs_per_firm, "sources_per_input": sources_per_input,
        "clusters_per_region": clusters_per_region})
    if items_per_tier is None:
        items_per_tier = [max(1, math.ceil(n / 2)) for n in tiers[:-1]] + [0]
    items = [min(int(k), n) for k, n in zip(items_per_tier, tiers, strict=False)]
    rng = np.random.default_rng(seed)  # one stream, drawn in a fixed order: firms, lanes, nodes
    region_list = [str(r) for r in regions]
    firms = _firms(tiers, items, region_list, clusters_per_region, rng)
    by_tier = [[f for f in firms if f["tier"] == t] for t in range(len(tiers))]
    lanes = _lanes(by_tier, int(inputs_per_firm), int(sources_per_input), degree, attachment,
                   backup_lanes, rng)
    need = _nominal_flows(firms, by_tier, lanes, demand_mean)
    slack = 1.0 + float(capacity_slack)
    nodes = _nodes(firms, by_tier, need, demand_mean, slack, rng)
    lane_specs = _lane_specs(lanes, region_list, len(tiers), demand_mean, slack,
                             (int(local_lead_time_days), int(corridor_lead_time_days)))
    demand = [DemandZone(f"zone_{dc['id']}", dc["id"], mean=float(demand_mean),
                         sd=float(demand_mean * demand_cv), region=dc["region"])
              for dc in by_tier[-1]]
    item_ids = sorted({f["item"] for f in firms})
    return Network(name=name, nodes=tuple(nodes), lanes=tuple(lane_specs),
                   demand=tuple(demand), items=tuple(Item(i) for i in item_ids))


def _checked_tiers(firms_per_tier: Sequence[int], regions: Sequence[str], degree: str,
                   counts: dict[str, int]) -> list[int]:
    """Firms per tier, after refusing options no network can be built from."""
    tiers = [int(n) for n in firms_per_tier]
    if len(tiers) < 2 or min(tiers) < 1:
        raise _fail("firms_per_tier", list(firms_per_tier), "needs two tiers or more, each with "
                    "one firm or more")
    if not regions:
        raise _fail("regions", list(regions), "needs at least one region")
    if degree not in DEGREES:
        raise _fail("degree", degree, f"must be one of {', '.join(DEGREES)}")
    for key, value in counts.items():
        if int(value) < 1:
            raise _fail(key, value, "must be at least 1")
    return tiers


def _firms(tiers: list[int], items: list[int], regions: list[str], clusters_per_region: int,
           rng: np.random.Generator) -> list[dict[str, Any]]:
    """Every firm: id, tier, item, region, cluster, kind and (empty) BOM, upstream first."""
    firms: list[dict[str, Any]] = []
    for t, count in enumerate(tiers):
        last = t == len(tiers) - 1
        for k in range(count):
            region = regions[(k + t) % len(regions)]
            cluster = f"{region}-c{1 + int(rng.integers(clusters_per_region))}"
            if last:  # a distribution centre stocks one of the products
                item = f"t{t - 1}_item{k % max(items[t - 1], 1)}"
                kind = "warehouse"
                node_id = f"dc{k}_{region}"
            else:
                item = f"t{t}_item{k % items[t]}"
                kind = "supplier" if t == 0 else "manufacturer"
                node_id = f"t{t}_f{k}"
            firms.append({"id": node_id, "tier": t, "item": item, "region": region,
                          "cluster": cluster, "kind": kind, "bom": {}})
    return firms


def _lanes(by_tier: list[list[dict[str, Any]]], inputs_per_firm: int, sources_per_input: int,
           degree: str, attachment: float, backup_lanes: bool,
           rng: np.random.Generator) -> list[dict[str, Any]]:
    """Each firm's sources (setting manufacturers' BOMs), and standby lanes when asked."""
    customers: dict[str, int] = {f["id"]: 0 for tier in by_tier for f in tier}
    lanes: list[dict[str, Any]] = []
    for t in range(1, len(by_tier)):
        upstream = by_tier[t - 1]
        upstream_items = sorted({f["item"] for f in upstream})
        for firm in by_tier[t]:
            if firm["kind"] == "warehouse":
                wanted = [firm["item"]]
            else:
                count = min(inputs_per_firm, len(upstream_items))
                wanted = sorted(rng.choice(upstream_items, size=count, replace=False).tolist())
                firm["bom"] = {item: 1.0 for item in wanted}
            for item in wanted:
                makers = [f for f in upstream if f["item"] == item]
                count = min(sources_per_input, len(makers))
                if degree == "preferential":
                    weight = np.array([(customers[f["id"]] + 1.0) ** attachment for f in makers])
                    chosen = rng.choice(len(makers), size=count, replace=False,
                                        p=weight / weight.sum())
                else:
                    chosen = rng.choice(len(makers), size=count, replace=False)
                for index in sorted(int(c) for c in chosen):
                    source = makers[index]
                    customers[source["id"]] += 1
                    lanes.append({"source": source, "target": firm, "share": 1.0 / count,
                                  "role": "primary"})
            if backup_lanes and firm["kind"] == "manufacturer" and t == len(by_tier) - 2:
                lanes += _standby_lanes(firm, wanted, upstream, lanes, rng)
    return lanes


def _standby_lanes(firm: dict[str, Any], wanted: list[str], upstream: list[dict[str, Any]],
                   lanes: list[dict[str, Any]], rng: np.random.Generator) -> list[dict[str, Any]]:
    """A backup lane per input from a maker the firm does not use (another region first)."""
    out = []
    for item in wanted:
        used = {lane["source"]["id"] for lane in lanes
                if lane["target"] is firm and lane["source"]["item"] == item}
        spare = [f for f in upstream if f["item"] == item and f["id"] not in used]
        elsewhere = [f for f in spare if f["region"] != firm["region"]]
        spare = elsewhere or spare
        if spare:
            out.append({"source": spare[int(rng.integers(len(spare)))], "target": firm,
                        "share": 1.0, "role": "backup"})
    return out


def _nominal_flows(firms: list[dict[str, Any]], by_tier: list[list[dict[str, Any]]],
                   lanes: list[dict[str, Any]], demand_mean: float) -> dict[str, float]:
    """Each firm's nominal output [units/day], downstream first; sets each lane's ``flow``."""
    need = {f["id"]: 0.0 for f in firms}
    for dc in by_tier[-1]:
        need[dc["id"]] = demand_mean
    for t in range(len(by_tier) - 1, 0, -1):
        for lane in lanes:
            if lane["role"] == "primary" and lane["target"]["tier"] == t:
                target = lane["target"]
                per_unit = target["bom"].get(lane["source"]["item"], 1.0)
                lane["flow"] = need[target["id"]] * per_unit * lane["share"]
                need[lane["source"]["id"]] += lane["flow"]
    return need


def _nodes(firms: list[dict[str, Any]], by_tier: list[list[dict[str, Any]]],
           need: dict[str, float], demand_mean: float, slack: float,
           rng: np.random.Generator) -> list[Node]:
    """Node specs: capacity from the nominal flow plus slack, value and footprint by tier."""
    # a firm no one buys from day to day (a spare maker, a backup source) still has the
    # capacity of a typical firm of its tier
    typical = {t: float(np.mean([need[f["id"]] for f in tier if need[f["id"]] > 0] or
                                [demand_mean])) for t, tier in enumerate(by_tier)}
    nodes = []
    for firm in firms:
        capacity = (math.inf if firm["kind"] == "warehouse"
                    else max(need[firm["id"]], typical[firm["tier"]]) * slack)
        tier_value = 5.0 * (1 + firm["tier"]) ** 2
        nodes.append(Node(firm["id"], firm["kind"], firm["item"], bom=firm["bom"],
                          region=firm["region"], cluster=firm["cluster"],
                          capacity_per_day=round(capacity, 3), unit_value=tier_value,
                          production_co2e_kg_per_unit=round(0.5 + rng.random(), 3),
                          green=bool(rng.random() < 0.2)))
    return nodes


def _lane_specs(lanes: list[dict[str, Any]], regions: list[str], tiers: int,
                demand_mean: float, slack: float, lead_times: tuple[int, int]) -> list[Lane]:
    """Lane specs: road within a region, a rail corridor between two; capacity with slack."""
    # a lane no one uses day to day (a backup) has the capacity of a typical lane of its tier
    typical_flow = {t: float(np.mean([lane["flow"] for lane in lanes
                                      if lane["role"] == "primary" and lane["target"]["tier"] == t]
                                     or [demand_mean])) for t in range(1, tiers)}
    corridors = {tuple(sorted(pair)): f"corridor_{'_'.join(sorted(pair))}"
                 for pair in combinations(regions, 2)}
    specs = []
    for number, lane in enumerate(lanes):
        source, target = lane["source"], lane["target"]
        local = source["region"] == target["region"]
        carrier = (f"{source['region']}_road" if local
                   else corridors[tuple(sorted((source["region"], target["region"])))])
        flow = max(lane.get("flow", 0.0), typical_flow[target["tier"]])
        specs.append(Lane(
            f"l{number}_{source['id']}-{target['id']}", source["id"], target["id"],
            carrier=carrier, mode="road" if local else "rail",
            lead_time_days=lead_times[0] if local else lead_times[1],
            capacity_per_day=round(flow * slack, 3),
            distance_km=150.0 if local else 900.0,
            cost_per_unit=0.2 if local else (0.6 if lane["role"] == "primary" else 1.5),
            co2e_kg_per_unit_km=0.0008 if local else 0.0002,
            share=lane["share"], role=lane["role"]))
    return specs


GENERATOR_OPTIONS = tuple(generate_network.__kwdefaults__ or {})
