"""The package's shape: layers, one engine interface, the same day in both engines, tools.

These are the rules ``docs/design.md`` states, checked: the layer contracts (import-linter),
the phases both engines run and their order, the engine registry, compiled plans shared by the
engines, the public names, the test helpers of :mod:`sim.testing`, and the size limits that keep
each module and function readable at once.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.compile.plan import plan_policy
from sim.compile.scenario import Scenario
from sim.engines import mesa as mesa_engine
from sim.engines.batch import BatchEngine
from sim.engines.day import PHASES, scaled, stretched_lead
from sim.engines.mesa.model import SupplyChainModel
from sim.engines.recording import Recording
from sim.engines.registry import ENGINES, BatchRun, register_engine
from sim.testing import assert_conserved, assert_datasets_close
from tests.conftest import DEMO, REPO

MAX_MODULE_LINES = 720
MAX_FUNCTION_LINES = 100
OUTAGE = sim.NodeOutage("ctrl_a", start_day=3, duration_days=5)


def _logged(cls: type, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap each phase method of ``cls`` so that calls are logged by name, in order."""
    calls: list[str] = []
    for name in PHASES:
        original = getattr(cls, name)

        def logged(self, *args, _name=name, _original=original):
            calls.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(cls, name, logged)
    return calls


def test_both_engines_run_the_phases_of_a_day_in_the_same_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    network = sim.load_network(DEMO)
    mesa_calls = _logged(SupplyChainModel, monkeypatch)
    model = SupplyChainModel(network, days=2, record=None)
    model.step()
    model.step()
    assert mesa_calls == [*PHASES, *PHASES]

    batch_calls = _logged(BatchEngine, monkeypatch)
    scenario = Scenario(network, days=2, warmup_days=0)
    plan = plan_policy(sim.BaseStockPolicy(), network)
    BatchEngine(plan).run(scenario.draw(3), 0, None)
    assert batch_calls == [*PHASES, *PHASES]


def test_each_batch_phase_names_its_mesa_counterpart() -> None:
    from sim.engines.mesa import agents

    for name in PHASES:
        doc = getattr(BatchEngine, name).__doc__ or ""
        named = re.findall(r"``(\w+)\.(\w+)``", doc)
        assert named, f"BatchEngine.{name} names no Mesa counterpart"
        for owner, method in named:
            cls = SupplyChainModel if owner == "SupplyChainModel" else getattr(agents, owner)
            assert hasattr(cls, method), f"{owner}.{method} (BatchEngine.{name}) does not exist"


def test_the_shared_scalar_rules_agree_on_scalars_and_arrays() -> None:
    capacity = np.array([np.inf, 50.0, 50.0])
    factor = np.array([0.0, 0.0, 0.4])
    np.testing.assert_array_equal(scaled(capacity, factor), [0.0, 0.0, 20.0])
    assert [scaled(float(c), float(f)) for c, f in zip(capacity, factor, strict=True)] == \
        [0.0, 0.0, 20.0]
    leads, stretch = np.array([3, 3, 7]), np.array([1.0, 1.0000000001, 1.5])
    np.testing.assert_array_equal(stretched_lead(leads, stretch), [3, 3, 11])
    assert [stretched_lead(int(a), float(b)) for a, b in zip(leads, stretch, strict=True)] == \
        [3, 3, 11]


def test_the_mesa_engine_runs_from_the_compiled_plan_without_replanning(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def replanned(*args, **kwargs):
        raise AssertionError("the Mesa engine planned the policy again")

    monkeypatch.setattr("sim.engines.mesa.model.plan_policy", replanned)
    network = sim.load_network(DEMO)
    mesa = sim.simulate(network, days=12, replicates=3, engine="mesa", record="full",
                        disruptions=[OUTAGE], policy="resilient")
    batch = sim.simulate(network, days=12, replicates=3, engine="batch", record="full",
                         disruptions=[OUTAGE], policy="resilient")
    assert_datasets_close(batch, mesa)


def test_a_registered_engine_runs_everywhere_an_engine_name_does() -> None:
    class Counted(BatchRun):
        chunks = 0

        def run(self, plan, draws, warmup_days, recording: Recording) -> None:
            Counted.chunks += 1
            super().run(plan, draws, warmup_days, recording)

    register_engine("counted", Counted())
    try:
        network = sim.load_network(DEMO)
        ours = sim.simulate(network, days=15, replicates=4, engine="counted", chunk_size=2,
                            disruptions=[OUTAGE])
        batch = sim.simulate(network, days=15, replicates=4, engine="batch", chunk_size=2,
                             disruptions=[OUTAGE])
    finally:
        del ENGINES["counted"]
    assert Counted.chunks == 2  # two chunks (their undisrupted twins run on the batch engine)
    np.testing.assert_array_equal(ours.fill_rate, batch.fill_rate)
    assert ours.attrs["engine"] == "counted"
    with pytest.raises(sim.ConfigError, match="engine = 'counted': must be one of mesa, batch"):
        sim.simulate(network, days=5, engine="counted")


def test_every_public_name_resolves_and_is_listed() -> None:
    assert sorted(sim.__all__) == sim.__all__
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
    assert {"simulate", "plan_policy", "register_engine", "calm_twin"} <= set(sim.__all__)
    assert mesa_engine.__doc__


def test_the_layer_contracts_hold() -> None:
    """import-linter: each layer imports only those below it; Hydra, rich, analysis at the edge."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "3 kept, 0 broken" in result.stdout


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_modules_and_functions_are_short_enough_to_read_at_once() -> None:
    long_modules, long_functions = [], []
    for path in _python_files(REPO / "sim"):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append(f"{path.relative_to(REPO)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(REPO)}:{node.name} ({length})")
    assert not long_modules and not long_functions, (long_modules, long_functions)


def test_days_per_year_is_one_constant() -> None:
    """Rates per year are charged per day through sim.spec.units, not a literal 365."""
    offenders = [f"{p.relative_to(REPO)}:{node.lineno}" for p in _python_files(REPO / "sim")
                 if p.name != "units.py"
                 for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                 if isinstance(node, ast.Constant) and not isinstance(node.value, bool)
                 and node.value in (365, 365.0)]
    assert offenders == []


def test_the_conservation_assertion_catches_a_lost_unit() -> None:
    network = sim.load_network(DEMO)
    run = sim.simulate(network, days=20, replicates=2, record="full", disruptions=[OUTAGE])
    assert_conserved(run, network)
    broken = run.copy(deep=True)
    broken["stock"][0, 5, 0] += 1.0
    with pytest.raises(AssertionError, match="finished stock balance"):
        assert_conserved(broken, network)
