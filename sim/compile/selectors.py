"""Targets chosen by rule, so one disruption or policy preset fits any network.

Wherever a disruption or a policy names a node, a lane, a region, a carrier or a mode, it may
instead give a rule: ``"@RULE"``, ``"@RULE/KIND"`` (only nodes of that kind) or ``"@RULE:K"``
(the first K). Rules rank by the network's structure and nominal flows, never by a run, so the
choice is the same for every replicate and every strategy, and ``python -m sim`` prints it:

========================  ====================================================================
``@critical``             nodes: most end-customer value at stake if it stops (the exposure
                          map: the share of each market's supply that depends on the node,
                          through every path, times that market's demand value a day); ties:
                          most value shipped a day. Regions: the same for all their nodes
                          stopping together. Lanes: their share of the value at stake at
                          their target.
``@slowest``              nodes: the source of the slowest primary lane into a manufacturer
                          (longest lead time: the hardest supply to replace quickly); regions:
                          that node's region; lanes, modes, carriers: of the slowest primary
                          lane.
``@busiest``              most value shipped a day (nominal flow times unit value): nodes,
                          lanes, carriers, modes.
``@demand``               regions: the most end-customer demand a day (units).
``@customer_facing``      nodes: every node serving a demand zone.
``@all``                  nodes: every node (with ``/KIND``: every node of that kind).
``@by_item``              pooling groups: the customer-facing nodes (with ``/KIND``: the nodes
                          of that kind) grouped by the item they stock, groups of two or more.
``@member``               a shared warehouse's region or cluster: its first member's.
``@input``                a shared warehouse's item: the first member's input whose primary
                          supply is slowest.
========================  ====================================================================

Ranks break ties by id, so the choice is deterministic. In YAML quote a rule (``node:
"@critical"``: ``@`` cannot start a plain YAML value); on the command line it needs no quotes
(``disruption.events.0.node=@critical/manufacturer``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from sim.compile.layout import KIND_CODES, Layout
from sim.spec.checks import fail
from sim.spec.errors import ConfigError

__all__ = [
    "Selector",
    "explain",
    "is_selector",
    "node_ids",
    "parse",
    "select_groups",
    "select_lanes",
    "select_name",
    "select_nodes",
    "slowest_input",
]

PREFIX = "@"
NODE_RULES = ("critical", "slowest", "busiest", "customer_facing", "all")
LANE_RULES = ("critical", "slowest", "busiest")
NAME_RULES = {"region": ("critical", "slowest", "demand"), "cluster": ("critical",),
              "carrier": ("slowest", "busiest"), "mode": ("slowest", "busiest")}
GROUP_RULES = ("by_item",)


@dataclass(frozen=True)
class Selector:
    """A parsed rule: ``@RULE[/KIND][:K]``."""

    rule: str
    kind: str | None = None
    count: int | None = None

    def __str__(self) -> str:
        text = PREFIX + self.rule + (f"/{self.kind}" if self.kind else "")
        return text + (f":{self.count}" if self.count is not None else "")


def is_selector(value: Any) -> bool:
    """Whether ``value`` is a rule (text starting with ``@``) rather than an id."""
    return isinstance(value, str) and value.startswith(PREFIX)


def parse(value: str, where: str, key: str, rules: Sequence[str]) -> Selector:
    """Parse ``@RULE[/KIND][:K]``; a ConfigError names what is wrong and what is allowed."""
    body, _, count_text = value[len(PREFIX):].partition(":")
    rule, _, kind = body.partition("/")
    if rule not in rules:
        raise fail(where, key, value, f"unknown rule @{rule}; expected one of "
                    f"{', '.join(PREFIX + r for r in rules)} (see sim.compile.selectors)")
    if kind and kind not in KIND_CODES:
        raise fail(where, key, value, f"/{kind} is not a node kind; expected one of "
                    f"{', '.join(KIND_CODES)}")
    count = None
    if count_text:
        if not count_text.isdigit() or int(count_text) < 1:
            raise fail(where, key, value, "the count after ':' must be a whole number >= 1")
        count = int(count_text)
    return Selector(rule, kind or None, count)




# -- what the rules rank by ------------------------------------------------------------------
@lru_cache(maxsize=32)
def _measures(layout: Layout) -> dict[str, np.ndarray]:
    """Structural measures of a network, computed once per layout."""
    dependence = _dependence(layout, np.eye(layout.n_nodes, dtype=bool))
    market = layout.zone_mean * layout.unit_value[layout.zone_node]  # value a day per zone
    at_stake = market @ dependence[layout.zone_node]  # (node,)
    primary = layout.lane_role == 0
    lane_value = layout.lane_mean_flow * layout.unit_value[layout.lane_source]
    to_producer = primary & layout.produces[layout.lane_target]
    lead_out = np.zeros(layout.n_nodes)
    np.maximum.at(lead_out, layout.lane_source[to_producer],
                  layout.lane_lead[to_producer].astype(float))
    lead_any = np.zeros(layout.n_nodes)  # for chains without manufacturers
    np.maximum.at(lead_any, layout.lane_source[primary], layout.lane_lead[primary].astype(float))
    return {"lead_any": lead_any, "at_stake": at_stake,
            "shipped": layout.mean_outflow * layout.unit_value, "lead_out": lead_out,
            "lane_value": np.where(primary, lane_value, 0.0),
            "lane_at_stake": np.where(primary, layout.lane_share * at_stake[layout.lane_target],
                                      0.0),
            "lane_lead": np.where(primary, layout.lane_lead, 0).astype(float)}


@lru_cache(maxsize=32)
def _group_at_stake(layout: Layout, key: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Each region's (or cluster's) name, value at stake when all its nodes stop, node count."""
    network = layout.network
    names = sorted({getattr(n, key) for n in network.nodes if getattr(n, key)})
    members = np.array([[getattr(n, key) == name for name in names] for n in network.nodes])
    market = layout.zone_mean * layout.unit_value[layout.zone_node]
    return names, market @ _dependence(layout, members)[layout.zone_node], members.sum(axis=0)


