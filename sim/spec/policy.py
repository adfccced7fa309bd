r"""Resilience policies: how much each node keeps, where it orders, what it does when hit.

A :class:`Policy` bundles the measures of the guide as plain dataclasses;
:func:`sim.compile.plan.plan_policy` resolves it on a network into a ``PolicyPlan`` of arrays
that both engines apply the same way. Symbols per node n: :math:`\mu_n, \sigma_n` mean and sd of
its daily outflow, :math:`\mu^z_n` its own zones' mean demand; per input k of n: :math:`b_k` units
per unit of output, the mean protection period :math:`P_k = \sum_j s_j L_j` and the variance days
:math:`V_k = \sum_{i,j} s_i s_j \min(L_i, L_j)` over its lanes' shares s and protection periods
:math:`L_j = 1 + \ell_j` (:func:`sim.compile.plan.protection_periods`).

Inventory rules (:class:`InventoryPolicy`, settable per node kind, tier and node):

* ``base_stock``: safety stock :math:`z\sigma_n\sqrt{V_k}` with z the ``safety_factor`` or
  :math:`\Phi^{-1}` of a target ``service_level``;
* ``days_of_cover``: safety stock ``cover_days`` x :math:`\mu_n`;
* ``s_S``: order only when the position falls to the reorder point s (the base-stock level),
  then up to S = s + ``order_days`` x :math:`\mu_n` (fewer, larger orders).

Each input is ordered up to :math:`S_k(t) = b_k(E_n + P_k m_n(t) + \text{safety})` on the
position :math:`IP_k = \text{input stock} + \text{in transit} + \text{on order} +
b_k(\text{stock}_n - \text{owed}_n - \text{backorders}_n)`, where :math:`m_n(t) = \mu_n` unless
a forecast is on (:class:`ForecastPolicy`), and producers make up to
:math:`F_n + \text{owed} + \text{backorders}` with :math:`F_n = \mu^z_n + \text{safety}`,
:math:`E_n = F_n - \mu^z_n`. Every node starts in the steady state of these rules.

The other measures and where their mechanics live are listed in docs/policies.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from sim.spec import policy_rules as rules
from sim.spec.checks import fail, is_number, number
from sim.spec.errors import ConfigError
from sim.spec.network import NODE_KINDS
from sim.spec.serialize import field_issues, plain

if TYPE_CHECKING:
    from sim.spec.network import Node

__all__ = [
    "BackupPolicy",
    "BaseStockPolicy",
    "EarlyWarning",
    "ExpeditePolicy",
    "ForecastPolicy",
    "GreenPolicy",
    "InventoryPolicy",
    "Policy",
    "PoolingPolicy",
    "Reserve",
    "SharedWarehouse",
    "SourcingPolicy",
    "policy_from_mapping",
]

INVENTORY_RULES = ("base_stock", "days_of_cover", "s_S")
NEVER = 2**40  # activation lag of backup lanes that are not to be used
RULE_KEYS = ("rule", "safety_factor", "service_level", "cover_days", "order_days",
             "order_up_to")








# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------
def _check_rule(where: str, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in RULE_KEYS:
            raise fail(where, key, value, f"unknown setting; expected one of "
                        f"{', '.join(RULE_KEYS)}")
        if value is None:
            continue
        if key == "rule":
            if value not in INVENTORY_RULES:
                raise fail(where, key, value, f"must be one of {', '.join(INVENTORY_RULES)}")
            out[key] = value
        elif key == "service_level":
            out[key] = number(where, key, value, minimum=0.5, maximum=0.99999)
        elif key == "safety_factor":
            out[key] = number(where, key, value)
        else:
            out[key] = number(where, key, value, minimum=0)
    return out


@dataclass(frozen=True)
class InventoryPolicy:
    """How much stock each node keeps: the rule and its parameters, by node class.

    Parameters
    ----------
    rule : {"base_stock", "days_of_cover", "s_S"}
        The replenishment rule (see the module docstring).
    safety_factor : float
        z, safety stock in standard deviations of demand over the protection period.
    service_level : float, optional
        Target cycle service level in [0.5, 1); sets z = Phi^-1(service_level) when given.
    cover_days : float
        Safety stock in days of mean demand (``days_of_cover``) [days].
    order_days : float
        Order quantity of ``s_S`` in days of mean demand [days].
    by_kind, by_tier, by_node : mappings
        Settings (any of the above, and ``order_up_to``: an explicit level in units of output)
        for node kinds, tiers and single nodes; later ones override earlier ones.
    """

    rule: str = "base_stock"
    safety_factor: float = 1.65
    service_level: float | None = None
    cover_days: float = 0.0
    order_days: float = 0.0
    by_kind: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    by_tier: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    by_node: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = "policy.inventory"
        _check_rule(where, {k: getattr(self, k) for k in RULE_KEYS if k != "order_up_to"})
        for key in ("by_kind", "by_tier", "by_node"):
            mapping = getattr(self, key)
            if not isinstance(mapping, Mapping):
                raise fail(where, key, mapping, "must map names to settings")
            cleaned = {}
            for name, settings in mapping.items():
                if key == "by_kind" and name not in NODE_KINDS:
                    raise fail(where, f"{key}.{name}", name,
                                f"must be one of {', '.join(NODE_KINDS)}")
                if not isinstance(settings, Mapping):
                    raise fail(where, f"{key}.{name}", settings, "must be a mapping of settings")
                cleaned[int(name) if key == "by_tier" else str(name)] = _check_rule(
                    f"{where}.{key}.{name}", settings)
            object.__setattr__(self, key, cleaned)

    def settings(self, node: Node, tier: int) -> dict[str, Any]:
        """The settings that apply to one node."""
        out = {k: getattr(self, k) for k in RULE_KEYS if k != "order_up_to"}
        for layer in (self.by_kind.get(node.kind), self.by_tier.get(tier),
                      self.by_node.get(node.id)):
            if layer:
                out.update(layer)
                if "service_level" not in layer and "safety_factor" in layer:
                    out["service_level"] = None
        return out


@dataclass(frozen=True)
class BackupPolicy:
    """Terms of backup suppliers (lanes of role ``backup`` from another source).

    Parameters
    ----------
    activation_lag_days : int
        Days from detecting a shortfall of the primary sources to the backup delivering orders.
    premium_per_unit : float
        Extra cost per unit shipped over a backup lane, on top of its freight [money/unit].
    reservation_fee_per_day : float
        Fee per contracted backup-supplier lane per day, paid whether used or not, while the
        policy can activate it (dynamic sourcing with backups on) [money/day].
    activation_fee : float
        One-off fee each time a backup lane is activated [money].
    lanes : sequence of str or None
        The backup-supplier lanes under contract (lane ids); ``None`` (default): every one, an
        empty list: none. A backup lane from another source that is not listed never activates
        and costs no fee. (Alternate routes from the same source and shared-warehouse lanes are
        not contracts with a supplier: they are always available.)
    capacity_per_day : mapping of str to float
        Capacity reserved on a backup lane, by lane id [units/day]: it replaces the lane's own
        capacity (a smaller contract than the lane could carry, or a larger one).
    fee_per_unit_capacity : float
        Fee per day for each unit/day of capacity reserved on a contracted backup lane
        [money/day per unit/day]; a lane with unlimited capacity must then have its capacity
        set in ``capacity_per_day``.
    public_share : float
        Share of the reservation fees paid from a public budget (subsidised backup capacity)
        [0-1]; it counts in ``public_cost_total``, and in the firms' costs as before (the total
        cost is the whole system's).
    """

    activation_lag_days: int = 3
    premium_per_unit: float = 0.0
    reservation_fee_per_day: float = 0.0
    activation_fee: float = 0.0
    lanes: tuple[str, ...] | None = None
    capacity_per_day: Mapping[str, float] = field(default_factory=dict)
    fee_per_unit_capacity: float = 0.0
    public_share: float = 0.0

    def __post_init__(self) -> None:
        CHECKS[type(self)](self)


@dataclass(frozen=True)
class SourcingPolicy:
    """Where orders go: fixed shares, or dynamic reallocation with backups and alternates.

    Parameters
    ----------
    dynamic : bool
        Reallocate each input's orders to the sources and lanes known to be working (in
        proportion to share x remaining capacity). Off: orders follow the fixed shares, also to
        a source that is down.
    backups : bool
        With dynamic sourcing, activate backup lanes for what the working primaries cannot
        cover (backup suppliers, alternate routes, shared warehouses).
    detection_delay_days : int
        Days before a node learns that a source or lane is down (or back) [days].
    stretch_tolerance : float
        A lane whose lead time is known to be stretched beyond this factor counts as unavailable.
    backup : BackupPolicy
        Terms of backup suppliers.
    switch_over_days : int
        Days to switch to an alternate lane (a backup lane from the same source: another route,
        mode or carrier) [days].
    switch_cost : float
        One-off cost of each switch-over [money].
    max_region_share : float, optional
        Regional diversification: no more than this share of any input from one region (static
        shares are rebalanced to lanes from other regions where there are any).
    prefer_green : float
        Green procurement: for inputs with a choice of sources, move this fraction of the share
        of the other sources to the one(s) whose supply path has the lowest cradle-to-gate
        footprint at this node's gate (the source's own footprint along its split plus the
        lane's transport; :func:`path_footprints`) [0-1]. The :attr:`Node.green` flag is a
        label (the ``green_supply_share`` KPI); the ranking comes from the emissions data.
    single_source : bool
        Single sourcing: each input from its largest primary lane, as far as that source's and
        lane's capacity carry the nominal flow; the rest spills to the next lanes.
    reroute_after_days : int or None
        With dynamic sourcing: a lane whose source owes orders but has shipped nothing on it for
        this many days in a row is treated as short (a source starved upstream, or down without
        notice), like a source known to be down: its owed orders are cancelled and re-placed on
        lanes that work, at ``switch_cost`` per lane and re-placement [days]. ``None``: never.
    """

    dynamic: bool = False
    backups: bool = True
    detection_delay_days: int = 1
    stretch_tolerance: float = 1.5
    backup: BackupPolicy = field(default_factory=BackupPolicy)
    switch_over_days: int = 1
    switch_cost: float = 0.0
    max_region_share: float | None = None
    prefer_green: float = 0.0
    single_source: bool = False
    reroute_after_days: int | None = 3

    def __post_init__(self) -> None:
        CHECKS[type(self)](self)


@dataclass(frozen=True)
class ForecastPolicy:
    """Information sharing: what the order-up-to level is based on (the guide's measure 2).

    Parameters
    ----------
    method : {"none", "moving_average", "exp_smoothing"}
        ``none`` keeps levels at the nominal mean demand; the others forecast daily.
    window_days : int
        Moving-average window p [days].
    alpha : float
        Exponential-smoothing weight of the newest observation, in (0, 1].
    signal : {"orders", "pos"}
        ``orders``: a node forecasts on the demand it sees (its zones plus the orders it
        receives); ``pos``: on end-customer demand (point of sale) reaching it, shared along the
        chain, so upstream forecasts do not amplify downstream ordering.
    info_delay_days : int
        Age of the shared point-of-sale data [days] (digital maturity: shorter is better).
    nodes : sequence of str
        Nodes that forecast; empty means every node that orders.
    vmi : sequence of str
        Vendor-managed inventory: these customers and their direct suppliers forecast on the
        customers' point-of-sale demand with no delay, whatever ``signal`` says.
    """

    method: str = "none"
    window_days: int = 7
    alpha: float = 0.3
    signal: str = "orders"
    info_delay_days: int = 0
    nodes: tuple[str, ...] = ()
    vmi: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        CHECKS[type(self)](self)


@dataclass(frozen=True)
class ExpeditePolicy:
    """Expediting: send the urgent part of an order over ``expedite`` lanes (faster, dearer).

    An order is urgent when the node's net stock (on hand, minus what it owes downstream and to
    backordered customers) will not cover its demand forecast until an expedited shipment could
    arrive (``cover_days``); the gap, in input units, goes over the expedite lanes, up to their
    spare capacity (daily capacity minus what is already owed on them).

    Parameters
    ----------
    enabled : bool
        Use expedite lanes.
    premium_per_unit : float
        Extra cost per expedited unit, on top of the lane's freight [money/unit].
    cover_days : float, optional
        Days of demand the net stock must cover; by default one day more than the longest
        expedite lane of the input.
    """

    enabled: bool = False
    premium_per_unit: float = 0.0
    cover_days: float | None = None

    def __post_init__(self) -> None:
        CHECKS[type(self)](self)


@dataclass(frozen=True)
class PoolingPolicy:
    """Inventory pooling: lateral transshipment between nodes of a group, the same day.

    After serving their own customers, members with stock to spare pass it to members with
    unmet demand, in proportion to what each can spare and needs (measure 3).

    Parameters
    ----------
    groups : sequence of sequences of str
        Groups of nodes that pool (typically warehouses of one region or owner).
    cost_per_unit : float
        Cost of moving one unit between members [money/unit].
    """

    groups: tuple[tuple[str, ...], ...] = ()
    cost_per_unit: float = 0.0

    def __post_init__(self) -> None:
        CHECKS[type(self)](self)


@dataclass(frozen=True)
class Reserve:
    """An emergency reserve: stock held aside at a node, released when service falls.

    Parameters
    ----------
    node : str
        Where the reserve is held (a node serving end customers).
    units : float
        Reserve stock at the start [units].
    threshold : float
        Release when the node's service level (share of demand served on arrival) the day
        before was below this [0-1].
    release_per_day : float
        Units released per day at most [units/day].
    holding_cost_rate : float
        Holding cost of the unreleased reserve, as a fraction of unit value per year.
    release_cost_per_unit : float
        Cost per unit released [money/unit].
    public_share : float
        Share of the reserve's holding and release costs paid from a public budget (a
        government reserve: 1, the default; a firm's own buffer: 0) [0-1].
    """

    node: str
    units: float
    threshold: float = 0.9
    release_per_day: float = math.inf
    holding_cost_rate: float = 0.1
    release_cost_per_unit: float = 0.0
    public_share: float = 1.0

    def __post_init__(self) -> None:
        CHECKS[type(self)](self)


@dataclass(frozen=True)
class EarlyWarning:
    """Advance notice of disruptions (digital maturity, measures 8-10 and 18).

    Nodes learn of a disruption ``notice_days`` before it starts (its end as usual, after the
    detection delay), so that dynamic sourcing and backups switch ahead of the shock.

    Parameters
    ----------
    notice_days : int
        Days of notice [days].
    kinds : sequence of str
        Disruption kinds covered (``node_outage``, ``regional_event``, ...); empty means all.
    fee_per_notice_day : float
        What the notice costs each node that receives it (every node with a supplier lane),
        per day and per day of notice (a monitoring service whose price grows with how far
        ahead it sees) [money/day per day of notice].
    public_share : float
        Share of that fee paid from a public budget (a public early-warning platform) [0-1].
    """

    notice_days: int = 0
    kinds: tuple[str, ...] = ()
    fee_per_notice_day: float = 0.0
    public_share: float = 0.0

    def __post_init__(self) -> None:
        CHECKS[type(self)](self)


@dataclass(frozen=True)
class GreenPolicy:
    """Low-emission choices (measures 11-12).

    Parameters
    ----------
    prefer_low_emission : float
        Move this fraction of each input's share to the lane(s) whose units arrive with the
        lowest cradle-to-gate footprint (source path plus transport, not transport alone) [0-1].
    mode_co2e_kg_per_unit_km : mapping of str to float
        Emission factors by transport mode (cleaner vehicles), replacing the lanes' own.
    mode_premium_per_unit : mapping of str to float
        What the cleaner vehicles cost on top of the lane's freight, per unit shipped, by mode
        [money/unit] (a premium cost of the measure).
    """

    prefer_low_emission: float = 0.0
    mode_co2e_kg_per_unit_km: Mapping[str, float] = field(default_factory=dict)
    mode_premium_per_unit: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        CHECKS[type(self)](self)


@dataclass(frozen=True)
class SharedWarehouse:
    """A shared cluster warehouse: stock of one item kept for the members, as their backup.

    The warehouse is added to the network: it orders from the sources of its first member and
    keeps ``units`` on hand; each member gets a backup lane from it, activated like any backup.

    Parameters
    ----------
    id : str
        Node id of the warehouse.
    members : sequence of str
        Nodes it backs up (they must use the item).
    item : str
        The item stocked.
    units : float
        Stock level it orders up to [units].
    lead_time_days : int
        Lead time of its lanes to the members [days].
    cost_per_unit : float
        Freight per unit to a member [money/unit].
    fee_per_day : float
        Running cost (public or cluster budget) [money/day].
    region, cluster : str
        Where it is.
    public_share : float
        Share of everything the warehouse costs (its fee, the holding of its stock, the freight
        of its replenishment) paid from a public budget [0-1].
    """

    id: str
    members: tuple[str, ...]
    item: str
    units: float
    lead_time_days: int = 1
    cost_per_unit: float = 0.0
    fee_per_day: float = 0.0
    region: str = "default"
    cluster: str = ""
    public_share: float = 1.0

    def __post_init__(self) -> None:
        CHECKS[type(self)](self)


@dataclass(frozen=True)
class Policy:
    """All the measures a strategy takes; each part defaults to "not used".

    Parameters
    ----------
    inventory, sourcing, forecast, expedite, pooling, early_warning, green :
        The parts (see each class).
    reserves : sequence of Reserve
        Emergency reserves.
    shared_warehouses : sequence of SharedWarehouse
        Shared cluster warehouses.
    name : str
        Label in results and comparisons.
    """

    inventory: InventoryPolicy = field(default_factory=InventoryPolicy)
    sourcing: SourcingPolicy = field(default_factory=SourcingPolicy)
    forecast: ForecastPolicy = field(default_factory=ForecastPolicy)
    expedite: ExpeditePolicy = field(default_factory=ExpeditePolicy)
    pooling: PoolingPolicy = field(default_factory=PoolingPolicy)
    reserves: tuple[Reserve, ...] = ()
    early_warning: EarlyWarning = field(default_factory=EarlyWarning)
    green: GreenPolicy = field(default_factory=GreenPolicy)
    shared_warehouses: tuple[SharedWarehouse, ...] = ()
    name: str = "base_stock"

    def __post_init__(self) -> None:
        _validate_parts(self)

    @property
    def dynamic_sourcing(self) -> bool:
        """Whether orders follow what is known to work (needed by backups and warnings)."""
        return bool(self.sourcing.dynamic or self.early_warning.notice_days > 0
                    or self.shared_warehouses)

    def to_mapping(self) -> dict[str, Any]:
        """Plain-dict form (as in the Hydra ``policy`` group); defaults left out."""
        return _to_plain(self)



def BaseStockPolicy(safety_factor: float = 1.65,
                    safety_factor_by_node: Mapping[str, float] | None = None,
                    order_up_to_by_node: Mapping[str, float] | None = None) -> Policy:
    """A policy with base-stock inventory and nothing else (the default strategy).

    Parameters
    ----------
    safety_factor : float
        z for every node.
    safety_factor_by_node : mapping, optional
        z for named nodes.
    order_up_to_by_node : mapping, optional
        Explicit order-up-to levels for named nodes, in units of their output.
    """
    by_node: dict[str, dict[str, Any]] = {}
    for node, value in (safety_factor_by_node or {}).items():
        by_node.setdefault(node, {})["safety_factor"] = value
    for node, value in (order_up_to_by_node or {}).items():
        by_node.setdefault(node, {})["order_up_to"] = value
    return Policy(inventory=InventoryPolicy(safety_factor=safety_factor, by_node=by_node))


# --------------------------------------------------------------------------------------------
# Validation and mapping forms
# --------------------------------------------------------------------------------------------
def _validate_parts(policy: Policy) -> None:
    """Check that each part of a policy is of its class (each part checked its own values)."""
    for name, cls in PART_CLASSES.items():
        value = getattr(policy, name)
        values = value if name in ("reserves", "shared_warehouses") else (value,)
        if not isinstance(values, tuple):
            raise fail("policy", name, value, f"must be a tuple of {cls.__name__}")
        for part in values:
            if not isinstance(part, cls):
                raise fail("policy", name, part, f"must be a {cls.__name__} (policy_from_mapping "
                            "builds one from its mapping form)")


def _check_sourcing(s: SourcingPolicy) -> None:
    rules.check_sourcing(s)
    if not isinstance(s.backup, BackupPolicy):
        raise fail("policy.sourcing", "backup", s.backup,
                   "must be a BackupPolicy (or its mapping form)")


PART_CLASSES: dict[str, type] = {
    "inventory": InventoryPolicy, "sourcing": SourcingPolicy, "forecast": ForecastPolicy,
    "expedite": ExpeditePolicy, "pooling": PoolingPolicy, "early_warning": EarlyWarning,
    "green": GreenPolicy, "reserves": Reserve, "shared_warehouses": SharedWarehouse,
}
CHECKS: dict[type, Callable[[Any], None]] = {
    SourcingPolicy: _check_sourcing, BackupPolicy: rules.check_backup,
    ForecastPolicy: rules.check_forecast, ExpeditePolicy: rules.check_expedite,
    PoolingPolicy: rules.check_pooling, EarlyWarning: rules.check_early_warning,
    GreenPolicy: rules.check_green, Reserve: rules.check_reserve,
    SharedWarehouse: rules.check_shared_warehouse,
}
"""Each policy part's own rules: run by its ``__post_init__`` (the part validates itself)."""


