"""The investment planner against an analytic optimum, its resume, and its input checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import sim
from sim.studies.optimize import Constraint, Decision, optimize

H, P = 0.001, 0.009  # holding and backorder cost per unit-day: critical fractile 0.9


def single_stage_with_costs() -> sim.Network:
    """A stage with holding h and backorder cost p per unit-day; nothing else costs anything."""
    return sim.Network(
        name="newsvendor", unmet_demand="backorder",
        nodes=[sim.Node("source", "supplier", "x", holding_cost_rate=0.0),
               sim.Node("stage", "warehouse", "x", unit_value=1.0,
                        holding_cost_rate=H * 365)],
        lanes=[sim.Lane("supply", "source", "stage", lead_time_days=3, cost_per_unit=0.0,
                        pipeline_owner="seller")],
        demand=[sim.DemandZone("customers", "stage", mean=100.0, sd=20.0,
                               backorder_cost_per_unit_day=P, shortage_cost_per_unit=0.0)])


def analytic_cost(z: float) -> float:
    """Annual cost of base-stock at z: sigma sqrt(tau) (h (z + L(z)) + p L(z)), tau = 4 days."""
    loss = stats.norm.pdf(z) - z * (1 - stats.norm.cdf(z))
    return 20.0 * np.sqrt(4.0) * (H * (z + loss) + P * loss) * 365


def test_the_safety_factor_found_is_the_critical_fractile() -> None:
    """z* = Phi^-1(p / (p + h)) within the tolerance the search reports; cost within 1 %."""
    found = optimize(single_stage_with_costs(),
                     decisions=[Decision("inventory.safety_factor", 0.0, 3.0)], budget=30,
                     replicates=20, days=2000, warmup_days=50, seed=3)
    z_star = stats.norm.ppf(P / (P + H))
    best = int(np.argmin(found.annual_total_cost.values))
    tied = found["inventory.safety_factor"].values[found.indistinguishable.values]
    assert tied.min() <= z_star <= tied.max()  # the paired 95 % interval's set of optima
    assert found.annual_total_cost.values[best] == pytest.approx(analytic_cost(z_star), rel=0.01)


def small(storage: Path, budget: int) -> sim.Network:
    return optimize(single_stage_with_costs(),
                    decisions=[Decision("inventory.safety_factor", 0.0, 3.0),
                               Decision("expedite.enabled", kind="bool")],
                    constraints=[Constraint("fill_rate", ">=", 0.95)], budget=budget,
                    replicates=4, days=200, warmup_days=20, seed=1, storage=str(storage))


def test_a_stopped_search_resumes_and_proposes_what_an_unbroken_one_would(tmp_path) -> None:
    first = small(tmp_path / "resumed.db", 5)
    resumed = small(tmp_path / "resumed.db", 10)
    unbroken = small(tmp_path / "unbroken.db", 10)
    assert first.sizes["candidate"] == 5 and resumed.sizes["candidate"] == 10
    for name in ("inventory.safety_factor", "annual_total_cost", "fill_rate", "feasible"):
        np.testing.assert_array_equal(resumed[name].values, unbroken[name].values)


@pytest.mark.parametrize("make, fragment", [
    (lambda: Decision("inventory.safety_factor", 2.0, 1.0), "must be finite and above low"),
    (lambda: Decision("inventory.safety_factor", kind="real"), "kind = 'real'"),
    (lambda: Constraint("fil_rate", ">=", 0.9), "metric = 'fil_rate'"),
    (lambda: Constraint("fill_rate", ">", 0.9), "op = '>'"),
])
def test_bad_decisions_and_constraints_are_refused(make, fragment: str) -> None:
    with pytest.raises(sim.ConfigError, match=fragment):
        make()


def test_the_recommendation_is_the_cheapest_plan_whose_target_holds_with_confidence() -> None:
    target = Constraint("fill_rate", ">=", 0.99)
    found = optimize(single_stage_with_costs(),
                     decisions=[Decision("inventory.safety_factor", 0.0, 3.0)],
                     constraints=[target], budget=16, replicates=10, days=1000,
                     warmup_days=50, seed=5, confirm_replicates=30, confirm_top=4,
                     base_policy={"inventory": {"safety_factor": 0.0}})
    assert not found.attrs["base_feasible"]  # today's lean plan misses the target
    assert found.recommended.values.sum() == 1
    best = int(np.flatnonzero(found.recommended.values)[0])
    assert found.confirmed_feasible.values[best]
    fill = found.fill_rate.values[best]
    assert fill >= 0.99
    confirmed = found.confirmed_feasible.values
    cost = found.confirmed_annual_total_cost.values
    assert not (confirmed & (cost < cost[best])).any()  # nothing cheaper holds the target
    unconstrained = stats.norm.ppf(P / (P + H))
    assert found["inventory.safety_factor"].values[best] > unconstrained  # the target binds
    assert np.isfinite(found.cost_vs_base.values[best])
    assert found.attrs["confirm_replicates"] == 30


def test_a_base_policy_that_holds_the_target_and_costs_less_is_kept() -> None:
    """At z = 1.65 (the default) the stage already has fill >= 0.9; plans with a safety factor
    of 2 or more only cost more holding, so the planner says to keep today's plan."""
    from analysis.optimize_report import headline

    found = optimize(single_stage_with_costs(),
                     decisions=[Decision("inventory.safety_factor", 2.0, 3.0, step=0.5)],
                     constraints=[Constraint("fill_rate", ">=", 0.9)], budget=3, replicates=8,
                     days=300, warmup_days=20, seed=5, confirm_replicates=8)
    assert found.attrs["base_feasible"] and found.attrs["keep_base"]
    assert not found.recommended.values.any()
    assert "keep it" in headline(found, ["inventory.safety_factor"])


