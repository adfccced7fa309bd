"""What the dashboard offers (networks, disruptions, strategies) and the checks of its inputs.

Every input is checked before a run starts: :func:`check_watch` and :func:`check_compare`
return ``{control: message}`` for the values that cannot be used, so the page can show each
message next to its control instead of failing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sim.compile.plan import plan_policy
from sim.io import load_network
from sim.io.paths import CONFIG_DIR
from sim.io.presets import policy_preset
from sim.spec.errors import SimError
from sim.spec.network import Network
from sim.studies.config import network_from_config

__all__ = [
    "DISRUPTION_KINDS",
    "EXTRA_NETWORKS_ENV",
    "check_compare",
    "check_watch",
    "disruption_of",
    "load_choice",
    "network_choices",
    "policy_choices",
    "scenario_choices",
    "targets",
]

EXTRA_NETWORKS_ENV = "SIM_APP_NETWORKS"  # more networks, from `python -m sim app PATH...`
DISRUPTION_KINDS = ("node_outage", "lane_closure", "regional_event", "demand_surge", "none")
MAX_WATCH_NODES = 300  # the Mesa engine and the drawing stay responsive below this


def network_choices() -> dict[str, str]:
    """Network label -> where it comes from: every shipped config, then the command line's."""
    out = {p.stem: str(p) for p in sorted((CONFIG_DIR / "network").glob("*.yaml"))
           if p.stem != "file"}
    for path in filter(None, os.environ.get(EXTRA_NETWORKS_ENV, "").split(os.pathsep)):
        out[Path(path).name] = path
    return out


@functools.lru_cache(maxsize=16)
def load_choice(label: str) -> Network:
    """The network of a choice (cached: the page asks often)."""
    source = network_choices()[label]
    if source.endswith((".yaml", ".yml")) and Path(source).parent == CONFIG_DIR / "network":
        return network_from_config(yaml.safe_load(Path(source).read_text(encoding="utf-8")))
    return load_network(source)


def policy_choices() -> list[str]:
    """The shipped policy presets."""
    return sorted(p.stem for p in (CONFIG_DIR / "policy").glob("*.yaml"))


def scenario_choices() -> list[str]:
    """The shipped disruption presets (risk scenarios for comparisons)."""
    return sorted(p.stem for p in (CONFIG_DIR / "disruption").glob("*.yaml"))


def targets(network: Network, kind: str) -> list[str]:
    """What a disruption of ``kind`` can hit in ``network``."""
    if kind == "node_outage":
        return [n.id for n in network.nodes if n.kind != "warehouse"] or [
            n.id for n in network.nodes]
    if kind == "lane_closure":
        return [lane.id for lane in network.lanes if lane.role == "primary"]
    if kind == "regional_event":
        return sorted({n.region for n in network.nodes})
    if kind == "demand_surge":
        return [z.id for z in network.demand]
    return []


def _integer(text: Any, low: int, high: int | None, what: str) -> tuple[int | None, str | None]:
    try:
        value = int(str(text).strip())
    except ValueError:
        return None, f"{what} must be a whole number, not {text!r}"
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        return None, f"{what} must be {bound}"
    return value, None


def _number(text: Any, low: float, high: float, what: str, *, open_low: bool = True
            ) -> tuple[float | None, str | None]:
    try:
        value = float(str(text).strip())
    except ValueError:
        return None, f"{what} must be a number, not {text!r}"
    if not (low < value <= high if open_low else low <= value <= high):
        return None, f"{what} must be in {'(' if open_low else '['}{low:g}, {high:g}]"
    return value, None


def _rule(error: SimError) -> str:
    """The last line of an error: the rule that was broken, for a one-line message."""
    return str(error).splitlines()[-1].strip(" -")


def _network(values: Mapping[str, Any], problems: dict[str, str]) -> Network | None:
    """The chosen network, or ``None`` with the reason in ``problems``."""
    label = values.get("network")
    if label not in network_choices():
        problems["network"] = f"unknown network {label!r}"
        return None
    try:
        return load_choice(label)
    except SimError as error:
        problems["network"] = _rule(error)
        return None


