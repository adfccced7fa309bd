"""Criticality scan, structural exposure and attribution of losses to their causes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sim
from sim.spec.errors import ConfigError


def test_scan_ranks_what_breaks_the_chain(demo: sim.Network) -> None:
    scan = sim.criticality_scan(demo, replicates=10, days=80, duration_days=25)
    assert scan.sel(target="none").loss.item() == 0
    loss = scan.loss.to_series()
    # the plant is the single assembly point: its outage must be among the worst
    assert scan.sel(target="node:plant").criticality_rank.item() <= 3
    # standby lanes are not disrupted (only primary lanes are); a distribution centre outage
    # costs less than the plant's, which starves both
    assert "lane:ctrl_backup-plant" not in loss.index
    assert loss["node:dc_north"] < loss["node:plant"]
    # a regional event in the east (plant, steel, housing_a, motor_a, ctrl_b) beats any single
    # node of it
    assert loss["region:east"] >= loss["node:housing_a"]
    assert sorted(scan.criticality_rank.values[1:].tolist()) == list(range(1, scan.sizes["target"]))


def test_scan_equals_single_runs(demo: sim.Network) -> None:
    """A target's variant in the batch is the run with that one disruption (same demand)."""
    scan = sim.criticality_scan(demo, targets=["node"], replicates=4, days=60, seed=5)
    single = sim.simulate(demo, days=60, warmup_days=30, replicates=4, seed=5, engine="batch",
                          record="kpis",
                          disruptions=[sim.NodeOutage("ctrl_b", start_day=10, duration_days=30)])
    np.testing.assert_allclose(scan.lost_sales.sel(target="node:ctrl_b"), single.lost_sales,
                               rtol=1e-12)
    calm = sim.simulate(demo, days=60, warmup_days=30, replicates=4, seed=5, engine="batch",
                        record="kpis")
    np.testing.assert_allclose(scan.lost_sales.sel(target="none"), calm.lost_sales, rtol=1e-12)


def test_scan_checks_its_arguments(demo: sim.Network) -> None:
    with pytest.raises(ConfigError, match="targets = 'planet'"):
        sim.criticality_scan(demo, targets=["planet"], replicates=2)
    with pytest.raises(ConfigError, match="kpi = 'happiness'"):
        sim.criticality_scan(demo, kpi="happiness", replicates=2)


def test_exposure_finds_the_hidden_chip_dependency(demo: sim.Network) -> None:
    mapped = sim.exposure(demo)
    plant = mapped.sel(node="plant")
    # both controller makers buy chips from the one overseas fab: a tier-2 single point
    assert plant.single_point.sel(upstream="chip_fab")
    assert plant.single_point.sel(upstream="steel_mill")  # both housing makers use it
    assert not plant.single_point.sel(upstream="ctrl_a")  # two controller makers
    assert plant.hops.sel(upstream="chip_fab") == 2 and plant.indirect.sel(upstream="chip_fab")
    assert mapped.sel(node="dc_north").single_point.sel(upstream="plant")
    # with the standby controller maker counted, the chip fab stops being a single point
    standby = sim.exposure(demo, count_backups=True).sel(node="plant")
    assert not standby.single_point.sel(upstream="chip_fab")
    assert standby.single_point.sel(upstream="steel_mill")


def test_attribution_splits_losses_by_cause(demo: sim.Network) -> None:
    causes = [sim.NodeOutage("ctrl_a", 20, 30), sim.NodeOutage("motor_a", 60, 20),
              sim.DemandShock("north_city", start_day=40, duration_days=10, factor=1.5)]
    ds = sim.simulate(demo, days=120, warmup_days=20, replicates=20, engine="batch", seed=8,
                      disruptions=causes)
    out = sim.attribute(ds, kpis=["lost_sales"])
    effect = out.effect.sel(kpi="lost_sales")
    assert (effect > 0).all()  # every cause costs sales
    assert effect.isel(cause=0) > effect.isel(cause=2)  # 30 days of controllers > a surge
    # effects plus interaction add up to the whole loss, by construction of the remainder
    assert float(effect.sum() + out.interaction.sel(kpi="lost_sales")) == pytest.approx(
        float(out.total.sel(kpi="lost_sales")))
    # the first cause's effect is the paired difference with the run without it
    without = sim.simulate(demo, days=120, warmup_days=20, replicates=20, engine="batch",
                           seed=8, disruptions=causes, mute_disruptions=[0])
    assert effect.isel(cause=0).item() == pytest.approx(
        float((ds.lost_sales - without.lost_sales).mean()))
    # the motor outage (days 60-79) adds no shortage before it starts
    daily = out.daily_shortage.isel(cause=1)
    assert float(abs(daily.sel(day=slice(0, 59))).max()) < 1e-9
    assert float(daily.sel(day=slice(60, 119)).sum()) > 0
    with pytest.raises(ConfigError, match="no disruption"):
        sim.attribute(sim.simulate(demo, days=10, replicates=2, engine="batch"))


def test_mute_disruptions_keeps_every_other_draw(demo: sim.Network) -> None:
    shocks = [sim.RandomOutages(mttf_days=20, mttr_days=3),
              sim.NodeOutage("ctrl_a", 5, 10)]
    both = sim.simulate(demo, days=40, replicates=3, engine="batch", record="full", seed=1,
                        disruptions=shocks, mute_disruptions=[1])
    alone = sim.simulate(demo, days=40, replicates=3, engine="batch", record="full", seed=1,
                         disruptions=shocks[:1])
    xr.testing.assert_allclose(both.stock, alone.stock)
    with pytest.raises(ConfigError, match="mute_disruptions = 5"):
        sim.simulate(demo, days=5, disruptions=shocks, mute_disruptions=[5])
