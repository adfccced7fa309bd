"""The README's numbers, recomputed: the demo table must say what the code gives.

The table is read from the README itself, so a change that moves a shipped strategy's KPI fails
here until the README says so (in units, with the reason, next to the table).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import sim
from sim.measures.compare import cost_benefit
from sim.spec.policy import policy_from_mapping

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"(-?[\d,.]+|-)"
ROW = re.compile(r"^\| `(\w+)` \([^|]*\) " + r"\| " + r" \| ".join([NUMBER] * 8) + r" \|$")


def demo_table() -> dict[str, tuple[str, ...]]:
    rows = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = match.groups()[1:]
    return rows


def test_the_demo_table_is_what_make_demo_computes() -> None:
    table = demo_table()
    experiment = yaml.safe_load((ROOT / "configs/experiment/demo.yaml").read_text())
    names = [experiment["defaults"][2]["override /policy"], *experiment["compare"]]
    assert sorted(table) == sorted(names)
    outage = yaml.safe_load((ROOT / "configs/disruption/supplier_outage.yaml").read_text())
    policies = {name: policy_from_mapping(yaml.safe_load(
        (ROOT / f"configs/policy/{name}.yaml").read_text())) for name in names}
    run = experiment["run"]
    runs = sim.simulate_policies(
        sim.load_network(ROOT / "configs/network/demo.yaml"), policies,
        disruptions=outage["events"], days=run["days"], warmup_days=run["warmup_days"],
        seed=run["seed"], replicates=experiment["engine"]["replicates"], engine="batch",
        record="kpis")
    money = cost_benefit(runs, baseline=names[0])
    assert money.attrs["reading"] == "per event"
    for name, (fill, lost, ttr, policy_cost, total, running, net, breakeven) in table.items():
        kpis = runs.sel(policy=name)
        assert_shown(fill, kpis.fill_rate.mean())
        assert_shown(ttr, kpis.time_to_recover.mean())
        assert int(kpis.time_to_recover.count()) == runs.sizes["replicate"]  # every one hit
        for shown, value in ((lost, kpis.lost_sales), (policy_cost, kpis.policy_cost_total),
                             (total, kpis.total_cost)):
            assert_shown(shown, value.mean())
        row = money.sel(policy=name)
        for shown, value in ((running, row.running_cost_per_year),
                             (net, row.net_benefit_per_event),
                             (breakeven, row.breakeven_events_per_year)):
            if name == names[0]:
                assert shown == "-" and np.isnan(float(value))
            else:
                assert_shown(shown, value)


def assert_shown(shown: str, value: object) -> None:
    """``value`` rounds to what the README shows (its decimals, or whole numbers)."""
    digits = len(shown.split(".")[1]) if "." in shown else 0
    expected = float(shown.replace(",", ""))
    assert float(value) == pytest.approx(expected, abs=0.5 * 10**-digits), (shown, value)
