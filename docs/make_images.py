"""Regenerate every figure and screenshot of the README and docs: ``make docs-images``.

Each image is redrawn from a fresh run of the experiment it shows, through the CLI as a user
would run it, with the figure functions of :mod:`analysis.figures`; the screenshots of the
report and the dashboard come from the same headless Chromium the tests use (Selenium and
Debian's chromium-driver). So a picture in the README never drifts from what the code draws.
Images are written atomically into ``docs/``.

``--only NAME`` makes one image group; the research studies (``tornado``, ``sobol``) take
several minutes at their shipped sizes.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import xarray as xr

from analysis import figures
from sim.engines.results import save_figure_atomic

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
DPI = 120
WINDOW = (1400, 1500)


def _run(experiment: str, folder: Path, *overrides: str) -> Path:
    """Run an experiment through the CLI and return its run folder."""
    command = [sys.executable, "-m", "sim", f"experiment={experiment}",
               f"hydra.run.dir={folder}", *overrides]
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return folder


def _load(folder: Path, name: str = "results.nc") -> xr.Dataset:
    return xr.load_dataset(folder / name, engine="h5netcdf")


def _save(figure: Any, name: str) -> None:
    print(f"wrote {save_figure_atomic(figure, DOCS / name, dpi=DPI)}")


@contextmanager
def _browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options,
                              service=Service(shutil.which("chromedriver") or "chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


def _wait(check: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


def _screenshot(driver: Any, name: str) -> None:
    partial = DOCS / f".{name}.partial.png"
    driver.save_screenshot(str(partial))
    partial.replace(DOCS / name)
    print(f"wrote {DOCS / name}")


def demo(scratch: Path) -> None:
    """The demo's service level (README, top) and its report's scorecard (README, metrics)."""
    run = _run("demo", scratch / "demo")
    _save(figures.service_level_over_time(_load(run), disruption_days=(30, 59)),
          "demo_service_level.png")
    from selenium.webdriver.common.by import By

    with _browser() as driver:
        driver.get((run / "report.html").as_uri())
        _wait(lambda: driver.find_elements(By.ID, "scorecard"), "the scorecard")
        driver.execute_script(  # open the scorecard's own tables, then show it
            "const h = document.getElementById('scorecard'); let e = h.nextElementSibling;"
            "while (e && !['H2', 'H3'].includes(e.tagName)) {"
            "  if (e.tagName === 'DETAILS') e.open = true; e = e.nextElementSibling; }"
            "h.scrollIntoView(); window.scrollBy(0, -60);")  # clear of the contents bar
        time.sleep(1)
        _screenshot(driver, "report_scorecard.png")


def enterprise(scratch: Path) -> None:
    """Cost against loss avoided under the risk register (experiments/README)."""
    run = _run("enterprise", scratch / "enterprise", "report.enabled=false")
    _save(figures.cost_vs_loss_avoided(_load(run)), "enterprise_cost_benefit.png")


def cluster(scratch: Path) -> None:
    """The planners' cluster: service level by policy (experiments/README)."""
    run = _run("cluster", scratch / "cluster", "report.enabled=false")
    _save(figures.service_level_over_time(_load(run)), "cluster_service.png")


def tornado(scratch: Path) -> None:
    """The grid study's tornado of lost sales (README, experiments/README)."""
    run = _run("research_grid", scratch / "grid")
    _save(figures.tornado(_load(run), "lost_sales"), "study_tornado.png")


def sobol(scratch: Path) -> None:
    """Sobol indices of lost sales (experiments/README)."""
    run = _run("research_sobol", scratch / "sobol")
    _save(figures.sensitivity_indices(_load(run, "sensitivity.nc"), "lost_sales"),
          "sobol_indices.png")


def dashboard(scratch: Path) -> None:
    """Both dashboard pages (README, dashboard): the demo's outage 35 days in, a comparison."""
    from selenium.webdriver.common.by import By

    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "sim", "app", "--port", str(port)],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://localhost:{port}/"
    try:
        _wait(lambda: _answers(url), "the dashboard")
        with _browser() as driver:
            driver.get(url)
            step = _wait(lambda: [b for b in driver.find_elements(By.TAG_NAME, "button")
                                  if b.text.strip().lower() == "step"], "the Step button")[0]
            for _ in range(35):
                step.click()
                time.sleep(0.3)
            time.sleep(3)
            _screenshot(driver, "app_watch.png")
            driver.get(url + "compare")
            run = _wait(lambda: [b for b in driver.find_elements(By.TAG_NAME, "button")
                                 if "run comparison" in b.text.lower()], "the Run button")[0]
            run.click()
            _wait(lambda: len(driver.find_elements(By.CSS_SELECTOR, "img")) >= 2,
                  "the comparison's figures", timeout=300)
            time.sleep(2)
            _screenshot(driver, "app_compare.png")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


GROUPS = {"demo": demo, "enterprise": enterprise, "cluster": cluster, "dashboard": dashboard,
          "tornado": tornado, "sobol": sobol}


def main() -> None:
    """Redraw the chosen image groups (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=tuple(GROUPS), action="append",
                        help="one image group (repeatable)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for name in options.only or GROUPS:
            GROUPS[name](Path(scratch))


if __name__ == "__main__":
    main()
