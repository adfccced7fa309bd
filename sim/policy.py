r"""Resilience policies: how much each node keeps, where it orders, what it does when hit.

A :class:`Policy` bundles the measures of the guide as plain dataclasses; :meth:`Policy.plan`
resolves it on a network into a :class:`PolicyPlan` of arrays that both engines apply the same
way. Symbols per node n: :math:`\mu_n, \sigma_n` mean and sd of its daily outflow,
:math:`\mu^z_n` its own zones' mean demand; per input k of n: :math:`b_k` units per unit of output,
the mean protection period :math:`P_k = \sum_j s_j L_j` and the variance days
:math:`V_k = \sum_{i,j} s_i s_j \min(L_i, L_j)` over its lanes' shares s and protection periods
:math:`L_j = 1 + \ell_j` (:func:`protection_periods`).

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

The other measures and where their mechanics live are listed in the README's policy table.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from numbers import Real
from typing import Any

import numpy as np

from sim.errors import CapacityWarning, ConfigError, Issue
from sim.layout import KIND_CODES, Layout, nominal_overloads
from sim.network import MAX_LEAD_TIME_DAYS, Lane, Network, Node

__all__ = [
    "BackupPolicy",
    "BaseStockPolicy",
    "EarlyWarning",
    "ExpeditePolicy",
    "ForecastPolicy",
    "GreenPolicy",
    "InventoryPolicy",
    "Levels",
    "Policy",
    "PolicyPlan",
    "PoolingPolicy",
    "Reserve",
    "SharedWarehouse",
    "SourcingPolicy",
    "as_policy",
    "green_label_conflicts",
    "path_footprints",
    "policy_from_mapping",
]

INVENTORY_RULES = ("base_stock", "days_of_cover", "s_S")
SHORT_TOLERANCE = 1e-9  # units: an order beyond its primaries' room by more than this is short
STALL_TOLERANCE = 1e-9  # units: a lane owing or shipping no more than this owes or ships nothing
NEVER = 2**40  # activation lag of backup lanes that are not to be used
FORECAST_METHODS = ("none", "moving_average", "exp_smoothing")
FORECAST_SIGNALS = ("orders", "pos")
RULE_KEYS = ("rule", "safety_factor", "service_level", "cover_days", "order_days",
             "order_up_to")


def _finite(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _fail(where: str, key: str, value: Any, rule: str) -> ConfigError:
    return ConfigError(Issue(where, key, value, rule))


def _number(where: str, key: str, value: Any, *, minimum: float | None = None,
            maximum: float | None = None, whole: bool = False) -> float:
    if not _finite(value) or (whole and not float(value).is_integer()):
        raise _fail(where, key, value, "must be a whole number" if whole else "must be a number")
    if minimum is not None and value < minimum:
        raise _fail(where, key, value, f"must be >= {minimum:g}")
    if maximum is not None and value > maximum:
        raise _fail(where, key, value, f"must be <= {maximum:g}")
    return float(value)


# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------
def _check_rule(where: str, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in RULE_KEYS:
            raise _fail(where, key, value, f"unknown setting; expected one of "
                        f"{', '.join(RULE_KEYS)}")
        if value is None:
            continue
        if key == "rule":
            if value not in INVENTORY_RULES:
                raise _fail(where, key, value, f"must be one of {', '.join(INVENTORY_RULES)}")
            out[key] = value
        elif key == "service_level":
            out[key] = _number(where, key, value, minimum=0.5, maximum=0.99999)
        elif key == "safety_factor":
            out[key] = _number(where, key, value)
        else:
            out[key] = _number(where, key, value, minimum=0)
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
                raise _fail(where, key, mapping, "must map names to settings")
            cleaned = {}
            for name, settings in mapping.items():
                if key == "by_kind" and name not in KIND_CODES:
                    raise _fail(where, f"{key}.{name}", name,
                                f"must be one of {', '.join(KIND_CODES)}")
                if not isinstance(settings, Mapping):
                    raise _fail(where, f"{key}.{name}", settings, "must be a mapping of settings")
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
        Fee per backup lane per day, paid whether used or not [money/day].
    activation_fee : float
        One-off fee each time a backup lane is activated [money].
    """

    activation_lag_days: int = 3
    premium_per_unit: float = 0.0
    reservation_fee_per_day: float = 0.0
    activation_fee: float = 0.0

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
    """

    node: str
    units: float
    threshold: float = 0.9
    release_per_day: float = math.inf
    holding_cost_rate: float = 0.1
    release_cost_per_unit: float = 0.0

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
    """

    notice_days: int = 0
    kinds: tuple[str, ...] = ()

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

    def levels(self, layout: Layout) -> Levels:
        """Inventory levels and starting state on a network (see :meth:`plan`)."""
        return self.plan(layout.network).levels

    def plan(self, network: Network) -> PolicyPlan:
        """Resolve the policy on a network into the arrays the engines apply.

        Raises
        ------
        ConfigError
            When a setting names a node, lane or item the network does not have.
        """
        return _plan(self, network)


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
            raise _fail("policy", name, value, f"must be a tuple of {cls.__name__}")
        for part in values:
            if not isinstance(part, cls):
                raise _fail("policy", name, part, f"must be a {cls.__name__} (policy_from_mapping "
                            "builds one from its mapping form)")


