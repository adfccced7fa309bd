"""Shared fixtures and checks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir

import sim
from sim.layout import Layout

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
DEMO = CONFIGS / "network" / "demo.yaml"
SHARED = REPO.parent / "shared"

# No example database and hypothesis' own cache in a temporary folder: tests write nothing in
# the checkout.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-"))
settings.register_profile("project", database=None, deadline=None, print_blob=True)
# `pytest --hypothesis-profile=triage`: report the first failing example without shrinking it
settings.register_profile("triage", parent=settings.get_profile("project"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile("project")


REQUIRE_BROWSER = "SIM_REQUIRE_BROWSER"
"""Set by ``.ci/run``: a missing browser fails the browser tests instead of skipping them."""


def browser_or_skip(path: str | None, what: str) -> str:
    """The browser's path; without one, skip, or fail where CI promised to install it."""
    if path:
        return path
    message = f"{what} is not installed (.ci/run installs Debian's chromium packages)"
    if os.environ.get(REQUIRE_BROWSER):
        pytest.fail(f"{message}; {REQUIRE_BROWSER} is set, so this check may not be skipped")
    pytest.skip(message)


@pytest.fixture(scope="session")
def demo() -> sim.Network:
    return sim.load_network(DEMO)


def single_stage(*, lead: int = 3, mean: float = 100.0, sd: float = 20.0,
                 unmet: str = "backorder", supplier_capacity: float = float("inf"),
                 stage_capacity: float = float("inf")) -> sim.Network:
    """Unlimited supplier -> one stocking stage -> one demand zone."""
    return sim.Network(
        name="single",
        unmet_demand=unmet,
        nodes=[sim.Node("source", "supplier", "x", capacity_per_day=supplier_capacity),
               sim.Node("stage", "warehouse", "x", capacity_per_day=stage_capacity)],
        lanes=[sim.Lane("supply", "source", "stage", lead_time_days=lead)],
        demand=[sim.DemandZone("customers", "stage", mean=mean, sd=sd)],
    )


def check_conservation(ds: xr.Dataset, network: sim.Network, *, atol: float = 1e-7) -> None:
    """Assert that every unit is accounted for on every day, node and lane (from day 1 on).

    Per node: finished stock moves by production (+ deliveries for warehouses) - served - shipped;
    per input: stock moves by deliveries - BOM x production; per lane: in transit moves by
    shipped - delivered, owed by yesterday's orders - shipped; per node: demand = served + lost
    + change in backlog; node totals equal the sums of their lanes; nothing negative; capacities
    respected.
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
