"""Daily end-customer demand: four laws, parameterised by mean and standard deviation.

* ``normal``: N(mean, sd) censored at zero (a negative draw is zero demand; with mean/sd >= 3
  this happens on fewer than 0.14 % of days and raises the mean by less than 0.04 %).
* ``poisson``: Poisson(mean); its sd is sqrt(mean).
* ``gamma``: shape mean^2/sd^2, scale sd^2/mean.
* ``lognormal``: log-sd s = sqrt(ln(1 + sd^2/mean^2)), log-mean ln(mean) - s^2/2.

A zone with sd = 0, or below 1e-9 of its mean, (and any law but Poisson) has constant demand
equal to its mean: the laws' parameters overflow long before such a spread could matter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.compile.layout import LAW_CODES, Layout

__all__ = ["CONSTANT_CV", "SAMPLERS", "ZoneLaws", "sample_demand"]

CONSTANT_CV = 1e-9


def _normal(rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray,
            size: tuple[int, int]) -> np.ndarray:
    # standard draws scaled: a quarter faster than broadcasting parameters in rng.normal
    return np.maximum(mean + sd * rng.standard_normal(size), 0.0)


def _poisson(rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray,
             size: tuple[int, int]) -> np.ndarray:
    return rng.poisson(mean, size).astype(float)


def _gamma(rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray,
           size: tuple[int, int]) -> np.ndarray:
    return rng.gamma(mean**2 / sd**2, sd**2 / mean, size)


def _lognormal(rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray,
               size: tuple[int, int]) -> np.ndarray:
    sigma = np.sqrt(np.log1p(sd**2 / mean**2))
    return np.exp(np.log(mean) - sigma**2 / 2 + sigma * rng.standard_normal(size))


SAMPLERS: dict[str, Callable[..., np.ndarray]] = {
    "normal": _normal,
    "poisson": _poisson,
    "gamma": _gamma,
    "lognormal": _lognormal,
}


@dataclass(frozen=True)
class ZoneLaws:
    """Which zones are constant and which draw from each law, found once for all replicates.

    Every replicate draws the laws in :data:`LAW_CODES` order, so its stream is consumed the
    same way whatever the chunk; the masks were rebuilt for each replicate before (about a
    fifth of the demand draws' time on the demo).
    """

    constant: np.ndarray  # zone indices with constant demand
    constant_mean: np.ndarray
    laws: tuple[tuple[Callable[..., np.ndarray], np.ndarray, np.ndarray, np.ndarray], ...]
    # (sampler, zones, means, sds) of each law some zone follows

    @classmethod
    def of(cls, layout: Layout) -> ZoneLaws:
        """The laws of a network's zones."""
        random = (layout.zone_sd > CONSTANT_CV * layout.zone_mean) | (
            layout.zone_law == LAW_CODES["poisson"])
        laws = []
        for law, code in LAW_CODES.items():  # fixed order: the stream is consumed the same way
            zones = np.flatnonzero(random & (layout.zone_law == code))
            if zones.size:
                laws.append((SAMPLERS[law], zones, layout.zone_mean[zones],
                             layout.zone_sd[zones]))
        constant = np.flatnonzero(~random)
        return cls(constant, layout.zone_mean[constant], tuple(laws))

    def draw(self, rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
        """One replicate's demand written into ``out``, shaped (day, zone) [units/day]."""
        out[:, self.constant] = self.constant_mean
        for sampler, zones, mean, sd in self.laws:
            out[:, zones] = sampler(rng, mean, sd, (out.shape[0], zones.size))
        return out


def sample_demand(rng: np.random.Generator, layout: Layout, days: int) -> np.ndarray:
    """Draw one replicate's demand.

    Parameters
    ----------
    rng : numpy.random.Generator
        The replicate's demand stream.
    layout : Layout
        The network's arrays (zone laws, means, sds).
    days : int
        Number of simulated days, warm-up included.

    Returns
    -------
    ndarray, shape (day, zone)
        Units demanded per day [units/day].
    """
    return ZoneLaws.of(layout).draw(rng, np.empty((days, layout.n_zones)))
