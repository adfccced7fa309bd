"""Money that measures the event and the measure: per year, per event, pipeline, penalties, CO2e."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import xarray as xr
import yaml

import sim
from sim.compile.plan import plan_policy
from sim.measures.compare import cost_benefit
from sim.spec.network import BACKORDER_DAYS_PER_LOST_SALE
from tests.conftest import single_stage

OUTAGE = [sim.NodeOutage("ctrl_a", start_day=20, duration_days=30)]


def hand_run(name: str, *, operating: float, shortage: float, calm_operating: float,
             calm_shortage: float, days: int = 365, events: int = 1,
             disruptions: str = "[{kind: node_outage, node: x, start_day: 5, "
                                "duration_days: 10}]") -> xr.Dataset:
    """A two-replicate run reduced to the KPIs cost_benefit reads (every replicate alike)."""
    values = {"total_cost": operating + shortage, "shortage_cost_total": shortage,
              "lost_sales": shortage / 10, "calm_total_cost": calm_operating + calm_shortage,
              "calm_shortage_cost_total": calm_shortage, "calm_lost_sales": calm_shortage / 10,
              "disruption_count": events, "fill_rate": 0.9, "co2e_per_unit_served": 1.0}
    ds = xr.Dataset({k: ("replicate", np.full(2, float(v)), {"kpi": 1, "units": "money"})
                     for k, v in values.items()}, coords={"replicate": [0, 1]})
    ds.attrs["config"] = (f"policy: {{name: {name}}}\nrun: {{days: {days}}}\n"
                          f"disruptions: {disruptions}\n")
    ds.attrs["seed"] = 0
    return ds


def test_break_even_and_roi_by_hand() -> None:
    """A backup at 7,300 a year that saves 339,000 of penalties per event for 2,000 of premiums.

    Over one year with one event: added cost 7,300 + 2,000, loss avoided 339,000, so ROI =
    (339,000 - 9,300) / 9,300; break-even = 7,300 / (339,000 - 2,000) events a year.
    """
    base = hand_run("base", operating=100_000, shortage=400_000, calm_operating=100_000,
                    calm_shortage=10_000)
    backup = hand_run("backup", operating=109_300, shortage=61_000, calm_operating=107_300,
                      calm_shortage=10_000)
    table = cost_benefit({"base": base, "backup": backup}, baseline="base")
    row = table.sel(policy="backup")
    assert table.attrs["reading"] == "per event"
    assert float(row.running_cost_per_year) == pytest.approx(7_300)
    assert float(row.event_cost) == pytest.approx(2_000)
    assert float(row.loss_avoided_per_event) == pytest.approx(339_000)
    assert float(row.net_benefit_per_event) == pytest.approx(337_000)
    assert float(row.breakeven_events_per_year) == pytest.approx(7_300 / 337_000)
    assert float(row.roi) == pytest.approx((339_000 - 9_300) / 9_300)
    assert str(row.roi_reading.values) == "ROI"
    assert float(row.net_saving_per_year) == pytest.approx(339_000 - 9_300)


def test_a_cheaper_worse_strategy_has_no_infinite_roi() -> None:
    base = hand_run("base", operating=100_000, shortage=50_000, calm_operating=100_000,
                    calm_shortage=10_000)
    lean = hand_run("lean", operating=90_000, shortage=150_000, calm_operating=90_000,
                    calm_shortage=60_000)
    free = hand_run("free", operating=100_000, shortage=40_000, calm_operating=100_000,
                    calm_shortage=10_000)
    dearer = hand_run("dearer", operating=110_000, shortage=60_000, calm_operating=110_000,
                      calm_shortage=10_000)
    table = cost_benefit({"base": base, "lean": lean, "free": free, "dearer": dearer})
    assert np.isnan(table.roi.sel(policy=["lean", "free", "dearer"])).all()
    assert table.roi_reading.sel(policy="lean").item() == "cheaper, worse"
    assert table.roi_reading.sel(policy="free").item() == "dominates"
    assert table.roi_reading.sel(policy="dearer").item() == "dominated"
    # lean's running cost counts its normal-time shortfalls: 50,000 more penalties, 10,000 less
    assert float(table.running_cost_per_year.sel(policy="lean")) == pytest.approx(40_000)
    assert float(table.net_saving_per_year.sel(policy="lean")) == pytest.approx(-90_000)


def test_random_events_read_per_year_without_a_break_even() -> None:
    runs = {name: hand_run(name, operating=o, shortage=s, calm_operating=o, calm_shortage=0,
                           days=730, events=3,
                           disruptions="[{kind: random_outages, nodes: [x], "
                                       "rate_per_year: 2, duration_days: 5}]")
            for name, o, s in (("base", 100_000, 80_000), ("buffer", 120_000, 20_000))}
    table = cost_benefit(runs)
    assert table.attrs["reading"] == "per year"
    assert np.isnan(table.breakeven_events_per_year.sel(policy="buffer"))
    assert float(table.net_saving_per_year.sel(policy="buffer")) == pytest.approx(20_000)
    assert float(table.added_cost_per_year.sel(policy="buffer")) == pytest.approx(10_000)


def test_demo_strategies_read_per_event(demo: sim.Network) -> None:
    policies = {name: yaml.safe_load(open(f"configs/policy/{name}.yaml", encoding="utf-8"))
                for name in ("base_stock", "lean", "backup_supplier")}
    runs = sim.simulate_policies(demo, policies, days=120, warmup_days=30, replicates=20,
                                 seed=5, engine="batch", disruptions=OUTAGE, record="kpis")
    table = cost_benefit(runs, baseline="base_stock")
    assert table.attrs["reading"] == "per event" and table.attrs["events_per_replicate"] == 1
    backup = table.sel(policy="backup_supplier")
    fee = policies["backup_supplier"]["sourcing"]["backup"]["reservation_fee_per_day"]
    # the reservation fee is the running cost; the calm twins' other costs do not change
    assert float(backup.running_cost_per_year) == pytest.approx(365 * fee, rel=1e-6)
    assert 0 < float(backup.breakeven_events_per_year) < 0.1
    assert table.roi_reading.sel(policy="lean").item() != "ROI"
    assert np.isfinite(table.roi.where(table.roi_reading == "ROI")).sum() >= 1


# --------------------------------------------------------------------------------------------
# Pipeline capital
# --------------------------------------------------------------------------------------------
def test_a_longer_sea_lane_costs_at_least_its_pipeline(demo: sim.Network) -> None:
    longer = demo.replace(lanes=tuple(
        replace(lane, lead_time_days=28) if lane.id == "ctrl_a-plant" else lane
        for lane in demo.lanes))
    kwargs = {"days": 180, "warmup_days": 60, "replicates": 10, "seed": 2, "engine": "batch",
              "record": "kpis"}
    short, long = sim.simulate(demo, **kwargs), sim.simulate(longer, **kwargs)
    plant = demo.node("plant")
    value = demo.node("ctrl_a").unit_value
    flow = 0.5 * sum(z.mean for z in demo.demand)  # half the controllers come by sea
    added_pipeline = 14 * flow * value * plant.holding_cost_rate / 365 * 180
    rise = (long.total_cost - short.total_cost).mean().item()
    assert rise >= 0.95 * added_pipeline  # the stock in transit is no longer free
    pipeline_rise = (long.pipeline_holding_cost_total - short.pipeline_holding_cost_total)
    assert pipeline_rise.mean().item() == pytest.approx(added_pipeline, rel=0.05)


def test_pipeline_is_charged_to_its_owner() -> None:
    network = single_stage(lead=4, sd=0.0)
    seller = network.replace(lanes=tuple(replace(lane, pipeline_owner="seller")
                                         for lane in network.lanes))
    kwargs = {"days": 30, "engine": "batch", "record": "full"}
    buyer_run, seller_run = sim.simulate(network, **kwargs), sim.simulate(seller, **kwargs)
    lane = network.lanes[0]
    source, target = network.node(lane.source), network.node(lane.target)
    in_transit = buyer_run.lane_in_transit.sel(lane=lane.id, replicate=0)
    expected = in_transit * source.unit_value * target.holding_cost_rate / 365
    np.testing.assert_allclose(buyer_run.pipeline_holding_cost.sel(
        node=target.id, replicate=0), expected, rtol=1e-12)
    assert float(seller_run.pipeline_holding_cost.sel(node=target.id).sum()) == 0
    assert float(seller_run.pipeline_holding_cost.sel(node=source.id).sum()) > 0
    total = buyer_run.mean_total_inventory_value
    np.testing.assert_allclose(total, buyer_run.mean_inventory_value
                               + buyer_run.mean_pipeline_value, rtol=1e-12)
    with pytest.raises(sim.NetworkError, match=r"pipeline_owner = 'carrier': must be one of"):
        sim.Lane("l", "a", "b", pipeline_owner="carrier")


# --------------------------------------------------------------------------------------------
# Backorders: a day late is not a lost sale
# --------------------------------------------------------------------------------------------
def test_backorders_pay_per_unit_day_by_default() -> None:
    network = single_stage(unmet="backorder", supplier_capacity=90)
    ds = sim.simulate(network, days=60, engine="batch", record="full", seed=1)
    zone = network.demand[0]
    lost_sale = network.node(zone.node).unit_value
    expected = ds.backlog.sum("node") * lost_sale / BACKORDER_DAYS_PER_LOST_SALE
    np.testing.assert_allclose(ds.shortage_cost.sum("node"), expected, rtol=1e-12)
    fixed = network.replace(demand=tuple(replace(z, backorder_cost_per_unit=5.0,
                                                 backorder_cost_per_unit_day=1.0)
                                         for z in network.demand))
    again = sim.simulate(fixed, days=60, engine="batch", record="full", seed=1)
    np.testing.assert_allclose(again.shortage_cost.sum("node"),
                               5.0 * again.shortage.sum("node") + again.backlog.sum("node"),
                               rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Green measures lower the footprint
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["green_procurement", "green_logistics"])
def test_green_presets_lower_co2e_per_unit(demo: sim.Network, preset: str) -> None:
    policy = yaml.safe_load(open(f"configs/policy/{preset}.yaml", encoding="utf-8"))
    kwargs = {"days": 180, "warmup_days": 30, "replicates": 30, "seed": 3, "engine": "batch",
              "record": "kpis"}
    base, green = sim.simulate(demo, **kwargs), sim.simulate(demo, policy=policy, **kwargs)
    diff = (green.co2e_per_unit_served - base.co2e_per_unit_served).values
    standard_error = diff.std(ddof=1) / np.sqrt(diff.size)
    assert diff.mean() < -3 * standard_error and diff.mean() < 0


def test_green_rules_rank_by_the_cradle_to_gate_path(demo: sim.Network) -> None:
    """A green-flagged source whose inputs fly in is not the clean one."""
    from sim.compile.layout import Layout
    from sim.compile.shares import path_footprints

    dirty = demo.replace(lanes=tuple(
        replace(lane, co2e_kg_per_unit_km=0.002) if lane.id == "chip-ctrl_b" else lane
        for lane in demo.lanes))
    footprint = path_footprints(Layout.of(dirty), Layout.of(dirty).lane_share)
    assert footprint[dirty.node_index["ctrl_b"]] > footprint[dirty.node_index["ctrl_a"]]
    plan = plan_policy(sim.spec.policy.policy_from_mapping({"sourcing": {"prefer_green": 0.8}}),
                       dirty)
    share = dict(zip(plan.layout.lane_ids, plan.share, strict=True))
    assert share["ctrl_a-plant"] > share["ctrl_b-plant"]  # the flag does not decide
    assert share["motor_b-plant"] > share["motor_a-plant"]  # motor_b is the cleaner path


def test_green_labels_that_the_data_contradict_are_reported(demo: sim.Network) -> None:
    from sim.compile.layout import Layout
    from sim.compile.shares import green_label_conflicts

    assert green_label_conflicts(Layout.of(demo)) == []  # the demo's flags and data agree
    flown = demo.replace(lanes=tuple(  # ctrl_b's chips by air again
        replace(lane, mode="air", co2e_kg_per_unit_km=0.0002) if lane.id == "chip-ctrl_b"
        else lane for lane in demo.lanes))
    issues = [str(issue) for issue in green_label_conflicts(Layout.of(flown))]
    assert len(issues) == 1 and "ctrl_b" in issues[0] and "ctrl_b-plant" in issues[0]


def test_the_report_reads_the_money_in_the_reading_that_applies() -> None:
    from analysis.report import _money_finding

    base = hand_run("base", operating=100_000, shortage=400_000, calm_operating=100_000,
                    calm_shortage=10_000)
    backup = hand_run("backup", operating=109_300, shortage=61_000, calm_operating=107_300,
                      calm_shortage=10_000)
    text = _money_finding(cost_benefit({"base": base, "backup": backup}), "backup")
    assert "largest net benefit" in text and "0.0217 times a year" in text
    lean = hand_run("lean", operating=90_000, shortage=600_000, calm_operating=90_000,
                    calm_shortage=60_000)
    text = _money_finding(cost_benefit({"base": base, "lean": lean}), "lean")
    assert "No strategy compared does better" in text and "largest" not in text
    runs = {name: hand_run(name, operating=o, shortage=s, calm_operating=o, calm_shortage=0,
                           days=730, events=3,
                           disruptions="[{kind: random_outages, nodes: [x], "
                                       "rate_per_year: 2, duration_days: 5}]")
            for name, o, s in (("base", 100_000, 80_000), ("buffer", 120_000, 20_000))}
    text = _money_finding(cost_benefit(runs), "buffer")
    assert "expected to save 20,000 a year" in text and "break" not in text


def test_the_report_says_which_recovery_rule_it_read(demo: sim.Network) -> None:
    from analysis.report import _recovery_finding

    ds = sim.simulate(demo, days=90, replicates=3, engine="batch", seed=1, record="kpis",
                      resilience={"hold_days": 3, "tolerance": 0.05}, disruptions=OUTAGE)
    text = _recovery_finding(ds)
    assert "In the 3 of 3 replicates" in text and "within 5 points" in text
    assert "for 3 days in a row" in text