def _check_sourcing(s: SourcingPolicy) -> None:
    where = "policy.sourcing"
    _number(where, "detection_delay_days", s.detection_delay_days, minimum=0, whole=True)
    _number(where, "stretch_tolerance", s.stretch_tolerance, minimum=1)
    _number(where, "switch_over_days", s.switch_over_days, minimum=0, whole=True)
    _number(where, "switch_cost", s.switch_cost, minimum=0)
    _number(where, "prefer_green", s.prefer_green, minimum=0, maximum=1)
    if s.reroute_after_days is not None:
        _number(where, "reroute_after_days", s.reroute_after_days, minimum=1, whole=True)
    if s.max_region_share is not None:
        _number(where, "max_region_share", s.max_region_share, minimum=0.01, maximum=1)
    if not isinstance(s.backup, BackupPolicy):
        raise _fail(where, "backup", s.backup, "must be a BackupPolicy (or its mapping form)")


def _check_backup(b: BackupPolicy) -> None:
    where = "policy.sourcing.backup"
    _number(where, "activation_lag_days", b.activation_lag_days, minimum=0, whole=True)
    for key in ("premium_per_unit", "reservation_fee_per_day", "activation_fee"):
        _number(where, key, getattr(b, key), minimum=0)


def _check_forecast(f: ForecastPolicy) -> None:
    where = "policy.forecast"
    if f.method not in FORECAST_METHODS:
        raise _fail(where, "method", f.method, f"must be one of {', '.join(FORECAST_METHODS)}")
    if f.signal not in FORECAST_SIGNALS:
        raise _fail(where, "signal", f.signal, f"must be one of {', '.join(FORECAST_SIGNALS)}")
    # the engines keep the window's history: bounded like a lead time (ten years)
    _number(where, "window_days", f.window_days, minimum=1, maximum=MAX_LEAD_TIME_DAYS,
            whole=True)
    _number(where, "alpha", f.alpha, minimum=1e-9, maximum=1)
    _number(where, "info_delay_days", f.info_delay_days, minimum=0, whole=True)


def _check_expedite(e: ExpeditePolicy) -> None:
    _number("policy.expedite", "premium_per_unit", e.premium_per_unit, minimum=0)
    if e.cover_days is not None:
        _number("policy.expedite", "cover_days", e.cover_days, minimum=0)


def _check_pooling(p: PoolingPolicy) -> None:
    _number("policy.pooling", "cost_per_unit", p.cost_per_unit, minimum=0)


def _check_early_warning(w: EarlyWarning) -> None:
    _number("policy.early_warning", "notice_days", w.notice_days, minimum=0, whole=True)


def _check_green(g: GreenPolicy) -> None:
    where = "policy.green"
    _number(where, "prefer_low_emission", g.prefer_low_emission, minimum=0, maximum=1)
    for key in ("mode_co2e_kg_per_unit_km", "mode_premium_per_unit"):
        values = getattr(g, key)
        if not isinstance(values, Mapping):
            raise _fail(where, key, values, "must be a mapping of mode to number")
        for mode, value in values.items():
            _number(where, f"{key}.{mode}", value, minimum=0)


def _check_reserve(r: Reserve) -> None:
    where = "policy.reserves"
    _number(where, "units", r.units, minimum=0)
    _number(where, "threshold", r.threshold, minimum=0, maximum=1)
    if not (isinstance(r.release_per_day, Real) and r.release_per_day > 0):
        raise _fail(where, "release_per_day", r.release_per_day, "must be > 0")
    _number(where, "holding_cost_rate", r.holding_cost_rate, minimum=0)
    _number(where, "release_cost_per_unit", r.release_cost_per_unit, minimum=0)