def test_on_the_demo_the_search_agrees_with_an_exhaustive_grid(tmp_path) -> None:
    """Two decisions (14 plans): the search's recommendation is the grid's best on the same
    replicates, or indistinguishable from it by the paired 95 % interval."""
    import itertools

    from sim.studies.optimize import _Run, evaluate

    demo = sim.load_network(Path(__file__).parents[1] / "configs/network/demo.yaml")
    outage = [sim.NodeOutage("ctrl_a", start_day=20, duration_days=30)]
    decisions = [Decision("inventory.safety_factor", 0.0, 3.0, step=0.5),
                 Decision("sourcing.dynamic", kind="bool")]
    options = {"replicates": 12, "days": 120, "warmup_days": 20, "seed": 2}
    found = optimize(demo, decisions=decisions, budget=10, disruptions=outage,
                     confirm_replicates=12, **options)
    run = _Run(demo, tuple(outage), 120, 20, 12, 2, {})
    grid = {values: evaluate(run, dict(zip([d.path for d in decisions], values, strict=True)))
            for values in itertools.product(*(d.grid() for d in decisions))}
    best = min(grid, key=lambda v: grid[v][0]["annual_total_cost"][0])
    pick = int(np.flatnonzero(found.recommended.values)[0])
    chosen = tuple(found[d.path].values[pick].item() for d in decisions)
    diff = grid[chosen][1]["annual_total_cost"] - grid[best][1]["annual_total_cost"]
    half = 1.96 * diff.std(ddof=1) / np.sqrt(diff.size)
    assert chosen == best or diff.mean() <= half, (chosen, best, diff.mean(), half)


