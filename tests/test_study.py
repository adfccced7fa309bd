"""Studies: paths and grids, Dask equals in-process bit for bit, resume, corrupt chunks, SALib."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
import zarr

import sim
from sim.io.paths import CONFIG_DIR
from sim.studies.config import build_run
from sim.studies.sensitivity import analyze, sensitivity_points
from sim.studies.study import Study, grid_points, run_study, set_path
from tests.conftest import REPO

DEMO = yaml.safe_load((CONFIG_DIR / "network" / "demo.yaml").read_text())
OUTAGE = yaml.safe_load((CONFIG_DIR / "disruption" / "supplier_outage.yaml").read_text())


def base_config(engine: str = "batch", days: int = 60) -> dict:
    return {"network": DEMO, "disruption": OUTAGE, "policy": {"name": "base_stock"},
            "engine": {"name": engine}, "run": {"days": days, "warmup_days": 10, "seed": 4}}


GRID = {"policy.inventory.safety_factor": [0.0, 2.0],
        "disruption.events.0.duration_days": [10, 25, 40]}


def assert_same(a: xr.Dataset, b: xr.Dataset) -> None:
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_paths_and_grids() -> None:
    config = {"policy": {"name": "x"}, "disruption": {"events": [{"duration_days": 1}]}}
    changed = set_path(config, "policy.inventory.safety_factor", 2.0)
    assert changed["policy"]["inventory"] == {"safety_factor": 2.0}
    assert config["policy"] == {"name": "x"}  # the original is left alone
    assert set_path(config, "disruption.events.0.duration_days", 9)["disruption"]["events"] == [
        {"duration_days": 9}]
    with pytest.raises(sim.ConfigError, match="no item 3 in a list of 1"):
        set_path(config, "disruption.events.3.duration_days", 9)
    with pytest.raises(sim.ConfigError, match="is a value, not a section"):
        set_path(config, "policy.name.first", 1)
    points = grid_points(GRID)
    assert len(points) == 6 and points[1] == {"policy.inventory.safety_factor": 0.0,
                                               "disruption.events.0.duration_days": 25}


def test_a_bad_point_fails_before_running(tmp_path: Path) -> None:
    with pytest.raises(sim.ConfigError, match="magic"):
        Study(base_config(), ({"policy.inventory.rule": "magic"},), replicates=2)


def test_dask_equals_in_process_and_the_engine_whatever_the_chunks(tmp_path: Path) -> None:
    local = run_study(Study(base_config(), grid_points(GRID), replicates=30, chunk_size=16,
                            grid=True), tmp_path / "local", workers=0)
    dask = run_study(Study(base_config(), grid_points(GRID), replicates=30, chunk_size=7,
                           grid=True), tmp_path / "dask", workers=2)
    assert local.computed == 12 and dask.computed == 6 * 5
    assert dict(local.dataset.sizes) == {"policy.inventory.safety_factor": 2,
                                         "disruption.events.0.duration_days": 3,
                                         "replicate": 30}
    assert_same(local.dataset, dask.dataset)
    study = Study(base_config(), grid_points(GRID), replicates=30)
    spec = build_run(study.point_config(4))  # safety factor 2, a 25-day outage
    direct = sim.simulate(spec.network, **{**spec.simulate_kwargs(), "record": "kpis",
                                           "replicates": 30})
    point = local.dataset.sel({"policy.inventory.safety_factor": 2.0,
                               "disruption.events.0.duration_days": 25})
    for name in ("lost_sales", "total_cost", "fill_rate", "time_to_recover"):
        np.testing.assert_array_equal(point[name].values, direct[name].values)
    with xr.open_dataset(local.paths["dataset"], engine="h5netcdf") as saved:
        assert_same(saved, local.dataset)


def test_a_finished_study_is_reused_and_a_different_one_refused(tmp_path: Path) -> None:
    study = Study(base_config(), grid_points(GRID), replicates=10, chunk_size=5, grid=True)
    first = run_study(study, tmp_path, workers=0)
    again = run_study(study, tmp_path, workers=0)
    assert (again.computed, again.reused, again.redone) == (0, 12, 0)
    assert_same(first.dataset, again.dataset)
    other = Study(base_config(), grid_points(GRID), replicates=12, chunk_size=5, grid=True)
    with pytest.raises(sim.ConfigError, match="holds another study"):
        run_study(other, tmp_path, workers=0)


def test_corrupt_and_partial_chunks_are_found_and_redone(tmp_path: Path) -> None:
    study = Study(base_config(), grid_points(GRID), replicates=10, chunk_size=5, grid=True)
    reference = run_study(study, tmp_path / "ref", workers=0).dataset
    run_study(study, tmp_path / "hit", workers=0)
    store = tmp_path / "hit" / "study.zarr"
    zarr.open_group(str(store), mode="r+")["kpis"][2, 5:10, 0] = -1.0  # a flipped chunk,
    # its marker still there
    (tmp_path / "hit" / "done" / "p4-r0-5.json").unlink()  # a write cut before its marker
    repaired = run_study(study, tmp_path / "hit", workers=0)
    assert (repaired.computed, repaired.redone, repaired.reused) == (2, 1, 10)
    assert_same(repaired.dataset, reference)


SLOW_STUDY = """
import sys, yaml
from sim.studies.study import Study, grid_points, run_study
from tests.test_study import base_config
study = Study(base_config("mesa", days=60), grid_points({"policy.inventory.safety_factor":
              [0.0, 1.0, 2.0]}), replicates=30, chunk_size=5, grid=True)
