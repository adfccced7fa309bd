"""What is measured: the daily variables, KPIs, resilience, metrics, comparisons, exposure.

These read traces and datasets; none of them simulates (the studies that rerun the model, such
as the criticality scan and the attribution, are in :mod:`sim.studies`).
"""