def _check_shared_warehouse(h: SharedWarehouse) -> None:
    where = "policy.shared_warehouses"
    if not h.members:
        raise _fail(where, "members", h.members, "list at least one member node")
    _number(where, "units", h.units, minimum=0)
    _number(where, "lead_time_days", h.lead_time_days, minimum=1, whole=True)
    _number(where, "cost_per_unit", h.cost_per_unit, minimum=0)
    _number(where, "fee_per_day", h.fee_per_day, minimum=0)


PART_CLASSES: dict[str, type] = {
    "inventory": InventoryPolicy, "sourcing": SourcingPolicy, "forecast": ForecastPolicy,
    "expedite": ExpeditePolicy, "pooling": PoolingPolicy, "early_warning": EarlyWarning,
    "green": GreenPolicy, "reserves": Reserve, "shared_warehouses": SharedWarehouse,
}
CHECKS: dict[type, Callable[[Any], None]] = {
    SourcingPolicy: _check_sourcing, BackupPolicy: _check_backup,
    ForecastPolicy: _check_forecast, ExpeditePolicy: _check_expedite,
    PoolingPolicy: _check_pooling, EarlyWarning: _check_early_warning,
    GreenPolicy: _check_green, Reserve: _check_reserve,
    SharedWarehouse: _check_shared_warehouse,
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
        raise _fail(where, "", data, "must be a mapping of settings")
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(where, unknown[0], data[unknown[0]],
                    f"unknown setting; expected one of {', '.join(sorted(allowed))}")
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
        raise _fail(where, "", data, f"missing required setting ({error})") from None


def policy_from_mapping(data: Mapping[str, Any], *, where: str = "policy") -> Policy:
    """Build a policy from its mapping form (the Hydra ``policy`` group).

    The shorthand of earlier versions (``kind: base_stock``, ``safety_factor``,
    ``safety_factor_by_node``, ``order_up_to_by_node`` at the top level) is accepted.
    """
    data = dict(data)
    kind = data.pop("kind", "base_stock")
    if kind != "base_stock":
        raise _fail(where, "kind", kind, "must be base_stock (other measures go in their "
                    "sections: inventory, sourcing, forecast, ...)")
    legacy = {k: data.pop(k) for k in list(data) if k in LEGACY_KEYS}
    allowed = {*PARTS, "reserves", "shared_warehouses", "name"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(where, unknown[0], data[unknown[0]],
                    f"unknown field of the policy; expected one of "
                    f"{', '.join(sorted(allowed | LEGACY_KEYS))}")
    parts = {name: _build(cls, data.get(name), f"{where}.{name}") for name, cls in PARTS.items()}
    if legacy:
        inventory = dict(_to_plain(parts["inventory"]))
        if "safety_factor" in legacy:
            if not _finite(legacy["safety_factor"]):
                raise _fail(where, "safety_factor", legacy["safety_factor"],
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
    if hasattr(value, "__dataclass_fields__"):
        out = {}
        for f in fields(value):
            item = getattr(value, f.name)
            default = f.default if f.default_factory is MISSING else f.default_factory()
            if isinstance(value, Policy | Reserve | SharedWarehouse) or item != default:
                plain = _to_plain(item)
                if plain not in ({}, []) or not isinstance(value, Policy):
                    out[f.name] = plain
        return out
    if isinstance(value, Mapping):
        return {(str(k) if not isinstance(k, int) else k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_to_plain(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, np.generic):
        return value.item()
    return value


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
    fee_per_day: np.ndarray  # (node,): fixed fees (reservations, shared warehouses)

    @property
    def uses_reserves(self) -> bool:
        """Whether any node holds an emergency reserve."""
        return bool((self.reserve_units > 0).any())

    @property
    def uses_pooling(self) -> bool:
        """Whether any node pools stock."""
        return bool((self.pool_group >= 0).any())

    @property
    def forecasting(self) -> bool:
        """Whether any node forecasts."""
        return bool((self.forecast_method > 0).any())


def resolve_rules(policy: Policy, network: Network) -> Policy:
    """The policy with every rule (``@...``, :mod:`sim.selectors`) replaced by the ids it picks.

    Reserves at a rule become one reserve per node picked; pooling groups ``@by_item`` become
    one group per item; a shared warehouse's ``item: "@input"`` and ``region``/``cluster:
    "@member"`` take its first member's slowest input, region and cluster.
    """
    from sim import selectors

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
    network = _apply_green_factors(policy, network)
    network = _apply_static_shares(policy, network)
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
    fee = np.zeros(e)
    fee[backup] = policy.sourcing.backup.activation_fee
    fee[backup & same_source] = policy.sourcing.switch_cost
    premium = np.zeros(e)
    premium[backup & ~same_source] = policy.sourcing.backup.premium_per_unit
    premium[role == 2] = policy.expedite.premium_per_unit
    for mode, extra in policy.green.mode_premium_per_unit.items():
        premium[np.array([lane.mode == mode for lane in network.lanes], dtype=bool)] += extra
    fee_per_day = np.zeros(n)
    reservation = policy.sourcing.backup.reservation_fee_per_day
    if reservation > 0:
        np.add.at(fee_per_day, layout.lane_target[backup & ~same_source], reservation)
    index = network.node_index
    for warehouse in policy.shared_warehouses:
        fee_per_day[index[warehouse.id]] += warehouse.fee_per_day
    method, pos, delay = _forecast_settings(policy, layout)
    group = np.full(n, -1, dtype=np.int64)
    for g, members in enumerate(policy.pooling.groups):
        for node in members:
            if node not in index:
                raise _fail("policy.pooling", f"groups[{g}]", node,
                            f"not a node of network {network.name!r}")
            if group[index[node]] >= 0:
                raise _fail("policy.pooling", f"groups[{g}]", node, "a node pools in one group")
            group[index[node]] = g
    reserve = {key: np.zeros(n) for key in ("units", "threshold", "release", "rate", "cost")}
    for i, r in enumerate(policy.reserves):
        if r.node not in index:
            raise _fail(f"policy.reserves[{i}]", "node", r.node,
                        f"not a node of network {network.name!r}")
        k = index[r.node]
        reserve["units"][k] += r.units
        reserve["threshold"][k] = r.threshold
        reserve["release"][k] = r.release_per_day
        reserve["rate"][k] = r.holding_cost_rate / 365.0
        reserve["cost"][k] = r.release_cost_per_unit
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
        reserve_release_cost=reserve["cost"], fee_per_day=fee_per_day,
    )


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
            raise _fail("policy.inventory.by_node", node, node,
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
    pairs = {}
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
                raise _fail("policy.forecast", key, node,
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
    transport emissions), as :func:`sim.metrics.footprint` computes it along actual flows.
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
    :class:`~sim.errors.CapacityWarning` naming the input, its lanes, the flow and the
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


def _apply_static_shares(policy: Policy, network: Network) -> Network:
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


def _apply_green_factors(policy: Policy, network: Network) -> Network:
    factors = policy.green.mode_co2e_kg_per_unit_km
    if not factors:
        return network
    lanes = tuple(replace(lane, co2e_kg_per_unit_km=float(factors[lane.mode]))
                  if lane.mode in factors else lane for lane in network.lanes)
    return network.replace(lanes=lanes)


def _add_shared_warehouses(policy: Policy, network: Network) -> Network:
    if not policy.shared_warehouses:
        return network
    nodes, lanes = list(network.nodes), list(network.lanes)
    index = network.node_index
    for i, h in enumerate(policy.shared_warehouses):
        where = f"policy.shared_warehouses[{i}]"
        if h.id in index:
            raise _fail(where, "id", h.id, "already a node of the network")
        for member in h.members:
            if member not in index:
                raise _fail(where, "members", member, f"not a node of network {network.name!r}")
            if h.item not in dict(network.node(member).inputs):
                raise _fail(where, "item", h.item, f"member {member!r} does not use this item")
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


def as_policy(policy: Policy | Mapping[str, Any] | str | None) -> Policy:
    """A policy from a spec, its mapping form, a preset name or ``None`` (base-stock, z = 1.65).

    A name is a shipped preset of ``configs/policy/`` (``"backup_supplier"``); anything else is
    refused naming what was given.
    """
    if policy is None:
        return BaseStockPolicy()
    if isinstance(policy, str):
        from sim.config import policy_preset  # lazy: the config module imports this one

        return policy_from_mapping(policy_preset(policy))
    if isinstance(policy, Mapping):
        return policy_from_mapping(policy)
    if not isinstance(policy, Policy):
        raise ConfigError(Issue("policy", "", repr(policy)[:80], "must be a Policy, a mapping "
                                "of its sections, a preset name or None"))
    return policy