def test_the_command_line_search_resumes_and_refuses_other_settings(tmp_path) -> None:
    import subprocess
    import sys

    import xarray as xr

    def run(*overrides: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sim", "experiment=enterprise_optimize", "run.days=60",
             "run.warmup_days=10", "study.confirm_replicates=8", *overrides],
            cwd=tmp_path, capture_output=True, text=True, check=False)

    first = run("engine.replicates=4", "study.budget=3", f"hydra.run.dir={tmp_path / 'a'}")
    assert first.returncode == 0, first.stderr[-2000:]
    again = run("engine.replicates=4", "study.budget=5", f"hydra.run.dir={tmp_path / 'b'}")
    assert again.returncode == 0, again.stderr[-2000:]
    with xr.open_dataset(tmp_path / "b" / "optimize.nc", engine="h5netcdf") as found:
        assert found.sizes["candidate"] == 5  # three from the first run, two new
    other = run("engine.replicates=6", "study.budget=5", f"hydra.run.dir={tmp_path / 'c'}")
    assert other.returncode == 2
    assert "replicates = 6: differs from the stored search's (4)" in other.stdout + other.stderr
    assert (tmp_path / "outputs" / "optimize" / "enterprise_optimize.db").is_file()


def test_candidates_run_on_dask_workers_and_repeat_for_the_same_workers(tmp_path) -> None:
    def search(name: str) -> sim.Network:
        return optimize(single_stage_with_costs(),
                        decisions=[Decision("inventory.safety_factor", 0.0, 3.0)], budget=4,
                        replicates=4, days=200, warmup_days=20, seed=1, workers=2,
                        storage=str(tmp_path / f"{name}.db"), confirm_replicates=4)

    first, second = search("one"), search("two")
    assert first.sizes["candidate"] == 4
    np.testing.assert_array_equal(first["inventory.safety_factor"].values,
                                  second["inventory.safety_factor"].values)
    np.testing.assert_array_equal(first.annual_total_cost.values,
                                  second.annual_total_cost.values)


def test_the_cluster_planners_preset_runs_end_to_end(tmp_path) -> None:
    import subprocess
    import sys

    import xarray as xr

    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "sim", "experiment=cluster_optimize", "engine.replicates=4",
         "run.days=40", "run.warmup_days=5", "study.budget=3", "study.confirm_replicates=4",
         "study.workers=0", f"hydra.run.dir={out}"],
        cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    said = " ".join(result.stdout.split())  # the console wraps long lines
    assert any(text in said for text in ("The cheapest plan meeting", "No plan meets",
                                         "already meets"))
    with xr.open_dataset(out / "optimize.nc", engine="h5netcdf") as found:
        assert found.sizes["candidate"] == 3
        assert {"reserves.0.units", "sourcing.dynamic", "feasible", "pareto"} <= set(found)
    assert (out / "optimize.png").is_file()
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "Investment planner: cluster_optimize" in text and "How the search ran" in text


def test_a_choice_decision_turns_a_measure_on_and_off() -> None:
    """Pooling on (groups by item) or off, as a choice; the dataset says the value chosen."""
    demo = sim.load_network(Path(__file__).parents[1] / "configs/network/demo.yaml")
    found = optimize(demo, decisions=[Decision("pooling.groups", kind="choice",
                                               choices=["@by_item", []])],
                     budget=3, replicates=4, days=60, warmup_days=10, seed=1,
                     confirm_replicates=4)
    assert set(found["pooling.groups"].values) <= {'"@by_item"', "[]"}
    with pytest.raises(sim.ConfigError, match="list two values or more"):
        Decision("pooling.groups", kind="choice", choices=["@by_item"])


def test_two_objectives_search_with_nsga_ii_and_mark_the_pareto_front() -> None:
    """Cost against CO2e per unit: the front is exactly the candidates no other beats on both."""
    demo = sim.load_network(Path(__file__).parents[1] / "configs/network/demo.yaml")
    found = optimize(demo, decisions=[Decision("green.prefer_low_emission", 0.0, 1.0, step=0.25),
                                      Decision("inventory.safety_factor", 0.0, 2.0, step=1.0)],
                     objectives=["annual_total_cost", "co2e_per_unit"], budget=10,
                     replicates=4, days=60, warmup_days=10, seed=4, confirm_replicates=4)
    assert found.attrs["sampler"] == "NSGA-II" and found.sizes["candidate"] == 10
    cost, co2e = found.annual_total_cost.values, found.co2e_per_unit.values

    def dominated(i: int) -> bool:
        return bool(((cost <= cost[i]) & (co2e <= co2e[i])
                     & ((cost < cost[i]) | (co2e < co2e[i]))).any())

    assert [not dominated(i) for i in range(cost.size)] == list(found.pareto.values)
    assert found.co2e_per_unit.values.min() < found.co2e_per_unit.values.max()


