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
from sim.compile.plan import plan_policy
from sim.measures.resilience import event_resilience, shortfall, survival_time
from sim.spec.policy import BaseStockPolicy
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

    levels = plan_policy(BaseStockPolicy(safety_factor=1.5), single_stage(lead=3)).levels
    assert levels.order_up_to[0] == pytest.approx(460.0)
    assert levels.protection_days[0] == 4


def test_case1_with_poisson_demand() -> None:
    """Beyond the README: Poisson demand (mean 8 a day), tau = 3, S = 30, backorders.

    End-of-day on hand E[(S - D)+], backorders E[(D - S)+] and P(D <= S) for D ~ Poisson(24),
    summed over its support; 10 replicates x 20,000 days after 100 warm-up days, each within
    3 SE of the replicates' means (half-widths near 0.03 units on hand, 0.01 backorders).
    """
    mean, lead, order_up_to = 8.0, 2, 30.0
    network = sim.Network(
        name="poisson", unmet_demand="backorder",
        nodes=[sim.Node("source", "supplier", "x"), sim.Node("stage", "warehouse", "x")],
        lanes=[sim.Lane("supply", "source", "stage", lead_time_days=lead)],
        demand=[sim.DemandZone("customers", "stage", mean=mean, law="poisson")])
    policy = BaseStockPolicy(order_up_to_by_node={"stage": order_up_to})
    ds = sim.simulate(network, record="full", days=20_000, warmup_days=100, replicates=10,
                      seed=7, engine="batch", policy=policy).sel(node="stage")
    units = np.arange(200)
    weight = stats.poisson.pmf(units, (1 + lead) * mean)
    exact = {"on_hand": (np.maximum(order_up_to - units, 0) * weight).sum(),
             "backorders": (np.maximum(units - order_up_to, 0) * weight).sum(),
             "no_stockout": stats.poisson.cdf(order_up_to, (1 + lead) * mean)}
    measured = {"on_hand": ds.stock.mean("day").values,
                "backorders": ds.backlog.mean("day").values,
                "no_stockout": (ds.backlog <= 1e-9).mean("day").values}
    for key, values in measured.items():
        se = values.std(ddof=1) / np.sqrt(values.size)
        assert abs(values.mean() - exact[key]) <= 3 * se, (key, values.mean(), exact[key], se)


@pytest.mark.parametrize("engine", ["mesa", "batch"])
@pytest.mark.parametrize("backup,survive,full_days,lost_by_day_10,lost_total", [
    (20, 7.5, 7, 200, 360),
    (0, 6.0, 6, 400, 600),
])
def test_case3_time_to_survive(engine: str, backup: float, survive: float, full_days: int,
                               lost_by_day_10: float, lost_total: float) -> None:
    """Case 3: the supplier ships nothing on days 1-10; exact, no randomness.

    Day 1 is simulated day 0. The plant holds 400 on hand with 100 arriving on days 1 and 2
    (the supplier's lane starts with 100 a day in transit); the supplier is down on days 1-10
    and ships 100 a day from day 11 (first arrival day 13; its capacity and its lane's are 100).
    The backup supplier is a second lane capped at c a day, started full: it delivers c every
    day from day 1 (the plant's order-up-to level is high enough that it always has orders).
    """
    lanes = [sim.Lane("inbound", "supplier", "plant", lead_time_days=2, capacity_per_day=100,
                      share=1 - backup / 100, initial_flow_per_day=100)]
    nodes = [sim.Node("supplier", "supplier", "x", capacity_per_day=100),
             sim.Node("plant", "warehouse", "x", initial_stock=400)]
    if backup:
        nodes.append(sim.Node("backup", "supplier", "x", capacity_per_day=backup))
        lanes.append(sim.Lane("standby", "backup", "plant", lead_time_days=1,
                              capacity_per_day=backup, share=backup / 100,
                              initial_flow_per_day=backup))
    network = sim.Network(name="case3", unmet_demand="lost", nodes=nodes, lanes=lanes,
                          demand=[sim.DemandZone("customers", "plant", mean=100, sd=0)])
    ds = sim.simulate(network, record="full", days=30, seed=0, engine=engine,
                      disruptions=[sim.NodeOutage("supplier", start_day=0, duration_days=10)],
                      policy=BaseStockPolicy(order_up_to_by_node={"plant": 10_000}))
    plant = ds.sel(node="plant", replicate=0)
    assert plant.stock.isel(day=0).item() == 400 + backup  # 400 + 100 + c arrived - 100 served
    lost = plant.lost.values
    assert int(np.argmax(lost > 0)) == full_days
    assert lost[:10].sum() == pytest.approx(lost_by_day_10)
    assert lost.sum() == pytest.approx(lost_total)
    assert plant.received.isel(day=12).item() == 100 + backup  # the supplier's first arrival
    assert (lost[12:] == 0).all()
    # the metrics on the same run against its undisrupted twin (full service every day):
    # measured and analytic time to survive, and recovery
    served, demand = plant.served.values, plant.demand.values
    exact = event_resilience(shortfall(served, demand, demand, demand), demand, 0,
                             tolerance=0.0, hold_days=1)
    assert exact["time_to_survive"] == full_days
    assert survival_time(400 + 200, 100, backup) == pytest.approx(survive)
    assert exact["time_to_recover"] == 12  # 10 days down + 2 in transit
    assert exact["resilience_loss"] == pytest.approx(lost_total)
    # the KPIs (2-point tolerance, a week's hold) read the same event
    assert ds.time_to_survive.item() == full_days
    assert ds.time_to_recover.item() == 12
    assert ds.resilience_loss.item() == pytest.approx(lost_total)
    assert ds.calm_lost_sales.item() == 0 and ds.recovery_censored.item() == 0


@pytest.mark.parametrize("cover,window,expected", [
    (2, 5, 2.12), (4, 10, 2.12), (4, 2, 13.0), (5, 20, 1.625),
])
def test_case2_bullwhip_of_a_moving_average_forecast(cover: int, window: int,
                                                     expected: float) -> None:
    """Case 2: Var(orders) / Var(demand) = 1 + 2L/p + 2L^2/p^2 (Chen et al. 2000).

    The level covers L = tau = 1 + lead days of the p-day moving average, plus a constant
    safety stock; demand N(100, 5) keeps orders positive. 10 replicates of 20,000 days after a
    100-day warm-up: the ratios' 3-SE half-width is about 1 % of the ratio; the test requires
    the mean within 3 SE of the formula.
    """
    assert 1 + 2 * cover / window + 2 * cover**2 / window**2 == pytest.approx(expected, abs=5e-3)
    network = single_stage(lead=cover - 1, mean=100, sd=5, unmet="backorder")
    ds = sim.simulate(network, record="kpis", days=20_000, warmup_days=100, replicates=10,
                      seed=7, engine="batch", policy={"forecast": {
                          "method": "moving_average", "window_days": window}})
    ratio = ds.bullwhip.sel(tier=0).values
    exact = 1 + 2 * cover / window + 2 * cover**2 / window**2
    se = ratio.std(ddof=1) / np.sqrt(ratio.size)
    assert abs(ratio.mean() - exact) <= 3 * se, (ratio.mean(), exact, se)
    assert 3 * se < 0.02 * exact  # the test can tell a 2 % error