def check_watch(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the inputs of one run; return (clean values, {control: message})."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    network = _network(values, problems)
    if network is None:
        return clean, problems
    label = values["network"]
    if len(network.nodes) > MAX_WATCH_NODES:
        problems["network"] = (f"{len(network.nodes)} nodes: too many to watch day by day here "
                               f"(at most {MAX_WATCH_NODES}); compare strategies on it instead")
    clean["network"] = label
    days, problem = _integer(values.get("days", 180), 10, 3650, "days")
    problems.update({"days": problem} if problem else {})
    clean["days"] = days
    kind = values.get("disruption", "none")
    if kind not in DISRUPTION_KINDS:
        problems["disruption"] = f"choose one of {', '.join(DISRUPTION_KINDS)}"
    clean["disruption"] = kind
    if kind != "none":
        allowed = targets(network, kind)
        if values.get("target") not in allowed:
            problems["target"] = (f"{values.get('target')!r} is not a {kind.replace('_', ' ')} "
                                  f"target of {label}")
        clean["target"] = values.get("target")
        start, problem = _integer(values.get("start_day"), 0, (days or 10) - 1, "start day")
        problems.update({"start_day": problem} if problem else {})
        duration, problem = _integer(values.get("duration_days"), 1, 3650, "duration")
        problems.update({"duration_days": problem} if problem else {})
        high = 10.0 if kind == "demand_surge" else 1.0
        severity, problem = _number(values.get("severity"), 0.0, high,
                                    "surge factor" if kind == "demand_surge" else "severity")
        problems.update({"severity": problem} if problem else {})
        clean.update(start_day=start, duration_days=duration, severity=severity)
    if values.get("policy") not in policy_choices():
        problems["policy"] = f"unknown policy preset {values.get('policy')!r}"
    else:
        try:
            from sim.spec.policy import policy_from_mapping

            plan_policy(policy_from_mapping(policy_preset(values["policy"])), network)
        except SimError as error:
            problems["policy"] = f"does not fit {label}: {_rule(error)}"
    clean["policy"] = values.get("policy")
    seed, problem = _integer(values.get("seed", 0), 0, 2**31 - 1, "seed")
    problems.update({"seed": problem} if problem else {})
    clean["seed"] = seed
    return clean, problems


def disruption_of(kind: str, target: str, start_day: int, duration_days: int,
                  severity: float) -> list[Any]:
    """The disruption spec a watch run asks for."""
    import sim

    if kind == "node_outage":
        return [sim.NodeOutage(target, start_day=start_day, duration_days=duration_days,
                               severity=severity)]
    if kind == "lane_closure":
        return [sim.LaneDisruption(target, start_day=start_day, duration_days=duration_days,
                                   closure=severity)]
    if kind == "regional_event":
        return [sim.RegionalEvent(region=target, start_day=start_day,
                                  duration_days=duration_days, severity=severity,
                                  lane_closure=severity / 2)]
    if kind == "demand_surge":
        return [sim.DemandShock(target, start_day=start_day, duration_days=duration_days,
                                factor=severity)]
    return []


def check_compare(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the inputs of a comparison; return (clean values, {control: message})."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    network = _network(values, problems)
    if network is None:
        return clean, problems
    label = clean["network"] = values["network"]
    scenario = values.get("scenario")
    if scenario not in scenario_choices():
        problems["scenario"] = f"unknown risk scenario {scenario!r}"
    else:
        from sim.compile import events as disruption_events
        from sim.io.risk_register import disruptions_from_config

        events = yaml.safe_load((CONFIG_DIR / "disruption" / f"{scenario}.yaml").read_text())
        try:
            specs = disruptions_from_config(events.get("events"))
            from sim.compile.layout import Layout

            layout = Layout.of(network)
            for spec in specs:
                disruption_events.validate(spec, layout, 0)
            clean["disruptions"] = list(specs)
        except SimError as error:
            problems["scenario"] = f"does not fit {label}: {_rule(error)}"
    strategies = list(values.get("strategies") or [])
    if not 2 <= len(strategies) <= 4:
        problems["strategies"] = "choose two to four strategies (the first is the baseline)"
    for name in strategies:
        try:
            from sim.spec.policy import policy_from_mapping

            plan_policy(policy_from_mapping(policy_preset(name)), network)
        except SimError as error:
            problems["strategies"] = f"{name} does not fit {label}: {_rule(error)}"
    clean["strategies"] = strategies
    replicates, problem = _integer(values.get("replicates", 200), 2, 5000, "replicates")
    problems.update({"replicates": problem} if problem else {})
    clean["replicates"] = replicates
    days, problem = _integer(values.get("days", 180), 10, 3650, "days")
    problems.update({"days": problem} if problem else {})
    clean["days"] = days
    seed, problem = _integer(values.get("seed", 0), 0, 2**31 - 1, "seed")
    problems.update({"seed": problem} if problem else {})
    clean["seed"] = seed
    return clean, problems