PARTS = {"inventory": InventoryPolicy, "sourcing": SourcingPolicy, "forecast": ForecastPolicy,
         "expedite": ExpeditePolicy, "pooling": PoolingPolicy, "early_warning": EarlyWarning,
         "green": GreenPolicy}
LEGACY_KEYS = {"safety_factor", "safety_factor_by_node", "order_up_to_by_node"}


def _build(cls: type, data: Any, where: str) -> Any:
    if isinstance(data, cls):
        return data
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        raise fail(where, "", data, "must be a mapping of settings")
    unknown = [i for i in field_issues(cls, data, where, cls.__name__)
               if i.key in data]  # required settings are reported by the constructor below
    if unknown:
        raise ConfigError(unknown[0])
    values = {}
    for key, value in data.items():
        if cls is SourcingPolicy and key == "backup":
            value = _build(BackupPolicy, value, f"{where}.backup")
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        values[key] = value
    try:
        return cls(**values)
    except TypeError as error:
        raise fail(where, "", data, f"missing required setting ({error})") from None


def policy_from_mapping(data: Mapping[str, Any], *, where: str = "policy") -> Policy:
    """Build a policy from its mapping form (the Hydra ``policy`` group).

    The shorthand of earlier versions (``kind: base_stock``, ``safety_factor``,
    ``safety_factor_by_node``, ``order_up_to_by_node`` at the top level) is accepted.
    """
    data = dict(data)
    kind = data.pop("kind", "base_stock")
    if kind != "base_stock":
        raise fail(where, "kind", kind, "must be base_stock (other measures go in their "
                    "sections: inventory, sourcing, forecast, ...)")
    legacy = {k: data.pop(k) for k in list(data) if k in LEGACY_KEYS}
    allowed = {*PARTS, "reserves", "shared_warehouses", "name"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise fail(where, unknown[0], data[unknown[0]],
                    f"unknown field of the policy; expected one of "
                    f"{', '.join(sorted(allowed | LEGACY_KEYS))}")
    parts = {name: _build(cls, data.get(name), f"{where}.{name}") for name, cls in PARTS.items()}
    if legacy:
        inventory = dict(_to_plain(parts["inventory"]))
        if "safety_factor" in legacy:
            if not is_number(legacy["safety_factor"]):
                raise fail(where, "safety_factor", legacy["safety_factor"],
                            "must be a finite number")
            inventory["safety_factor"] = legacy["safety_factor"]
        by_node = {k: dict(v) for k, v in inventory.get("by_node", {}).items()}
        for key, setting in (("safety_factor_by_node", "safety_factor"),
                             ("order_up_to_by_node", "order_up_to")):
            for node, value in (legacy.get(key) or {}).items():
                by_node.setdefault(node, {})[setting] = value
        inventory["by_node"] = by_node
        parts["inventory"] = _build(InventoryPolicy, inventory, f"{where}.inventory")
    reserves = tuple(_build(Reserve, r, f"{where}.reserves[{i}]")
                     for i, r in enumerate(data.get("reserves") or ()))
    shared = tuple(_build(SharedWarehouse, h, f"{where}.shared_warehouses[{i}]")
                   for i, h in enumerate(data.get("shared_warehouses") or ()))
    return Policy(**parts, reserves=reserves, shared_warehouses=shared,
                  name=str(data.get("name", "base_stock")))


def _to_plain(value: Any) -> Any:
    """The mapping form (:func:`sim.spec.serialize.plain`): a policy lists the parts it sets.

    Reserves and shared warehouses say every field (each is a thing one builds, read whole).
    """
    if isinstance(value, Policy):
        parts = {f.name: _to_plain(getattr(value, f.name)) for f in fields(value)}
        return {name: part for name, part in parts.items() if part not in ({}, [])}
    if isinstance(value, Reserve | SharedWarehouse):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_to_plain(v) for v in value]
    return plain(value)


