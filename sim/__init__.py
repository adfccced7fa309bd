"""Agent-based supply-chain resilience simulator.

The public API: describe a :class:`Network` (or :func:`load_network` one), add disruptions and a
policy, and :func:`simulate` it into an :class:`xarray.Dataset`.
"""

from sim.api import rerun, simulate
from sim.disruptions import NodeOutage, RandomOutages
from sim.errors import ConfigError, NetworkError, SimError
from sim.io import example_networks, load_network
from sim.model import SupplyChainModel
from sim.network import DemandZone, Item, Lane, Network, Node
from sim.policy import BaseStockPolicy
from sim.provenance import package_version
from sim.results import save_dataset
from sim.scenario import Scenario

__all__ = [
    "BaseStockPolicy",
    "ConfigError",
    "DemandZone",
    "Item",
    "Lane",
    "Network",
    "NetworkError",
    "Node",
    "NodeOutage",
    "RandomOutages",
    "Scenario",
    "SimError",
    "SupplyChainModel",
    "__version__",
    "example_networks",
    "load_network",
    "rerun",
    "save_dataset",
    "simulate",
]

__version__ = package_version()
