"""The dashboard in a headless browser: watch one run, then compare strategies.

The server is ``python -m sim app`` on a free port; the browser is Debian's Chromium with its
driver (``.ci/run`` installs both when missing), driven by Selenium.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.app.inputs import check_compare, check_watch
from tests.conftest import REPO, browser_or_skip

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_watch_inputs_are_checked_before_a_run() -> None:
    good = {"network": "demo", "disruption": "node_outage", "target": "ctrl_a",
            "start_day": "20", "duration_days": "30", "severity": "1.0",
            "policy": "base_stock", "seed": "0", "days": "180"}
    clean, problems = check_watch(good)
    assert problems == {} and clean["start_day"] == 20 and clean["severity"] == 1.0
    _, problems = check_watch({**good, "duration_days": "abc", "severity": "1.5",
                               "target": "nowhere", "start_day": "400"})
    assert problems["duration_days"] == "duration must be a whole number, not 'abc'"
    assert problems["severity"] == "severity must be in (0, 1]"
    assert "'nowhere' is not a node outage target of demo" in problems["target"]
    assert problems["start_day"] == "start day must be between 0 and 179"
    _, problems = check_watch({**good, "network": "willems_38"})
    assert "too many to watch" in problems["network"]
    _, problems = check_watch({**good, "network": "willems_01", "policy": "pooling"})
    assert "policy" not in problems  # presets pick their nodes by rule: they fit any network


def test_compare_inputs_are_checked_before_a_run() -> None:
    good = {"network": "demo", "scenario": "supplier_outage",
            "strategies": ["base_stock", "buffered"], "replicates": "20", "days": "60",
            "seed": "1"}
    clean, problems = check_compare(good)
    assert problems == {} and len(clean["disruptions"]) == 1
    _, problems = check_compare({**good, "strategies": ["base_stock"], "replicates": "1"})
    assert "two to four" in problems["strategies"]
    assert problems["replicates"] == "replicates must be between 2 and 5000"
    _, problems = check_compare({**good, "network": "willems_01"})
    assert "scenario" not in problems  # the outage targets the slowest supplier by rule


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "sim", "app", "--port", str(port)],
                                   cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True,
                                   env={**os.environ, "MPLBACKEND": "Agg"})
    url = f"http://localhost:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"the dashboard did not start: {log.read_text()[-3000:]}")
    yield url
    os.killpg(process.pid, 15)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    browser_or_skip(CHROMEDRIVER and CHROMIUM, "Chromium and chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1600",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _wait(condition, timeout: float = 60.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


PIXELS = """
return Array.from(document.querySelectorAll('img.widget-image'))
  .filter(img => img.complete && img.naturalWidth > 0)
  .map(img => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    canvas.getContext('2d').drawImage(img, 0, 0);
    return canvas.toDataURL('image/png');
  });
