"""Shared fixtures and checks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir

import sim

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
DEMO = CONFIGS / "network" / "demo.yaml"
SHARED = REPO.parent / "shared"

# No example database and hypothesis' own cache in a temporary folder: tests write nothing in
# the checkout.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-"))
settings.register_profile("project", database=None, deadline=None, print_blob=True)
# `pytest --hypothesis-profile=triage`: report the first failing example without shrinking it
settings.register_profile("triage", parent=settings.get_profile("project"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile("project")


REQUIRE_BROWSER = "SIM_REQUIRE_BROWSER"
"""Set by ``.ci/run``: a missing browser fails the browser tests instead of skipping them."""


def browser_or_skip(path: str | None, what: str) -> str:
    """The browser's path; without one, skip, or fail where CI promised to install it."""
    if path:
        return path
    message = f"{what} is not installed (.ci/run installs Debian's chromium packages)"
    if os.environ.get(REQUIRE_BROWSER):
        pytest.fail(f"{message}; {REQUIRE_BROWSER} is set, so this check may not be skipped")
    pytest.skip(message)


@pytest.fixture(scope="session")
def demo() -> sim.Network:
    return sim.load_network(DEMO)


def single_stage(*, lead: int = 3, mean: float = 100.0, sd: float = 20.0,
                 unmet: str = "backorder", supplier_capacity: float = float("inf"),
                 stage_capacity: float = float("inf")) -> sim.Network:
    """Unlimited supplier -> one stocking stage -> one demand zone."""
    return sim.Network(
        name="single",
        unmet_demand=unmet,
        nodes=[sim.Node("source", "supplier", "x", capacity_per_day=supplier_capacity),
               sim.Node("stage", "warehouse", "x", capacity_per_day=stage_capacity)],
        lanes=[sim.Lane("supply", "source", "stage", lead_time_days=lead)],
        demand=[sim.DemandZone("customers", "stage", mean=mean, sd=sd)],
    )
