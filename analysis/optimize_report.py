"""The report of an investment search (:func:`sim.studies.optimize.optimize`), from its dataset.

One self-contained HTML file: the recommendation in a sentence (what the plan spends and what it
avoids a year against the base policy, with 95 % intervals), the Pareto figure, the best
candidates and how the search was run. It reads the candidates' dataset only.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from analysis import figures
from analysis.report import STYLE, _figure, _table
from sim.io.atomic import write_text_atomic

__all__ = ["build_optimize_report", "headline", "write_optimize_report"]

SHOWN = 12  # candidates in the table


def headline(result: xr.Dataset, decisions: list[str]) -> str:
    """The recommendation in one sentence (or why there is none)."""
    target = ", ".join(result.attrs.get("constraints") or []) or "no constraint"
    chosen = (np.flatnonzero(result.recommended.values) if "recommended" in result
              else np.zeros(0, dtype=int))
    replicates = result.attrs.get("confirm_replicates")
    if result.attrs.get("keep_base"):
        base = (result.attrs.get("base_annual_total_cost") or [np.nan])[0]
        return (f"The base policy already meets {target} with 95 % confidence on {replicates} "
                f"replicates at {base:,.0f} a year, and no plan found is cheaper: keep it.")
    if not len(chosen):
        return (f"No plan meets {target} with 95 % confidence on {replicates} replicates: "
                "widen the decisions or the budget.")
    i = int(chosen[0])
    settings = ", ".join(f"{path} = {result[path].values[i]}" for path in decisions)
    spend, loss = ([float(result[f"{name}{end}"].values[i]) for end in ("_low", "", "_high")]
                   for name in ("spend_vs_base", "loss_avoided"))
    penalties = _signed(loss, "avoids", "of shortage penalties", "more shortage penalties",
                        "incurs")
    text = (f"The cheapest plan meeting {target} (95 % confidence on {replicates} "
            f"replicates) is {settings}. {_signed(spend, 'It spends', 'more', 'less')} a year "
            f"than the base policy and {penalties} a year.")
    public = (result["confirmed_annual_public_cost"].values[i]
              if "confirmed_annual_public_cost" in result else 0.0)
    if public > 0:
        base = (result.attrs.get("base_annual_public_cost") or [0.0])[0]
        text += (f" Of its cost, {public:,.0f} a year falls on the public budget (the base "
                 f"policy: {base:,.0f}).")
    return text


def _signed(interval: list[float], verb: str, up: str, down: str,
            down_verb: str | None = None) -> str:
    """``verb X up (95 % interval ...)``, or with ``down`` when the estimate is negative."""
    low, mean, high = interval
    if mean < 0:
        verb, up, (low, mean, high) = down_verb or verb, down, (-high, -mean, -low)
    return f"{verb} {mean:,.0f} {up} (95 % interval {low:,.0f} to {high:,.0f})"


def build_optimize_report(result: xr.Dataset, *, service: str = "fill_rate_p05",
                          title: str = "Investment planner") -> str:
    """The report as one HTML string (figure embedded)."""
    decisions = [str(name) for name in result.data_vars
                 if "." in str(name) and result[name].dims == ("candidate",)]
    shown = ["annual_total_cost", "annual_total_cost_se", "fill_rate", service,
             "co2e_per_unit", "annual_public_cost", "feasible", "pareto", "recommended"]
    frame = result[decisions + [v for v in dict.fromkeys(shown) if v in result]].to_dataframe()
    frame = frame.sort_values("annual_total_cost").head(SHOWN)
    facts = pd.DataFrame({"value": [result.attrs.get("budget"), result.attrs.get("replicates"),
                                    result.attrs.get("confirm_replicates"),
                                    result.attrs.get("seed"), result.attrs.get("days")]},
                         index=pd.Index(["candidates evaluated", "replicates each (the same)",
                                         "replicates of the confirmation", "seed",
                                         "recorded days"], name="search"))
    body = "\n".join([
        f"<h1>{html.escape(title)}</h1>",
        f"<p><strong>{html.escape(headline(result, decisions))}</strong></p>",
        _figure(figures.optimize_front(result, service=service),
                "Every plan evaluated: annual cost against service; the star is the "
                "recommendation, the dashed line the base policy's cost."),
        *([_figure(choice, "The recommended plan against the base policy on the "
                   "confirmation's replicates (bars: 95 % intervals).")]
          if (choice := figures.optimize_choice(result)) is not None else []),
        f"<h2>The {SHOWN} cheapest plans</h2>", _table(frame),
        "<h2>How the search ran</h2>", _table(facts),
    ])
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f"{body}</body></html>")


def write_optimize_report(result: xr.Dataset, path: str | Path, **options: str) -> Path:
    """Write :func:`build_optimize_report` to ``path`` (atomically) and return the path."""
    return write_text_atomic(path, build_optimize_report(result, **options))
