"""Startup: how long the CLI takes before doing anything, as a ratio to importing NumPy + YAML.

The target (issue 14): ``python -m sim --help`` and ``python -m sim check`` within 4x the time of
``python -c "import numpy, yaml"`` measured in the same run (machines differ about 3x, so the
ratio is what carries over). Medians of several runs, each a fresh interpreter.

Run: ``python benchmarks/startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "configs" / "network" / "demo.yaml"
COMMANDS = {
    "import numpy, yaml (reference)": ["-c", "import numpy, yaml"],
    "import sim": ["-c", "import sim"],
    "python -m sim --help": ["-m", "sim", "--help"],
    "python -m sim check demo.yaml": ["-m", "sim", "check", str(DEMO)],
    "import sim; sim.simulate (engines loaded)": ["-c", "import sim; sim.simulate"],
}
TARGET_RATIO = 4.0


def wall_time(args: list[str]) -> float:
    """Seconds one fresh interpreter takes to run ``args`` to the end."""
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, capture_output=True, cwd=REPO)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    medians = {}
    for label, args in COMMANDS.items():
        wall_time(args)  # warm the file cache
        medians[label] = statistics.median(wall_time(args) for _ in range(options.runs))
    reference = medians["import numpy, yaml (reference)"]
    print(f"startup, median of {options.runs} fresh interpreters (Python {sys.version.split()[0]})")
    for label, seconds in medians.items():
        mark = ""
        if label.startswith("python -m sim"):
            mark = "  ok" if seconds <= TARGET_RATIO * reference else f"  over {TARGET_RATIO:g}x"
        print(f"  {label:<42} {seconds:6.2f} s  {seconds / reference:5.1f}x{mark}")


if __name__ == "__main__":
    main()
