"""The browser dashboard (Solara and Mesa's SolaraViz): ``python -m sim app``.

* :mod:`analysis.app.watch`: one run of the Mesa engine, day by day: the model, its network view
  and live charts;
* :mod:`analysis.app.compare_view`: strategies compared on the batch engine;
* :mod:`analysis.app.inputs`: the choices offered and the checks run before anything starts;
* :mod:`analysis.app.page`: the page itself (two tabs).
"""
