"""Specs in words (sim.cli.describe): every shipped preset and experiment strategy reads cleanly."""

from __future__ import annotations

import pytest
import yaml

import sim
from sim.cli.describe import describe_event, describe_policy
from sim.io.paths import CONFIG_DIR
from sim.io.presets import policy_preset
from sim.io.risk_register import disruptions_from_config
from sim.spec.policy import policy_from_mapping

POLICIES = sorted(p.stem for p in (CONFIG_DIR / "policy").glob("*.yaml"))
DISRUPTIONS = sorted(p.stem for p in (CONFIG_DIR / "disruption").glob("*.yaml"))


@pytest.mark.parametrize("name", POLICIES)
def test_every_policy_preset_reads_in_words(name: str) -> None:
    text = describe_policy(policy_from_mapping(policy_preset(name)))
    assert (text and "{" not in text and "(" in text) or ":" in text or "default" in text


def test_strategies_inline_in_experiments_read_in_words() -> None:
    for path in sorted((CONFIG_DIR / "experiment").glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")).get("compare") or []:
            mapping = policy_preset(entry) if isinstance(entry, str) else entry
            assert describe_policy(policy_from_mapping(mapping)), (path.name, entry)


def test_tiers_and_units_read_in_words() -> None:
    text = describe_policy(policy_from_mapping(policy_preset("days_of_cover")))
    assert "by tier (0 (cover 7 days))" in text
    text = describe_policy(sim.Policy(sourcing=sim.SourcingPolicy(
        dynamic=True, detection_delay_days=3, backup=sim.BackupPolicy(activation_lag_days=1))))
    assert "detection delay 3 days" in text and "activation lag 1 day" in text


@pytest.mark.parametrize("name", DISRUPTIONS)
def test_every_disruption_preset_reads_in_words_with_what_its_rule_picks(
        name: str, demo: sim.Network) -> None:
    events = yaml.safe_load((CONFIG_DIR / "disruption" / f"{name}.yaml").read_text())["events"]
    for event in disruptions_from_config(events):
        text = describe_event(event, demo)
        assert text.startswith(event.kind.replace("_", " ")) and "{" not in text
        if "@" in text:
            assert " = " in text  # the rule, and what it picked on this network