def _dependence(layout: Layout, stopped: np.ndarray) -> np.ndarray:
    """``D[n, s]``: the share of node n's output lost when the node set s stops (primary lanes).

    ``stopped`` is (node, set) of booleans. A node in a set loses everything; otherwise it
    loses, for its worst input, the shares of that input's primary lanes whose sources lose.
    """
    network = layout.network
    index = network.node_index
    loss = stopped.astype(float)
    lanes_of_input: dict[int, list[int]] = {}
    for lane in np.flatnonzero(layout.lane_role == 0):
        lanes_of_input.setdefault(int(layout.lane_input[lane]), []).append(int(lane))
    for node_id in network.topological_order:
        node = index[node_id]
        for k in range(layout.inputs_of(node).start, layout.inputs_of(node).stop):
            lanes = lanes_of_input.get(k, [])
            lost = sum((layout.lane_share[lane] * loss[layout.lane_source[lane]]
                        for lane in lanes), np.zeros(stopped.shape[1]))
            loss[node] = np.maximum(loss[node], np.minimum(lost, 1.0))
    return loss


def _order(keys: Sequence[np.ndarray], ids: Sequence[str]) -> list[int]:
    """Positions sorted by the keys, largest first, then by id."""
    return sorted(range(len(ids)), key=lambda i: (*(-float(k[i]) for k in keys), ids[i]))


# -- nodes, lanes, names, groups ------------------------------------------------------------
def select_nodes(layout: Layout, selector: Selector, candidates: np.ndarray) -> np.ndarray:
    """Node positions a rule picks among ``candidates`` (a boolean mask), in rank order."""
    mask = candidates.copy()
    if selector.kind:
        mask &= layout.kind == KIND_CODES[selector.kind]
    m = _measures(layout)
    rule = selector.rule
    if rule == "customer_facing":
        mask &= np.isin(np.arange(layout.n_nodes), layout.zone_node)
    lead = m["lead_out"] if (m["lead_out"] > 0).any() else m["lead_any"]
    if rule == "slowest":  # the source of a slow lane; by default one that makes what it ships
        mask &= (lead > 0) & (layout.produces if not selector.kind else True)
    keys = {"critical": (m["at_stake"], m["shipped"]), "slowest": (lead, m["at_stake"]),
            "busiest": (m["shipped"], m["at_stake"])}.get(rule, ())
    ranked = ([i for i in _order(keys, layout.node_ids) if mask[i]] if keys
              else list(np.flatnonzero(mask)))
    return np.array(ranked[:selector.count] if selector.count else
                    ranked[:1] if keys else ranked, dtype=np.int64)


def select_lanes(layout: Layout, selector: Selector, candidates: np.ndarray) -> np.ndarray:
    """Lane positions a rule picks among ``candidates`` (primary lanes only), in rank order."""
    m = _measures(layout)
    keys = {"critical": (m["lane_at_stake"], m["lane_value"]),
            "slowest": (m["lane_lead"], m["lane_value"]),
            "busiest": (m["lane_value"], m["lane_lead"])}[selector.rule]
    mask = candidates & (layout.lane_role == 0)
    ranked = [i for i in _order(keys, layout.lane_ids) if mask[i]]
    return np.array(ranked[:selector.count or 1], dtype=np.int64)


