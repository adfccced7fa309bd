"""One visual vocabulary: colours, fonts and number formats shared by figures, report, dashboard.

A strategy keeps its colour in every figure of a comparison: the baseline is always the same
neutral grey, the others take the colour-blind-safe palette in the order the comparison lists
them (the palette's own grey left out, so nothing else looks like the baseline).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.colors as mcolors
import seaborn as sns

__all__ = ["BASELINE_COLOUR", "FONT_SCALE", "percent", "strategy_colours", "theme"]

BASELINE_COLOUR = "#6b6b6b"
"""The baseline strategy (and a single run without strategies) in every figure."""
PALETTE = "colorblind"
FONT_SCALE = 1.1
"""Seaborn's font scale: labels legible at the report's width (figures shown at 100 %)."""


def theme() -> None:
    """Seaborn's whitegrid style with the shared palette and fonts."""
    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=FONT_SCALE)


def _strategy_palette() -> list[str]:
    colours = [mcolors.to_hex(c) for c in sns.color_palette(PALETTE, 10)]
    return [c for c in colours if not _is_grey(c)]


def _is_grey(colour: str) -> bool:
    r, g, b = mcolors.to_rgb(colour)
    return max(r, g, b) - min(r, g, b) < 0.05


def strategy_colours(names: Sequence[str], baseline: str | None = None) -> dict[str, str]:
    """A colour (hex) per strategy name: the baseline grey, the others the palette in order.

    Parameters
    ----------
    names : sequence of str
        The strategies as the comparison lists them (the baseline first by default).
    baseline : str, optional
        The reference strategy; the first name when not given.
    """
    names = [str(n) for n in names]
    if not names:
        return {}
    base = names[0] if baseline is None else str(baseline)
    palette = _strategy_palette()
    others = [n for n in names if n != base]
    out = {base: BASELINE_COLOUR} if base in names else {}
    for i, name in enumerate(others):
        out[name] = palette[i % len(palette)]
    return out


def percent(fraction: float, *, digits: int = 1) -> str:
    """A fraction as a percentage that never rounds up to 100 % (or down to 0 %).

    ``percent(0.9998)`` is ``"99.98 %"``, not ``"100.0 %"``: digits are added until the shown
    value differs from 100 (or 0) when the value itself does.
    """
    value = 100.0 * float(fraction)
    if value != value:  # NaN
        return "-"
    shown = digits
    while shown < 6 and (round(value, shown) >= 100 > value or round(value, shown) <= 0 < value):
        shown += 1
    return f"{value:.{shown}f} %"
