"""Priced measures: backup contracts by lane and capacity, early-warning fees, public budgets.

Each cost is checked in its units against a hand count on the same replicates (common random
numbers): a fee per day x days, a fee per unit/day of capacity x capacity x days, and the share
of a measure's cost that a public budget pays.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import sim
from sim.compile.plan import plan_policy
from sim.spec.policy import policy_from_mapping

DAYS, WARMUP = 80, 10
OUTAGE = [sim.NodeOutage("ctrl_a", start_day=20, duration_days=30),
          sim.NodeOutage("ctrl_b", start_day=25, duration_days=20)]
BACKUP, ALTERNATE = "ctrl_backup-plant", "ctrl_a-plant-air"


def run(network: sim.Network, policy: dict, *, record: str = "kpis", shocks=OUTAGE):
    return sim.simulate(network, policy=policy_from_mapping(policy), disruptions=shocks,
                        days=DAYS, warmup_days=WARMUP, replicates=3, seed=5, record=record)


def sourcing(**backup) -> dict:
    return {"sourcing": {"dynamic": True, "detection_delay_days": 1,
                         "backup": {"activation_lag_days": 1, **backup}}}


def flow(ds, lane: str) -> np.ndarray:
    return ds.lane_flow.sel(lane=lane).values


def test_an_uncontracted_backup_supplier_never_delivers(demo: sim.Network) -> None:
    contracted = run(demo, sourcing(lanes=[BACKUP]))
    none = run(demo, sourcing(lanes=[]))
    assert (flow(contracted, BACKUP) > 0).all()
    assert (flow(none, BACKUP) == 0).all()
    # the alternate route from ctrl_a is no supplier contract: it stays available either way
    assert (flow(none, ALTERNATE) > 0).all()
    assert none.fill_rate.mean() < contracted.fill_rate.mean()


def test_the_fee_is_per_contracted_lane_and_per_unit_of_capacity(demo: sim.Network) -> None:
    """20 a day per contract plus 0.5 a day per unit/day: 20 + 0.5 x 25 = 32.5 a day."""
    base = run(demo, sourcing(lanes=[BACKUP]))
    priced = run(demo, sourcing(lanes=[BACKUP], reservation_fee_per_day=20.0,
                                fee_per_unit_capacity=0.5, capacity_per_day={BACKUP: 25.0}))
    uncapped = run(demo, sourcing(lanes=[BACKUP], capacity_per_day={BACKUP: 25.0}))
    fees = priced.reservation_cost_total - uncapped.reservation_cost_total
    np.testing.assert_allclose(fees, 32.5 * DAYS, rtol=1e-12)
    # only the fees differ: the same flows on the same replicates
    np.testing.assert_array_equal(flow(priced, BACKUP), flow(uncapped, BACKUP))
    assert not np.array_equal(flow(uncapped, BACKUP), flow(base, BACKUP))


def test_contracted_capacity_caps_the_backup_lane(demo: sim.Network) -> None:
    traced = run(demo, sourcing(lanes=[BACKUP], capacity_per_day={BACKUP: 12.0}), record="full")
    shipped = traced.lane_shipped.sel(lane=BACKUP).values
    assert shipped.max() == pytest.approx(12.0)
    larger = run(demo, sourcing(lanes=[BACKUP], capacity_per_day={BACKUP: 200.0}))
    assert flow(larger, BACKUP).mean() > 12.0 * 20  # more room, more carried over the outage


def test_early_warning_costs_per_day_of_notice(demo: sim.Network) -> None:
    """Each node with a supplier lane pays fee x notice days every day."""
    buyers = len({lane.target for lane in demo.lanes})
    free = run(demo, {"early_warning": {"notice_days": 4}})
    paid = run(demo, {"early_warning": {"notice_days": 4, "fee_per_notice_day": 1.5,
                                        "public_share": 0.25}})
    extra = paid.reservation_cost_total - free.reservation_cost_total
    np.testing.assert_allclose(extra, 1.5 * 4 * buyers * DAYS, rtol=1e-12)
    np.testing.assert_allclose(paid.public_cost_total, 0.25 * extra, rtol=1e-12)
    np.testing.assert_array_equal(paid.fill_rate, free.fill_rate)


def test_a_public_reserve_is_paid_by_the_public_budget(demo: sim.Network) -> None:
    reserve = {"node": "dc_north", "units": 300, "threshold": 0.95, "release_per_day": 30,
               "release_cost_per_unit": 2.0}
    public = run(demo, {"reserves": [{**reserve, "public_share": 1.0}]}, record="full")
    half = run(demo, {"reserves": [{**reserve, "public_share": 0.5}]})
    private = run(demo, {"reserves": [{**reserve, "public_share": 0.0}]})
    released = public.reserve_released.sel(node="dc_north").sum("day").values
    assert (released > 0).all()
    assert float(public.public_cost.sum()) > 0
    np.testing.assert_allclose(half.public_cost_total, 0.5 * public.public_cost_total,
                               rtol=1e-12)
    assert (private.public_cost_total == 0).all()
    # what the budget pays is a part of the total, never more
    assert (public.public_cost_total <= public.total_cost).all()
    by_node = public.public_cost.sum("day")
    assert float(abs(by_node.drop_sel(node="dc_north")).max()) == 0.0
    # the releases at 2 a unit are in it, and the holding of what was not released
    assert (public.public_cost_total.values > 2.0 * released).all()


def test_a_public_shared_warehouse_is_paid_in_full(demo: sim.Network) -> None:
    policy = {"sourcing": {"dynamic": True},
              "shared_warehouses": [{"id": "store", "members": ["plant"], "item": "@input",
                                     "units": 100, "fee_per_day": 40.0}]}
    traced = run(demo, policy, record="full")
    store = traced.sel(node="store")
    np.testing.assert_allclose(store.public_cost, store.cost, rtol=1e-12)
    np.testing.assert_allclose(traced.public_cost_total, store.cost.sum("day"), rtol=1e-12)
    assert float(store.cost.sum()) >= 40.0 * DAYS * 3  # at least its fee, in each replicate


@pytest.mark.parametrize(("backup", "key", "message"), [
    ({"lanes": ["nowhere"]}, "lanes", "not a lane of network"),
    ({"lanes": ["plant-dc_north"]}, "lanes", "a primary lane"),
    ({"capacity_per_day": {"nowhere": 3}}, "capacity_per_day", "not a lane"),
    ({"fee_per_unit_capacity": 1.0}, "capacity_per_day", "unlimited"),
])
def test_bad_contracts_name_the_lane(demo: sim.Network, backup: dict, key: str,
                                     message: str) -> None:
    unlimited = tuple(replace(lane, capacity_per_day=math.inf) if lane.id == BACKUP else lane
                      for lane in demo.lanes)  # a backup supplier lane with no capacity limit
    network = demo.replace(lanes=unlimited)
    with pytest.raises(sim.ConfigError) as error:
        plan_policy(policy_from_mapping(sourcing(**backup)), network)
    assert key in str(error.value) and message in str(error.value)


@pytest.mark.parametrize(("part", "value"), [
    ({"sourcing": {"backup": {"public_share": 1.5}}}, "public_share"),
    ({"sourcing": {"backup": {"lanes": "ctrl_backup-plant"}}}, "lanes"),
    ({"sourcing": {"backup": {"capacity_per_day": {BACKUP: -1}}}}, "capacity_per_day"),
    ({"early_warning": {"fee_per_notice_day": -2}}, "fee_per_notice_day"),
    ({"reserves": [{"node": "dc_north", "units": 1, "public_share": -0.1}]}, "public_share"),
])
def test_bad_prices_name_the_key(part: dict, value: str) -> None:
    with pytest.raises(sim.ConfigError, match=value):
        policy_from_mapping(part)


def test_a_contract_the_policy_cannot_use_costs_nothing(demo: sim.Network) -> None:
    """Static shares never activate a backup, nor does dynamic sourcing with backups off."""
    fee = {"backup": {"reservation_fee_per_day": 20.0}}
    static = run(demo, {"sourcing": {"dynamic": False, **fee}})
    off = run(demo, {"sourcing": {"dynamic": True, "backups": False, **fee}})
    on = run(demo, {"sourcing": {"dynamic": True, **fee}})
    assert (static.reservation_cost_total == 0).all() and (off.reservation_cost_total == 0).all()
    np.testing.assert_allclose(on.reservation_cost_total, 20.0 * DAYS, rtol=1e-12)
