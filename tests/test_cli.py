"""The Hydra command line: every shipped config runs; bad input, a short error."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import sim
from sim.cli.main import register_schemas
from sim.studies.config import build_run
from tests.conftest import CONFIGS, DEMO

SMALL = ["engine.replicates=1", "run.days=8", "run.warmup_days=2"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


def composed(overrides: list[str]) -> dict:
    register_schemas()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, check=False, env=env)


@pytest.mark.parametrize("network", options("network"))
def test_every_network_config_runs(network: str, tmp_path: Path) -> None:
    extra = [f"network.source={DEMO}"] if network == "file" else []
    cfg = composed([f"network={network}", "disruption=random_supplier_outages", *SMALL, *extra])
    spec = build_run(cfg)
    ds = sim.simulate(spec.network, **{**spec.simulate_kwargs(), "record": "kpis"})
    assert ds.sizes["replicate"] == 1 and 0 <= ds.fill_rate.item() <= 1


@pytest.mark.parametrize("group", ["disruption", "policy", "engine", "experiment"])
def test_every_other_config_runs(group: str) -> None:
    for option in options(group):
        spec = build_run(composed([f"{group}={option}", *SMALL]))
        ds = sim.simulate(spec.network, **spec.simulate_kwargs())
        assert "fill_rate" in ds


def test_demo_experiment_settings() -> None:
    spec = build_run(composed(["experiment=demo"]))
    assert spec.network.name == "demo" and spec.engine == "batch"
    assert [d.kind for d in spec.disruptions] == ["node_outage"]
    assert (spec.days, spec.warmup_days, spec.replicates, spec.seed) == (180, 30, 1000, 2024)


def test_run_writes_dataset_config_figure_and_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli("experiment=demo", *SMALL, "report.scan_replicates=2",
                     f"hydra.run.dir={out}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("results.nc", "config.yaml", "service_level.png", "report.html"):
        assert (out / name).is_file()
        assert str(out / name) in result.stdout
    assert "fill_rate" in result.stdout and "Mean KPIs over 1 replicates" in result.stdout
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        assert ds.attrs["engine"] == "batch" and ds.sizes["day"] == 8
        assert list(ds.policy.values) == ["base_stock", "dynamic_sourcing", "backup_supplier",
                                          "resilient"]
    assert "Guideline scorecard" in (out / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing else written


def test_report_command_on_saved_runs(tmp_path: Path) -> None:
    runs = []
    for policy in ("base_stock", "buffered"):
        runs.append(tmp_path / policy)
        result = run_cli(f"policy={policy}", "disruption=supplier_outage", *SMALL,
                         "engine=batch", "engine.replicates=3", "report.enabled=false",
                         f"hydra.run.dir={runs[-1]}", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert not (runs[-1] / "report.html").exists() and "KPIs over 3" in result.stdout
    single = run_cli("report", str(runs[0]), "--no-scan", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    assert (runs[0] / "report.html").is_file() and str(runs[0] / "report.html") in single.stdout
    both = run_cli("report", *map(str, runs), "--out", str(tmp_path / "both.html"),
                   "--no-scan", "--no-attribution", cwd=tmp_path)
    assert both.returncode == 0, both.stderr
    text = (tmp_path / "both.html").read_text(encoding="utf-8")
    assert "Strategies compared" in text and "buffered" in text
    missing = run_cli("report", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2
    assert "nowhere: no such run folder or results file" in missing.stderr
    other = tmp_path / "other"
    run_cli("disruption=supplier_outage", *SMALL, "run.seed=9", "report.enabled=false",
            f"hydra.run.dir={other}", cwd=tmp_path)
    unpaired = run_cli("report", str(runs[0]), str(other), "--out", str(tmp_path / "x.html"),
                       cwd=tmp_path)
    assert unpaired.returncode == 2 and "common random numbers" in unpaired.stderr
    assert "Traceback" not in unpaired.stderr


def test_multirun_sweep(tmp_path: Path) -> None:
    result = run_cli("-m", "policy.inventory.safety_factor=0,2", *SMALL,
                     f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = sorted((tmp_path / "sweep").glob("*/results.nc"))
    assert len(runs) == 2
    factors = [OmegaConf.load(r.parent / "config.yaml").policy.inventory.safety_factor
               for r in runs]
    assert factors == [0.0, 2.0]


@pytest.mark.parametrize("args,fragment", [
    (["run.days=abc"], "could not be converted to Integer"),
    (["network=nowhere"], "Could not find 'network/nowhere'"),
    (["network=file"], "network.source has no value"),
    (["network=file", "network.source=missing.yaml"], "missing.yaml: no such file or folder"),
    (["network=willems_01", "disruption=supplier_outage", "disruption.events.0.node=ctrl_a"],
     "node = 'ctrl_a': not a node of network 'chain-01'"),
    (["policy.inventory.safety_factor=-1", "engine.replicates=0"], "replicates = 0"),
    (["engine.name=warp"], "engine = 'warp'"),
    (["compare=[nothing]"], "no preset configs/policy/nothing.yaml"),
    (["compare=[base_stock]"], "two strategies have this name"),
])
def test_bad_input_gives_a_short_error(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = run_cli(*args, f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert result.returncode == 2  # Hydra's own errors too, not its exit status 1
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) < 25


def test_broken_network_file_names_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEMO.read_text().replace("share: 0.5}", "share: 0.6}", 1))
    result = run_cli("network=file", f"network.source={bad}", f"hydra.run.dir={tmp_path}/run",
                     cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{bad}: lanes." in result.stderr and "sum to 1.1, not 1" in result.stderr


STUDY_SMALL = ["engine.replicates=4", "run.days=30", "run.warmup_days=5", "study.workers=0",
               "study.chunk_size=2"]


@pytest.mark.parametrize("experiment", ["enterprise", "enterprise_willems", "cluster"])
def test_strategy_studies_run_end_to_end(experiment: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli(f"experiment={experiment}", "engine.replicates=3", "run.days=40",
                     "run.warmup_days=5", "report.scan_replicates=2", f"hydra.run.dir={out}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    text = (out / "report.html").read_text(encoding="utf-8")
    for section in ("Strategies compared", "Recommendation", "Cost against resilience",
                    "Guideline scorecard"):
        assert section in text
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        assert ds.sizes["policy"] >= 5 and (out / "service_level.png").is_file()
    if experiment == "cluster":
        assert "By region and firm" in text and "east" in text


@pytest.mark.parametrize("experiment,figure_kind", [("research_grid", "tornado"),
                                                    ("research_sobol", "sobol")])
def test_research_studies_run_end_to_end_and_resume(experiment: str, figure_kind: str,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "study"
    extra = ["study.samples=2"] if figure_kind == "sobol" else []
    args = [f"experiment={experiment}", *STUDY_SMALL, *extra, f"hydra.run.dir={out}"]
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    points = 20 if figure_kind == "tornado" else 2 * (4 + 2)
    assert f"tasks: {points * 2} computed, 0 reused" in first.stdout
    for name in ("results.nc", "study.png", "report.html", "config.yaml"):
        assert (out / name).is_file(), name
    title = re.search(r"<h1>(.*?)</h1>", (out / "report.html").read_text(encoding="utf-8"))
    assert title and "(" not in title.group(1).split(" over ")[-1]  # names, not a tuple repr
    assert "policy.inventory.safety_factor" in title.group(1)
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        if figure_kind == "tornado":
            assert ds.lost_sales.dims == ("policy.inventory.safety_factor",
                                          "disruption.events.0.duration_days", "replicate")
        else:
            assert ds.lost_sales.dims == ("point", "replicate") and ds.sizes["point"] == points
    if figure_kind == "sobol":
        with xr.open_dataset(out / "sensitivity.nc", engine="h5netcdf") as indices:
            assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(indices.data_vars)
    again = run_cli(*args, cwd=tmp_path)
    assert again.returncode == 0 and f"tasks: 0 computed, {points * 2} reused" in again.stdout


def test_multirun_sweeps_merge_along_their_parameters(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    result = run_cli("-m", "policy.inventory.safety_factor=0,2", "run.seed=1",
                     "disruption=supplier_outage,none", *SMALL, "report.enabled=false",
                     f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    merged = run_cli("merge", str(sweep), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    with xr.open_dataset(sweep / "merged.nc", engine="h5netcdf") as ds:
        assert ds.fill_rate.dims == ("policy.inventory.safety_factor", "disruption",
                                     "replicate")
        assert sorted(ds.disruption.values) == ["none", "supplier_outage"]
        assert float(ds.lost_sales.sel(disruption="none").max()) <= float(
            ds.lost_sales.sel(disruption="supplier_outage").max())
    empty = run_cli("merge", str(tmp_path), cwd=tmp_path)
    assert empty.returncode == 2 and "no finished job" in empty.stderr


def test_ctrl_c_ends_with_one_line_and_the_shells_status(monkeypatch, capsys) -> None:
    from sim.cli import main as cli

    def interrupted(args: list[str]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_app", interrupted)
    with pytest.raises(SystemExit) as stop:
        cli.main(["experiment=demo"])
    assert stop.value.code == cli.EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == ("error: interrupted; a study run again with the same "
                                       "command reuses the tasks it finished\n")
