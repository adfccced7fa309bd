"""The README's numbers, recomputed: the demo table must say what the code gives.

The table is read from the README itself, so a change that moves a shipped strategy's KPI fails
here until the README says so (in units, with the reason, next to the table).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import sim
from sim.policy import policy_from_mapping

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `(\w+)` \([^|]*\) \| ([\d.]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|$")


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
    for name, (fill, lost, policy_cost, total) in table.items():
        kpis = runs.sel(policy=name)
        digits = len(fill.split(".")[1])
        assert float(kpis.fill_rate.mean()) == pytest.approx(float(fill), abs=0.5 * 10**-digits)
        for shown, value in ((lost, kpis.lost_sales), (policy_cost, kpis.policy_cost_total),
                             (total, kpis.total_cost)):
            assert float(value.mean()) == pytest.approx(float(shown.replace(",", "")), abs=0.5)
