"""Test helpers for users and extenders, as :mod:`xarray.testing` is for xarray's users.

* :func:`assert_conserved`: every unit accounted for on every day, node and lane of a run;
* :func:`assert_datasets_close`: two runs equal to rounding, variable by variable;
* :func:`assert_engines_agree`: the Mesa and batch engines agree on a network;
* :mod:`sim.testing.strategies`: hypothesis strategies for random networks, disruptions and
  policies (needs ``hypothesis``, a test dependency).

A new engine or agent is checked the way the package checks its own: run it, then assert
conservation and agreement with the reference engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from sim.compile.layout import Layout
from sim.spec.network import Network

__all__ = ["ATOL", "DEMO_EVERY_MEASURE", "RTOL", "assert_conserved", "assert_datasets_close",
           "assert_engines_agree"]

RTOL, ATOL = 1e-9, 1e-8
"""How closely the engines agree: relative, and absolute for values near zero."""

DEMO_EVERY_MEASURE: dict[str, Any] = {
    "inventory": {"rule": "base_stock", "safety_factor": 2.0},
    "sourcing": {"dynamic": True, "detection_delay_days": 2, "switch_over_days": 1,
                 "switch_cost": 300, "max_region_share": 0.8, "prefer_green": 0.2,
                 "backup": {"activation_lag_days": 5, "premium_per_unit": 1.5,
                            "reservation_fee_per_day": 20}},
    "forecast": {"method": "moving_average", "window_days": 7, "signal": "pos",
                 "info_delay_days": 1, "vmi": ["dc_north"]},
    "expedite": {"enabled": True, "premium_per_unit": 2.0},
    "pooling": {"groups": [["dc_north", "dc_south"]], "cost_per_unit": 0.8},
    "reserves": [{"node": "dc_south", "units": 500, "threshold": 0.9, "release_per_day": 50}],
    "shared_warehouses": [{"id": "cluster_store", "members": ["plant"], "item": "controller",
                           "units": 600, "fee_per_day": 80}],
    "early_warning": {"notice_days": 7},
    "green": {"prefer_low_emission": 0.3},
}
"""Every measure of the policy library at once, on the demo network (``make bench``'s
"everything on", with every shipped disruption config; the compiled steps' tests)."""


def assert_conserved(ds: xr.Dataset, network: Network, *, atol: float = 1e-7) -> None:
    """Assert that every unit is accounted for on every day, node and lane (from day 1 on).

    Per node: finished stock moves by production (+ deliveries for warehouses) - served - shipped;
    per input: stock moves by deliveries - BOM x production; per lane: in transit moves by
    shipped - delivered, owed by yesterday's orders - shipped; per node: demand = served + lost
    + change in backlog; node totals equal the sums of their lanes; nothing negative; capacities
    respected.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``record="full"`` (every variable of every replicate).
    network : Network
        The network the engines ran: the policy plan's (``plan_policy(policy, net).network``)
        when the policy adds shared warehouses.
    atol : float
        Absolute slack [units] on top of a relative 1e-9.

    Raises
    ------
    AssertionError
        Naming the balance that fails and where.
    """
    lay = Layout.of(network)
    v = {name: ds[name].values for name in ds.data_vars}
    rtol = 1e-9

    def close(a: np.ndarray, b: np.ndarray, what: str) -> None:
        scale = np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
        bad = np.abs(a - b) > atol + rtol * scale
        assert not bad.any(), f"{what}: {np.argwhere(bad)[:3]} {a[bad][:3]} vs {b[bad][:3]}"

    warehouse = ~lay.produces
    inflow = (v["production"] + np.where(warehouse, v["received"], 0.0) + v["transferred"]
              + v["reserve_released"])
    close(np.diff(v["stock"], axis=1),
          (inflow - v["served"] - v["shipped"])[:, 1:], "finished stock balance")

    delivered_to_input = np.zeros(v["input_stock"].shape)
    for j in range(lay.n_lanes):
        delivered_to_input[:, :, lay.lane_input[j]] += v["lane_delivered"][:, :, j]
    consumed = v["production"][:, :, lay.input_node] * lay.input_bom
    manufacturer = lay.produces[lay.input_node]
    close(np.diff(v["input_stock"], axis=1)[:, :, manufacturer],
          (delivered_to_input - consumed)[:, 1:, manufacturer], "input stock balance")
    assert np.all(v["input_stock"][:, :, ~manufacturer] == 0)

    close(np.diff(v["lane_in_transit"], axis=1),
          (v["lane_shipped"] - v["lane_delivered"])[:, 1:], "lane in-transit balance")
    close(np.diff(v["lane_owed"], axis=1),
          v["lane_ordered"][:, :-1] - v["lane_cancelled"][:, :-1] - v["lane_shipped"][:, 1:],
          "lane order balance")

    close(v["demand"][:, 1:], v["served"][:, 1:] + v["lost"][:, 1:]
          + np.diff(v["backlog"], axis=1), "demand = served + lost + backlog change")

    for name, lane_var, ends in (("received", "lane_delivered", lay.lane_target),
                                 ("shipped", "lane_shipped", lay.lane_source),
                                 ("in_transit", "lane_in_transit", lay.lane_target),
                                 ("owed", "lane_owed", lay.lane_source),
                                 ("rerouted", "lane_cancelled", lay.lane_target)):
        total = np.zeros(v[name].shape)
        for j in range(lay.n_lanes):
            total[:, :, ends[j]] += v[lane_var][:, :, j]
        close(v[name], total, f"node {name} = sum of its lanes")

    for name in ("stock", "input_stock", "lane_in_transit", "lane_owed", "backlog", "served",
                 "lost", "shortage", "production", "lane_shipped", "lane_ordered",
                 "lane_cancelled"):
        assert v[name].min() >= -atol, f"{name} negative: {v[name].min()}"
    assert np.all(v["lane_shipped"] <= lay.lane_capacity + atol), "lane capacity exceeded"
    with np.errstate(invalid="ignore"):  # inf capacity x factor 0
        limit = np.where(v["capacity_factor"] > 0, lay.capacity * v["capacity_factor"], 0.0)
    assert np.all(v["production"] <= limit + atol), "production above capacity"
    assert np.all(v["shortage"] <= v["demand"] + atol)
    if not lay.backorder:
        close(v["lost"], v["shortage"], "lost = shortage when sales are lost")
        assert np.all(v["backlog"] == 0)


def assert_datasets_close(actual: xr.Dataset, expected: xr.Dataset, rtol: float = RTOL,
                          atol: float = ATOL) -> None:
    """Every variable close (numbers) or equal (the event log's names), the same variables.

    The defaults are the engines' agreement: rtol 1e-9, atol 1e-8 for zeros.
    """
    assert set(actual.data_vars) == set(expected.data_vars)
    for name in expected.data_vars:
        if expected[name].dtype.kind in "OUS":
            np.testing.assert_array_equal(actual[name].values, expected[name].values,
                                          err_msg=name)
        else:
            np.testing.assert_allclose(actual[name].values, expected[name].values, rtol=rtol,
                                       atol=atol, err_msg=name)


def assert_engines_agree(network: Network, **kwargs: Any) -> tuple[xr.Dataset, xr.Dataset]:
    """Run ``network`` on both engines with full traces; assert every variable agrees.

    ``kwargs`` go to :func:`sim.simulate` (days, disruptions, policy, seed, ...). Returns the
    Mesa and the batch datasets.
    """
    import sim

    mesa = sim.simulate(network, engine="mesa", record="full", **kwargs)
    batch = sim.simulate(network, engine="batch", record="full", **kwargs)
    assert_datasets_close(batch, mesa)
    return mesa, batch
