"""A plain (non-editable) install has the CLI, the presets and the example networks.

The wheel is built from this checkout without build isolation (no download) and installed with
``--no-deps`` into a folder put first on ``PYTHONPATH``, so the dependencies are this
environment's and everything of the package comes from the wheel; the commands run from an
empty folder, where no ``configs/`` of a checkout can be found.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def run(args: list[str], cwd: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_wheel_runs_the_demo_from_an_empty_folder(tmp_path: Path) -> None:
    wheels, site, empty = tmp_path / "wheels", tmp_path / "site", tmp_path / "empty"
    empty.mkdir()
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "--no-build-isolation", "-w", str(wheels), str(REPO)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("*.whl")
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                                "--target", str(site), str(wheel)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    where = run(["-c", "import sim, sim.studies.config; print(sim.__file__); "
                 "print(sim.io.paths.CONFIG_DIR)"], empty, site)
    module, configs = where.stdout.split()
    assert module.startswith(str(site)) and configs.startswith(str(site))
    check = run(["-m", "sim", "check", "example:willems-2008/chain-08.csv"], empty, site)
    assert check.returncode == 0 and check.stdout.startswith("ok: chain-08"), check.stderr
    demo = run(["-m", "sim", "experiment=demo", "engine.replicates=5", "run.days=40",
                "report.enabled=false", "compare=[backup_supplier]",
                f"hydra.run.dir={empty / 'out'}"], empty, site)
    assert demo.returncode == 0, demo.stderr
    assert (empty / "out" / "results.nc").is_file() and "per event" in demo.stdout
