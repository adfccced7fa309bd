"""Regenerate the README's figures from the code that draws them: ``make docs-images``.

Each image is redrawn from a fresh run of the experiment it shows, with the figure functions of
:mod:`analysis.figures`, so a picture in the README never drifts from what the code draws.
Written atomically into ``docs/``. Screenshots of the report and the dashboard are not made
here yet (they need a browser session; see the README's dashboard section).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import xarray as xr

from analysis import figures
from sim.results import save_figure_atomic

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
DPI = 120


def _run(experiment: str, folder: Path, *overrides: str) -> xr.Dataset:
    """Run an experiment through the CLI (as a user would) and load its dataset."""
    command = [sys.executable, "-m", "sim", f"experiment={experiment}", "report.enabled=false",
               f"hydra.run.dir={folder}", *overrides]
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return xr.load_dataset(folder / "results.nc", engine="h5netcdf")


def main() -> None:
    """Redraw the chosen images (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("demo", "enterprise"), help="one image")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if options.only in (None, "demo"):
            demo = _run("demo", Path(scratch) / "demo")
            path = save_figure_atomic(
                figures.service_level_over_time(demo, disruption_days=(30, 59)),
                DOCS / "demo_service_level.png", dpi=DPI)
            print(f"wrote {path}")
        if options.only in (None, "enterprise"):
            enterprise = _run("enterprise", Path(scratch) / "enterprise")
            path = save_figure_atomic(figures.cost_vs_loss_avoided(enterprise),
                                      DOCS / "enterprise_cost_benefit.png", dpi=DPI)
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
