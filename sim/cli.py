"""Command line: ``python -m sim`` is a Hydra app over the config groups in ``configs/``.

``python -m sim [overrides...]`` runs one simulation (or a sweep with ``-m``), writes
``results.nc``, the resolved ``config.yaml`` and a service-level figure to the run folder, and
prints a KPI summary and where the files are. A bad override or input file gives a short error
and exit status 2, never a traceback. ``python -m sim check PATH`` validates a network file.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
EXIT_BAD_INPUT = 2


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _disruption_window(spec: Any) -> tuple[int, int] | None:
    """First and last day of the scripted disruptions (to shade on the figure)."""
    scripted = [e for e in spec.disruptions if getattr(e, "start_day", None) is not None
                and getattr(e, "duration_days", None) is not None]
    if not scripted:
        return None
    return (min(e.start_day for e in scripted),
            max(e.start_day + e.duration_days - 1 for e in scripted))


def _print_summary(dataset: Any, spec: Any, paths: dict[str, Path], wall: float) -> None:
    from rich.console import Console
    from rich.table import Table

    from analysis.tables import kpi_summary

    console = Console(highlight=False, width=max(Console().width, 110))
    console.print(f"[bold]{spec.network.summary()}[/bold]")
    shocks = ", ".join(_describe(d) for d in spec.disruptions) or "none"
    console.print(f"disruptions: {shocks}")
    console.print(f"policy: {spec.policy.to_mapping()}")
    console.print(f"engine {spec.engine}: {spec.replicates} replicates x {spec.days} days "
                  f"(+{spec.warmup_days} warm-up), seed {spec.seed}, record {spec.record}, "
                  f"{wall:.1f} s")
    table = Table(title=f"KPIs over {spec.replicates} replicates")
    for column in ("KPI", "mean", "95 % CI of the mean", "5 %-95 % of replicates", "units"):
        table.add_column(column, justify="left" if column in ("KPI", "units") else "right")
    for name, row in kpi_summary(dataset).iterrows():
        table.add_row(name, _fmt(row["mean"]), f"{_fmt(row['ci_low'])} .. {_fmt(row['ci_high'])}",
                      f"{_fmt(row['p05'])} .. {_fmt(row['p95'])}", row["units"])
    console.print(table)
    for label, path in paths.items():
        console.print(f"{label}: {path}")


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _describe(spec: Any) -> str:
    fields = {k: v for k, v in vars(spec).items() if v not in ((), None)}
    return f"{spec.kind}({', '.join(f'{k}={v}' for k, v in fields.items())})"


def _run(cfg: Any) -> None:
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from analysis.figures import service_level_over_time
    from sim.api import simulate
    from sim.config import build_run
    from sim.errors import SimError
    from sim.results import save_dataset

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    started = time.perf_counter()
    try:
        spec = build_run(OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True))
        dataset = simulate(spec.network, **spec.simulate_kwargs())
    except SimError as error:
        _error(str(error))
        sys.exit(EXIT_BAD_INPUT)
    except OmegaConfBaseException as error:  # e.g. a mandatory value (???) left unset
        _error(f"{type(error).__name__}: {error}".replace("\n", " "))
        sys.exit(EXIT_BAD_INPUT)
    out = Path(HydraConfig.get().runtime.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"dataset": save_dataset(dataset, out / "results.nc")}
    config_path = out / "config.yaml"
    partial = config_path.with_name(".config.yaml.partial")
    partial.write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
    partial.replace(config_path)
    paths["resolved config"] = config_path
    if "network_service_level" in dataset:
        figure = service_level_over_time(dataset, disruption_days=_disruption_window(spec))
        paths["figure"] = out / "service_level.png"
        figure.savefig(paths["figure"], dpi=120)
    _print_summary(dataset, spec, paths, time.perf_counter() - started)


def register_schemas() -> None:
    """Register the typed config schema (``base_app``) with Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    from sim.config import AppConfig

    ConfigStore.instance().store(name="base_app", node=AppConfig)


def run_app() -> None:
    """Run the Hydra app (reads ``sys.argv``)."""
    import hydra

    register_schemas()
    hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")(_run)()


def check(argv: list[str]) -> int:
    """``python -m sim check PATH...``: validate network files and print a one-line summary."""
    from sim.errors import SimError
    from sim.io import load_network

    if not argv:
        _error("usage: python -m sim check PATH [PATH...]")
        return EXIT_BAD_INPUT
    status = 0
    for path in argv:
        try:
            print(f"ok: {load_network(path).summary()}")
        except SimError as error:
            _error(str(error))
            status = EXIT_BAD_INPUT
    return status


SUBCOMMANDS = {"check": check}


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m sim`` and the ``scsim`` script."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in SUBCOMMANDS:
        sys.exit(SUBCOMMANDS[args[0]](args[1:]))
    if not CONFIG_DIR.is_dir():
        _error(f"config folder {CONFIG_DIR} not found: run from a source checkout "
               "(`make demo` installs it in editable mode)")
        sys.exit(EXIT_BAD_INPUT)
    run_app()
