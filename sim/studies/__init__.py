"""Runs and studies: :func:`simulate`, sweeps, sensitivity, merges, criticality scans, attribution.

The layer that composes specs, compilation, engines and measures into the questions users ask.
"""
