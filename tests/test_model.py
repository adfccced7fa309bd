"""The Mesa reference engine: the day's phases, conservation, rationing, outages, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.compile.effects import EVENT_DTYPE
from sim.compile.layout import Layout
from sim.compile.plan import plan_policy
from sim.compile.scenario import ScenarioDraws
from sim.engines.mesa.model import SupplyChainModel
from sim.testing import assert_conserved as check_conservation
from sim.testing.strategies import disruptions, networks
from tests.conftest import single_stage

OUTAGE = sim.NodeOutage("ctrl_a", start_day=20, duration_days=30)


def mean_demand_draws(network: sim.Network, days: int) -> ScenarioDraws:
    """Draws in which every zone demands exactly its mean on every day."""
    layout = Layout.of(network)
    demand = np.broadcast_to(layout.zone_mean, (1, days, layout.n_zones)).copy()
    return ScenarioDraws(np.array([0]), demand, np.zeros(0, dtype=EVENT_DTYPE), days)


@pytest.mark.parametrize("source", ["demo", "example:willems-2008/chain-08.csv",
                                    "example:willems-2008/chain-22.csv"])
def test_mean_demand_keeps_the_steady_state(demo: sim.Network, source: str) -> None:
    """With demand at its mean every day, the starting state is a fixed point: nothing moves."""
    network = demo if source == "demo" else sim.load_network(source)
    trace = SupplyChainModel(network, days=40, draws=mean_demand_draws(network, 40)).run().trace
    for _, name, values in trace.items():
        np.testing.assert_allclose(values, np.broadcast_to(values[:, :1], values.shape),
                                   rtol=1e-12, atol=1e-9, err_msg=name)
    assert trace.node["stock"].sum() > 0  # safety stock is held, and stays put
    assert trace.node["shortage"].sum() < 1e-9  # rounding only, where there is no safety stock


def test_conservation_on_the_demo_under_outages(demo: sim.Network) -> None:
    shocks = [OUTAGE, sim.RandomOutages(mttf_days=30, mttr_days=5)]
    for unmet in ("lost", "backorder"):
        network = demo.replace(unmet_demand=unmet)
        check_conservation(sim.simulate(network, record="full", days=120, replicates=2, seed=3,
                                        disruptions=shocks), network)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_conservation_on_random_networks(data: st.DataObject) -> None:
    network = data.draw(networks())
    shocks = data.draw(disruptions(network, days=30))
    ds = sim.simulate(network, record="full", days=30, replicates=2,
                      seed=data.draw(st.integers(0, 2**32)), disruptions=shocks)
    check_conservation(ds, network)


@settings(max_examples=10, deadline=None)
@given(network=networks(max_tiers=3), seed=st.integers(0, 1000))
def test_activation_order_does_not_matter(network: sim.Network, seed: int) -> None:
    """No agent reads what another wrote in the same phase: shuffled activation, same bits."""
    shocks = [sim.RandomOutages(mttf_days=10, mttr_days=3)]
    plain = SupplyChainModel(network, days=25, disruptions=shocks, seed=seed).run().trace
    shuffled = SupplyChainModel(network, days=25, disruptions=shocks, seed=seed,
                                shuffle=True).run().trace
    for group, name, array in plain.items():
        np.testing.assert_array_equal(array, getattr(shuffled, group)[name], err_msg=name)


def test_outage_stops_the_node_and_only_in_its_window(demo: sim.Network) -> None:
    ds = sim.simulate(demo, record="full", days=80, disruptions=[OUTAGE], seed=1)
    ctrl_a = ds.sel(node="ctrl_a", replicate=0)
    window = slice(20, 49)
    assert (ctrl_a.capacity_factor.sel(day=window) == 0).all()
    assert (ctrl_a.capacity_factor.drop_sel(day=range(20, 50)) == 1).all()
    assert (ctrl_a.production.sel(day=window) == 0).all()
    assert (ctrl_a.shipped.sel(day=window) == 0).all()
    assert (ds.capacity_factor.sel(replicate=0).drop_sel(node="ctrl_a") == 1).all()
    assert ctrl_a.owed.sel(day=49) > ctrl_a.owed.sel(day=19)  # orders pile up while it is down
    # after the outage it works through its backlog at full capacity
    assert ctrl_a.production.sel(day=50) == pytest.approx(demo.node("ctrl_a").capacity_per_day)


def test_outage_lowers_fill_rate_pair_by_pair(demo: sim.Network) -> None:
    base = sim.simulate(demo, record="full", days=120, replicates=6, seed=9)
    hit = sim.simulate(demo, record="full", days=120, replicates=6, seed=9, disruptions=[OUTAGE])
    np.testing.assert_array_equal(base.demand.values, hit.demand.values)  # same draws
    assert (hit.fill_rate < base.fill_rate).all()
    assert float((base.fill_rate - hit.fill_rate).mean()) > 0.05


def test_partial_outage_caps_production(demo: sim.Network) -> None:
    partial = sim.NodeOutage("motor_a", start_day=5, duration_days=20, severity=0.75)
    ds = sim.simulate(demo, record="full", days=40, disruptions=[partial], seed=2)
    motor = ds.sel(node="motor_a", replicate=0, day=slice(5, 24))
    assert float(motor.production.max()) <= 0.25 * 70 + 1e-9
    assert float(motor.shipped.max()) > 0  # a partial loss still ships from stock


def test_lane_capacity_binds() -> None:
    network = single_stage(sd=30, lead=2, unmet="lost")
    network = network.replace(lanes=[sim.Lane("supply", "source", "stage", lead_time_days=2,
                                              capacity_per_day=105)])
    ds = sim.simulate(network, record="full", days=300, seed=4)
    shipped = ds.lane_shipped.sel(lane="supply")
    assert float(shipped.max()) == pytest.approx(105)
    assert int((shipped > 105 - 1e-9).sum()) > 10


def test_proportional_rationing_between_customers() -> None:
    """A short plant ships to each warehouse in proportion to what it owes it."""
    network = sim.Network(
        name="ration",
        nodes=[sim.Node("s", "supplier", "x", capacity_per_day=60),
               sim.Node("a", "warehouse", "x"), sim.Node("b", "warehouse", "x")],
        lanes=[sim.Lane("sa", "s", "a"), sim.Lane("sb", "s", "b", lead_time_days=2)],
        demand=[sim.DemandZone("za", "a", 30, 5), sim.DemandZone("zb", "b", 50, 5)])
    ds = sim.simulate(network, record="full", days=60, seed=0).isel(replicate=0)
    owed_before = (ds.lane_owed.shift(day=1) + ds.lane_ordered.shift(day=1)).isel(
        day=slice(1, None))
    shipped = ds.lane_shipped.isel(day=slice(1, None))
    short = (shipped < owed_before - 1e-9).all("lane")
    assert int(short.sum()) > 20
    ratio_shipped = (shipped.sel(lane="sa") / shipped.sel(lane="sb"))[short]
    ratio_owed = (owed_before.sel(lane="sa") / owed_before.sel(lane="sb"))[short]
    np.testing.assert_allclose(ratio_shipped, ratio_owed, rtol=1e-9)


def test_zones_rationed_in_proportion_to_requests() -> None:
    network = sim.Network(
        name="zones",
        nodes=[sim.Node("s", "supplier", "x", capacity_per_day=50),
               sim.Node("w", "warehouse", "x")],
        lanes=[sim.Lane("l", "s", "w")],
        demand=[sim.DemandZone("big", "w", 40, 8), sim.DemandZone("small", "w", 20, 4)],
        unmet_demand="backorder")
    model = SupplyChainModel(network, days=50, seed=3)
    checked = 0
    while model.t < model.horizon:
        model.step()
        big, small = model.zones
        requests = [z.served + z.backlog for z in (big, small)]  # what each zone asked for
        if big.shortage > 1e-9:
            assert big.served / requests[0] == pytest.approx(small.served / requests[1], rel=1e-9)
            checked += 1
    assert checked > 5


def test_backorders_are_filled_later_and_first() -> None:
    network = single_stage(sd=10, unmet="backorder")
    outage = sim.NodeOutage("source", start_day=10, duration_days=15)
    ds = sim.simulate(network, record="full", days=120, disruptions=[outage],
                      seed=1).isel(replicate=0)
    stage = ds.sel(node="stage")
    assert float(stage.backlog.max()) > 100
    assert float(stage.backlog.isel(day=-1)) == 0
    assert bool((stage.served > stage.demand + 1e-9).any())  # catching up on backorders
    assert ds.lost_sales.item() == 0 and ds.shortage_units.item() > 0


def test_lost_sales_never_backlog() -> None:
    network = single_stage(sd=10, unmet="lost")
    outage = sim.NodeOutage("source", start_day=10, duration_days=15)
    ds = sim.simulate(network, record="full", days=80, disruptions=[outage], seed=1)
    assert float(ds.backlog.max()) == 0
    assert ds.lost_sales.item() == pytest.approx(ds.shortage_units.item())
    assert ds.lost_sales.item() > 0


def test_more_safety_stock_more_stock_and_service(demo: sim.Network) -> None:
    runs = {z: sim.simulate(demo, record="full", days=150, replicates=4, seed=5,
                            disruptions=[OUTAGE], policy=sim.BaseStockPolicy(safety_factor=z))
            for z in (0.0, 2.5)}
    assert (runs[2.5].mean_stock_units > runs[0.0].mean_stock_units).all()
    assert (runs[2.5].fill_rate > runs[0.0].fill_rate).all()
    assert (runs[2.5].holding_cost_total > runs[0.0].holding_cost_total).all()


def test_order_up_to_override_sets_the_level() -> None:
    network = single_stage(sd=0)
    levels = plan_policy(sim.BaseStockPolicy(order_up_to_by_node={"stage": 900}), network).levels
    assert levels.order_up_to.tolist() == [900]
    assert levels.initial_stock[1] == 900 - 4 * 100  # protection period 1 + 3 days


def test_initial_stock_override(demo: sim.Network) -> None:
    nodes = [n if n.id != "dc_north" else sim.Node(**{**n.__dict__, "initial_stock": 0.0})
             for n in demo.nodes]
    network = demo.replace(nodes=nodes)
    model = SupplyChainModel(network, days=3)
    assert model.node_list[network.node_index["dc_north"]].stock == 0.0
    ds = sim.simulate(network, record="full", days=10, seed=0)
    assert ds.shortage.sel(node="dc_north", day=0).item() > 0


def test_model_is_a_mesa_model_with_agent_types(demo: sim.Network) -> None:
    model = SupplyChainModel(demo, days=5)
    types = {cls.__name__ for cls in model.agent_types}
    assert types == {"Supplier", "Manufacturer", "Warehouse", "Carrier", "DemandZone"}
    carriers = {a.carrier_id for a in model.carriers}
    assert carriers == {lane.carrier for lane in demo.lanes}
    while model.running:
        model.step()
    assert model.t == 5 and model.steps == 5 and not model.running


@pytest.mark.parametrize("chain", ["01", "08", "17", "22"])
def test_willems_chains_simulate_and_conserve(chain: str) -> None:
    network = sim.load_network(f"example:willems-2008/chain-{chain}.csv")
    ds = sim.simulate(network, record="full", days=60, replicates=1, seed=1,
                      disruptions=[sim.RandomOutages(mttf_days=60, mttr_days=7,
                                                     node_kind="supplier")])
    check_conservation(ds, network)
    assert 0 <= ds.fill_rate.item() <= 1


def test_largest_willems_chain_runs_a_few_days() -> None:
    network = sim.load_network("example:willems-2008/chain-38.csv")
    ds = sim.simulate(network, days=3, record="kpis")
    assert ds.fill_rate.item() == pytest.approx(1.0, abs=0.05)
    assert math.isfinite(ds.total_cost.item())
