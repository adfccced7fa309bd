"""sim.simulate: the results schema, provenance, determinism, common random numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

import sim
from sim.engines.results import save_dataset
from sim.measures.kpis import KPI_ARRAYS, KPI_VARS
from sim.measures.trace import INPUT_VARS, LANE_VARS, NODE_VARS
from sim.spec.errors import ConfigError
from tests.conftest import DEMO, REPO

OUTAGE = sim.NodeOutage("ctrl_a", start_day=10, duration_days=20)


@pytest.fixture(scope="module")
def run(demo: sim.Network) -> xr.Dataset:
    return sim.simulate(demo, record="full", days=50, warmup_days=10, replicates=3, seed=42,
                        disruptions=[OUTAGE], policy={"kind": "base_stock", "safety_factor": 1.2})


def test_variable_names_are_unique() -> None:
    names = [*NODE_VARS, *LANE_VARS, *INPUT_VARS, *KPI_VARS, *KPI_ARRAYS]
    assert len(names) == len(set(names))


def test_schema(run: xr.Dataset, demo: sim.Network) -> None:
    assert dict(run.sizes) == {"replicate": 3, "day": 50, "node": 12, "lane": 15, "input": 9,
                               "tier": 3, "event": 3}  # tiers 0-2 order; one event a replicate
    assert run.day.values.tolist() == list(range(50))
    assert run.node.values.tolist() == [n.id for n in demo.nodes]
    assert run.node_kind.sel(node="plant").item() == "manufacturer"
    assert run.node_tier.sel(node="chip_fab").item() == 3
    assert run.node_region.sel(node="dc_south").item() == "south"
    assert run.lane_mode.sel(lane="ctrl_a-plant").item() == "sea"
    assert run.lane_item.sel(lane="ctrl_a-plant").item() == "controller"
    assert run.input_item.sel(input="plant/motor").item() == "motor"
    for name in NODE_VARS:
        assert run[name].dims == ("replicate", "day", "node")
    for name in LANE_VARS:
        assert run[name].dims == ("replicate", "day", "lane")
    for name in KPI_VARS:
        assert run[name].dims == ("replicate",)
    for name, (_, dim) in KPI_ARRAYS.items():
        assert run[name].dims == ("replicate", dim)
    assert run.tier.values.tolist() == [0, 1, 2]
    log = run.where(run.event_replicate == 1, drop=True)
    assert log.event_target.values.tolist() == ["ctrl_a"]
    assert log.event_kind.item() == "node_capacity" and log.event_cause_kind.item() == "node_outage"
    assert (log.event_start.item(), log.event_end.item()) == (10, 30)  # recorded days
    for name, var in run.data_vars.items():
        assert var.attrs["units"] and var.attrs["description"], name


def test_attrs_hold_what_a_rerun_needs(run: xr.Dataset) -> None:
    attrs = run.attrs
    assert attrs["seed"] == 42 and attrs["engine"] == "mesa"
    assert attrs["sim_version"] == sim.__version__
    assert attrs["git_revision"]
    config = yaml.safe_load(attrs["config"])
    assert config["run"] == {"days": 50, "warmup_days": 10, "replicates": 3, "seed": 42,
                             "engine": "mesa", "record": "full", "quantile_replicates": 10_000}
    assert config["disruptions"][0]["node"] == "ctrl_a"
    assert config["policy"]["inventory"]["safety_factor"] == 1.2
    assert config["network"]["sha256"] == attrs["network_sha256"]
    assert "nodes" in config["network"]["inline"]


def test_rerun_reproduces_bit_for_bit(run: xr.Dataset, tmp_path: Path) -> None:
    path = save_dataset(run, tmp_path / "out" / "results.nc")
    assert path.exists() and not list(path.parent.glob(".*partial"))
    again = sim.rerun(path)
    xr.testing.assert_identical(again.drop_attrs(), run.drop_attrs())
    with xr.open_dataset(path, engine="h5netcdf") as loaded:
        xr.testing.assert_identical(loaded.drop_attrs().load(), run.drop_attrs())


def test_rerun_uses_the_inline_copy_of_a_small_network(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(DEMO.read_text())
    ds = sim.simulate(path, record="full", days=5)
    assert yaml.safe_load(ds.attrs["config"])["network"]["source"] == str(path)
    path.unlink()  # the dataset alone is enough
    xr.testing.assert_equal(sim.rerun(ds), ds)


def test_rerun_of_a_large_file_network_detects_changes(tmp_path: Path) -> None:
    original = REPO / "sim" / "data" / "willems-2008" / "chain-38.csv"
    path = tmp_path / "chain.csv"
    path.write_bytes(original.read_bytes())
    ds = sim.simulate(path, days=1, record="kpis")
    xr.testing.assert_equal(sim.rerun(ds), ds)
    text = original.read_text(encoding="utf-8-sig")
    path.write_text(text.replace(",Retail,0.38,Retail_0001,", ",Retail,0.5,Retail_0001,"))
    with pytest.raises(ConfigError, match="has changed since the run"):
        sim.rerun(ds)


def test_large_networks_are_referenced_not_inlined() -> None:
    net = sim.load_network("example:willems-2008/chain-38.csv")
    ds = sim.simulate(net, days=1, record="kpis")
    record = yaml.safe_load(ds.attrs["config"])["network"]
    assert "inline" not in record and record["source"] == "example:willems-2008/chain-38.csv"
    assert len(ds.attrs["config"]) < 64_000


def test_same_seed_same_data_other_seed_other_data(demo: sim.Network) -> None:
    a = sim.simulate(demo, record="full", days=30, replicates=2, seed=1, disruptions=[OUTAGE])
    b = sim.simulate(demo, record="full", days=30, replicates=2, seed=1, disruptions=[OUTAGE])
    c = sim.simulate(demo, record="full", days=30, replicates=2, seed=2, disruptions=[OUTAGE])
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    assert not np.array_equal(a.demand.values, c.demand.values)


def test_demand_draws_do_not_depend_on_the_policy(demo: sim.Network) -> None:
    runs = [sim.simulate(demo, record="full", days=40, replicates=3, seed=8, disruptions=[OUTAGE],
                         policy=sim.BaseStockPolicy(safety_factor=z)) for z in (0.0, 2.0)]
    np.testing.assert_array_equal(runs[0].demand.values, runs[1].demand.values)
    np.testing.assert_array_equal(runs[0].capacity_factor.values, runs[1].capacity_factor.values)
    assert not np.array_equal(runs[0].stock.values, runs[1].stock.values)


def test_replicate_r_is_the_same_in_any_run_size(demo: sim.Network) -> None:
    small = sim.simulate(demo, record="full", days=20, replicates=2, seed=4)
    large = sim.simulate(demo, record="full", days=20, replicates=5, seed=4)
    xr.testing.assert_identical(small.drop_attrs(), large.isel(replicate=[0, 1]).drop_attrs())


def test_kpis_only(demo: sim.Network) -> None:
    ds = sim.simulate(demo, days=20, replicates=2, record="kpis")
    assert "stock" not in ds and "fill_rate" in ds and "node_fill_rate" in ds


def test_kpis_agree_with_the_traces(run: xr.Dataset) -> None:
    demand = run.demand.sum(("day", "node"))
    np.testing.assert_allclose(run.fill_rate, 1 - run.shortage.sum(("day", "node")) / demand)
    np.testing.assert_allclose(run.total_cost, run.cost.sum(("day", "node")))
    np.testing.assert_allclose(run.lost_sales, run.lost.sum(("day", "node")))
    np.testing.assert_allclose(run.co2e_per_unit_served,
                               run.co2e.sum(("day", "node")) / run.served.sum(("day", "node")))
    assert np.isnan(run.node_fill_rate.sel(node="plant")).all()
    assert (run.node_fill_rate.sel(node="dc_north") <= 1).all()


def test_costs_and_emissions_follow_the_specs(demo: sim.Network) -> None:
    ds = sim.simulate(demo, record="full", days=10, seed=0).isel(replicate=0)
    lane = demo.lanes[demo.lane_index["plant-dc_north"]]
    dc = ds.sel(node="dc_north")
    np.testing.assert_allclose(dc.transport_cost,
                               ds.lane_shipped.sel(lane="plant-dc_north") * lane.cost_per_unit)
    node = demo.node("dc_north")
    np.testing.assert_allclose(dc.holding_cost,
                               dc.stock * node.unit_value * node.holding_cost_rate / 365)
    plant = demo.node("plant")
    inbound = ds.lane_shipped.where(ds.lane_target == "plant", 0)
    co2e_in = sum(inbound.sel(lane=la.id) * la.co2e_kg_per_unit for la in demo.lanes
                  if la.target == "plant")
    np.testing.assert_allclose(ds.co2e.sel(node="plant"),
                               ds.production.sel(node="plant") * plant.production_co2e_kg_per_unit
                               + co2e_in)


@pytest.mark.parametrize("kwargs,fragment", [
    ({"engine": "warp"}, "engine = 'warp'"),
    ({"replicates": 0}, "replicates = 0"),
    ({"record": "some"}, "record = 'some'"),
    ({"days": 0}, "days = 0"),
    ({"policy": {"kind": "magic"}}, "kind = 'magic'"),
    ({"policy": {"safety_factor": "high"}}, "safety_factor = 'high'"),
    ({"policy": {"saftey_factor": 1}}, "saftey_factor = 1: unknown field"),
    ({"policy": {"order_up_to_by_node": {"ghost": 5}}}, "not a node of network 'demo'"),
])
def test_bad_arguments_are_refused(demo: sim.Network, kwargs: dict, fragment: str) -> None:
    arguments = {"days": 5, **kwargs}
    with pytest.raises(ConfigError) as info:
        sim.simulate(demo, **arguments)
    assert fragment in str(info.value)


def test_simulate_accepts_a_path() -> None:
    ds = sim.simulate(str(DEMO), record="full", days=3)
    assert ds.attrs["network_name"] == "demo"


def test_policies_by_preset_name_and_bad_policies_refused(demo: sim.Network) -> None:
    runs = sim.simulate_policies(demo, {"base": None, "backup": "backup_supplier"}, days=20,
                                 replicates=2, engine="batch", record="kpis")
    assert list(runs.policy.values) == ["base", "backup"]
    assert (runs.reservation_cost_total.sel(policy="backup") > 0).all()
    with pytest.raises(sim.ConfigError, match=r"no preset configs/policy/nope\.yaml"):
        sim.simulate(demo, days=5, policy="nope")
    with pytest.raises(sim.ConfigError, match="must be a Policy, a mapping"):
        sim.simulate(demo, days=5, policy=42)


def test_figures_are_written_atomically(tmp_path) -> None:
    import matplotlib.pyplot as plt

    from sim.engines.results import save_figure_atomic

    figure, _ = plt.subplots()
    path = save_figure_atomic(figure, tmp_path / "out" / "f.png", dpi=50)
    plt.close(figure)
    assert path.read_bytes()[:4] == b"\x89PNG" and sorted(p.name for p in path.parent.iterdir()) \
        == ["f.png"]
