"""A policy resolved on a network: the arrays both engines apply (:func:`plan_policy`).

The rules themselves are described in :mod:`sim.spec.policy`; here they become numbers: each
input's order-up-to level and protection period, each lane's share and activation lag, what the
reserves, pools and shared warehouses hold, and what each measure costs per day.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from sim.compile.layout import Layout, nominal_overloads
from sim.compile.shares import apply_green_factors, apply_static_shares
from sim.spec.checks import fail
from sim.spec.errors import CapacityWarning
from sim.spec.network import Lane, Network, Node
from sim.spec.policy import INVENTORY_RULES, NEVER, Policy
from sim.spec.policy_rules import FORECAST_METHODS
from sim.spec.units import DAYS_PER_YEAR

__all__ = [
    "Levels",
    "PolicyPlan",
    "lane_pairs",
    "plan_policy",
    "protection_periods",
    "resolve_rules",
]


def plan_policy(policy: Policy, network: Network) -> PolicyPlan:
    """Resolve a policy on a network into the arrays the engines apply.

    Raises
    ------
    ConfigError
        When a setting names a node, lane or item the network does not have.
    """
    return _plan(policy, network)


# --------------------------------------------------------------------------------------------
# The plan: everything the engines apply
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Levels:
    """Inventory levels and the starting state.

    Attributes
    ----------
    fg_level : ndarray, shape (node,)
        Finished-goods level F of producers (0 for warehouses) [units].
    order_up_to : ndarray, shape (input,)
        Order-up-to level S at nominal demand [units of the input item].
    protection_days : ndarray, shape (input,)
        Mean protection period P = sum_j s_j L_j of the static split, L_j = 1 + lead time
        [days]: the pipeline part of the level is P x m(t).
    variance_days : ndarray, shape (input,)
        V = sum_i sum_j s_i s_j min(L_i, L_j) [days]: the variance of demand over the position's
        protection is V sigma^2 (see :func:`protection_periods`).
    level_base, level_slope : ndarray, shape (input,)
        S(t) = level_base + level_slope x m(t), m the node's demand forecast (units/day).
    level_fixed, safety_unit, slope_unit : ndarray, shape (input,)
        The same level for any split: S = level_fixed + safety_unit x sqrt(V) + slope_unit x P x
        m(t); dynamic sourcing recomputes P and V from the day's split.
    order_gap : ndarray, shape (input,)
        S - s of the ``s_S`` rule (0 otherwise) [units of input].
    initial_stock : ndarray, shape (node,)
        On-hand finished stock at the start [units].
    initial_inputs : ndarray, shape (input,)
        Input stock at the start [units of the input item].
    """

    fg_level: np.ndarray
    order_up_to: np.ndarray
    protection_days: np.ndarray
    variance_days: np.ndarray
    level_base: np.ndarray
    level_slope: np.ndarray
    level_fixed: np.ndarray
    safety_unit: np.ndarray
    slope_unit: np.ndarray
    order_gap: np.ndarray
    initial_stock: np.ndarray
    initial_inputs: np.ndarray


@dataclass(frozen=True, eq=False)
class PolicyPlan:
    """A policy resolved on a network: arrays the engines apply identically.

    ``network`` and ``layout`` are those the engines run (with shared warehouses added, lane
    emission factors and static shares changed); nodes, lanes and zones of the original network
    keep their positions, so the scenario's events and demand apply unchanged.
    """

    policy: Policy
    network: Network
    layout: Layout
    levels: Levels
    share: np.ndarray  # (lane,): static share within its role
    dynamic: bool
    detection_delay: int
    notice_days: int
    warned_kinds: tuple[str, ...]
    stretch_tolerance: float
    activation_lag: np.ndarray  # (lane,): days to activate a backup lane, -1 otherwise
    activation_fee: np.ndarray  # (lane,): one-off fee when a backup lane activates
    premium: np.ndarray  # (lane,): extra cost per unit shipped
    source_room: np.ndarray  # (lane,): the source's daily capacity for the lane's buyer
    reroute_after: int  # days a lane may owe without shipping before it counts as short
    switch_cost: float  # money per lane whose owed orders are cancelled and re-placed
    expedite: bool
    expedite_cover: np.ndarray  # (input,) days of demand net stock must cover
    forecast_method: np.ndarray  # (node,): 0 static, 1 moving average, 2 smoothing
    forecast_pos: np.ndarray  # (node,) bool: forecast on point-of-sale demand
    window: int
    alpha: float
    info_delay: np.ndarray  # (node,) days
    pos_weights: np.ndarray  # (node, zone): share of a zone's demand flowing out of the node
    pool_group: np.ndarray  # (node,): group index, -1 when not pooling
    pool_cost: float
    reserve_units: np.ndarray  # (node,)
    reserve_threshold: np.ndarray  # (node,)
    reserve_release: np.ndarray  # (node,) units/day
    reserve_holding_rate: np.ndarray  # (node,) per day of unit value
    reserve_release_cost: np.ndarray  # (node,) money/unit
    fee_per_day: np.ndarray  # (node,): fixed fees (reservations, shared warehouses, notice)
    public_fee_per_day: np.ndarray  # (node,): the part of those a public budget pays
    public_reserve_share: np.ndarray  # (node,): public share of reserve holding and release
    public_node_share: np.ndarray  # (node,): public share of all a node costs (shared
    # warehouses)

    # Computed once: the arrays do not change, and the engines ask every day.
    @cached_property
    def uses_reserves(self) -> bool:
        """Whether any node holds an emergency reserve."""
        return bool((self.reserve_units > 0).any())

    @cached_property
    def public_costs(self) -> bool:
        """Whether a public budget pays for any measure (``public_cost``)."""
        reserves = self.public_reserve_share * self.reserve_units
        return bool(self.public_fee_per_day.any() or reserves.any()
                    or self.public_node_share.any())

    @cached_property
    def uses_pooling(self) -> bool:
        """Whether any node pools stock."""
        return bool((self.pool_group >= 0).any())

    @cached_property
    def forecasting(self) -> bool:
        """Whether any node forecasts."""
        return bool((self.forecast_method > 0).any())


def resolve_rules(policy: Policy, network: Network) -> Policy:
    """The policy with every rule (``@...``, :mod:`sim.compile.selectors`) replaced by its ids.

    Reserves at a rule become one reserve per node picked; pooling groups ``@by_item`` become
    one group per item; a shared warehouse's ``item: "@input"`` and ``region``/``cluster:
    "@member"`` take its first member's slowest input, region and cluster.
    """
    from sim.compile import selectors
    layout = Layout.of(network)
    f, pooling = policy.forecast, policy.pooling
    forecast = replace(f, nodes=selectors.node_ids(layout, f.nodes, "policy.forecast", "nodes"),
                       vmi=selectors.node_ids(layout, f.vmi, "policy.forecast", "vmi"))
    groups = pooling.groups
    if isinstance(groups, str):
        groups = selectors.select_groups(layout, selectors.parse(
            groups, "policy.pooling", "groups", selectors.GROUP_RULES))
    else:
        groups = tuple(selectors.node_ids(layout, g, "policy.pooling", "groups") for g in groups)
    reserves = tuple(replace(r, node=node) for i, r in enumerate(policy.reserves)
                     for node in selectors.node_ids(layout, r.node, f"policy.reserves[{i}]",
                                                    "node"))
    shared = []
    for i, h in enumerate(policy.shared_warehouses):
        members = selectors.node_ids(layout, h.members, f"policy.shared_warehouses[{i}]",
                                     "members")
        first = network.node(members[0]) if members and members[0] in network.node_index \
            else None
        changes: dict[str, Any] = {"members": members}
        if h.item == "@input" and first is not None:
            changes["item"] = selectors.slowest_input(layout, first.id)
        for key in ("region", "cluster"):
            if getattr(h, key) == "@member" and first is not None:
                changes[key] = getattr(first, key) or ("default" if key == "region" else "")
        shared.append(replace(h, **changes))
    return replace(policy, forecast=forecast, pooling=replace(pooling, groups=groups),
                   reserves=reserves, shared_warehouses=tuple(shared))


def _plan(policy: Policy, network: Network) -> PolicyPlan:
    policy = resolve_rules(policy, network)
    network = _add_shared_warehouses(policy, network)
    network = apply_green_factors(policy, network)
    network = _apply_backup_capacity(policy, network)
    network = apply_static_shares(policy, network)
    layout = Layout.of(network)
    _warn_overloads(layout)
    _check_inventory_nodes(policy, network)
    share = layout.lane_share
    levels = _levels(policy, layout)
    n, e = layout.n_nodes, layout.n_lanes
    role = layout.lane_role
    backup = role == 1
    same_source = _alternate_lanes(layout)
    lag = np.full(e, -1, dtype=np.int64)
    lag[backup] = policy.sourcing.backup.activation_lag_days
    lag[backup & same_source] = policy.sourcing.switch_over_days
    if not (policy.sourcing.backups or policy.shared_warehouses):
        lag[backup] = NEVER  # reallocation among primaries only
    from_warehouse = _warehouse_lanes(policy, layout)
    fee = np.zeros(e)  # supplier terms; a shared warehouse charges its own freight
    fee[backup & ~from_warehouse] = policy.sourcing.backup.activation_fee
    fee[backup & same_source] = policy.sourcing.switch_cost
    premium = np.zeros(e)
    premium[backup & ~same_source & ~from_warehouse] = policy.sourcing.backup.premium_per_unit
    premium[role == 2] = policy.expedite.premium_per_unit
    for mode, extra in policy.green.mode_premium_per_unit.items():
        premium[np.array([lane.mode == mode for lane in network.lanes], dtype=bool)] += extra
    contracted = _contracted_backups(policy, layout, backup & ~same_source & ~from_warehouse)
    lag[backup & ~same_source & ~contracted & ~from_warehouse] = NEVER
    if not policy.dynamic_sourcing:  # static shares never activate a backup: no contract
        lag[backup] = NEVER
    contracted &= lag != NEVER
    index = network.node_index
    fees = _running_fees(policy, layout, contracted, index)
    method, pos, delay = _forecast_settings(policy, layout)
    group = np.full(n, -1, dtype=np.int64)
    for g, members in enumerate(policy.pooling.groups):
        for node in members:
            if node not in index:
                raise fail("policy.pooling", f"groups[{g}]", node,
                            f"not a node of network {network.name!r}")
            if group[index[node]] >= 0:
                raise fail("policy.pooling", f"groups[{g}]", node, "a node pools in one group")
            group[index[node]] = g
    reserve = {key: np.zeros(n)
               for key in ("units", "threshold", "release", "rate", "cost", "public")}
    for i, r in enumerate(policy.reserves):
        if r.node not in index:
            raise fail(f"policy.reserves[{i}]", "node", r.node,
                        f"not a node of network {network.name!r}")
        k = index[r.node]
        reserve["units"][k] += r.units
        reserve["threshold"][k] = r.threshold
        reserve["release"][k] = r.release_per_day
        reserve["rate"][k] = r.holding_cost_rate / DAYS_PER_YEAR
        reserve["cost"][k] = r.release_cost_per_unit
        reserve["public"][k] = r.public_share
    warned = tuple(policy.early_warning.kinds)
    return PolicyPlan(
        policy=policy, network=network, layout=layout, levels=levels, share=share,
        dynamic=policy.dynamic_sourcing,
        detection_delay=int(policy.sourcing.detection_delay_days),
        notice_days=int(policy.early_warning.notice_days), warned_kinds=warned,
        stretch_tolerance=float(policy.sourcing.stretch_tolerance),
        activation_lag=lag, activation_fee=fee, premium=premium,
        source_room=_source_room(layout),
        reroute_after=NEVER if policy.sourcing.reroute_after_days is None
        else int(policy.sourcing.reroute_after_days),
        switch_cost=float(policy.sourcing.switch_cost),
        expedite=bool(policy.expedite.enabled and (role == 2).any()),
        expedite_cover=_expedite_cover(policy, layout),
        forecast_method=method, forecast_pos=pos, window=int(policy.forecast.window_days),
        alpha=float(policy.forecast.alpha), info_delay=delay,
        pos_weights=_pos_weights(layout) if pos.any() else np.zeros((n, layout.n_zones)),
        pool_group=group, pool_cost=float(policy.pooling.cost_per_unit),
        reserve_units=reserve["units"], reserve_threshold=reserve["threshold"],
        reserve_release=reserve["release"], reserve_holding_rate=reserve["rate"],
        reserve_release_cost=reserve["cost"], fee_per_day=fees["all"],
        public_fee_per_day=fees["public"], public_reserve_share=reserve["public"],
        public_node_share=fees["node_share"],
    )


def _apply_backup_capacity(policy: Policy, network: Network) -> Network:
    """The network with the capacity contracted on backup lanes (``sourcing.backup``)."""
    backup = policy.sourcing.backup
    lanes = {lane.id: lane for lane in network.lanes}
    for key in ("lanes", "capacity_per_day"):
        for lane_id in getattr(backup, key) or ():
            lane = lanes.get(lane_id)
            if lane is None:
                raise fail("policy.sourcing.backup", key, lane_id,
                           f"not a lane of network {network.name!r}")
            if lane.role != "backup":
                raise fail("policy.sourcing.backup", key, lane_id,
                           f"a {lane.role} lane; only backup lanes are contracted")
    if not backup.capacity_per_day:
        return network
    capacity = backup.capacity_per_day
    return network.replace(lanes=tuple(
        replace(lane, capacity_per_day=float(capacity[lane.id])) if lane.id in capacity
        else lane for lane in network.lanes))


def _warehouse_lanes(policy: Policy, layout: Layout) -> np.ndarray:
    """Lanes out of the shared warehouses (the cluster's stock, not a supplier contract)."""
    ids = {h.id for h in policy.shared_warehouses}
    sources = np.array([node in ids for node in layout.node_ids], dtype=bool)
    return sources[layout.lane_source]


def _contracted_backups(policy: Policy, layout: Layout, from_supplier: np.ndarray
                        ) -> np.ndarray:
    """Backup lanes from another supplier under contract: those listed, or all of them."""
    contracted = from_supplier.copy()
    listed = policy.sourcing.backup.lanes
    if listed is not None:
        contracted &= np.array([lane in listed for lane in layout.lane_ids], dtype=bool)
    return contracted


def _running_fees(policy: Policy, layout: Layout, contracted: np.ndarray,
                  index: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Fees per node per day: all of them, the public budget's part, and public nodes' share.

    Backup contracts pay a fee per lane plus one per unit/day of capacity reserved; shared
    warehouses their fee; the nodes receiving early warnings (those with a supplier lane) the
    notice fee per day of notice.
    """
    n, backup = layout.n_nodes, policy.sourcing.backup
    per_lane = np.zeros(layout.n_lanes)
    per_lane[contracted] = backup.reservation_fee_per_day
    if backup.fee_per_unit_capacity > 0:
        capacity = layout.lane_capacity[contracted]
        unlimited = [layout.lane_ids[j] for j in np.flatnonzero(contracted)
                     if not np.isfinite(layout.lane_capacity[j])]
        if unlimited:
            raise fail("policy.sourcing.backup", "capacity_per_day", unlimited[0],
                       "an unlimited lane has no capacity to pay for: set its contracted "
                       "capacity when fee_per_unit_capacity > 0")
        per_lane[contracted] += backup.fee_per_unit_capacity * capacity
    contracts = np.bincount(layout.lane_target, weights=per_lane, minlength=n)
    warning = policy.early_warning
    notice = np.zeros(n)
    if warning.notice_days and warning.fee_per_notice_day:
        buyers = np.bincount(layout.lane_target, minlength=n) > 0
        notice[buyers] = warning.fee_per_notice_day * warning.notice_days
    warehouse, share = np.zeros(n), np.zeros(n)
    for h in policy.shared_warehouses:
        warehouse[index[h.id]] += h.fee_per_day
        share[index[h.id]] = h.public_share
    return {"all": contracts + notice + warehouse, "node_share": share,
            "public": backup.public_share * contracts + warning.public_share * notice}


def _expedite_cover(policy: Policy, layout: Layout) -> np.ndarray:
    if policy.expedite.cover_days is not None:
        return np.full(layout.n_inputs, float(policy.expedite.cover_days))
    cover = np.zeros(layout.n_inputs)
    expedite = layout.lane_role == 2
    np.maximum.at(cover, layout.lane_input[expedite], layout.lane_lead[expedite].astype(float))
    return cover + 1.0


def _alternate_lanes(layout: Layout) -> np.ndarray:
    """Backup lanes whose source also feeds the same input over a primary lane."""
    primary_pairs = {(int(k), int(s)) for k, s, r in
                     zip(layout.lane_input, layout.lane_source, layout.lane_role, strict=True)
                     if r == 0}
    return np.array([(int(k), int(s)) in primary_pairs for k, s in
                     zip(layout.lane_input, layout.lane_source, strict=True)], dtype=bool)


def _check_inventory_nodes(policy: Policy, network: Network) -> None:
    for node in policy.inventory.by_node:
        if node not in network.node_index:
            raise fail("policy.inventory.by_node", node, node,
                        f"not a node of network {network.name!r}")


def norm_ppf(probability: float) -> float:
    """The standard normal quantile (SciPy loaded here, not at import: the CLI starts fast)."""
    from scipy.special import ndtri

    return float(ndtri(probability))


def _levels(policy: Policy, layout: Layout) -> Levels:
    network = layout.network
    tiers = network.tiers
    n = layout.n_nodes
    shared = {h.id: h.units for h in policy.shared_warehouses}
    z = np.zeros(n)
    cover = np.zeros(n)
    order_days = np.zeros(n)
    rule = np.zeros(n, dtype=np.int64)
    explicit = np.full(n, np.nan)
    for i, node in enumerate(network.nodes):
        settings = policy.inventory.settings(node, tiers[node.id])
        rule[i] = INVENTORY_RULES.index(settings["rule"])
        sl = settings.get("service_level")
        z[i] = norm_ppf(sl) if sl is not None else settings["safety_factor"]
        cover[i] = settings["cover_days"]
        order_days[i] = settings["order_days"]
        if settings.get("order_up_to") is not None:
            explicit[i] = settings["order_up_to"]
        if node.id in shared:
            explicit[i] = shared[node.id]
    mu, sigma, mu_zone = layout.mean_outflow, layout.sd_outflow, layout.mean_zone_demand
    produces = layout.produces
    by_cover = rule == INVENTORY_RULES.index("days_of_cover")
    fg_safety = np.where(by_cover, cover * mu, z * sigma)
    fg_level = np.where(produces, mu_zone + fg_safety, 0.0)
    expected_end_stock = fg_level - np.where(produces, mu_zone, 0.0)

    k_node = layout.input_node
    static_split = np.where(layout.lane_role == 0, layout.lane_share, 0.0)
    protection, variance_days = protection_periods(layout, static_split, pairs=lane_pairs(layout))
    bom = layout.input_bom
    fixed = ~np.isnan(explicit[k_node])
    cover_safety = np.where(by_cover[k_node], cover[k_node] * mu[k_node], 0.0)
    level_fixed = np.where(fixed, bom * explicit[k_node],
                           bom * (expected_end_stock[k_node] + cover_safety))
    safety_unit = np.where(fixed | by_cover[k_node], 0.0, bom * z[k_node] * sigma[k_node])
    slope_unit = np.where(fixed, 0.0, bom)
    level_base = level_fixed + safety_unit * np.sqrt(variance_days)
    level_slope = slope_unit * protection
    order_up_to = level_base + level_slope * mu[k_node]
    gap = np.where(rule[k_node] == INVENTORY_RULES.index("s_S"),
                   bom * order_days[k_node] * mu[k_node], 0.0)

    # Steady state: each lane holds its mean flow (or its given starting flow) for each day of
    # lead time plus one day of orders on their way to the source.
    pipeline_and_orders = np.zeros(layout.n_inputs)
    np.add.at(pipeline_and_orders, layout.lane_input,
              layout.lane_initial_flow * (layout.lane_lead + 1))
    is_warehouse = ~produces
    warehouse_stock = np.zeros(n)
    warehouse_inputs = np.flatnonzero(is_warehouse[k_node])
    warehouse_stock[k_node[warehouse_inputs]] = (
        order_up_to[warehouse_inputs] - pipeline_and_orders[warehouse_inputs])
    stock = np.where(produces, expected_end_stock, warehouse_stock)
    stock = np.where(np.isnan(layout.initial_stock), stock, layout.initial_stock)
    stock = np.maximum(stock, 0.0)
    inputs = np.where(is_warehouse[k_node], 0.0,
                      order_up_to - pipeline_and_orders - bom * stock[k_node])
    return Levels(fg_level=fg_level, order_up_to=order_up_to, protection_days=protection,
                  variance_days=variance_days, level_base=level_base, level_slope=level_slope,
                  level_fixed=level_fixed, safety_unit=safety_unit, slope_unit=slope_unit,
                  order_gap=gap,
                  initial_stock=stock, initial_inputs=np.maximum(inputs, 0.0))


def lane_pairs(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (i, j) of lanes into the same input, grouped by i."""
    order = np.argsort(layout.lane_input, kind="stable")
    inputs = layout.lane_input[order]
    starts = np.searchsorted(inputs, inputs, side="left")
    ends = np.searchsorted(inputs, inputs, side="right")
    first = np.repeat(order, ends - starts)
    second = np.concatenate([order[a:b] for a, b in zip(starts, ends, strict=True)]) \
        if order.size else np.zeros(0, dtype=np.int64)
    by_first = np.argsort(first, kind="stable")
    return first[by_first], second[by_first]


def protection_periods(layout: Layout, split: np.ndarray,
                       pairs: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean and variance days of the protection of each input's position under a split.

    An order split in fixed fractions :math:`f_j` over lanes with protection periods
    :math:`L_j = 1 + \ell_j` leaves the demand of the day d days back outstanding with weight
    :math:`w(d) = \sum_j f_j [d < L_j]`. The position's protection then covers a mean of
    :math:`P = \sum_d w(d) = \sum_j f_j L_j` days of demand, with variance
    :math:`\sigma^2 \sum_d w(d)^2 = \sigma^2 V`, :math:`V = \sum_i \sum_j f_i f_j
    \min(L_i, L_j)` (i.i.d. daily demand). One lane: P = V = L. Two lanes, f = 0.5, L = 2 and 15:
    P = 8.5, V = 5.25 (not 8.5: the short lane's units are always the newest).

    Parameters
    ----------
    layout : Layout
        The network.
    split : ndarray, shape (lane, ...)
        Fraction of each input's order on each lane (0 off the split).
    pairs : tuple of ndarray
        :func:`lane_pairs` of the layout.

    Returns
    -------
    P, V : ndarray, shape (input, ...)
        Mean protection period and variance days [days].
    """
    periods = 1.0 + layout.lane_lead.astype(float)
    first, second = pairs
    shape = (layout.n_inputs, *split.shape[1:])
    mean = np.zeros(shape)
    np.add.at(mean, layout.lane_input, periods.reshape(-1, *[1] * (split.ndim - 1)) * split)
    weight = np.minimum(periods[first], periods[second]).reshape(-1, *[1] * (split.ndim - 1))
    variance = np.zeros(shape)
    np.add.at(variance, layout.lane_input[first], split[first] * split[second] * weight)
    return mean, variance


def _source_room(layout: Layout) -> np.ndarray:
    """(lane,): the daily capacity a lane's source can give that lane's buyer (input).

    A source's capacity is shared among the inputs it supplies in proportion to their nominal
    flows; inputs it supplies only over backup or expedite lanes share its spare capacity
    (capacity minus nominal outflow) equally. A source without nominal flow shares all of it.
    """
    source, buyer = layout.lane_source, layout.lane_input
    pairs: dict[tuple[int, int], float] = {}
    for s, k, flow in zip(source.tolist(), buyer.tolist(), layout.lane_mean_flow.tolist(),
                          strict=True):
        pairs[(s, k)] = pairs.get((s, k), 0.0) + flow
    flow_out = np.zeros(layout.n_nodes)
    standby = np.zeros(layout.n_nodes)
    for (s, _), flow in pairs.items():
        flow_out[s] += flow
        standby[s] += flow <= 0
    capacity = layout.capacity - layout.mean_zone_demand
    room = {}
    for (s, k), flow in pairs.items():
        if flow > 0:
            room[(s, k)] = capacity[s] * flow / flow_out[s] if math.isfinite(capacity[s]) \
                else math.inf
        else:
            spare = capacity[s] - flow_out[s]
            room[(s, k)] = max(0.0, spare) / standby[s]
    return np.array([room[(s, k)] for s, k in zip(source.tolist(), buyer.tolist(),
                                                  strict=True)], dtype=float)


def _warn_overloads(layout: Layout) -> None:
    for issue in nominal_overloads(layout):
        warnings.warn(str(issue), CapacityWarning, stacklevel=4)


def _forecast_settings(policy: Policy, layout: Layout) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    f = policy.forecast
    network = layout.network
    index = network.node_index
    n = layout.n_nodes
    method = np.zeros(n, dtype=np.int64)
    pos = np.zeros(n, dtype=bool)
    delay = np.full(n, int(f.info_delay_days), dtype=np.int64)
    orders = layout.input_count > 0
    for key in ("nodes", "vmi"):
        for node in getattr(f, key):
            if node not in index:
                raise fail("policy.forecast", key, node,
                            f"not a node of network {network.name!r}")
    if f.method != "none":
        chosen = np.zeros(n, dtype=bool)
        if f.nodes:
            chosen[[index[x] for x in f.nodes]] = True
        else:
            chosen[:] = True
        method[chosen & orders] = FORECAST_METHODS.index(f.method)
        pos[chosen & orders] = f.signal == "pos"
    for customer in f.vmi:
        c = index[customer]
        partners = [c, *(int(s) for s in layout.lane_source[layout.lane_target == c])]
        for node in partners:
            if orders[node]:
                method[node] = method[node] or FORECAST_METHODS.index("exp_smoothing")
                pos[node] = True
                delay[node] = 0
    return method, pos, delay


def _pos_weights(layout: Layout) -> np.ndarray:
    """(node, zone): units of a node's nominal outflow per unit of each zone's demand."""
    n, z = layout.n_nodes, layout.n_zones
    weights = np.zeros((n, z))
    weights[layout.zone_node, np.arange(z)] = 1.0
    network = layout.network
    lanes_into: list[list[int]] = [[] for _ in range(n)]
    for j, target in enumerate(layout.lane_target):
        if layout.lane_role[j] == 0:
            lanes_into[target].append(j)
    for node_id in reversed(network.topological_order):
        target = network.node_index[node_id]
        for j in lanes_into[target]:
            factor = layout.lane_share[j] * layout.input_bom[layout.lane_input[j]]
            weights[layout.lane_source[j]] += factor * weights[target]
    return weights


def _add_shared_warehouses(policy: Policy, network: Network) -> Network:
    if not policy.shared_warehouses:
        return network
    nodes, lanes = list(network.nodes), list(network.lanes)
    index = network.node_index
    for i, h in enumerate(policy.shared_warehouses):
        where = f"policy.shared_warehouses[{i}]"
        if h.id in index:
            raise fail(where, "id", h.id, "already a node of the network")
        for member in h.members:
            if member not in index:
                raise fail(where, "members", member, f"not a node of network {network.name!r}")
            if h.item not in dict(network.node(member).inputs):
                raise fail(where, "item", h.item, f"member {member!r} does not use this item")
        first = h.members[0]
        sources = [lane for lane in network.lanes if lane.target == first
                   and lane.role == "primary" and network.node(lane.source).item == h.item]
        nodes.append(Node(h.id, "warehouse", h.item, region=h.region, cluster=h.cluster,
                          unit_value=network.node(first).unit_value, initial_stock=h.units))
        for lane in sources:
            lanes.append(replace(lane, id=f"{lane.id}@{h.id}", target=h.id, origin=""))
        for member in h.members:
            lanes.append(Lane(f"{h.id}>{member}", h.id, member, carrier=f"{h.id}-fleet",
                              lead_time_days=h.lead_time_days, cost_per_unit=h.cost_per_unit,
                              share=1.0, role="backup"))
    return network.replace(nodes=tuple(nodes), lanes=tuple(lanes))
