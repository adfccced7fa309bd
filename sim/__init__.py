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
    from sim.compile.plan import plan_policy
    from sim.compile.scenario import Scenario
    from sim.engines.mesa.model import SupplyChainModel
    from sim.engines.registry import register_engine
    from sim.engines.results import save_dataset
    from sim.io import example_networks, load_network
    from sim.io.risk_register import load_risk_register
    from sim.measures.compare import compare, cost_benefit
    from sim.measures.exposure import exposure
    from sim.measures.resilience import RecoveryRule
    from sim.spec.disruptions import (
        CorrelatedOutages,
        DemandShock,
        Duration,
        LaneDisruption,
        NodeOutage,
        RandomOutages,
        RegionalEvent,
        Trigger,
    )
    from sim.spec.errors import CapacityWarning, ConfigError, NetworkError, SimError
    from sim.spec.network import DemandZone, Item, Lane, Network, Node
    from sim.spec.policy import (
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
    from sim.studies.attribution import attribute
    from sim.studies.criticality import criticality_scan
    from sim.studies.optimize import Constraint, Decision, optimize
    from sim.studies.simulate import calm_twin, rerun, simulate, simulate_policies


_EXPORTS = {
    "BackupPolicy": "sim.spec.policy",
    "BaseStockPolicy": "sim.spec.policy",
    "CapacityWarning": "sim.spec.errors",
    "ConfigError": "sim.spec.errors",
    "Constraint": "sim.studies.optimize",
    "CorrelatedOutages": "sim.spec.disruptions",
    "Decision": "sim.studies.optimize",
    "DemandShock": "sim.spec.disruptions",
    "DemandZone": "sim.spec.network",
    "Duration": "sim.spec.disruptions",
    "EarlyWarning": "sim.spec.policy",
    "ExpeditePolicy": "sim.spec.policy",
    "ForecastPolicy": "sim.spec.policy",
    "GreenPolicy": "sim.spec.policy",
    "InventoryPolicy": "sim.spec.policy",
    "Item": "sim.spec.network",
    "Lane": "sim.spec.network",
    "LaneDisruption": "sim.spec.disruptions",
    "Network": "sim.spec.network",
    "NetworkError": "sim.spec.errors",
    "Node": "sim.spec.network",
    "NodeOutage": "sim.spec.disruptions",
    "Policy": "sim.spec.policy",
    "PoolingPolicy": "sim.spec.policy",
    "RandomOutages": "sim.spec.disruptions",
    "RecoveryRule": "sim.measures.resilience",
    "RegionalEvent": "sim.spec.disruptions",
    "Reserve": "sim.spec.policy",
    "Scenario": "sim.compile.scenario",
    "SharedWarehouse": "sim.spec.policy",
    "SimError": "sim.spec.errors",
    "SourcingPolicy": "sim.spec.policy",
    "SupplyChainModel": "sim.engines.mesa.model",
    "Trigger": "sim.spec.disruptions",
    "attribute": "sim.studies.attribution",
    "calm_twin": "sim.studies.simulate",
    "compare": "sim.measures.compare",
    "cost_benefit": "sim.measures.compare",
    "criticality_scan": "sim.studies.criticality",
    "example_networks": "sim.io",
    "exposure": "sim.measures.exposure",
    "load_network": "sim.io",
    "load_risk_register": "sim.io.risk_register",
    "optimize": "sim.studies.optimize",
    "package_version": "sim.io.provenance",
    "plan_policy": "sim.compile.plan",
    "register_engine": "sim.engines.registry",
    "policy_from_mapping": "sim.spec.policy",
    "rerun": "sim.studies.simulate",
    "save_dataset": "sim.engines.results",
    "simulate": "sim.studies.simulate",
    "simulate_policies": "sim.studies.simulate",
}

__all__ = [
    "BackupPolicy",
    "BaseStockPolicy",
    "CapacityWarning",
    "ConfigError",
    "Constraint",
    "CorrelatedOutages",
    "Decision",
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
    "calm_twin",
    "compare",
    "cost_benefit",
    "criticality_scan",
    "example_networks",
    "exposure",
    "load_network",
    "load_risk_register",
    "optimize",
    "plan_policy",
    "policy_from_mapping",
    "register_engine",
    "rerun",
    "save_dataset",
    "simulate",
    "simulate_policies",
]


def __getattr__(name: str) -> Any:
    """Load a public name (or a submodule such as ``sim.engines.batch``) on first use."""
    if name == "__version__":
        from sim.io.provenance import package_version

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
