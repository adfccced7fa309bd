"""The benchmark's compiled reference kernel equals the batch engine bit for bit on the bare day.

``benchmarks/reference_kernel.py`` is the yardstick ``make bench`` measures the batch engine
against; a yardstick that computed something else would make every ratio meaningless, so its
daily state and KPI sums are held to exact equality here, on the demo and on a Willems chain.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.compile.plan import plan_policy
from sim.compile.scenario import Scenario
from sim.engines.batch import BatchEngine
from sim.engines.recording import Recording
from sim.io.presets import as_policy

ROOT = Path(__file__).resolve().parents[1]


def _kernel():
    spec = importlib.util.spec_from_file_location("reference_kernel",
                                                  ROOT / "benchmarks" / "reference_kernel.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("reference_kernel", module)
    spec.loader.exec_module(module)
    return module


kernel = _kernel()
WARMUP = 10


def _runs(path: str, replicates: int, days: int, mode: str):
    network = sim.load_network(path)
    plan = plan_policy(as_policy(None), network)
    draws = Scenario(network, days=days, warmup_days=WARMUP, seed=3).draw(replicates)
    recording = Recording(mode, draws.replicates, days, plan.layout)
    BatchEngine(plan).run(draws, WARMUP, recording)
    return recording.result(), kernel.run_reference(plan, draws, WARMUP,
                                                    "trace" if mode == "full" else mode)


@pytest.mark.parametrize("path", ["configs/network/demo.yaml",
                                  "example:willems-2008/chain-38.csv"])
def test_reference_kernel_equals_the_batch_engine_bit_for_bit(path: str) -> None:
    engine, reference = _runs(path, replicates=5, days=40, mode="full")
    trace = engine.trace
    assert reference.nodes is not None and reference.inputs is not None
    assert reference.shipped is not None
    np.testing.assert_array_equal(trace.nodes, reference.nodes.transpose(3, 0, 1, 2))
    np.testing.assert_array_equal(trace.inputs, reference.inputs.transpose(2, 0, 1))
    np.testing.assert_array_equal(trace.lane["lane_shipped"],
                                  reference.shipped.transpose(2, 0, 1))
    for name, row in (("demand_units", kernel.DEMAND), ("lost_sales", kernel.LOST),
                      ("served_units", kernel.SERVED)):
        np.testing.assert_array_equal(engine.kpis[name], reference.totals[row])
    # the check means something: units were short, so the serve and ship paths were taken
    assert reference.totals[kernel.LOST].sum() > 0


@pytest.mark.parametrize("replicates", [9, 16, 21])  # partial sums and a tail, or none
def test_reference_kernel_summary_moments_equal_the_engine(replicates: int) -> None:
    engine, reference = _runs("configs/network/demo.yaml", replicates=replicates, days=30,
                              mode="summary")
    assert engine.summary is not None and reference.sums is not None
    assert reference.m2 is not None
    width = kernel.V * 12
    np.testing.assert_array_equal(reference.sums[:, :width],
                                  engine.summary.nodes.sums.reshape(30, -1))
    np.testing.assert_array_equal(reference.m2[:, :width],
                                  engine.summary.nodes.m2.reshape(30, -1))
    np.testing.assert_array_equal(reference.sums[:, width:], engine.summary.inputs.sums)
    np.testing.assert_array_equal(reference.m2[:, width:], engine.summary.inputs.m2)
    assert (reference.m2 > 0).any()  # replicates differ: the second pass is compared


def test_reference_kernel_refuses_anything_but_the_bare_day() -> None:
    network = sim.load_network("configs/network/demo.yaml")
    plan = plan_policy(as_policy({"sourcing": {"dynamic": True}}), network)
    draws = Scenario(network, days=5, seed=1).draw(2)
    with pytest.raises(ValueError, match="dynamic sourcing"):
        kernel.run_reference(plan, draws, 0)
