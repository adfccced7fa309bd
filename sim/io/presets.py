"""Shipped presets by name: the policy group of the configs, and policies given in any form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from sim.io.paths import CONFIG_DIR
from sim.spec.errors import ConfigError, Issue
from sim.spec.policy import BaseStockPolicy, Policy, policy_from_mapping

__all__ = ["as_policy", "policy_preset"]


def policy_preset(name: str) -> dict[str, Any]:
    """The policy mapping of a shipped preset, ``configs/policy/NAME.yaml``.

    Raises
    ------
    ConfigError
        When there is no such preset (the message lists those there are).
    """
    folder = CONFIG_DIR / "policy"
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError(Issue("compare", "policy", name,
                                f"no preset configs/policy/{name}.yaml; choose one of "
                                f"{', '.join(known)}"))
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.setdefault("name", name)
    return data


def as_policy(policy: Policy | Mapping[str, Any] | str | None) -> Policy:
    """A policy from a spec, its mapping form, a preset name or ``None`` (base-stock, z = 1.65).

    A name is a shipped preset of ``configs/policy/`` (``"backup_supplier"``); anything else is
    refused naming what was given.
    """
    if policy is None:
        return BaseStockPolicy()
    if isinstance(policy, str):
        return policy_from_mapping(policy_preset(policy))
    if isinstance(policy, Mapping):
        return policy_from_mapping(policy)
    if not isinstance(policy, Policy):
        raise ConfigError(Issue("policy", "", repr(policy)[:80], "must be a Policy, a mapping "
                                "of its sections, a preset name or None"))
    return policy
