"""Static sourcing rules: the shares of each input's lanes before any day is simulated.

Single sourcing, a cap on the share from one region, a preference for cleaner paths and green
labels all move shares between an input's lanes; :func:`_within_capacity` then keeps every plan
feasible at the nominal flows (no source asked more than it can make or a lane carry), and warns
when no split is (:class:`~sim.spec.errors.CapacityWarning`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from sim.compile.layout import Layout
from sim.spec.errors import CapacityWarning, Issue
from sim.spec.network import Network
from sim.spec.policy import Policy

__all__ = ["apply_green_factors", "apply_static_shares", "green_label_conflicts",
           "path_footprints"]


def _rule_shares(policy: Policy, layout: Layout) -> np.ndarray | None:
    """Shares the static rules ask for (single source, green, low emission, regional cap).

    ``None`` when no static rule is on. Inputs are visited upstream first, so the green rules
    rank each lane by the cradle-to-gate footprint of the units it brings (the source's own
    footprint along its chosen split, plus the lane's transport emissions;
    :func:`path_footprints`), not by a flag or by the last leg alone. The result may ask more
    of a source than it can make; :func:`_within_capacity` makes it feasible.
    """
    g = policy.sourcing.prefer_green
    e = policy.green.prefer_low_emission
    cap = policy.sourcing.max_region_share
    if not (policy.sourcing.single_source or g > 0 or e > 0 or cap is not None):
        return None
    share = layout.lane_share.copy()
    nodes = layout.network.nodes
    regions = np.array([nodes[s].region for s in layout.lane_source])

    def choose(k: int, lanes: np.ndarray, arriving: np.ndarray) -> None:
        if lanes.size < 2:
            return
        s = share[lanes]
        if policy.sourcing.single_source:
            s = np.where(np.arange(s.size) == int(np.argmax(s)), 1.0, 0.0)
        if g > 0:  # procurement: the sources whose supply path is cleanest
            s = _move_share(s, _cleanest_sources(layout.lane_source[lanes], arriving), g)
        if e > 0:  # logistics: the cleanest lanes
            s = _move_share(s, _cleanest(arriving), e)
        if cap is not None:
            s = _cap_regions(s, regions[lanes], cap)
        share[lanes] = s

    path_footprints(layout, share, choose)
    return share


def path_footprints(layout: Layout, share: np.ndarray,
                    choose: Callable[[int, np.ndarray, np.ndarray], None] | None = None
                    ) -> np.ndarray:
    """Cradle-to-gate kg CO2e per unit of each node at the nominal split ``share``.

    A node's unit carries its production emissions plus, per input, the BOM quantity times the
    share-weighted footprint of the units its primary lanes bring (source footprint plus lane
    transport emissions), as :func:`sim.measures.metrics.footprint` computes it along actual flows.
    ``choose(input, lanes, arriving)``, when given, may rewrite ``share[lanes]`` in place
    before the input is added up; inputs are visited upstream first.
    """
    footprint = layout.production_co2e.astype(float)
    primary = layout.lane_role == 0
    for node_id in layout.network.topological_order:
        i = layout.network.node_index[node_id]
        for k in range(layout.input_first[i], layout.input_first[i] + layout.input_count[i]):
            lanes = np.flatnonzero(primary & (layout.lane_input == k))
            if lanes.size == 0:
                continue
            arriving = footprint[layout.lane_source[lanes]] + layout.lane_co2e[lanes]
            if choose is not None:
                choose(k, lanes, arriving)
            weights = share[lanes]
            total = weights.sum()
            weights = weights / total if total > 0 else np.full(lanes.size, 1.0 / lanes.size)
            footprint[i] += layout.input_bom[k] * float(weights @ arriving)
    return footprint


def green_label_conflicts(layout: Layout) -> list[Issue]:
    """Green-flagged sources whose supply path is dirtier than an unflagged alternative's.

    For each input with a choice of primary lanes: a lane from a ``green`` node whose units
    arrive with a higher cradle-to-gate footprint (:func:`path_footprints`, at the network's
    shares) than a lane from a node without the flag. The green rules rank by the footprint, so
    such a label misleads only the reader (and the ``green_supply_share`` KPI).
    """
    footprint = path_footprints(layout, layout.lane_share)
    nodes = layout.network.nodes
    issues = []
    primary = layout.lane_role == 0
    for k in range(layout.n_inputs):
        lanes = np.flatnonzero(primary & (layout.lane_input == k))
        arriving = footprint[layout.lane_source[lanes]] + layout.lane_co2e[lanes]
        green = np.array([nodes[s].green for s in layout.lane_source[lanes]], dtype=bool)
        if not green.any() or green.all():
            continue
        cleanest_plain = float(arriving[~green].min())
        for j, value in zip(lanes[green], arriving[green], strict=True):
            if value > cleanest_plain * (1 + 1e-9):
                source = layout.node_ids[layout.lane_source[j]]
                issues.append(Issue(f"node {source!r}", "green", True,
                                    f"its units reach {layout.input_ids[k]} over lane "
                                    f"{layout.lane_ids[j]!r} at {value:.4g} kg CO2e/unit "
                                    f"cradle to gate, above the {cleanest_plain:.4g} of a source "
                                    "without the flag"))
    return issues


def _cleanest(arriving: np.ndarray) -> np.ndarray:
    """The lanes whose units carry the lowest footprint (ties within 1e-9 relative)."""
    return np.isclose(arriving, arriving.min(), rtol=1e-9, atol=1e-12)


def _cleanest_sources(sources: np.ndarray, arriving: np.ndarray) -> np.ndarray:
    """Every lane of the source(s) whose cleanest lane brings the lowest footprint."""
    best = {int(s): float(arriving[sources == s].min()) for s in np.unique(sources)}
    lowest = min(best.values())
    return np.array([np.isclose(best[int(s)], lowest, rtol=1e-9, atol=1e-12)
                     for s in sources])


def _move_share(share: np.ndarray, preferred: np.ndarray, fraction: float) -> np.ndarray:
    """Move ``fraction`` of the share of the other lanes to the preferred ones."""
    total = share[preferred].sum()
    if 0 < total < 1:
        moved = fraction * (1 - total)
        return np.where(preferred, share * (total + moved) / total,
                        share * (1 - total - moved) / (1 - total))
    if total == 0 and preferred.any():
        return np.where(preferred, fraction / preferred.sum(), share * (1 - fraction))
    return share


def _within_capacity(layout: Layout, desired: np.ndarray) -> np.ndarray:
    """Static shares that keep every lane and source within capacity at the nominal flows.

    Nodes are visited downstream first, so each node's nominal outflow (its zones' demand plus
    what its customers' shares ask of it) is known before its inputs are split. Each input with
    a choice of primary lanes gets, lane by lane in the order of the shares asked for (largest
    first), ``min(flow x share, room)``; what does not fit spills to the next lanes in that
    order, up to their room. A lane's room is its capacity and what its source has left after
    its own zones and the customers already served.

    An input whose lanes cannot carry its nominal flow whatever the split (the network itself
    is over capacity there) fills every lane and asks the rest in the rule's shares, with a
    :class:`~sim.spec.errors.CapacityWarning` naming the input, its lanes, the flow and the
    capacities.
    """
    network = layout.network
    remaining = layout.capacity - layout.mean_zone_demand
    outflow = layout.mean_zone_demand.copy()
    share = desired.copy()
    primary = layout.lane_role == 0
    lanes_of = [np.flatnonzero(primary & (layout.lane_input == k)) for k in
                range(layout.n_inputs)]
    for node_id in reversed(network.topological_order):
        i = network.node_index[node_id]
        for k in range(*layout.inputs_of(i).indices(layout.n_inputs)):
            lanes = lanes_of[k]
            need = float(layout.input_bom[k] * outflow[i])
            if lanes.size >= 2 and need > 0:
                share[lanes] = _split_flow(layout, k, lanes, need, desired[lanes], remaining)
            flows = share[lanes] * need
            np.add.at(outflow, layout.lane_source[lanes], flows)
            np.subtract.at(remaining, layout.lane_source[lanes], flows)
    return share


def _split_flow(layout: Layout, k: int, lanes: np.ndarray, need: float, asked: np.ndarray,
                remaining: np.ndarray) -> np.ndarray:
    """Shares of one input's lanes: the asked shares within room, the excess spilled in order."""
    sources = layout.lane_source[lanes]
    used = dict.fromkeys(sources.tolist(), 0.0)
    flow = np.zeros(lanes.size)

    def room(i: int) -> float:
        source = int(sources[i])
        left = float(remaining[source]) - used[source]
        return max(0.0, min(float(layout.lane_capacity[lanes[i]]) - flow[i], left))

    order = sorted(range(lanes.size), key=lambda i: (-asked[i], i))
    for i in order:
        add = min(need * asked[i], room(i))
        flow[i] += add
        used[int(sources[i])] += add
    left = need - flow.sum()
    for i in order:
        if left <= 0:
            break
        add = min(left, room(i))
        flow[i] += add
        used[int(sources[i])] += add
        left -= add
    if left > 1e-9 * need:  # short whatever the split: the network is over capacity here
        ids = layout.lane_ids
        caps = ", ".join(
            f"{ids[j]} (lane {layout.lane_capacity[j]:g}/day, source "
            f"{layout.node_ids[s]} {max(0.0, float(remaining[s])):g}/day left)"
            for j, s in zip(lanes, sources, strict=True))
        warnings.warn(CapacityWarning(
            f"policy.sourcing: input {layout.input_ids[k]!r} needs {need:g} units/day at the "
            f"nominal flows and its lanes carry at most {need - left:g} ({caps}): every lane "
            "is filled and the rest asked in the rule's shares, so the shortfall shows in the "
            "run; raise a capacity to meet it"), stacklevel=4)
        flow += left * asked / asked.sum() if asked.sum() > 0 else left / lanes.size
    return flow / need


