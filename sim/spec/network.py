"""The network: an immutable, validated description of a supply chain.

A *node* is one stocking point of one item (a *stage* in multi-echelon inventory theory): a
supplier making a raw item from unlimited raw material, a manufacturer assembling its item from a
bill of materials (BOM), or a warehouse storing the item it receives. A site that stocks several
items is several nodes sharing a region and cluster. *Lanes* carry the source's item to the
target; each is operated by a carrier in a transport mode. A node's input item may come over
several lanes (multi-sourcing); the lanes' ``share`` values split its orders and must sum to 1.
*Demand zones* are end customers attached to the node that serves them.

Every rule is checked when a :class:`Network` (or one of its parts) is built; a broken rule raises
:class:`~sim.spec.errors.NetworkError` naming where (file and row or key), the key, the value and
the rule. Units: quantities in units of the item, time in days, money in one currency unit,
emissions in kg CO2e.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from sim.spec.checks import Checker
from sim.spec.errors import Issue, NetworkError

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "DEMAND_LAWS",
    "LANE_ROLES",
    "NODE_KINDS",
    "PIPELINE_OWNERS",
    "UNMET_DEMAND",
    "DemandZone",
    "Item",
    "Lane",
    "Network",
    "Node",
]

NODE_KINDS = ("supplier", "manufacturer", "warehouse")
LANE_ROLES = ("primary", "backup", "expedite")
DEMAND_LAWS = ("normal", "poisson", "gamma", "lognormal")
UNMET_DEMAND = ("lost", "backorder")
PIPELINE_OWNERS = ("buyer", "seller")
# Longest lead time accepted: ten years. The engines keep a day ring as long as the longest lead,
# so an absurd value (1e12) would ask for terabytes instead of failing here.
MAX_LEAD_TIME_DAYS = 3650
# Default backorder penalty: the lost-sale penalty spread over this many days late
BACKORDER_DAYS_PER_LOST_SALE = 30
SHARE_TOLERANCE = 1e-6


# --------------------------------------------------------------------------------------------
# Field checks shared by every spec. Each returns the cleaned value or records an Issue.
# --------------------------------------------------------------------------------------------
def _where(spec: Any, label: str) -> str:
    return spec.origin or f"{label} {spec.id!r}"


def _set(spec: Any, name: str, value: Any) -> None:
    object.__setattr__(spec, name, value)


# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    """A product or part.

    Parameters
    ----------
    id : str
        Item id, unique in the network.
    name : str
        Human-readable name.
    unit : str
        Unit of measure (``"unit"``, ``"kg"``, ...); quantities of this item are in it.
    """

    id: str
    name: str = ""
    unit: str = "unit"
    origin: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        check = Checker(_where(self, "item"))
        _set(self, "id", check.text("id", self.id))
        _set(self, "name", check.text("name", self.name, allow_empty=True))
        _set(self, "unit", check.text("unit", self.unit))
        check.raise_if_any()


@dataclass(frozen=True)
class Node:
    """A stocking point of one item: supplier, manufacturer or warehouse.

    Parameters
    ----------
    id : str
        Node id, unique in the network.
    kind : {"supplier", "manufacturer", "warehouse"}
        Suppliers make their item from unlimited raw material; manufacturers assemble it from
        their BOM; warehouses store the item they receive.
    item : str
        The item this node stocks and ships.
    bom : mapping of str to float
        Manufacturers only: units of each input item per unit of output.
    region, cluster : str
        Where the node is (regional events and planners' KPIs group by these).
    capacity_per_day : float
        Production capacity (suppliers, manufacturers) or handling capacity, i.e. units served
        plus shipped (warehouses), in units per day. ``inf`` when unlimited.
    initial_stock : float or None
        On-hand stock of the item at the start. ``None`` starts the node in the steady state of
        its replenishment policy (see :mod:`sim.spec.policy`).
    unit_value : float
        Value of one unit of the item at this node [money/unit]; holding cost is charged on it.
    holding_cost_rate : float
        Holding cost as a fraction of unit value per year [1/year] (charged daily: /365).
    production_co2e_kg_per_unit : float
        Emissions of making one unit here [kg CO2e/unit].
    green : bool
        On the green-supplier list (green-procurement policies prefer such sources).
    """

    id: str
    kind: str
    item: str
    bom: Mapping[str, float] | tuple[tuple[str, float], ...] = ()
    region: str = "default"
    cluster: str = ""
    capacity_per_day: float = math.inf
    initial_stock: float | None = None
    unit_value: float = 1.0
    holding_cost_rate: float = 0.25
    production_co2e_kg_per_unit: float = 0.0
    green: bool = False
    origin: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        check = Checker(_where(self, "node"))
        _set(self, "green", check.flag("green", self.green))
        _set(self, "id", check.text("id", self.id))
        _set(self, "kind", check.choice("kind", self.kind, NODE_KINDS))
        _set(self, "item", check.text("item", self.item))
        _set(self, "region", check.text("region", self.region))
        _set(self, "cluster", check.text("cluster", self.cluster, allow_empty=True))
        for name in ("capacity_per_day", "unit_value", "holding_cost_rate"):
            _set(self, name, check.number(name, getattr(self, name)))
        _set(
            self,
            "production_co2e_kg_per_unit",
            check.number("production_co2e_kg_per_unit", self.production_co2e_kg_per_unit),
        )
        if self.initial_stock is not None:
            _set(
                self,
                "initial_stock",
                check.number("initial_stock", self.initial_stock, finite=True),
            )
        pairs = self.bom.items() if isinstance(self.bom, Mapping) else self.bom
        bom: list[tuple[str, float]] = []
        seen: set[str] = set()
        for entry in pairs:
            try:
                raw_item, raw_qty = entry
            except (TypeError, ValueError):
                check.fail("bom", entry, "each BOM entry must be (input item, quantity)")
                continue
            item = check.text("bom", raw_item)
            qty = check.number(f"bom.{item}", raw_qty, strict=True, finite=True)
            if item in seen:
                check.fail("bom", item, "input item listed twice in the BOM")
            seen.add(item)
            bom.append((item, qty))
        _set(self, "bom", tuple(bom))
        if self.kind == "manufacturer" and not bom:
            check.fail("bom", {}, "a manufacturer needs a BOM with at least one input item")
        if self.kind in ("supplier", "warehouse") and bom:
            check.fail(
                "bom",
                dict(bom),
                f"a {self.kind} has no BOM (suppliers use unlimited raw material, warehouses "
                "store the item they receive); make it a manufacturer",
            )
        if self.item in seen:
            check.fail("bom", self.item, "a node cannot consume its own item")
        check.raise_if_any()

    @property
    def inputs(self) -> tuple[tuple[str, float], ...]:
        """Input items and units per unit of output; a warehouse's input is its own item."""
        if self.kind == "warehouse":
            return ((self.item, 1.0),)
        return self.bom  # type: ignore[return-value]

    @property
    def produces(self) -> bool:
        """True for suppliers and manufacturers (they run a production step)."""
        return self.kind != "warehouse"

    @property
    def bom_lines(self) -> tuple[tuple[str, float], ...]:
        """The BOM as (input item, units per unit made) pairs, as kept after validation."""
        return cast(tuple[tuple[str, float], ...], self.bom)


@dataclass(frozen=True)
class Lane:
    """A transport link carrying the source node's item to the target node.

    Parameters
    ----------
    id : str
        Lane id, unique in the network.
    source, target : str
        Node ids; material flows from source to target.
    carrier : str
        Carrier operating the lane (one :class:`~sim.engines.mesa.agents.Carrier` agent per
        carrier).
    mode : str
        Transport mode (``road``, ``rail``, ``sea``, ``air``, ...).
    lead_time_days : int
        Days in transit: shipped on day t, received at the start of day t + lead time (>= 1).
    capacity_per_day : float
        Units the lane can take per day; ``inf`` when unlimited.
    distance_km : float
        Length of the lane [km].
    cost_per_unit : float
        Freight per unit shipped [money/unit], paid by the target.
    co2e_kg_per_unit_km : float
        Transport emissions [kg CO2e per unit per km].
    share : float
        Fraction of the target's orders of this item placed over this lane; the shares of the
        primary lanes feeding one input of one node sum to 1.
    role : {"primary", "backup", "expedite"}
        ``primary`` lanes carry the orders by share. A ``backup`` lane (a backup supplier, or an
        alternate route, mode or carrier from the same source) carries nothing until a sourcing
        or logistics policy activates it; an ``expedite`` lane (a faster mode at a premium) only
        carries orders an expediting policy sends to it. Their ``share`` splits them among
        themselves.
    initial_flow_per_day : float or None
        The state at the start: units arriving on each of the first ``lead_time_days`` days and
        ordered the day before [units/day]. ``None`` (default): the lane's share of the nominal
        flow, the steady state of the policy.
    pipeline_owner : {"buyer", "seller"}
        Who owns the units in transit and pays their holding cost (at the source's unit value
        and the owner's holding rate): the target from the day they ship (``buyer``, default:
        ex works / FCA terms) or the source until they arrive (``seller``: delivered terms).
    """

    id: str
    source: str
    target: str
    carrier: str = "default"
    mode: str = "road"
    lead_time_days: int = 1
    capacity_per_day: float = math.inf
    distance_km: float = 0.0
    cost_per_unit: float = 0.0
    co2e_kg_per_unit_km: float = 0.0
    share: float = 1.0
    role: str = "primary"
    initial_flow_per_day: float | None = None
    pipeline_owner: str = "buyer"
    origin: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        check = Checker(_where(self, "lane"))
        _set(self, "role", check.choice("role", self.role, LANE_ROLES))
        _set(self, "pipeline_owner", check.choice("pipeline_owner", self.pipeline_owner,
                                                  PIPELINE_OWNERS))
        for name in ("id", "source", "target", "carrier", "mode"):
            _set(self, name, check.text(name, getattr(self, name)))
        lead = check.number("lead_time_days", self.lead_time_days, minimum=1,
                            maximum=MAX_LEAD_TIME_DAYS, integer=True)
        if math.isfinite(lead):
            _set(self, "lead_time_days", int(lead))
        for name in ("capacity_per_day", "distance_km", "cost_per_unit", "co2e_kg_per_unit_km"):
            _set(self, name, check.number(name, getattr(self, name)))
        _set(self, "share", check.number("share", self.share, maximum=1.0))
        if self.initial_flow_per_day is not None:
            _set(self, "initial_flow_per_day",
                 check.number("initial_flow_per_day", self.initial_flow_per_day, finite=True))
        if self.source == self.target and self.source:
            check.fail("target", self.target, "a lane cannot go from a node to itself")
        check.raise_if_any()

    @property
    def co2e_kg_per_unit(self) -> float:
        """Transport emissions per unit shipped over the whole lane [kg CO2e/unit]."""
        return self.distance_km * self.co2e_kg_per_unit_km


@dataclass(frozen=True)
class DemandZone:
    """End customers of one node's item.

    Parameters
    ----------
    id : str
        Zone id, unique in the network.
    node : str
        The node that serves the zone.
    mean, sd : float
        Mean and standard deviation of daily demand [units/day].
    law : {"normal", "poisson", "gamma", "lognormal"}
        Distribution of daily demand. ``normal`` is censored at zero (a negative draw is read as
        zero demand); ``poisson`` takes its sd from the mean; ``gamma`` and ``lognormal`` are
        parameterised by mean and sd.
    region : str or None
        Market region (demand shocks by region); ``None`` means the serving node's region.
    shortage_cost_per_unit : float or None
        Penalty per unit of demand lost (lost-sales networks) [money/unit]; ``None`` means the
        serving node's unit value.
    backorder_cost_per_unit_day : float or None
        Backorder networks: penalty per backordered unit per day [money/(unit day)]; ``None``
        means the lost-sale penalty over :data:`BACKORDER_DAYS_PER_LOST_SALE` days (a unit a
        month late costs as much as a unit lost), so a day's delay is not charged like a lost
        sale and totals of the two modes compare.
    backorder_cost_per_unit : float
        Backorder networks: optional fixed penalty per unit backordered, on the day it is
        [money/unit]; 0 by default.
    """

    id: str
    node: str
    mean: float
    sd: float = 0.0
    law: str = "normal"
    region: str | None = None
    shortage_cost_per_unit: float | None = None
    backorder_cost_per_unit_day: float | None = None
    backorder_cost_per_unit: float = 0.0
    origin: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        check = Checker(_where(self, "demand zone"))
        _set(self, "id", check.text("id", self.id))
        _set(self, "node", check.text("node", self.node))
        _set(self, "mean", check.number("mean", self.mean, finite=True))
        _set(self, "law", check.choice("law", self.law, DEMAND_LAWS))
        if self.law == "poisson":
            expected = math.sqrt(self.mean) if math.isfinite(self.mean) else math.nan
            if self.sd in (None, "") or self.sd == 0:
                _set(self, "sd", expected)
            else:
                sd = check.number("sd", self.sd, finite=True)
                if not math.isclose(sd, expected, rel_tol=1e-9, abs_tol=1e-12):
                    check.fail("sd", self.sd, f"a Poisson law has sd = sqrt(mean) = {expected:g}; "
                               "leave sd empty")
                _set(self, "sd", expected)
        else:
            _set(self, "sd", check.number("sd", self.sd, finite=True))
        if self.law in ("gamma", "lognormal") and self.sd > 0 and self.mean <= 0:
            check.fail("mean", self.mean, f"a {self.law} law with sd > 0 needs mean > 0")
        if self.region is not None:
            _set(self, "region", check.text("region", self.region))
        if self.shortage_cost_per_unit is not None:
            _set(self, "shortage_cost_per_unit",
                 check.number("shortage_cost_per_unit", self.shortage_cost_per_unit))
        if self.backorder_cost_per_unit_day is not None:
            _set(self, "backorder_cost_per_unit_day",
                 check.number("backorder_cost_per_unit_day", self.backorder_cost_per_unit_day))
        _set(self, "backorder_cost_per_unit",
             check.number("backorder_cost_per_unit", self.backorder_cost_per_unit))
        check.raise_if_any()


SPEC_OF: dict[str, type] = {"nodes": Node, "lanes": Lane, "demand": DemandZone, "items": Item}
"""The spec class each part of a network holds."""


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Network:
    """A validated supply-chain network.

    Parameters
    ----------
    name : str
        Name shown in results and reports.
    nodes, lanes, demand : sequences of Node, Lane, DemandZone
        The parts; each id is unique within its kind.
    items : sequence of Item, optional
        Items with names and units. Items only named by nodes and BOMs are added with defaults.
    unmet_demand : {"lost", "backorder"}
        What happens to end-customer demand not served on the day it arrives.
    source : str
        Where the network was read from (a path or ``example:...``); kept for provenance.

    Raises
    ------
    NetworkError
        Listing every broken rule: unknown or duplicate ids, a cycle, shares that do not sum to 1,
        an input with no source, a lane bringing an item its target does not use, demand on a node
        that cannot get its item, ...
    """

    name: str
    nodes: tuple[Node, ...]
    lanes: tuple[Lane, ...]
    demand: tuple[DemandZone, ...]
    items: tuple[Item, ...] = ()
    unmet_demand: str = "lost"
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("nodes", "lanes", "demand", "items"):
            value = getattr(self, name)
            if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
                raise NetworkError(Issue(self.source or f"network {self.name!r}", name, value,
                                         f"must be a list of specs ({name}=[...])"))
            _set(self, name, tuple(value))
            wrong = [x for x in getattr(self, name) if not isinstance(x, SPEC_OF[name])]
            if wrong:
                raise NetworkError(Issue(self.source or f"network {self.name!r}", name, wrong[0],
                                         f"must hold {SPEC_OF[name].__name__} specs; "
                                         "sim.io.network_from_mapping reads mappings"))
        check = Checker(self.source or f"network {self.name!r}")
        _set(self, "name", check.text("name", self.name))
        _set(self, "unmet_demand", check.choice("unmet_demand", self.unmet_demand, UNMET_DEMAND))
        issues = check.issues
        if not self.nodes:
            issues.append(Issue(self.source or f"network {self.name!r}", "nodes", [],
                                "a network needs at least one node (an empty file?)"))
        elif not self.demand:
            issues.append(Issue(self.source or f"network {self.name!r}", "demand", [],
                                "a network needs at least one demand zone (its end customers: "
                                "an empty demand table?)"))
        issues += _duplicate_ids(self.items, "item")
        issues += _duplicate_ids(self.nodes, "node")
        issues += _duplicate_ids(self.lanes, "lane")
        issues += _duplicate_ids(self.demand, "demand zone")
        _set(self, "items", self._complete_items())
        issues += self._reference_issues()
        if not issues:
            issues += self._cycle_issues()
        if not issues:
            issues += self._sourcing_issues()
        if not issues:
            issues += self._reachability_issues()
        if issues:
            raise NetworkError(issues, source=self.source)

    # -- derived structure ---------------------------------------------------------------------
    @cached_property
    def node_index(self) -> dict[str, int]:
        """Position of each node id in :attr:`nodes`."""
        return {node.id: i for i, node in enumerate(self.nodes)}

    @cached_property
    def lane_index(self) -> dict[str, int]:
        """Position of each lane id in :attr:`lanes`."""
        return {lane.id: i for i, lane in enumerate(self.lanes)}

    @cached_property
    def successors(self) -> dict[str, tuple[str, ...]]:
        """The nodes each node ships to, in the order of their first lane (no repeats)."""
        out: dict[str, list[str]] = {node.id: [] for node in self.nodes}
        seen: set[tuple[str, str]] = set()
        for lane in self.lanes:
            pair = (lane.source, lane.target)
            if pair not in seen and lane.source in out and lane.target in out:
                seen.add(pair)
                out[lane.source].append(lane.target)
        return {node: tuple(targets) for node, targets in out.items()}

    @cached_property
    def topological_order(self) -> tuple[str, ...]:
        """Node ids, every node after the nodes that ship to it.

        Kahn's algorithm generation by generation, in the order NetworkX's
        ``topological_sort`` gives, so sums over nodes add in the same order as before
        (without loading NetworkX: the command line starts faster). Shorter than
        :attr:`nodes` when the lanes form a cycle.
        """
        indegree = dict.fromkeys(self.successors, 0)
        for targets in self.successors.values():
            for target in targets:
                indegree[target] += 1
        generation = [node for node, degree in indegree.items() if degree == 0]
        order: list[str] = []
        while generation:
            order += generation
            following = []
            for node in generation:
                for child in self.successors[node]:
                    indegree[child] -= 1
                    if indegree[child] == 0:
                        following.append(child)
            generation = following
        return tuple(order)

    @cached_property
    def graph(self) -> nx.DiGraph:
        """Directed graph of nodes joined by lanes (parallel lanes collapse to one edge)."""
        import networkx as nx  # loaded when a graph is asked for, not to validate

        graph = nx.DiGraph()
        graph.add_nodes_from(node.id for node in self.nodes)
        graph.add_edges_from((lane.source, lane.target) for lane in self.lanes)
        return graph

    @cached_property
    def tiers(self) -> dict[str, int]:
        """Echelon of each node: 0 for the most downstream, +1 per lane hop upstream.

        A node's tier is the length of the longest lane path from it to a node with no outgoing
        lane, so a plant's direct suppliers sit one tier above the plant.
        """
        tier: dict[str, int] = {}
        for node_id in reversed(self.topological_order):
            successors = self.successors[node_id]
            tier[node_id] = 1 + max(tier[s] for s in successors) if successors else 0
        return tier

    def node(self, node_id: str) -> Node:
        """Return the node with this id."""
        return self.nodes[self.node_index[node_id]]

    def replace(self, **changes: Any) -> Network:
        """Return a copy with some fields replaced, validated again."""
        return replace(self, **changes)

    def summary(self) -> str:
        """One line: counts of nodes by kind, lanes, demand zones."""
        kinds: defaultdict[str, int] = defaultdict(int)
        for node in self.nodes:
            kinds[node.kind] += 1
        parts = ", ".join(f"{kinds[k]} {k}{'s' if kinds[k] != 1 else ''}" for k in NODE_KINDS
                          if kinds[k])
        return (f"{self.name}: {len(self.nodes)} nodes ({parts}), {len(self.lanes)} lanes, "
                f"{len(self.demand)} demand zones, unmet demand {self.unmet_demand}")

    # -- validation helpers --------------------------------------------------------------------
    def _complete_items(self) -> tuple[Item, ...]:
        declared = {item.id for item in self.items}
        extra: list[Item] = []
        for node in self.nodes:
            for item_id in [node.item, *(i for i, _ in node.bom_lines)]:
                if item_id not in declared:
                    declared.add(item_id)
                    extra.append(Item(item_id))
        return self.items + tuple(extra)

    def _reference_issues(self) -> list[Issue]:
        issues: list[Issue] = []
        node_by_id = {node.id: node for node in self.nodes}
        for lane in self.lanes:
            where = _where(lane, "lane")
            for key in ("source", "target"):
                if getattr(lane, key) not in node_by_id:
                    issues.append(Issue(where, key, getattr(lane, key), "unknown node"))
            source, target = node_by_id.get(lane.source), node_by_id.get(lane.target)
            if source is None or target is None:
                continue
            if target.kind == "supplier":
                issues.append(Issue(where, "target", lane.target,
                                    "a supplier takes no deliveries (it has no inputs); make the "
                                    "target a manufacturer with a BOM"))
            elif source.item not in dict(target.inputs):
                wanted = ", ".join(i for i, _ in target.inputs)
                issues.append(Issue(where, "source", lane.source,
                                    f"delivers item {source.item!r} but {target.kind} "
                                    f"{target.id!r} uses only {wanted}"))
        for zone in self.demand:
            if zone.node not in node_by_id:
                issues.append(Issue(_where(zone, "demand zone"), "node", zone.node,
                                    "unknown node"))
        return issues

    def _cycle_issues(self) -> list[Issue]:
        if len(self.topological_order) == len(self.nodes):
            return []
        import networkx as nx  # only to name one cycle

        cycle = nx.find_cycle(self.graph)
        path = " -> ".join([cycle[0][0], *(edge[1] for edge in cycle)])
        lane = next(
            lane for lane in self.lanes
            if (lane.source, lane.target) == (cycle[-1][0], cycle[-1][1])
        )
        return [Issue(_where(lane, "lane"), "target", lane.target,
                      f"lanes form a cycle ({path}); material must flow one way")]

    def _sourcing_issues(self) -> list[Issue]:
        issues: list[Issue] = []
        lanes_by_input: dict[tuple[str, str], list[Lane]] = defaultdict(list)
        node_by_id = {node.id: node for node in self.nodes}
        for lane in self.lanes:
            if lane.role == "primary":
                lanes_by_input[(lane.target, node_by_id[lane.source].item)].append(lane)
        for node in self.nodes:
            for item, _ in node.inputs if node.kind != "supplier" else ():
                lanes = lanes_by_input.get((node.id, item), [])
                if not lanes:
                    key = "item" if node.kind == "warehouse" else f"bom.{item}"
                    issues.append(Issue(_where(node, "node"), key, item,
                                        "no primary lane delivers this input item to the "
                                        "node"))
                    continue
                total = math.fsum(lane.share for lane in lanes)
                if abs(total - 1.0) > SHARE_TOLERANCE:
                    ids = ", ".join(f"{lane.id}={lane.share:g}" for lane in lanes)
                    issues.append(Issue(_where(lanes[-1], "lane"), "share", lanes[-1].share,
                                        f"shares of the lanes bringing {item!r} to {node.id!r} "
                                        f"sum to {total:g}, not 1 ({ids})"))
        return issues

    def _reachability_issues(self) -> list[Issue]:
        """Demand must sit on a node that can get its item: a working path to raw material."""
        node_by_id = {node.id: node for node in self.nodes}
        lanes_by_input: dict[tuple[str, str], list[Lane]] = defaultdict(list)
        for lane in self.lanes:
            if lane.role == "primary":
                lanes_by_input[(lane.target, node_by_id[lane.source].item)].append(lane)
        why_not: dict[str, str] = {}
        for node_id in self.topological_order:
            node = node_by_id[node_id]
            if node.produces and node.capacity_per_day <= 0:
                why_not[node_id] = f"{node_id!r} has no capacity"
                continue
            if node.kind == "supplier":
                continue
            for item, _ in node.inputs:
                usable = [
                    lane for lane in lanes_by_input[(node_id, item)]
                    if lane.share > 0 and lane.capacity_per_day > 0 and lane.source not in why_not
                ]
                if not usable:
                    why_not[node_id] = (f"no open lane with a positive share brings {item!r} "
                                        f"to {node_id!r} from a node that can supply it")
                    break
        issues = []
        for zone in self.demand:
            if zone.node in why_not:
                issues.append(Issue(_where(zone, "demand zone"), "node", zone.node,
                                    f"demand on a node that cannot get its item: "
                                    f"{why_not[zone.node]}"))
        return issues


def _duplicate_ids(specs: Iterable[Any], label: str) -> list[Issue]:
    seen: dict[str, Any] = {}
    issues = []
    for spec in specs:
        if spec.id in seen:
            issues.append(Issue(_where(spec, label), "id", spec.id,
                                f"duplicate {label} id (first defined at "
                                f"{_where(seen[spec.id], label)})"))
        else:
            seen[spec.id] = spec
    return issues


def spec_fields(cls: type) -> tuple[str, ...]:
    """Names of the user-facing fields of a spec class (without ``origin``)."""
    return tuple(f.name for f in fields(cls) if f.name != "origin")
