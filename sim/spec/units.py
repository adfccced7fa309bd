"""Units and tolerances shared by every layer: one place for each constant and rounding rule.

Time is in days, quantities in units of the item, money in one currency unit a user chooses,
emissions in kg CO2e. Rates given per year (holding cost, event rates) are charged per day as
rate / :data:`DAYS_PER_YEAR`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DAYS_PER_YEAR", "ROUNDING", "SHORT_TOLERANCE", "STALL_TOLERANCE",
           "STOCKOUT_TOLERANCE", "whole_days"]

DAYS_PER_YEAR = 365.0
"""Days in a year, for rates per year (no leap days: a year of the model is 365 days)."""

ROUNDING = 1e-9
"""Slack [days] when a product of days is rounded up to whole days: 3 x 1.0000000001 is 3."""

SHORT_TOLERANCE = 1e-9
"""[units] An order beyond its primaries' room by more than this is short."""

STALL_TOLERANCE = 1e-9
"""[units] A lane owing or shipping no more than this owes or ships nothing."""

STOCKOUT_TOLERANCE = 1e-9
"""Relative: a shortage below this share of a day's demand is rounding, not a stockout."""


def whole_days(days: float | np.ndarray) -> np.ndarray:
    """``days`` rounded up to whole days, with :data:`ROUNDING` slack (int64)."""
    return np.ceil(np.asarray(days) - ROUNDING).astype(np.int64)