def select_name(layout: Layout, key: str, selector: Selector) -> str:
    """The region, cluster, carrier or mode a rule picks."""
    network = layout.network
    if key in ("region", "cluster"):
        if selector.rule == "demand":  # the markets' regions (a zone may name its own)
            markets = sorted(set(layout.zone_region))
            units = [sum(z.mean for z, r in zip(network.demand, layout.zone_region, strict=True)
                         if r == name) for name in markets]
            return markets[_order([np.array(units)], markets)[0]]
        if selector.rule == "slowest":
            node = select_nodes(layout, Selector("slowest"), np.ones(layout.n_nodes, bool))[0]
            return str(getattr(network.nodes[node], key))
        groups, at_stake, sizes = _group_at_stake(layout, key)
        return groups[_order([at_stake, sizes], groups)[0]]
    if selector.rule == "busiest":  # the name moving the most value over all its lanes
        names = sorted({getattr(lane, key) for lane in network.lanes})
        of_lane = np.array([names.index(getattr(lane, key)) for lane in network.lanes])
        moved = np.bincount(of_lane, weights=_measures(layout)["lane_value"],
                            minlength=len(names))
        return names[_order([moved], names)[0]]
    lane = select_lanes(layout, Selector(selector.rule), np.ones(layout.n_lanes, bool))[0]
    return str(getattr(network.lanes[lane], key))


def select_groups(layout: Layout, selector: Selector) -> tuple[tuple[str, ...], ...]:
    """Pooling groups a rule makes: nodes of one item, two or more to a group."""
    network = layout.network
    if selector.kind:
        mask = layout.kind == KIND_CODES[selector.kind]
    else:
        mask = np.isin(np.arange(layout.n_nodes), layout.zone_node)
    by_item: dict[str, list[str]] = {}
    for i in np.flatnonzero(mask):
        by_item.setdefault(network.nodes[i].item, []).append(network.nodes[i].id)
    return tuple(tuple(ids) for _, ids in sorted(by_item.items()) if len(ids) >= 2)


def resolve_name(layout: Layout, where: str, key: str, value: str | None) -> str | None:
    """A region, cluster, carrier or mode as given, or the one its rule picks."""
    if not is_selector(value):
        return value
    assert isinstance(value, str)
    return select_name(layout, key, parse(value, where, key, NAME_RULES[key]))


def node_ids(layout: Layout, value: Any, where: str, key: str) -> tuple[str, ...]:
    """Node ids as given (one id or several), or those a rule picks among all nodes."""
    if isinstance(value, str):
        if not is_selector(value):
            return (value,)
        picked = select_nodes(layout, parse(value, where, key, NODE_RULES),
                              np.ones(layout.n_nodes, dtype=bool))
        if not picked.size:
            raise fail(where, key, value, f"the rule picks no node of network "
                        f"{layout.network.name!r}")
        return tuple(layout.network.nodes[i].id for i in picked)
    return tuple(value)


def slowest_input(layout: Layout, node_id: str) -> str:
    """The input item of a node whose primary supply has the longest lead time."""
    node = layout.network.node_index[node_id]
    inputs = range(layout.inputs_of(node).start, layout.inputs_of(node).stop)
    lead = {k: max((int(layout.lane_lead[lane]) for lane in np.flatnonzero(
        (layout.lane_input == k) & (layout.lane_role == 0))), default=0) for k in inputs}
    items = {k: layout.input_item[k] for k in inputs}
    if not items:
        raise fail("policy", "item", "@input", f"node {node_id!r} has no inputs")
    return items[sorted(items, key=lambda k: (-lead[k], items[k]))[0]]


def explain(network: Any, key: str, value: Any) -> Any:
    """``value`` as given, or a rule and what it picks on ``network`` (``@slowest = ctrl_a``).

    For messages and summaries: a value that is not a rule, or a rule the key does not take,
    comes back unchanged.
    """
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    if not is_selector(value):
        return value
    layout = Layout.of(network)
    try:
        if key in NAME_RULES:
            picked: Any = resolve_name(layout, "", key, value)
        elif key in ("node", "nodes", "members", "vmi"):
            picked = ", ".join(node_ids(layout, value, "", key))
        elif key == "lane":
            rule = parse(value, "", key, LANE_RULES)
            picked = ", ".join(layout.lane_ids[i] for i in
                               select_lanes(layout, rule, np.ones(layout.n_lanes, dtype=bool)))
        else:
            return value
    except ConfigError:
        return value
    return f"{value} = {picked}"
