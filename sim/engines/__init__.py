"""The engines: the Mesa reference model and the vectorised batch engine, and how they run.

Both follow the same day (:mod:`sim.engines.day`), are built from the same compiled plan and
scenario draws, and hand every recorded day to the same recorders (:mod:`sim.engines.recording`).
"""
