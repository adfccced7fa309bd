"""Analysis of simulation results: tables and figures from a dataset, never re-simulating."""

from analysis.figures import service_level_over_time
from analysis.tables import kpi_summary

__all__ = ["kpi_summary", "service_level_over_time"]
