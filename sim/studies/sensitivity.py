"""Global sensitivity of KPIs to disruption and policy parameters (SALib: Sobol or Morris).

:func:`sensitivity_points` samples the parameter space (Saltelli's scheme for Sobol indices,
Morris trajectories for elementary effects) into study points; the study runs them
(:mod:`sim.studies.study`, every point on the same replicates, so the KPI differences between points
come from the parameters, not from sampling noise); :func:`analyze` reads the mean KPI at each
point and returns the indices with their bootstrap confidence intervals.

Parameters are given as ``{dotted.path: [low, high]}``; when both bounds are integers the
parameter is an integer (a duration in days) and sampled values are rounded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from sim.spec.errors import ConfigError, Issue

__all__ = ["METHODS", "analyze", "problem", "sensitivity_points"]

METHODS = ("sobol", "morris")


def problem(parameters: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """The SALib problem of ``{path: [low, high]}`` (checked: two numbers, low < high)."""
    bounds = []
    for path, pair in parameters.items():
        if (not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2
                or not all(isinstance(v, (int, float)) for v in pair) or pair[0] >= pair[1]):
            raise ConfigError(Issue("study", path, pair, "needs [low, high] with low < high"))
        bounds.append([float(pair[0]), float(pair[1])])
    if not bounds:
        raise ConfigError(Issue("study", "parameters", {}, "give at least one parameter"))
    return {"num_vars": len(bounds), "names": list(parameters), "bounds": bounds}


def _integer(pair: Sequence[float]) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in pair)


def sensitivity_points(parameters: Mapping[str, Sequence[float]], *, method: str = "sobol",
                       samples: int = 64, seed: int = 0,
                       levels: int = 4) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Study points for a sensitivity analysis, and the raw sample SALib analyses.

    Parameters
    ----------
    parameters : mapping of path to [low, high]
        The parameters and their ranges.
    method : {"sobol", "morris"}
        Saltelli sampling (``samples * (D + 2)`` points, first and total order) or Morris
        trajectories (``samples * (D + 1)`` points).
    samples : int
        Base sample size N (a power of two for Sobol) or number of Morris trajectories.
    seed : int
        Seed of the sampler.
    levels : int
        Grid levels of the Morris method.
    """
    from SALib.sample import morris, sobol

    spec = problem(parameters)
    if method == "sobol":
        if samples < 2 or samples & (samples - 1):
            raise ConfigError(Issue("study", "samples", samples, "Sobol sampling needs a "
                                    "power of two (16, 32, 64, ...)"))
        design = sobol.sample(spec, int(samples), calc_second_order=False, seed=seed)
    elif method == "morris":
        design = morris.sample(spec, int(samples), num_levels=levels, seed=seed)
    else:
        raise ConfigError(Issue("study", "method", method, f"must be one of {', '.join(METHODS)}"))
    integers = [_integer(pair) for pair in parameters.values()]
    points = [{path: (round(float(v)) if whole else float(v))
               for path, v, whole in zip(spec["names"], row, integers, strict=True)}
              for row in design]
    return points, design


def analyze(results: xr.Dataset, parameters: Mapping[str, Sequence[float]], design: np.ndarray,
            *, method: str = "sobol", kpis: Sequence[str] = ("lost_sales", "total_cost"),
            confidence: float = 0.95, seed: int = 0, levels: int = 4) -> xr.Dataset:
    """Sensitivity indices of the mean KPIs of a study run on :func:`sensitivity_points`.

    Returns
    -------
    xarray.Dataset
        Dimensions ``parameter`` and ``kpi``. Sobol: ``S1``, ``S1_conf``, ``ST``, ``ST_conf``
        (first-order and total indices and the half-widths of their bootstrap intervals at
        ``confidence``). Morris: ``mu_star``, ``mu_star_conf``, ``sigma``, ``mu``.
    """
    from SALib.analyze import morris, sobol

    spec = problem(parameters)
    missing = [k for k in kpis if k not in results]
    if missing:
        raise ConfigError(Issue("sensitivity", "kpis", missing[0], "not a KPI of the study"))
    fields = (("S1", "S1_conf", "ST", "ST_conf") if method == "sobol"
              else ("mu_star", "mu_star_conf", "sigma", "mu"))
    out = {f: np.full((spec["num_vars"], len(kpis)), np.nan) for f in fields}
    for j, kpi in enumerate(kpis):
        y = results[kpi].mean("replicate").values.astype(float)
        if y.shape[0] != design.shape[0]:
            raise ConfigError(Issue("sensitivity", "results", y.shape[0],
                                    f"points, but the design has {design.shape[0]}"))
        if np.ptp(y) == 0:  # a KPI the parameters do not move: every index is 0
            for f in fields:
                out[f][:, j] = 0.0
            continue
        if method == "sobol":
            found = sobol.analyze(spec, y, calc_second_order=False, conf_level=confidence,
                                  seed=seed)
        else:
            found = morris.analyze(spec, design, y, conf_level=confidence, num_levels=levels,
                                   seed=seed)
        for f in fields:
            out[f][:, j] = np.asarray(found[f], dtype=float)
    dataset = xr.Dataset({f: (("parameter", "kpi"), v) for f, v in out.items()},
                         coords={"parameter": spec["names"], "kpi": list(kpis),
                                 "low": ("parameter", [b[0] for b in spec["bounds"]]),
                                 "high": ("parameter", [b[1] for b in spec["bounds"]])})
    dataset.attrs.update(method=method, confidence=confidence, points=int(design.shape[0]))
    return dataset
