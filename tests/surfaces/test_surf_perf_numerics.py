"""The brief's path without scipy.stats / statsmodels: the replacements agree with scipy.

``hashdesk.chain.projection`` (digamma, trigamma, the normal quantile) and
``hashdesk.economics.production`` (Poisson quantiles) no longer import scipy, which cost the
brief more than a second of start-up. scipy stays the reference here, on grids.
"""

from __future__ import annotations

import json
import subprocess
import sys
from statistics import NormalDist

import numpy as np
import pytest
from scipy import special, stats

from hashdesk.chain.projection import DriftPrior, digamma, project_retarget, trigamma
from hashdesk.economics.production import (
    Payout,
    PoolModel,
    ProductionError,
    poisson_quantile,
    realization_interval,
)

GRID_X = [*range(1, 2016), *np.random.default_rng(0).uniform(1e-3, 5000.0, 2000).tolist(), 0.5, 1e-6, 9.999999]


def test_digamma_and_trigamma_match_scipy():
    x = np.asarray(GRID_X, dtype=float)
    ours = np.array([digamma(float(v)) for v in x])
    assert np.allclose(ours, special.digamma(x), rtol=1e-14, atol=1e-14)
    ours1 = np.array([trigamma(float(v)) for v in x])
    assert np.allclose(ours1, special.polygamma(1, x), rtol=1e-14, atol=0)


def test_digamma_known_values():
    gamma = 0.5772156649015329  # Euler–Mascheroni
    assert digamma(1.0) == pytest.approx(-gamma, rel=1e-15)
    assert digamma(0.5) == pytest.approx(-gamma - 2 * np.log(2), rel=1e-15)
    assert trigamma(1.0) == pytest.approx(np.pi**2 / 6, rel=1e-15)
    assert trigamma(0.5) == pytest.approx(np.pi**2 / 2, rel=1e-15)
    with pytest.raises(ValueError, match="x must be > 0"):
        digamma(0.0)
    with pytest.raises(ValueError, match="x must be > 0"):
        trigamma(-1.0)


def test_normal_quantile_matches_scipy():
    p = np.concatenate([np.linspace(1e-9, 1 - 1e-9, 4001), [0.95, 0.975, 0.995, 1e-300]])
    ours = np.array([NormalDist().inv_cdf(float(q)) for q in p])
    assert np.allclose(ours, special.ndtri(p), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.99])
def test_projection_matches_the_scipy_formulas(level):
    """The lognormal span quantiles recomputed with scipy give the same projection."""
    prior = DriftPrior(0.01, 0.002, 0.004, 0.003, 104, 400)
    bits, t0 = 0x17034219, 1_700_000_000
    for n, elapsed in [(1, 500), (144, 80_000), (1008, 610_000), (2014, 1_200_000)]:
        p = project_retarget(bits, t0, n, t0 + elapsed, prior, level)
        m = 2015 - n
        tau = min(elapsed / 1_209_600, 1.0)
        s0, s2, mu = prior.var_start_level, prior.var_within_epoch, prior.mean_log_rate
        cov = s0 + s2 * tau / 2
        gain = cov / (s0 + s2 * tau / 3 + 1.0 / n)
        z_f = mu + gain * (np.log(600 * n / elapsed) - mu)
        var_z = s0 + s2 * (tau + (1 - tau) / 3) - gain * cov
        mean = np.log(600) - z_f + special.digamma(m)
        sd = np.sqrt(var_z + special.polygamma(1, m))
        zq = stats.norm.ppf(0.5 + level / 2)
        assert p.retarget_time == t0 + int(round(elapsed + np.exp(mean)))
        assert p.retarget_time_early == t0 + int(round(elapsed + np.exp(mean - zq * sd)))
        assert p.retarget_time_late == t0 + int(round(elapsed + np.exp(mean + zq * sd)))


QS = (0.005, 0.025, 0.05, 0.1, 0.5, 0.9, 0.95, 0.975, 0.995)
MEANS = [
    *np.random.default_rng(1).uniform(0.05, 10_000.0, 120).tolist(),
    *range(1, 150),
    1e-3, 0.5, 100.0, 1162.4, 4400.0,
]


def test_poisson_quantile_matches_scipy_on_a_grid():
    ours = np.array([[poisson_quantile(q, mu) for q in QS] for mu in MEANS])
    ref = stats.poisson.ppf(np.array(QS)[None, :], np.array(MEANS)[:, None])
    assert np.array_equal(ours, ref.astype(int))


def test_poisson_quantile_hand_values_and_errors():
    # Poisson(1): P(0) = e^-1 = 0.368, P(<=1) = 0.736, P(<=2) = 0.920, P(<=3) = 0.981
    assert [poisson_quantile(q, 1.0) for q in (0.3, 0.5, 0.9, 0.95, 0.99)] == [0, 1, 2, 3, 4]
    assert realization_interval(100.0, PoolModel(Payout.own), 0.0) == (0.81, 1.2)
    with pytest.raises(ProductionError, match="q must be in"):
        poisson_quantile(1.0, 5.0)
    with pytest.raises(ProductionError, match="mean must be > 0"):
        poisson_quantile(0.5, 0.0)


def test_brief_sections_do_not_import_scipy_or_statsmodels(bundle_db_path):
    """Markets, network and miners build without importing scipy or statsmodels (fresh process)."""
    code = f"""
import json, sys
from hashdesk.report import sections as S
from hashdesk.report.model import Month
from hashdesk.desk import Desk
store = Desk({str(bundle_db_path)!r})
m = Month.parse("2024-01")
built = [S.markets_section(store, m.start, m.end), S.network_section(store, m.start, m.end),
         S.miners_section(store, m)]
heavy = sorted({{k.split(".")[0] for k in sys.modules}} & {{"scipy", "statsmodels"}})
print(json.dumps({{"status": [s.status for s in built], "heavy": heavy}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"status": ["ok", "ok", "ok"], "heavy": []}
