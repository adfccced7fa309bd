"""The value rules of each policy part, run by its ``__post_init__`` (:mod:`sim.spec.policy`).

Kept apart from the dataclasses so that the policy module stays one read; each function takes
the part and raises a :class:`~sim.spec.errors.ConfigError` naming key, value and rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any

from sim.spec.checks import boolean, fail, number
from sim.spec.network import MAX_LEAD_TIME_DAYS

__all__ = ["FORECAST_METHODS", "FORECAST_SIGNALS", "check_backup", "check_early_warning",
           "check_expedite", "check_forecast", "check_green", "check_pooling", "check_reserve",
           "check_shared_warehouse", "check_sourcing"]

FORECAST_METHODS = ("none", "moving_average", "exp_smoothing")
FORECAST_SIGNALS = ("orders", "pos")


def check_sourcing(s: Any) -> None:
    """The rules of a ``SourcingPolicy``."""
    where = "policy.sourcing"
    for key in ("dynamic", "backups", "single_source"):
        boolean(where, key, getattr(s, key))
    number(where, "detection_delay_days", s.detection_delay_days, minimum=0, whole=True)
    number(where, "stretch_tolerance", s.stretch_tolerance, minimum=1)
    number(where, "switch_over_days", s.switch_over_days, minimum=0, whole=True)
    number(where, "switch_cost", s.switch_cost, minimum=0)
    number(where, "prefer_green", s.prefer_green, minimum=0, maximum=1)
    if s.reroute_after_days is not None:
        number(where, "reroute_after_days", s.reroute_after_days, minimum=1, whole=True)
    if s.max_region_share is not None:
        number(where, "max_region_share", s.max_region_share, minimum=0.01, maximum=1)


def check_backup(b: Any) -> None:
    """The rules of a ``BackupPolicy``."""
    where = "policy.sourcing.backup"
    number(where, "activation_lag_days", b.activation_lag_days, minimum=0, whole=True)
    for key in ("premium_per_unit", "reservation_fee_per_day", "activation_fee",
                "fee_per_unit_capacity"):
        number(where, key, getattr(b, key), minimum=0)
    number(where, "public_share", b.public_share, minimum=0, maximum=1)
    if b.lanes is not None and (isinstance(b.lanes, str) or not isinstance(b.lanes, tuple)
                                or not all(isinstance(lane, str) for lane in b.lanes)):
        raise fail(where, "lanes", b.lanes, "must be a list of lane ids")
    if not isinstance(b.capacity_per_day, Mapping):
        raise fail(where, "capacity_per_day", b.capacity_per_day,
                   "must be a mapping of lane id to units/day")
    for lane, value in b.capacity_per_day.items():
        number(where, f"capacity_per_day.{lane}", value, minimum=0)


def check_forecast(f: Any) -> None:
    """The rules of a ``ForecastPolicy``."""
    where = "policy.forecast"
    if f.method not in FORECAST_METHODS:
        raise fail(where, "method", f.method, f"must be one of {', '.join(FORECAST_METHODS)}")
    if f.signal not in FORECAST_SIGNALS:
        raise fail(where, "signal", f.signal, f"must be one of {', '.join(FORECAST_SIGNALS)}")
    # the engines keep the window's history: bounded like a lead time (ten years)
    number(where, "window_days", f.window_days, minimum=1, maximum=MAX_LEAD_TIME_DAYS,
            whole=True)
    number(where, "alpha", f.alpha, minimum=1e-9, maximum=1)
    number(where, "info_delay_days", f.info_delay_days, minimum=0, whole=True)


def check_expedite(e: Any) -> None:
    """The rules of a ``ExpeditePolicy``."""
    boolean("policy.expedite", "enabled", e.enabled)
    number("policy.expedite", "premium_per_unit", e.premium_per_unit, minimum=0)
    if e.cover_days is not None:
        number("policy.expedite", "cover_days", e.cover_days, minimum=0)


def check_pooling(p: Any) -> None:
    """The rules of a ``PoolingPolicy``."""
    number("policy.pooling", "cost_per_unit", p.cost_per_unit, minimum=0)


def check_early_warning(w: Any) -> None:
    """The rules of a ``EarlyWarning``."""
    number("policy.early_warning", "notice_days", w.notice_days, minimum=0, whole=True)
    number("policy.early_warning", "fee_per_notice_day", w.fee_per_notice_day, minimum=0)
    number("policy.early_warning", "public_share", w.public_share, minimum=0, maximum=1)


def check_green(g: Any) -> None:
    """The rules of a ``GreenPolicy``."""
    where = "policy.green"
    number(where, "prefer_low_emission", g.prefer_low_emission, minimum=0, maximum=1)
    for key in ("mode_co2e_kg_per_unit_km", "mode_premium_per_unit"):
        values = getattr(g, key)
        if not isinstance(values, Mapping):
            raise fail(where, key, values, "must be a mapping of mode to number")
        for mode, value in values.items():
            number(where, f"{key}.{mode}", value, minimum=0)


def check_reserve(r: Any) -> None:
    """The rules of a ``Reserve``."""
    where = "policy.reserves"
    number(where, "units", r.units, minimum=0)
    number(where, "threshold", r.threshold, minimum=0, maximum=1)
    if not (isinstance(r.release_per_day, Real) and float(r.release_per_day) > 0):
        raise fail(where, "release_per_day", r.release_per_day, "must be > 0")
    number(where, "holding_cost_rate", r.holding_cost_rate, minimum=0)
    number(where, "release_cost_per_unit", r.release_cost_per_unit, minimum=0)
    number(where, "public_share", r.public_share, minimum=0, maximum=1)


def check_shared_warehouse(h: Any) -> None:
    """The rules of a ``SharedWarehouse``."""
    where = "policy.shared_warehouses"
    if not h.members:
        raise fail(where, "members", h.members, "list at least one member node")
    number(where, "units", h.units, minimum=0)
    number(where, "lead_time_days", h.lead_time_days, minimum=1, whole=True)
    number(where, "cost_per_unit", h.cost_per_unit, minimum=0)
    number(where, "fee_per_day", h.fee_per_day, minimum=0)
    number(where, "public_share", h.public_share, minimum=0, maximum=1)
