"""The command line: the Hydra edge, its console output and subcommands.

The only part of :mod:`sim` that imports Hydra, rich or the :mod:`analysis` package.
"""
