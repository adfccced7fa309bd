"""Agent-based supply-chain resilience simulator.

The public API: describe a :class:`Network` (or :func:`load_network` one), add disruptions and a
policy, and :func:`simulate` it into an :class:`xarray.Dataset`.

Importing :mod:`sim` is cheap: each public name loads its module on first use (PEP 562), so the
command line answers at once and ``import sim`` does not pull in Mesa, SciPy or xarray.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.api import rerun, simulate, simulate_policies
    from sim.attribution import attribute
    from sim.compare import compare, cost_benefit
    from sim.criticality import criticality_scan, exposure
    from sim.disruptions import (
        CorrelatedOutages,
        DemandShock,
        Duration,
        LaneDisruption,
        NodeOutage,
        RandomOutages,
        RegionalEvent,
        Trigger,
        load_risk_register,
    )
    from sim.errors import CapacityWarning, ConfigError, NetworkError, SimError
    from sim.io import example_networks, load_network
    from sim.model import SupplyChainModel
    from sim.network import DemandZone, Item, Lane, Network, Node
    from sim.policy import (
        BackupPolicy,
        BaseStockPolicy,
        EarlyWarning,
        ExpeditePolicy,
        ForecastPolicy,
        GreenPolicy,
        InventoryPolicy,
        Policy,
        PoolingPolicy,
        Reserve,
        SharedWarehouse,
        SourcingPolicy,
        policy_from_mapping,
    )
    from sim.resilience import RecoveryRule
    from sim.results import save_dataset
    from sim.scenario import Scenario


_EXPORTS = {
    "BackupPolicy": "sim.policy",
    "BaseStockPolicy": "sim.policy",
    "CapacityWarning": "sim.errors",
    "ConfigError": "sim.errors",
    "CorrelatedOutages": "sim.disruptions",
    "DemandShock": "sim.disruptions",
    "DemandZone": "sim.network",
    "Duration": "sim.disruptions",
    "EarlyWarning": "sim.policy",
    "ExpeditePolicy": "sim.policy",
    "ForecastPolicy": "sim.policy",
    "GreenPolicy": "sim.policy",
    "InventoryPolicy": "sim.policy",
    "Item": "sim.network",
    "Lane": "sim.network",
    "LaneDisruption": "sim.disruptions",
    "Network": "sim.network",
    "NetworkError": "sim.errors",
    "Node": "sim.network",
    "NodeOutage": "sim.disruptions",
    "Policy": "sim.policy",
    "PoolingPolicy": "sim.policy",
    "RandomOutages": "sim.disruptions",
    "RecoveryRule": "sim.resilience",
    "RegionalEvent": "sim.disruptions",
    "Reserve": "sim.policy",
    "Scenario": "sim.scenario",
    "SharedWarehouse": "sim.policy",
    "SimError": "sim.errors",
    "SourcingPolicy": "sim.policy",
    "SupplyChainModel": "sim.model",
    "Trigger": "sim.disruptions",
    "attribute": "sim.attribution",
    "compare": "sim.compare",
    "cost_benefit": "sim.compare",
    "criticality_scan": "sim.criticality",
    "example_networks": "sim.io",
    "exposure": "sim.criticality",
    "load_network": "sim.io",
    "load_risk_register": "sim.disruptions",
    "package_version": "sim.provenance",
    "policy_from_mapping": "sim.policy",
    "rerun": "sim.api",
    "save_dataset": "sim.results",
    "simulate": "sim.api",
    "simulate_policies": "sim.api",
}

__all__ = [
    "BackupPolicy",
    "BaseStockPolicy",
    "CapacityWarning",
    "ConfigError",
    "CorrelatedOutages",
    "DemandShock",
    "DemandZone",
    "Duration",
    "EarlyWarning",
    "ExpeditePolicy",
    "ForecastPolicy",
    "GreenPolicy",
    "InventoryPolicy",
    "Item",
    "Lane",
    "LaneDisruption",
    "Network",
    "NetworkError",
    "Node",
    "NodeOutage",
    "Policy",
    "PoolingPolicy",
    "RandomOutages",
    "RecoveryRule",
    "RegionalEvent",
    "Reserve",
    "Scenario",
    "SharedWarehouse",
    "SimError",
    "SourcingPolicy",
    "SupplyChainModel",
    "Trigger",
    "__version__",
    "attribute",
    "compare",
    "cost_benefit",
    "criticality_scan",
    "example_networks",
    "exposure",
    "load_network",
    "load_risk_register",
    "policy_from_mapping",
    "rerun",
    "save_dataset",
    "simulate",
    "simulate_policies",
]


def __getattr__(name: str) -> Any:
    """Load a public name (or a submodule such as ``sim.batch``) on first use."""
    if name == "__version__":
        from sim.provenance import package_version

        return package_version()
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
