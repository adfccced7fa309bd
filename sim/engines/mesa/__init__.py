"""The Mesa reference engine: one agent per node, lane carrier and demand zone."""
