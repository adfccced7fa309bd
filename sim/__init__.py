"""Agent-based supply-chain resilience simulator.

The public API: describe a :class:`Network` (or :func:`load_network` one), add disruptions and a
policy, and :func:`simulate` it into an :class:`xarray.Dataset`.
"""

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
from sim.provenance import package_version
from sim.resilience import RecoveryRule
from sim.results import save_dataset
from sim.scenario import Scenario

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

__version__ = package_version()
