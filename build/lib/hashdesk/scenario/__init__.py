"""Monte Carlo scenarios: price, hashrate and fee paths, epoch-level blocks with exact retargets.

Modules: :mod:`~hashdesk.scenario.paths` (stochastic processes), :mod:`~hashdesk.scenario.engine`
(epoch sampler, exact vectorised retarget, miner economics), :mod:`~hashdesk.scenario.summary`
(streaming aggregation), :mod:`~hashdesk.scenario.executors` (local / process pool / Dask),
:mod:`~hashdesk.scenario.fit` (fitting on history, pure), :mod:`~hashdesk.scenario.charts` (fan charts).
"""
