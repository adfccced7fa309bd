r"""Replenishment policies: how much each node keeps, makes and orders.

Base-stock (order-up-to), the reference policy. Symbols per node n (daily units):
:math:`\mu_n, \sigma_n` mean and sd of its outflow (:class:`~sim.layout.Layout`),
:math:`\mu^z_n` mean demand of the zones it serves, :math:`z_n` the safety factor, and per input
k of n (a BOM entry, or the warehouse's own item): :math:`b_k` units per unit of output and the
protection period :math:`L_k = 1 + \sum_{j \to k} s_j \ell_j` days (one day for the order to reach
the source, plus the share-weighted lane lead time).

* Producers make up to a finished-goods level :math:`F_n = \mu^z_n + z_n \sigma_n` on top of what
  they owe: target :math:`F_n + \text{owed}_n + \text{backlog}_n`.
* Each input is ordered up to
  :math:`S_k = b_k\,(E_n + \mu_n L_k + z_n \sigma_n \sqrt{L_k})` on the inventory position
  :math:`IP_k = \text{input stock}_k + \text{in transit}_k + \text{on order}_k +
  b_k(\text{stock}_n - \text{owed}_n - \text{backlog}_n)`, where :math:`E_n = F_n - \mu^z_n`
  is the producer's expected end-of-day stock (0 for a warehouse). The order
  :math:`\max(0, S_k - IP_k)` is split over k's lanes by their shares.
* A node starts in the steady state of these rules (pipelines full at the mean flow), unless its
  spec sets ``initial_stock``: with demand at its mean every day, nothing moves.

For a single warehouse this is the textbook base-stock system: its end-of-day net inventory is
:math:`S - D_{L}` with :math:`D_L` the demand of the last :math:`L = 1 + \ell` days.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np

from sim.errors import ConfigError, Issue
from sim.layout import Layout

__all__ = ["BaseStockPolicy", "Levels", "policy_from_mapping"]


@dataclass(frozen=True, eq=False)
class Levels:
    """A policy resolved on one network: levels and the starting state.

    Attributes
    ----------
    fg_level : ndarray, shape (node,)
        Finished-goods level F of producers (0 for warehouses) [units].
    order_up_to : ndarray, shape (input,)
        Order-up-to level S of each input [units of the input item].
    protection_days : ndarray, shape (input,)
        Protection period L of each input [days].
    initial_stock : ndarray, shape (node,)
        On-hand finished stock at the start [units].
    initial_inputs : ndarray, shape (input,)
        Input stock at the start [units of the input item].
    """

    fg_level: np.ndarray
    order_up_to: np.ndarray
    protection_days: np.ndarray
    initial_stock: np.ndarray
    initial_inputs: np.ndarray


@dataclass(frozen=True)
class BaseStockPolicy:
    """Order-up-to replenishment with levels from mean demand over lead time plus safety stock.

    Parameters
    ----------
    safety_factor : float
        z: safety stock in standard deviations of demand over the protection period [-].
    safety_factor_by_node : mapping of str to float
        z for named nodes, overriding ``safety_factor``.
    order_up_to_by_node : mapping of str to float
        Explicit order-up-to level per node, in units of its output; each input k of the node is
        then ordered up to ``b_k`` times it.
    """

    safety_factor: float = 1.65
    safety_factor_by_node: Mapping[str, float] = field(default_factory=dict)
    order_up_to_by_node: Mapping[str, float] = field(default_factory=dict)

    kind = "base_stock"

    def __post_init__(self) -> None:
        issues = []
        if _finite(self.safety_factor):
            object.__setattr__(self, "safety_factor", float(self.safety_factor))
        else:
            issues.append(Issue("policy", "safety_factor", self.safety_factor,
                                "must be a finite number"))
        for key in ("safety_factor_by_node", "order_up_to_by_node"):
            mapping = getattr(self, key)
            if not isinstance(mapping, Mapping):
                issues.append(Issue("policy", key, mapping, "must map node ids to numbers"))
                continue
            for node, value in mapping.items():
                if not _finite(value):
                    issues.append(Issue("policy", f"{key}.{node}", value,
                                        "must be a finite number"))
                elif key == "order_up_to_by_node" and value < 0:
                    issues.append(Issue("policy", f"{key}.{node}", value, "must be >= 0"))
            object.__setattr__(self, key, {str(node): float(value) for node, value in
                                           mapping.items() if _finite(value)})
        if issues:
            raise ConfigError(issues)

    def levels(self, layout: Layout) -> Levels:
        """Resolve the policy on a network.

        Raises
        ------
        ConfigError
            When an override names a node the network does not have.
        """
        index = layout.network.node_index
        issues = [
            Issue("policy", f"{key}.{node}", node, f"not a node of network {layout.network.name!r}")
            for key in ("safety_factor_by_node", "order_up_to_by_node")
            for node in getattr(self, key) if node not in index
        ]
        if issues:
            raise ConfigError(issues)
        z = np.full(layout.n_nodes, float(self.safety_factor))
        for node, value in self.safety_factor_by_node.items():
            z[index[node]] = value
        mu, sigma, mu_zone = layout.mean_outflow, layout.sd_outflow, layout.mean_zone_demand

        fg_level = np.where(layout.produces, mu_zone + z * sigma, 0.0)
        expected_end_stock = fg_level - np.where(layout.produces, mu_zone, 0.0)

        k_node = layout.input_node
        protection = np.ones(layout.n_inputs)
        np.add.at(protection, layout.lane_input, layout.lane_share * layout.lane_lead)
        order_up_to = layout.input_bom * (
            expected_end_stock[k_node] + mu[k_node] * protection
            + z[k_node] * sigma[k_node] * np.sqrt(protection)
        )
        for node, value in self.order_up_to_by_node.items():
            k = layout.inputs_of(index[node])
            order_up_to[k] = layout.input_bom[k] * value

        # Steady state: each lane holds its mean flow for each day of lead time plus one day of
        # orders on their way to the source.
        pipeline_and_orders = np.zeros(layout.n_inputs)
        np.add.at(pipeline_and_orders, layout.lane_input,
                  layout.lane_mean_flow * (layout.lane_lead + 1))
        warehouse_stock = np.zeros(layout.n_nodes)
        is_warehouse = ~layout.produces
        warehouse_inputs = np.flatnonzero(is_warehouse[k_node])
        warehouse_stock[k_node[warehouse_inputs]] = (
            order_up_to[warehouse_inputs] - pipeline_and_orders[warehouse_inputs])
        stock = np.where(layout.produces, expected_end_stock, warehouse_stock)
        stock = np.where(np.isnan(layout.initial_stock), stock, layout.initial_stock)
        stock = np.maximum(stock, 0.0)
        inputs = np.where(
            is_warehouse[k_node], 0.0,
            order_up_to - pipeline_and_orders - layout.input_bom * stock[k_node])
        return Levels(
            fg_level=fg_level,
            order_up_to=order_up_to,
            protection_days=protection,
            initial_stock=stock,
            initial_inputs=np.maximum(inputs, 0.0),
        )

    def to_mapping(self) -> dict[str, Any]:
        """Plain-dict form (as in the Hydra ``policy`` group)."""
        return {
            "kind": self.kind,
            "safety_factor": float(self.safety_factor),
            "safety_factor_by_node": dict(self.safety_factor_by_node),
            "order_up_to_by_node": dict(self.order_up_to_by_node),
        }


def _finite(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


POLICIES = {"base_stock": BaseStockPolicy}


def policy_from_mapping(data: Mapping[str, Any], *, where: str = "policy") -> BaseStockPolicy:
    """Build a policy from its mapping form (``kind`` plus the class's fields)."""
    data = dict(data)
    kind = data.pop("kind", "base_stock")
    data.pop("name", None)
    if kind not in POLICIES:
        raise ConfigError(Issue(where, "kind", kind, f"must be one of {', '.join(POLICIES)}"))
    cls = POLICIES[kind]
    allowed = set(cls.__dataclass_fields__)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError([Issue(where, key, data[key],
                                 f"unknown field of policy {kind!r}; expected one of "
                                 f"{', '.join(sorted(allowed))}") for key in unknown])
    return cls(**{k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()})