"""


def _images(driver) -> list[str]:
    """The pixels (as PNG data) of every figure the page shows, in page order."""
    return driver.execute_script(PIXELS)


def _button(driver, text: str):
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.TAG_NAME, "button"):
        if button.text.strip().lower() == text.lower():
            return button
    return None


def _steps(driver) -> float | None:
    """The step count SolaraViz shows (Mesa 3.3 says "Step: n", 3.5 "Time: n")."""
    from selenium.webdriver.common.by import By

    found = re.search(r"(Step|Time): ([\d.]+)", driver.find_element(By.TAG_NAME, "body").text)
    return float(found.group(2)) if found else None


def _type(driver, css: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element(By.CSS_SELECTOR, f"{css} input")
    field.click()
    field.send_keys(Keys.CONTROL + "a", Keys.BACKSPACE)
    for key in text:  # at a person's pace: the widget syncs its text with the server lazily,
        field.send_keys(key)  # and Enter commits what the server has seen
        time.sleep(0.05)
    time.sleep(0.4)
    field.send_keys(Keys.ENTER)


def test_watch_one_run_steps_and_shows_bad_input_next_to_its_control(server: str, browser,
                                                                      tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server)
    _wait(lambda: len(_images(browser)) >= 2, what="the network view and the charts")
    _wait(lambda: _button(browser, "Step"), what="the Step button")
    before = _images(browser)
    _type(browser, ".field-duration_days", "abc")  # a bad value: a message, not a traceback
    expected = "duration must be a whole number, not 'abc'"
    message = _wait(lambda: [e.text for e in browser.find_elements(By.CSS_SELECTOR,
                                                                   ".v-messages__message")
                             if e.text == expected], what="the message of the control")
    assert message == [expected]
    assert "Traceback" not in browser.find_element(By.TAG_NAME, "body").text
    _type(browser, ".field-duration_days", "5")  # a good value restarts the model with it
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".inputs-ok"), what="checked inputs")
    _type(browser, ".field-start_day", "0")
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".inputs-ok"), what="checked inputs")
    assert _steps(browser) == 0
    for day in range(1, 5):  # click Step until the model says it took the step
        _wait(lambda: _button(browser, "Step") and _button(browser, "Step").is_enabled(),
              what="Step enabled")
        _button(browser, "Step").click()
        _wait(lambda day=day: _steps(browser) == day, timeout=20, what=f"step {day}")
    after = _wait(lambda: (lambda now: now if len(now) >= 2 and now[0] != before[0]
                           and now[1] != before[1] else None)(_images(browser)),
                  what="the network view and the charts to change")
    assert after[0] != before[0] and after[1] != before[1]
    browser.save_screenshot(str(tmp_path / "watch.png"))
    _no_framework_leftovers(browser)
    assert "ctrl_back… = ctrl_backup" in browser.find_element(By.TAG_NAME, "body").text


def _no_framework_leftovers(browser) -> None:
    """What Mesa's SolaraViz and Solara's layout draw that the app does not use stays hidden,
    and the page tabs say what the pages are (not "Home" and "compare")."""
    from selenium.webdriver.common.by import By

    shown = browser.find_element(By.TAG_NAME, "body").text
    for leftover in ("Use Threads", "Model Parameters", "Page 0", "PAGE 0"):
        assert leftover not in shown, leftover
    tabs = browser.execute_script(
        "return Array.from(document.querySelectorAll('.v-app-bar .v-tab')).map("
        "t => getComputedStyle(t, '::after').content)")
    assert tabs == ['"Watch one run"', '"Compare strategies"']


def test_compare_strategies_runs_and_shows_its_figures(server: str, browser) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "compare")
    _wait(lambda: _button(browser, "Run comparison"), what="the Run button")
    _type(browser, ".field-replicates", "20")
    _type(browser, ".field-days", "60")
    _wait(lambda: _button(browser, "Run comparison").is_enabled(), what="checked inputs")
    _button(browser, "Run comparison").click()
    _wait(lambda: len(_images(browser)) >= 2, timeout=120, what="the comparison's figures")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Paired comparison" in body and "dynamic_sourcing" in body
    assert _button(browser, "Download the dataset (NetCDF)") is not None
    # numbers rounded to four significant digits, not raw floats (0.05309 is four)
    digits = [re.sub(r"^0+", "", number.replace(".", ""))
              for number in re.findall(r"\d+\.\d+", body)]
    assert all(len(d.rstrip("0") or "0") <= 4 for d in digits), digits
    _no_framework_leftovers(browser)


def test_networks_given_on_the_command_line_are_offered(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    from analysis.app.inputs import EXTRA_NETWORKS_ENV, load_choice, network_choices
    from sim.io import resolve_path

    chain = resolve_path("example:willems-2008/chain-08.csv")
    monkeypatch.setenv(EXTRA_NETWORKS_ENV, str(chain))
    assert network_choices()["chain-08.csv"] == str(chain)
    assert len(load_choice("chain-08.csv").nodes) > 10
    _, problems = check_watch({"network": "chain-08.csv", "disruption": "none",
                               "policy": "base_stock", "seed": "1", "days": "60"})
    assert problems == {}
    run = subprocess.run([sys.executable, "-m", "sim", "app", str(tmp_path / "nowhere")],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "no such file or folder" in run.stderr


def test_stopping_the_command_stops_the_server_it_started(tmp_path: Path) -> None:
    """`kill PID` of `python -m sim app` (only the parent) leaves nothing serving the port."""
    port = _free_port()
    with (tmp_path / "server.log").open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "sim", "app", "--port", str(port)],
                                   cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "MPLBACKEND": "Agg"})
    url = f"http://localhost:{port}/"
    try:
        assert _answers(url, within=90), (tmp_path / "server.log").read_text()[-2000:]
        process.terminate()  # SIGTERM to the command alone, as `kill PID` does
        process.wait(timeout=30)
        assert not _answers(url, within=0), "the dashboard still answers after its command ended"
    finally:
        if process.poll() is None:
            process.kill()


def _answers(url: str, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return True
        except OSError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def test_long_node_ids_get_short_unique_labels() -> None:
    from analysis.app.watch import LABEL_CHARACTERS, short_labels

    labels = short_labels(["plant", "supplier_alpha_one", "supplier_alpha_two"])
    assert labels["plant"] == "plant"
    assert len(set(labels.values())) == 3
    assert all(len(label) <= LABEL_CHARACTERS for label in labels.values())
