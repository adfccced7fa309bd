"""What the user describes: networks, disruptions and policies as validated frozen specs.

The lowest layer: it imports no other part of the package except this one (import-linter
checks it in ``make lint``). Specs say *what*; :mod:`sim.compile` turns them into arrays.
"""