def test_a_public_budget_caps_the_reserve_at_its_analytic_size() -> None:
    """A reserve never released (threshold 0) costs units x unit value x 10 % a year, all of it
    public: under a budget of 2,000 a year at unit value 100 the largest affordable reserve is
    200 units, and the search's public cost is that formula to rounding."""
    demo = sim.load_network(Path(__file__).parents[1] / "configs/network/demo.yaml")
    unit_value = demo.node("dc_north").unit_value
    budget = 2000.0
    base = {"reserves": [{"node": "dc_north", "units": 0, "threshold": 0.0,
                          "holding_cost_rate": 0.1}]}
    found = optimize(demo, decisions=[Decision("reserves.0.units", 0.0, 500.0, step=50.0)],
                     objectives=["fill_rate"],
                     constraints=[Constraint("annual_public_cost", "<=", budget)],
                     base_policy=base, budget=8, replicates=4, days=60, warmup_days=10,
                     seed=2, confirm_replicates=4)
    units = found["reserves.0.units"].values
    np.testing.assert_allclose(found.annual_public_cost.values, units * unit_value * 0.1,
                               rtol=1e-9)
    assert list(found.feasible.values) == list(units * unit_value * 0.1 <= budget + 1e-9)


def test_early_warning_notice_is_priced_per_day_of_notice() -> None:
    """The decision carries its fee: 10 a day per day of notice at each buying node, a year."""
    from sim.studies.optimize import _Run, evaluate

    demo = sim.load_network(Path(__file__).parents[1] / "configs/network/demo.yaml")
    buyers = len({lane.target for lane in demo.lanes})
    outage = (sim.NodeOutage("ctrl_a", start_day=20, duration_days=30),)
    priced = _Run(demo, outage, 60, 10, 4, 2, {"early_warning": {"fee_per_notice_day": 10.0},
                                               "sourcing": {"dynamic": True}})
    free = _Run(demo, outage, 60, 10, 4, 2, {"sourcing": {"dynamic": True}})
    for notice in (0, 3):
        paid, _ = evaluate(priced, {"early_warning.notice_days": notice})
        unpaid, _ = evaluate(free, {"early_warning.notice_days": notice})
        extra = paid["annual_total_cost"][0] - unpaid["annual_total_cost"][0]
        assert extra == pytest.approx(10.0 * notice * buyers * 365, rel=1e-9, abs=1e-6)


def test_the_confirmation_takes_the_front_of_cost_and_constrained_service_once_each() -> None:
    """A dearer plan with more margin on the constraint is re-run before a dominated one, and
    two settings that ran the same plan in effect count once."""
    import xarray as xr

    from sim.studies.optimize import METRICS, _to_confirm

    cost = [100.0, 100.0, 110.0, 120.0, 130.0]  # candidates 0 and 1: the same plan in effect
    p05 = [0.951, 0.951, 0.97, 0.96, 0.99]
    data = {name: ("candidate", np.zeros(5)) for name in METRICS}
    data.update(annual_total_cost=("candidate", cost), fill_rate_p05=("candidate", p05),
                feasible=("candidate", [True, True, True, True, False]))
    result = xr.Dataset(data, coords={"candidate": range(5)})
    target = [Constraint("fill_rate_p05", ">=", 0.95)]
    assert _to_confirm(result, "annual_total_cost", target, 2) == [0, 2]
    assert _to_confirm(result, "annual_total_cost", target, 5) == [0, 2, 3]
