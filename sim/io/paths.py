"""Where the package finds its shipped files (a module of its own so the CLI starts fast)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the sim package


def _config_dir() -> Path:
    """The config groups: inside an installed package, else the source checkout's ``configs/``."""
    installed = PACKAGE_DIR / "configs"
    return installed if (installed / "config.yaml").is_file() else PACKAGE_DIR.parent / "configs"


CONFIG_DIR = _config_dir()
"""The Hydra config groups (``network/``, ``disruption/``, ``policy/``, ...)."""
