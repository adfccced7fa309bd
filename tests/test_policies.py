"""Each policy moves the KPI it exists for, beyond Monte Carlo error, and costs what it says.

Comparisons are paired: both strategies run on the same replicates (common random numbers), and
a difference counts when its mean exceeds three standard errors of the paired differences.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import sim
from sim.compile.plan import plan_policy
from sim.spec.policy import policy_from_mapping

OUTAGE = sim.NodeOutage("ctrl_a", start_day=20, duration_days=30)
RUN = {"days": 120, "warmup_days": 20, "replicates": 60, "seed": 11, "engine": "batch"}


def run(network: sim.Network, policy: dict | sim.Policy, **kwargs) -> sim.xr.Dataset:
    arguments = {**RUN, "disruptions": [OUTAGE], **kwargs}
    return sim.simulate(network, policy=policy, **arguments)


def clearly_greater(a: np.ndarray, b: np.ndarray) -> bool:
    """Paired: mean(a - b) > 3 standard errors."""
    diff = np.asarray(a) - np.asarray(b)
    return diff.mean() > 3 * diff.std(ddof=1) / np.sqrt(diff.size)


def time_to_recover(ds: sim.xr.Dataset, start: int, level: float = 0.95,
                    window: int = 7) -> np.ndarray:
    """Per replicate: days from ``start`` until the weekly service level is back for good."""
    weekly = ds.network_service_level.rolling(day=window).mean().values[:, start:]
    below = np.nan_to_num(weekly, nan=1.0) < level  # (replicate, day)
    last = below.shape[1] - np.argmax(below[:, ::-1], axis=1)
    return np.where(below.any(axis=1), last, 0).astype(float)


# --------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------
def test_more_safety_stock_raises_fill_rate_under_an_outage(demo: sim.Network) -> None:
    lean = run(demo, {"inventory": {"safety_factor": 0.0}})
    buffered = run(demo, {"inventory": {"safety_factor": 2.5}})
    assert clearly_greater(buffered.fill_rate, lean.fill_rate)
    assert clearly_greater(buffered.holding_cost_total, lean.holding_cost_total)  # the price


def test_days_of_cover_sets_safety_stock_in_days(demo: sim.Network) -> None:
    plan = plan_policy(policy_from_mapping({"inventory": {"rule": "days_of_cover", "cover_days": 4}}
                               ), demo)
    layout = plan.layout
    mu = layout.mean_outflow
    dc = demo.node_index["dc_north"]
    k = layout.inputs_of(dc)
    # a warehouse: S = mu x (L + cover)
    np.testing.assert_allclose(plan.levels.order_up_to[k],
                               mu[dc] * (plan.levels.protection_days[k] + 4))
    covered = run(demo, {"inventory": {"rule": "days_of_cover", "cover_days": 6}})
    base = run(demo, {})
    assert clearly_greater(covered.fill_rate, base.fill_rate)


def test_service_level_sets_the_safety_factor(demo: sim.Network) -> None:
    by_level = plan_policy(policy_from_mapping({"inventory": {"service_level": 0.98}}), demo).levels
    by_z = plan_policy(sim.BaseStockPolicy(safety_factor=stats.norm.ppf(0.98)), demo).levels
    np.testing.assert_allclose(by_level.order_up_to, by_z.order_up_to)


def test_s_S_orders_less_often_in_bigger_lots(demo: sim.Network) -> None:
    base = run(demo, {}, record="full", replicates=5, disruptions=[])
    s_s = run(demo, {"inventory": {"rule": "s_S", "order_days": 7}}, record="full",
              replicates=5, disruptions=[])
    lane = "plant-dc_north"
    order_days = lambda ds: (ds.lane_ordered.sel(lane=lane) > 1e-9).sum("day")  # noqa: E731
    assert (order_days(s_s) < order_days(base) / 3).all()
    lot = lambda ds: ds.lane_ordered.sel(lane=lane).where(  # noqa: E731
        ds.lane_ordered.sel(lane=lane) > 1e-9).mean("day")
    assert (lot(s_s) > 3 * lot(base)).all()


def test_settings_by_node_class(demo: sim.Network) -> None:
    policy = policy_from_mapping({"inventory": {"safety_factor": 1.0, "by_kind": {
        "warehouse": {"safety_factor": 3.0}}, "by_node": {"plant": {"safety_factor": 0.0}}}})
    levels = plan_policy(policy, demo).levels
    layout = plan_policy(policy, demo).layout
    reference = plan_policy(sim.BaseStockPolicy(safety_factor=1.0, safety_factor_by_node={
        "dc_north": 3.0, "dc_south": 3.0, "plant": 0.0}), demo).levels
    np.testing.assert_allclose(levels.order_up_to, reference.order_up_to)
    np.testing.assert_allclose(levels.fg_level, reference.fg_level)
    assert layout.n_nodes == len(demo.nodes)


# --------------------------------------------------------------------------------------------
# Sourcing
# --------------------------------------------------------------------------------------------
def test_dynamic_reallocation_rescues_service_from_a_dead_source(demo: sim.Network) -> None:
    fixed = run(demo, {})
    dynamic = run(demo, {"sourcing": {"dynamic": True, "backups": False}})
    assert clearly_greater(dynamic.fill_rate, fixed.fill_rate)
    assert float(dynamic.backup_units.max()) == 0  # no backup lanes used


def test_backup_supplier_shortens_the_time_to_recover(demo: sim.Network) -> None:
    kwargs = {"record": "full", "replicates": 40}
    without = run(demo, {"sourcing": {"dynamic": True, "backups": False}}, **kwargs)
    backup = run(demo, {"sourcing": {"dynamic": True, "backup": {"activation_lag_days": 2}}},
                 **kwargs)
    # ctrl_b alone makes 70 of the 100 controllers a day; the backup's 40 close the gap
    start = OUTAGE.start_day
    assert clearly_greater(time_to_recover(without, start), time_to_recover(backup, start))
    assert clearly_greater(backup.fill_rate, without.fill_rate)
    assert float(backup.backup_units.min()) > 0


def test_backup_activates_after_detection_plus_lag(demo: sim.Network) -> None:
    ds = run(demo, {"sourcing": {"dynamic": True, "detection_delay_days": 2,
                                 "backup": {"activation_lag_days": 3}}},
             record="full", replicates=1, warmup_days=0)
    flow = ds.lane_shipped.sel(lane="ctrl_backup-plant", replicate=0).values
    first_order = 20 + 2 + 3  # outage day + detection + lag: the counter passes the lag
    assert flow[:first_order + 1].sum() == 0  # ordered that day at the earliest, shipped next
    # from then on it takes what ctrl_b (70 a day) cannot, once an order exceeds that
    assert flow[first_order + 1:first_order + 8].sum() > 0


def test_regional_diversification_caps_each_region(demo: sim.Network) -> None:
    network = demo.replace(lanes=tuple(
        sim.Lane(**{**lane.__dict__, "share": {"motor_a-plant": 0.9, "motor_b-plant": 0.1}
                    .get(lane.id, lane.share)}) for lane in demo.lanes))
    plan = plan_policy(policy_from_mapping({"sourcing": {"max_region_share": 0.6}}), network)
    share = dict(zip([lane.id for lane in network.lanes], plan.share, strict=True))
    assert share["motor_a-plant"] == pytest.approx(0.6)
    assert share["motor_b-plant"] == pytest.approx(0.4)
    lockdown = sim.RegionalEvent("east", start_day=20, duration_days=30, severity=1.0)
    base = run(network, {}, disruptions=[lockdown])
    diverse = run(network, {"sourcing": {"max_region_share": 0.6}}, disruptions=[lockdown])
    assert clearly_greater(diverse.fill_rate, base.fill_rate)


def test_single_source_and_green_preference_move_shares(demo: sim.Network) -> None:
    # with room at every maker the rules get what they ask; the demo's 70-a-day makers cap them
    roomy = demo.replace(nodes=tuple(
        sim.Node(**{**node.__dict__, "capacity_per_day": float("inf")}) for node in demo.nodes))
    ids = [lane.id for lane in demo.lanes]
    for network, single_expected, green_expected in ((roomy, [0.0, 1.0], 0.9),
                                                     (demo, [0.3, 0.7], 0.7)):
        single = plan_policy(policy_from_mapping({"sourcing": {"single_source": True}}), network)
        green = plan_policy(policy_from_mapping({"sourcing": {"prefer_green": 0.8}}), network)
        s, g = dict(zip(ids, single.share, strict=True)), dict(zip(ids, green.share, strict=True))
        np.testing.assert_allclose(sorted([s["motor_a-plant"], s["motor_b-plant"]]),
                                   single_expected)
        # motor_b and ctrl_b are green: asked 0.5 + 0.8 x 0.5 = 0.9 of the input
        assert g["motor_b-plant"] == pytest.approx(green_expected)
        assert g["ctrl_b-plant"] == pytest.approx(green_expected)


# --------------------------------------------------------------------------------------------
# Collaboration
# --------------------------------------------------------------------------------------------
def bullwhip_by_tier(ds: sim.xr.Dataset) -> dict[int, float]:
    """Variance of the orders placed by each tier over the variance of end demand."""
    demand = ds.demand.sum("node")
    tier = ds.node_tier.sel(node=ds.lane_target).drop_vars("node").rename("tier")  # who orders
    orders = ds.lane_ordered.groupby(tier).sum()
    base = float(demand.var("day").mean())
    return {int(t): float(orders.sel(tier=t).var("day").mean()) / base
            for t in orders.tier.values}


def test_information_sharing_lowers_the_bullwhip_upstream(demo: sim.Network) -> None:
    kwargs = {"record": "full", "disruptions": [], "replicates": 20, "days": 200}
    on_orders = run(demo, {"forecast": {"method": "moving_average", "window_days": 5,
                                        "signal": "orders"}}, **kwargs)
    shared = run(demo, {"forecast": {"method": "moving_average", "window_days": 5,
                                     "signal": "pos", "info_delay_days": 1}}, **kwargs)
    vmi = run(demo, {"forecast": {"method": "moving_average", "window_days": 5,
                                  "signal": "orders", "vmi": ["dc_north", "dc_south"]}},
              **kwargs)
    orders, pos, vmi_ = (bullwhip_by_tier(d) for d in (on_orders, shared, vmi))
    # tiers of the ordering side: 0 the centres, 1 the plant, 2 the part makers
    assert orders[2] > orders[0] > 1  # the bullwhip grows upstream without sharing
    for tier in (1, 2):  # the plant's orders and the part makers' orders
        assert pos[tier] < 0.8 * orders[tier]
    assert vmi_[1] < 0.8 * orders[1]  # the plant plans on the centres' sales, not orders


def test_pooling_needs_less_stock_for_the_same_fill_rate(demo: sim.Network) -> None:
    kwargs = {"disruptions": [], "replicates": 80, "days": 150}
    curves = {}
    for pooled in (False, True):
        points = []
        for z in (0.0, 0.5, 1.0, 1.5):
            policy = {"inventory": {"safety_factor": 0.0, "by_kind": {
                "warehouse": {"safety_factor": z}}}}
            if pooled:
                policy["pooling"] = {"groups": [["dc_north", "dc_south"]]}
            ds = run(demo, policy, **kwargs)
            stock = float(ds.stock.sel(node=["dc_north", "dc_south"]).sum("node").mean())
            points.append((float(ds.fill_rate.mean()), stock))
        curves[pooled] = sorted(points)
    target = 0.985
    needed = {pooled: np.interp(target, *zip(*curves[pooled], strict=True))
              for pooled in curves}
    assert needed[True] < 0.9 * needed[False]


def test_shared_cluster_warehouse_backs_up_its_members(demo: sim.Network) -> None:
    shared = {"sourcing": {"dynamic": True, "backups": False},
              "shared_warehouses": [{"id": "cluster_store", "members": ["plant"],
                                     "item": "controller", "units": 600, "fee_per_day": 80}]}
    without = run(demo, {"sourcing": {"dynamic": True, "backups": False}})
    with_store = run(demo, shared)
    assert "cluster_store" in with_store.node.values
    assert clearly_greater(with_store.fill_rate, without.fill_rate)


# --------------------------------------------------------------------------------------------
# Logistics, warning, reserves, green
# --------------------------------------------------------------------------------------------
def test_alternate_route_takes_over_a_closed_lane(demo: sim.Network) -> None:
    closure = sim.LaneDisruption("ctrl_a-plant", start_day=20, duration_days=30)
    policy = {"sourcing": {"dynamic": True, "backups": True, "switch_over_days": 1,
                           "switch_cost": 300, "backup": {"activation_lag_days": 1000}}}
    fixed = run(demo, {}, disruptions=[closure])
    rerouted = run(demo, policy, disruptions=[closure], record="full")
    assert clearly_greater(rerouted.fill_rate, fixed.fill_rate)
    air = rerouted.lane_shipped.sel(lane="ctrl_a-plant-air").sum("day")
    assert (air > 0).all()
    assert float(rerouted.lane_shipped.sel(lane="ctrl_backup-plant").sum()) == 0


def test_expediting_cuts_lost_sales_when_the_regular_lane_is_slow() -> None:
    network = sim.Network(
        name="expedite",
        nodes=[sim.Node("s", "supplier", "x"), sim.Node("w", "warehouse", "x")],
        lanes=[sim.Lane("slow", "s", "w", lead_time_days=12),
               sim.Lane("fast", "s", "w", lead_time_days=1, capacity_per_day=40,
                        cost_per_unit=3.0, role="expedite")],
        demand=[sim.DemandZone("c", "w", mean=50, sd=15)])
    surge = sim.DemandShock("c", start_day=20, duration_days=10, factor=1.8)
    plain = run(network, {}, disruptions=[surge])
    fast = run(network, {"expedite": {"enabled": True, "premium_per_unit": 1.0}},
               disruptions=[surge])
    assert clearly_greater(plain.lost_sales, fast.lost_sales)
    np.testing.assert_allclose(fast.policy_cost_total, 1.0 * fast.expedited_units)


def test_early_warning_reduces_lost_sales(demo: sim.Network) -> None:
    policy = {"sourcing": {"dynamic": True, "detection_delay_days": 3,
                           "backup": {"activation_lag_days": 4}}}
    # ctrl_b's lane is one day long, so a late reaction to its loss shows within days
    outage = [sim.NodeOutage("ctrl_b", start_day=20, duration_days=30)]
    late = run(demo, policy, disruptions=outage)
    warned = run(demo, {**policy, "early_warning": {"notice_days": 10}}, disruptions=outage)
    assert clearly_greater(late.lost_sales, warned.lost_sales)


def test_emergency_reserve_is_released_when_service_falls(demo: sim.Network) -> None:
    reserve = {"reserves": [{"node": node, "units": 600, "threshold": 0.9,
                             "release_per_day": 50} for node in ("dc_north", "dc_south")]}
    base = run(demo, {})
    helped = run(demo, reserve)
    assert clearly_greater(helped.fill_rate, base.fill_rate)
    assert (helped.reserve_released_units > 0).all()
    assert float(helped.reserve_released_units.max()) <= 1200 + 1e-9
    calm = run(demo, {"reserves": [{**r, "threshold": 0.3} for r in reserve["reserves"]]},
               disruptions=[])
    assert float(calm.reserve_released_units.max()) == 0  # nothing released without need


def test_green_mode_choice_lowers_co2e_per_unit(demo: sim.Network) -> None:
    base = run(demo, {}, disruptions=[])
    green = run(demo, {"green": {"prefer_low_emission": 0.5}}, disruptions=[])
    cleaner = run(demo, {"green": {"mode_co2e_kg_per_unit_km": {"road": 0.0004}}},
                  disruptions=[])
    assert clearly_greater(base.co2e_per_unit_served, green.co2e_per_unit_served)
    assert clearly_greater(base.co2e_per_unit_served, cleaner.co2e_per_unit_served)


# --------------------------------------------------------------------------------------------
# Each measure costs what its config says
# --------------------------------------------------------------------------------------------
def test_fees_premiums_and_transfers_cost_what_they_say(demo: sim.Network) -> None:
    days = RUN["days"]
    calm = run(demo, {"sourcing": {"dynamic": True, "backup": {"reservation_fee_per_day": 20,
                                                               "premium_per_unit": 1.5,
                                                               "activation_fee": 500}}},
               disruptions=[])
    np.testing.assert_allclose(calm.policy_cost_total, 20 * days)  # one backup supplier lane
    hit = run(demo, {"sourcing": {"dynamic": True, "backup": {"reservation_fee_per_day": 20,
                                                              "premium_per_unit": 1.5,
                                                              "activation_fee": 500}}},
              record="full")
    # the premium is the backup supplier's; ctrl_a's own air route (an alternate) pays none
    standby = hit.lane_shipped.sel(lane="ctrl_backup-plant").sum("day")
    extra = (hit.policy_cost_total - 20 * days - 1.5 * standby).values / 500
    np.testing.assert_allclose(extra, np.round(extra), atol=1e-9)  # whole activations only
    assert (np.round(extra) >= 1).all() and (hit.backup_units > 0).all()
    pooled = run(demo, {"pooling": {"groups": [["dc_north", "dc_south"]],
                                    "cost_per_unit": 0.8}},
                 disruptions=[sim.DemandShock(zone="north_city", start_day=20, duration_days=20,
                                              factor=2.0)])
    assert (pooled.transferred_units > 0).all()
    np.testing.assert_allclose(pooled.policy_cost_total, 0.8 * pooled.transferred_units)
    store = run(demo, {"shared_warehouses": [{"id": "store", "members": ["plant"],
                                              "item": "controller", "units": 100,
                                              "fee_per_day": 80}]}, disruptions=[])
    np.testing.assert_allclose(store.policy_cost_total, 80 * days)


def test_reserve_holding_cost(demo: sim.Network) -> None:
    ds = run(demo, {"reserves": [{"node": "dc_north", "units": 365, "threshold": 0.0,
                                  "holding_cost_rate": 0.1}]}, disruptions=[])
    value = demo.node("dc_north").unit_value
    np.testing.assert_allclose(ds.policy_cost_total, RUN["days"] * 365 * value * 0.1 / 365)


def test_policy_mapping_round_trip_and_errors(demo: sim.Network) -> None:
    from pathlib import Path

    import yaml
    for path in sorted((Path(__file__).parent.parent / "configs" / "policy").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        policy = policy_from_mapping(data)
        assert policy_from_mapping(policy.to_mapping()) == policy, path.name
    with pytest.raises(sim.ConfigError, match=r"policy.sourcing: detection_delay_days = -1"):
        policy_from_mapping({"sourcing": {"detection_delay_days": -1}})
    with pytest.raises(sim.ConfigError, match=r"policy.forecast: signal = 'rumours'"):
        policy_from_mapping({"forecast": {"signal": "rumours"}})
    with pytest.raises(sim.ConfigError, match=r"policy.pooling: groups\[0\] = 'ghost'"):
        plan_policy(policy_from_mapping({"pooling": {"groups": [["ghost"]]}}), demo)
    with pytest.raises(sim.ConfigError, match=r"policy.inventory: rule = 'kanban'"):
        policy_from_mapping({"inventory": {"rule": "kanban"}})
    with pytest.raises(sim.ConfigError, match=r"unknown field of the policy"):
        policy_from_mapping({"sorcing": {}})


@pytest.mark.parametrize("part,key", [("sourcing", "dynamic"), ("sourcing", "backups"),
                                      ("sourcing", "single_source"), ("expedite", "enabled")])
def test_policy_switches_refuse_text_for_true_or_false(part: str, key: str) -> None:
    # `policy.sourcing.dynamic=no` on Hydra's command line gives the text 'no', which is true
    for value in ("no", "false", 0, 1.0, None):
        with pytest.raises(sim.ConfigError, match=rf"policy.{part}: {key} = .*must be true or "
                                                  "false"):
            policy_from_mapping({part: {key: value}})
    for value in (True, False, np.True_):
        assert bool(getattr(getattr(policy_from_mapping({part: {key: value}}), part), key)) \
            == bool(value)
