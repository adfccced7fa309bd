"""``study.kind=optimize`` on the command line: the search, its progress bar and its files."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

__all__ = ["run_optimize"]

SERVICE = ("fill_rate", "fill_rate_p05", "lost_sales_cvar95")  # the front's service axis


def run_optimize(plan: Any, cfg: Any, started: float) -> None:
    """Search the decisions (resuming a stored search), then write and print what it found."""
    from hydra.core.hydra_config import HydraConfig
    from rich.console import Console
    from tqdm.auto import tqdm

    from sim.cli.main import _save_config as save_config
    from sim.engines.results import save_dataset

    console = Console()
    storage = Path(plan.storage or Path.cwd() / "outputs" / "optimize" / f"{plan.name}.db")
    storage.parent.mkdir(parents=True, exist_ok=True)
    plan = replace(plan, storage=str(storage))
    console.print(f"optimize {plan.name}: {len(plan.decisions)} decisions, budget "
                  f"{plan.budget} candidates x {plan.spec.replicates} replicates (the same for "
                  f"all), search stored in {storage}")
    with tqdm(total=plan.budget, unit="plan", disable=None) as bar:
        def progress(done: int, budget: int, best: float) -> None:
            bar.n = done
            bar.set_postfix_str(f"best {plan.objectives[0]} {best:,.4g}")
            bar.refresh()

        result = plan.run(progress)
    out = Path(HydraConfig.get().runtime.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"candidates": save_dataset(result, out / "optimize.nc"),
             "resolved config": save_config(cfg, out)}
    import matplotlib.pyplot as plt

    from analysis.figures import optimize_choice, optimize_front
    from sim.engines.results import save_figure_atomic

    service = next((c.metric for c in plan.constraints if c.metric in SERVICE), "fill_rate")
    paths["figure"] = save_figure_atomic(optimize_front(result, service=service),
                                         out / "optimize.png", dpi=120)
    choice = optimize_choice(result)
    if choice is not None:
        paths["recommended against base"] = save_figure_atomic(
            choice, out / "recommended.png", dpi=120)
    from analysis.optimize_report import write_optimize_report

    paths["report"] = write_optimize_report(result, out / "report.html", service=service,
                                            title=f"Investment planner: {plan.name}")
    plt.close("all")
    from analysis.optimize_report import headline

    console.print(headline(result, [d.path for d in plan.decisions]))
    console.print(f"{time.perf_counter() - started:.1f} s")
    for label, path in paths.items():
        console.print(f"{label}: {path}")
