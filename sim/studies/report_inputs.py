"""What the report needs beyond the run itself: the criticality scan and the loss attribution.

Both rerun the model, so they belong here and not in :mod:`analysis`, which only reads
datasets. The command line computes them before it writes a report.
"""

from __future__ import annotations

import xarray as xr

from sim.io.datasets import network_of, run_config
from sim.io.presets import as_policy
from sim.studies.attribution import attribute
from sim.studies.criticality import criticality_scan

__all__ = ["report_inputs", "scan_of_run"]


def scan_of_run(dataset: xr.Dataset, *, baseline: str | None = None,
                replicates: int = 20) -> xr.Dataset:
    """A criticality scan of the run's network under its baseline strategy.

    The scan uses the run's horizon, warm-up and seed, and ``replicates`` replicates per
    target; each target is disrupted from day min(10, days / 4) for 30 days.
    """
    config = run_config(dataset)
    names = [str(p) for p in dataset.policy.values] if "policy" in dataset.dims else []
    base = baseline if baseline is not None else (names[0] if names else None)
    policy = config.get("policies", {}).get(base) if names else config.get("policy")
    run = config.get("run", {})
    days = int(run.get("days", 120))
    return criticality_scan(network_of(dataset), policy=as_policy(policy), replicates=replicates,
                            seed=int(dataset.attrs["seed"]), days=days,
                            warmup_days=int(run.get("warmup_days", 30)),
                            start_day=min(10, days // 4))


def report_inputs(dataset: xr.Dataset, *, baseline: str | None = None, scan: bool = True,
                  attribution: bool = True, scan_replicates: int = 20
                  ) -> dict[str, xr.Dataset | None]:
    """The ``scan`` and ``attribution`` keyword arguments of :func:`analysis.report.write_report`.

    Parameters
    ----------
    dataset : xarray.Dataset
        The run.
    baseline : str, optional
        The reference strategy of a comparison (the first by default).
    scan : bool
        Run the criticality scan (:func:`scan_of_run`).
    attribution : bool
        Attribute the losses to each disruption (:func:`sim.attribute`), when the run has any.
    scan_replicates : int
        Replicates per scanned target.
    """
    has_events = bool(run_config(dataset).get("disruptions"))
    return {"scan": scan_of_run(dataset, baseline=baseline, replicates=scan_replicates)
            if scan else None,
            "attribution": attribute(dataset) if attribution and has_events else None}