result = run_study(study, sys.argv[1], workers=0)
print(result.computed, result.reused, result.redone)
"""


def test_a_killed_study_resumes_without_redoing_finished_chunks(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text(SLOW_STUDY)
    folder = tmp_path / "study"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, str(script), str(folder)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        done = list((folder / "done").glob("*.json")) if (folder / "done").exists() else []
        if len(done) >= 3:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    process.wait(timeout=30)
    finished = len(list((folder / "done").glob("*.json")))
    assert process.returncode == -signal.SIGKILL, "the study ended before it could be killed"
    assert 3 <= finished < 18
    resumed = subprocess.run([sys.executable, str(script), str(folder)], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300, check=True)
    computed, reused, redone = map(int, resumed.stdout.split())
    assert reused == finished and computed == 18 - finished and redone == 0
    clean = subprocess.run([sys.executable, str(script), str(tmp_path / "clean")], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=300, check=True)
    assert clean.stdout.split() == ["18", "0", "0"]
    with xr.open_dataset(folder / "results.nc", engine="h5netcdf") as a, \
            xr.open_dataset(tmp_path / "clean" / "results.nc", engine="h5netcdf") as b:
        assert_same(a, b)
    manifest = json.loads((folder / "study.json").read_text())
    assert manifest["replicates"] == 30 and manifest["chunk_size"] == 5


def test_sobol_indices_find_what_matters(tmp_path: Path) -> None:
    """The outage's length drives lost sales; the detection delay of a base-stock policy (not
    dynamic) cannot: its total index must be near zero while the length's is large."""
    ranges = {"disruption.events.0.duration_days": [5, 45],
              "policy.sourcing.detection_delay_days": [0, 10]}
    points, design = sensitivity_points(ranges, method="sobol", samples=16, seed=1)
    assert len(points) == 16 * (2 + 2)
    assert all(isinstance(p["disruption.events.0.duration_days"], int) for p in points)
    result = run_study(Study(base_config(), tuple(points), replicates=8, chunk_size=8),
                       tmp_path, workers=0)
    indices = analyze(result.dataset, ranges, design, kpis=["lost_sales"], seed=1)
    total = indices.ST.sel(kpi="lost_sales")
    assert float(total.sel(parameter="disruption.events.0.duration_days")) > 0.8
    assert float(total.sel(parameter="policy.sourcing.detection_delay_days")) == 0.0
    with pytest.raises(sim.ConfigError, match="power of two"):
        sensitivity_points(ranges, samples=12)


def test_a_local_cluster_keeps_the_console_to_warnings_while_it_runs() -> None:
    import logging

    import distributed  # configures its logger (INFO) on import, as __enter__ does

    from sim.studies.study import _Runner

    assert distributed.__version__
    logger = logging.getLogger("distributed")
    before = logger.level
    with _Runner(1, None) as runner:
        assert runner.slots == 1 and logger.level == logging.WARNING
    assert logger.level == before


def test_a_study_with_a_128_bit_seed_saves_its_dataset(tmp_path: Path) -> None:
    config = base_config(days=20)
    config["run"]["seed"] = seed = 0x8BADF00D_DEADBEEF_CAFEBABE_12345678
    study = Study(config, grid_points({"policy.inventory.safety_factor": [0.0, 2.0]}),
                  replicates=4, grid=True)
    result = run_study(study, tmp_path, workers=0)
    with xr.open_dataset(result.paths["dataset"], engine="h5netcdf") as saved:
        assert saved.attrs["seed"] == str(seed)
