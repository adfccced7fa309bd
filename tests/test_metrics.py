"""Metrics on hand-built series and small runs with answers known in advance."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sim
from sim import metrics
from sim.errors import ConfigError
from sim.kpis import replicate_kpis
from sim.layout import Layout
from sim.resilience import (
    normal_level,
    resilience_loss,
    smoothed,
    survival_time,
    time_to_recover,
    time_to_survive,
)
from sim.trace import LANE, NODE, Trace


# --------------------------------------------------------------------------------------------
# Time to survive, time to recover, resilience loss
# --------------------------------------------------------------------------------------------
def step_outage() -> tuple[np.ndarray, np.ndarray]:
    """Demand 100 a day; full service, then 50 % on days 20-29, then full again."""
    demand = np.full(60, 100.0)
    served = demand.copy()
    served[20:30] = 50.0
    return served, demand


def test_step_outage_has_known_tts_ttr_and_area() -> None:
    served, demand = step_outage()
    exact = {"window": 1, "tolerance": 0.0}
    assert time_to_survive(served, demand, 15, **exact) == 5  # full days 15-19
    assert time_to_recover(served, demand, 15, **exact) == 15  # back on day 30
    assert resilience_loss(served, demand, 15, **exact) == pytest.approx(500)
    assert normal_level(served, demand, 15, window=1) == 1.0
    # smoothing over a week: the weekly mean drops below 0.98 on day 20 (6 x 1 + 0.5) / 7, and
    # stays below until day 30 + 6 = 36, the first week that is whole again
    assert time_to_survive(served, demand, 15) == 5
    assert time_to_recover(served, demand, 15) == 36 - 15
    # no disruption: NaN; never below: TTS censored at the end, TTR 0
    assert np.isnan(time_to_survive(served, demand, -1))
    assert time_to_survive(demand, demand, 15) == 45
    assert time_to_recover(demand, demand, 15) == 0
    assert resilience_loss(demand, demand, 15) == 0


def test_normal_level_is_the_fill_rate_before_the_event() -> None:
    demand = np.full(40, 100.0)
    served = np.full(40, 95.0)  # a lean stage: 95 % normally
    served[20:25] = 0.0
    assert normal_level(served, demand, 20, window=7) == pytest.approx(0.95)
    # 95 % is its normal: time to recover counts only the real fall (weekly mean below 0.93)
    assert time_to_recover(served, demand, 20, window=1) == 5
    assert resilience_loss(served, demand, 20, window=1) == pytest.approx(5 * 95)


def test_series_are_vectorised_over_leading_dimensions() -> None:
    served, demand = step_outage()
    stacked = np.stack([served, demand])
    out = time_to_recover(stacked, np.stack([demand, demand]), np.array([15, 15]), window=1)
    np.testing.assert_array_equal(out, [15, 0])
    np.testing.assert_allclose(smoothed(np.arange(5.0), 2), [0, 0.5, 1.5, 2.5, 3.5])


def test_analytic_survival_time() -> None:
    assert survival_time(600, 100, 20) == pytest.approx(7.5)
    assert survival_time(600, 100) == pytest.approx(6.0)
    assert np.isinf(survival_time(600, 100, 100))


# --------------------------------------------------------------------------------------------
# Bullwhip and KPIs from a constructed trace
# --------------------------------------------------------------------------------------------
def test_bullwhip_of_constructed_order_series() -> None:
    network = sim.Network(
        name="two", nodes=[sim.Node("s", "supplier", "x"), sim.Node("w", "warehouse", "x")],
        lanes=[sim.Lane("l", "s", "w")], demand=[sim.DemandZone("c", "w", mean=10, sd=2)])
    layout = Layout.of(network)
    rng = np.random.default_rng(0)
    days = 500
    trace = Trace(3, days, layout.n_nodes, layout.n_lanes, layout.n_inputs)
    demand = 10 + rng.normal(0, 2, (3, days))
    trace.nodes[:, :, NODE["demand"], 1] = demand
    trace.lanes[:, :, LANE["lane_ordered"], 0] = 3 * demand - 20  # variance x 9
    kpis = replicate_kpis(trace, layout)
    np.testing.assert_allclose(kpis["bullwhip"][:, 0], 9.0, rtol=1e-10)


def test_cvar_of_a_known_sample() -> None:
    values = np.arange(1.0, 101.0)
    assert metrics.cvar(values, 0.95) == pytest.approx(98.0)  # mean of 96..100
    assert metrics.cvar(values, 0.99) == pytest.approx(100.0)
    assert metrics.cvar(values, 0.0) == pytest.approx(50.5)
    data = xr.DataArray(np.stack([values, 2 * values]), dims=("policy", "replicate"))
    np.testing.assert_allclose(metrics.cvar(data, 0.95), [98.0, 196.0])


# --------------------------------------------------------------------------------------------
# Dataset-level metrics
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def outage_run(demo: sim.Network) -> xr.Dataset:
    return sim.simulate(demo, record="full", days=80, warmup_days=10, replicates=6, seed=3,
                        engine="batch",
                        disruptions=[sim.NodeOutage("ctrl_a", start_day=20, duration_days=25)])


def test_network_service_equals_the_kpis(outage_run: xr.Dataset) -> None:
    network = metrics.service(outage_run, by="network")
    np.testing.assert_allclose(network.fill_rate, outage_run.fill_rate, rtol=1e-12)
    np.testing.assert_allclose(network.lost_sales, outage_run.lost_sales, rtol=1e-12)
    by_node = metrics.service(outage_run, by="node")
    np.testing.assert_allclose(by_node.fill_rate.sel(node="dc_north"),
                               outage_run.node_fill_rate.sel(node="dc_north"), rtol=1e-12)
    by_region = metrics.service(outage_run, by="region")
    assert set(by_region.region.values) >= {"north", "south"}
    np.testing.assert_allclose(by_region.lost_sales.sum("region"), outage_run.lost_sales)


def test_resilience_from_the_event_log_equals_the_kpis(outage_run: xr.Dataset) -> None:
    assert (metrics.disruption_start(outage_run) == 20).all()
    network = metrics.resilience(outage_run, by="network")
    for name in ("time_to_survive", "time_to_recover", "resilience_loss"):
        np.testing.assert_allclose(network[name], outage_run[name], rtol=1e-12)
    by_node = metrics.resilience(outage_run, by="node", start=20, window=1)
    assert (by_node.time_to_recover.sel(node="dc_north") > 0).all()
    assert by_node.time_to_survive.sel(node="dc_north").min() >= 1  # the DC's stock covers


def test_inventory_and_costs(outage_run: xr.Dataset) -> None:
    stock = metrics.inventory(outage_run, by="node")
    dc = stock.sel(node="dc_north")
    outflow = (outage_run.served + outage_run.shipped).sel(node="dc_north").mean("day")
    np.testing.assert_allclose(dc.days_of_cover * outflow,
                               outage_run.stock.sel(node="dc_north").mean("day"))
    np.testing.assert_allclose(dc.turns * dc.days_of_cover, 365.0)
    by_kind = metrics.costs(outage_run)
    np.testing.assert_allclose(by_kind.sum("cost_kind"), outage_run.total_cost, rtol=1e-12)


def test_metrics_say_what_they_need(demo: sim.Network) -> None:
    summary = sim.simulate(demo, days=20, replicates=2, engine="batch")
    with pytest.raises(ConfigError, match="record='full'"):
        metrics.service(summary)
    with pytest.raises(ConfigError, match="by = 'planet'"):
        metrics.service(sim.simulate(demo, days=5, replicates=1, record="full"), by="planet")
    assert metrics.inventory(summary).days_of_cover.dims == ("node",)  # from daily means


def test_footprint_along_a_chain() -> None:
    """Supplier (1/unit) -> lane (0.5) -> maker (3, BOM 2) -> lane (0.2) -> warehouse."""
    network = sim.Network(
        name="chain",
        nodes=[sim.Node("s", "supplier", "ore", production_co2e_kg_per_unit=1.0),
               sim.Node("m", "manufacturer", "part", bom={"ore": 2},
                        production_co2e_kg_per_unit=3.0),
               sim.Node("w", "warehouse", "part")],
        lanes=[sim.Lane("s-m", "s", "m", distance_km=5, co2e_kg_per_unit_km=0.1),
               sim.Lane("m-w", "m", "w", distance_km=2, co2e_kg_per_unit_km=0.1)],
        demand=[sim.DemandZone("c", "w", mean=10, sd=3)])
    ds = sim.simulate(network, days=30, replicates=3, engine="batch", record="kpis")
    np.testing.assert_allclose(metrics.footprint(ds).sel(product="part"),
                               3.0 + 2 * (1.0 + 0.5) + 0.2)


def test_footprint_follows_the_actual_flows(demo: sim.Network) -> None:
    ds = sim.simulate(demo, days=60, replicates=4, engine="batch", record="kpis", seed=1,
                      disruptions=[sim.NodeOutage("motor_a", start_day=0, duration_days=60)])
    per_unit = metrics.footprint(ds).sel(product="widget")
    # with motor_a down all along, every motor comes from motor_b (7 kg + 700 km x 0.0015)
    calm = sim.simulate(demo, days=60, replicates=4, engine="batch", record="kpis", seed=1)
    flows = calm.lane_flow.sel(lane=["motor_a-plant", "motor_b-plant"])
    share_b = flows.sel(lane="motor_b-plant") / flows.sum("lane")
    motor_a, motor_b = 6 + 200 * 0.0015, 7 + 700 * 0.0015
    expected_shift = (motor_b - (share_b * motor_b + (1 - share_b) * motor_a)).values
    shift = (per_unit - metrics.footprint(calm).sel(product="widget")).values
    # the plant's output mixes in the motors that arrived; the shift is at most a motor's worth
    assert (shift > 0).all() and (shift <= expected_shift + 1e-9).all()


def test_tail_risk(outage_run: xr.Dataset) -> None:
    risk = metrics.tail_risk(outage_run, ["lost_sales"], level=0.5)
    values = np.sort(outage_run.lost_sales.values)
    assert risk.lost_sales_cvar.item() == pytest.approx(values[-3:].mean())
    assert risk.lost_sales_quantile.sel(quantile=0.5).item() == pytest.approx(
        np.median(values))
