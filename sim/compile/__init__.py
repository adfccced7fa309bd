"""Specs turned into arrays: network layouts, policy plans, scenario draws and their events.

Everything here is computed once per run, before any day is simulated, and handed to an engine
(:mod:`sim.engines`).
"""
