"""Reference cases with exact answers (``../shared/validation/README.md``), run on the engine.

Timing convention of this project: an order placed at the end of day t reaches the source on day
t + 1 and is shipped then; a lane of lead time l delivers it at the start of day t + 1 + l. The
protection period of a base-stock stage is therefore tau = 1 + l, and the README's case 1
(tau = L = 4) is a lane of lead time 3.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import sim
from sim.policy import BaseStockPolicy
from tests.conftest import single_stage


def expected_base_stock(mu: float, sigma: float, tau: int, order_up_to: float) -> dict[str, float]:
    """Zipkin (2000) ch. 6-7: normal demand, backorders, end-of-day quantities."""

    def loss(k: int) -> float:  # n_k(S) = E[(D_k - S)+]
        scale = sigma * np.sqrt(k)
        z = (order_up_to - k * mu) / scale
        return scale * (stats.norm.pdf(z) - z * stats.norm.sf(z))

    return {
        "backorders": loss(tau),
        "on_hand": order_up_to - tau * mu + loss(tau),
        "no_stockout": stats.norm.cdf((order_up_to - tau * mu) / (sigma * np.sqrt(tau))),
        "fill_rate": 1 - (loss(tau) - loss(tau - 1)) / mu,
    }


TABLE_CASE1 = {"backorders": 1.172272, "on_hand": 61.172272, "no_stockout": 0.933193,
               "fill_rate": 0.988277}


@pytest.mark.parametrize("engine,days,lead,order_up_to,table", [
    # The README's case: tau = 4, S = 460, with its published values.
    ("batch", 20_000, 3, 460.0, TABLE_CASE1),
    ("mesa", 5_000, 3, 460.0, TABLE_CASE1),
    # The same stage one day further away (tau = 5), z = 1.5 again: values from the formulas.
    ("batch", 20_000, 4, 500 + 1.5 * 20 * np.sqrt(5), None),
])
def test_case1_single_stage_base_stock(engine: str, days: int, lead: int, order_up_to: float,
                                       table) -> None:
    """10 replicates after 100 warm-up days; |mean - exact| <= 3 SE of the replicates' means.

    With 20,000 days the 3-SE half-widths are near 0.6 units on hand, 0.06 backorders, 0.003 in
    P(no stockout) and 0.0006 in fill rate (twice that with 5,000 days on the slower Mesa
    engine). Normal draws below zero (probability 3e-7 at mean/sd = 5) are read as zero demand,
    which shifts nothing at this precision.
    """
    tau = 1 + lead
    exact = expected_base_stock(100.0, 20.0, tau, order_up_to)
    if table is not None:
        for key, value in table.items():
            assert exact[key] == pytest.approx(value, abs=2e-5), key
    network = single_stage(lead=lead, mean=100, sd=20, unmet="backorder")
    policy = BaseStockPolicy(order_up_to_by_node={"stage": order_up_to})
    ds = sim.simulate(network, record="full", days=days, warmup_days=100, replicates=10,
                      seed=2024, engine=engine, policy=policy).sel(node="stage")
    measured = {
        "backorders": ds.backlog.mean("day"),
        "on_hand": ds.stock.mean("day"),
        "no_stockout": (ds.backlog <= 1e-9).mean("day"),
        "fill_rate": ds.fill_rate,
    }
    for key, per_replicate in measured.items():
        values = per_replicate.values
        se = values.std(ddof=1) / np.sqrt(values.size)
        assert abs(values.mean() - exact[key]) <= 3 * se, (key, values.mean(), exact[key], se)


def test_case1_default_policy_gives_the_textbook_level() -> None:
    """z = 1.5 over tau = 4 days reproduces S = 460 from the policy's own formula."""
    from sim.layout import Layout

    levels = BaseStockPolicy(safety_factor=1.5).levels(Layout.of(single_stage(lead=3)))
    assert levels.order_up_to[0] == pytest.approx(460.0)
    assert levels.protection_days[0] == 4


@pytest.mark.parametrize("engine", ["mesa", "batch"])
def test_case3_time_to_survive_without_backup(engine: str) -> None:
    """Case 3, backup c = 0: supplier ships nothing on days 1-10; exact, no randomness.

    Day 1 is simulated day 0. The plant holds 400 on hand with 100 arriving on days 1 and 2
    (the steady state of a 2-day lane at 100 per day with an order-up-to level of 700); the
    supplier is down on days 1-10 and ships 100 a day from day 11 (first arrival day 13).
    """
    network = sim.Network(
        name="case3", unmet_demand="lost",
        nodes=[sim.Node("supplier", "supplier", "x", capacity_per_day=100),
               sim.Node("plant", "warehouse", "x")],
        lanes=[sim.Lane("inbound", "supplier", "plant", lead_time_days=2)],
        demand=[sim.DemandZone("customers", "plant", mean=100, sd=0)])
    ds = sim.simulate(network, record="full", days=30, seed=0, engine=engine,
                      disruptions=[sim.NodeOutage("supplier", start_day=0, duration_days=10)],
                      policy=BaseStockPolicy(order_up_to_by_node={"plant": 700}))
    plant = ds.sel(node="plant", replicate=0)
    assert plant.stock.isel(day=0).item() == 400  # 400 + 100 arrived - 100 served
    lost = plant.lost.values
    full_service_days = int(np.argmax(lost > 0))
    assert full_service_days == 6  # time to survive (400 + 200) / 100
    assert lost[:10].sum() == pytest.approx(400)
    assert lost.sum() == pytest.approx(600)
    assert plant.received.isel(day=12).item() == 100  # first arrival on day 13
    assert (lost[12:] == 0).all()