def apply_static_shares(policy: Policy, network: Network) -> Network:
    """The network with the static sourcing rules' feasible shares on its lanes."""
    layout = Layout.of(network)
    desired = _rule_shares(policy, layout)
    if desired is None:
        return network
    share = _within_capacity(layout, desired)
    if np.array_equal(share, layout.lane_share):
        return network
    lanes = tuple(lane if value == lane.share else replace(lane, share=float(value))
                  for lane, value in zip(network.lanes, share, strict=True))
    return network.replace(lanes=lanes)


def _cap_regions(share: np.ndarray, regions: np.ndarray, cap: float) -> np.ndarray:
    """No region above ``cap`` of the total, moving the excess to the other regions' lanes."""
    share = share.copy()
    for _ in range(len(set(regions.tolist())) + 1):
        totals = {r: share[regions == r].sum() for r in set(regions.tolist())}
        over = {r: t for r, t in totals.items() if t > cap + 1e-12}
        if not over:
            break
        for r, total in over.items():
            mine = regions == r
            others = ~mine & np.isin(regions, [q for q, t in totals.items() if t < cap])
            room = (cap - np.array([totals[q] for q in regions[others]])).clip(min=0)
            if not others.any() or room.sum() <= 0:
                continue
            excess = min(total - cap, room.sum())
            share[mine] *= (total - excess) / total
            weights = share[others] if share[others].sum() > 0 else np.ones(others.sum())
            share[others] += excess * weights / weights.sum()
    return share


def apply_green_factors(policy: Policy, network: Network) -> Network:
    """The network with each lane's CO2e set from the policy's factors per mode, if any."""
    factors = policy.green.mode_co2e_kg_per_unit_km
    if not factors:
        return network
    lanes = tuple(replace(lane, co2e_kg_per_unit_km=float(factors[lane.mode]))
                  if lane.mode in factors else lane for lane in network.lanes)
    return network.replace(lanes=lanes)
