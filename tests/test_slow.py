"""The long tier (``make test-all``): every shipped experiment at its full size, and mypy.

``make test`` runs each experiment on a small size (``tests/test_cli.py``) and pins the README's
demo table at full size (``tests/test_readme.py``); these run the presets exactly as shipped,
as a user's ``python -m sim experiment=NAME`` would, and type-check the package from scratch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from tests.conftest import REPO
from tests.test_cli import options, run_cli

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_runs_at_its_full_size(experiment: str, tmp_path: Path) -> None:
    result = run_cli(f"experiment={experiment}", f"hydra.run.dir={tmp_path}",
                     f"hydra.sweep.dir={tmp_path / 'multirun'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    if experiment.endswith("_optimize"):  # a search: its candidates and the Pareto figure
        (found,) = tmp_path.rglob("optimize.nc")
        with xr.open_dataset(found, engine="h5netcdf") as opened:
            assert opened.sizes["candidate"] == opened.attrs["budget"]
        return
    datasets = sorted(tmp_path.rglob("results.nc"))
    assert datasets, "no dataset written"
    with xr.open_dataset(datasets[0], engine="h5netcdf") as opened:
        assert opened.attrs["config"] and opened.sizes.get("replicate", 0) > 0
    assert list(tmp_path.rglob("report.html")), "no report written"


def test_mypy_finds_no_type_errors(tmp_path: Path) -> None:
    mypy = Path(sys.executable).with_name("mypy")
    result = subprocess.run([str(mypy), "--cache-dir", str(tmp_path / "cache")], cwd=REPO,
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Success: no issues found" in result.stdout
