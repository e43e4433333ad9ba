"""Section builders: each calls library functions and returns a :class:`~hashdesk.report.model.Section`.

The brief assembles these for one month; the dashboard calls the same builders with the
request's (validated) parameters. Nothing here computes a domain number: values come from the
domain modules (``hashdesk.chain``, ``hashdesk.economics``, ``hashdesk.market``,
``hashdesk.hpc``, ``hashdesk.scenario``); a builder only picks fields, labels them with units
and wraps the module's figures. A module that is not installed yet gives a section with status
``unavailable`` ("module not available"); see :func:`hashdesk.report.model.guarded`.

Every builder takes a :class:`~hashdesk.desk.Desk`: the desk reads each thing once per time it
is asked about (the network state at the month's end, the month's daily series), so sections of
one brief share their reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from hashdesk.report.model import (
    NO_DATA,
    Month,
    Progress,
    Section,
    figure,
    guarded,
    metric,
    table_from_records,
)

if TYPE_CHECKING:  # pragma: no cover
    from hashdesk.desk import Desk


#: Tickers of the markets section (BTC first, then miners, then the benchmarks).
MARKET_BENCHMARKS: tuple[str, ...] = ("WGMI", "QQQ")


def btc_period_record(inputs, start: date, end: date) -> dict:
    """BTC's own record for a period (:func:`hashdesk.market.summary.own_record`, the same
    numbers as :func:`~hashdesk.market.summary.market_summary`'s BTC row).

    The one BTC return of a period in every section (Markets, AI/HPC, the narrative): BTC-USD on
    its own daily UTC calendar, from the close of the day before ``start`` to the close of
    ``end`` [1]. (Excess returns of equities compare them with BTC compounded over their own
    exchange days, which starts at the last exchange close before ``start``.)
    """
    from hashdesk.market.returns import BTC
    from hashdesk.market.summary import own_record

    return own_record(inputs, BTC, start, end)


# -- network ----------------------------------------------------------------------------------


#: Days before the period shown on the hashrate/difficulty chart for context [days].
NETWORK_CONTEXT_DAYS = 90


def network_section(desk: Desk, start: date, end: date) -> Section:
    """Network: hashrate and shocks, retargets in the period, hashprice, next retarget and halving.

    Calls :meth:`hashdesk.desk.Desk.network` at the end of ``end`` (UTC),
    :meth:`~hashdesk.desk.Desk.network_figure` (with :data:`NETWORK_CONTEXT_DAYS` of context,
    retargets marked), :meth:`~hashdesk.desk.Desk.daily` for the daily hashprice,
    :meth:`~hashdesk.desk.Desk.retargets` and :meth:`~hashdesk.desk.Desk.shocks` (default
    parameters) for hashrate shocks.
    """

    def build() -> Section:
        answer = desk.network(end)
        view = answer["network_state"]
        proj = answer.get("projection") or {}
        metrics = [
            metric("tip_height", f"height at {view['as_of']}", view["tip_height"], "int",
                   "" if view["tip_height_exact"] else "estimate (interpolated)"),
            metric("difficulty", "difficulty", view["difficulty"], "difficulty", f"bits {view['bits']}"),
            metric("hashrate_ehs_7d", "hashrate, trailing 7 days", view["hashrate_ehs_7d"], "ehs"),
            metric("next_retarget_height", "next retarget height", view["next_retarget_height"], "int",
                   f"{proj['blocks_remaining']:,} blocks to go" if proj else ""),
        ]
        if proj:
            lo, hi = proj["next_difficulty_change_pct_90"]
            metrics += [
                metric("next_difficulty_change", "projected next difficulty change",
                       proj["next_difficulty_change_pct"] / 100, "pct", f"90%: {lo:+.2f}% to {hi:+.2f}%"),
                metric("retarget_time", "projected retarget", proj["retarget_time"], "text",
                       f"90%: {proj['retarget_time_90'][0]} to {proj['retarget_time_90'][1]}"),
            ]
        metrics += [
            metric("next_halving_height", "next halving height", view["next_halving_height"], "int"),
            metric("subsidy_btc", "block subsidy", view["subsidy_btc"], "btc"),
        ]
        progress = [epoch_progress(view, proj)]
        tables, figs, notes = [], [], []
        sources = [f"{k}: {v}" for k, v in view["sources"].items()]
        from datetime import timedelta

        ctx0 = start - timedelta(days=NETWORK_CONTEXT_DAYS)
        figs.append(figure("hashrate_difficulty", "Hashrate and difficulty",
                           desk.network_figure(ctx0.isoformat(), end.isoformat(), mark_retargets=True)))

        rt = desk.retargets(start, end)
        rt = rt.assign(change=rt["change_pct"] / 100)
        tables.append(table_from_records(
            "retargets", "Retargets in the period", rt,
            [("height", "height", "int"), ("date", "date [UTC]", "date"), ("epoch", "epoch", "int"),
             ("difficulty", "difficulty", "difficulty"), ("change", "change [%]", "pct")],
        ))

        from hashdesk.economics.charts import hashprice_figure

        econ = desk.daily(start, end)
        if len(econ):
            first, last = econ.iloc[0], econ.iloc[-1]
            metrics += [
                metric("hashprice_usd_first", f"hashprice {first['date']}", first["hashprice_usd_per_ph_day"], "usd_ph_day"),
                metric("hashprice_usd_last", f"hashprice {last['date']}", last["hashprice_usd_per_ph_day"], "usd_ph_day"),
                metric("hashprice_btc_last", f"hashprice {last['date']} (BTC)", last["hashprice_btc_per_ph_day"], "btc_ph_day"),
            ]
            figs.append(figure("hashprice", "Hashprice", hashprice_figure(econ, f"Hashprice {start} to {end} (UTC)")))
            tables.append(table_from_records(
                "economics", "Daily network economics", econ,
                [("date", "date [UTC]", "date"), ("blocks", "blocks", "int"),
                 ("fees_btc_per_block", "fees per block [BTC]", "btc"), ("price_usd", "BTC price [USD]", "usd"),
                 ("hashrate_ehs", "hashrate [EH/s]", "ehs"),
                 ("hashprice_usd_per_ph_day", "hashprice [USD/PH/day]", "usd_ph_day"),
                 ("hashprice_btc_per_ph_day", "hashprice [BTC/PH/day]", "btc_ph_day"),
                 ("missing", "missing inputs", "text")],
                note="Hashprice from the exact work of each day's epoch(s); Coin Metrics daily fees, blocks and price.",
            ))
            sources.append("hashprice: the daily series (Coin Metrics or synced blocks; exact work of each day's epochs)")
        else:
            notes.append(f"no daily network economics between {start} and {end}")

        from hashdesk.economics.charts_production import shock_figure
        from hashdesk.economics.shocks import ShockError

        try:
            rep = desk.shocks(start, end)
        except ShockError as exc:
            notes.append(f"shocks: {exc}")
        else:
            sf = rep.shocks_frame()
            sf = sf.assign(depth=sf["depth_pct"] / 100)
            figs.append(figure("shocks", "Hashrate and shocks",
                               mark_retargets(shock_figure(rep.daily, sf, rep.title), rt)))
            tables.append(table_from_records(
                "shocks", "Hashrate shocks", sf,
                [("start", "start [UTC]", "date"), ("end", "end [UTC]", "date"), ("days", "days", "int"),
                 ("baseline_ehs", "baseline [EH/s]", "ehs"), ("trough_ehs", "trough, 3-day mean [EH/s]", "ehs"),
                 ("depth_ehs", "depth [EH/s]", "ehs"), ("depth", "depth [%]", "pct"),
                 ("energy_curtailed_mwh", "energy curtailed [MWh]", "int")],
                note=rep.method,
            ))
            for eff in rep.effects:
                tables.append(table_from_records(
                    f"shock_effect_{eff.start}", f"A miner that stayed online: shock {eff.start} to {eff.end}",
                    eff.to_rows(),
                    [("component", "component [unit]", "text"), ("before", "before", "num"),
                     ("during / after", "during / after", "num"), ("change [%]", "change [%]", "num"),
                     ("note", "note", "text")],
                    note="; ".join(eff.notes),
                ))
        return Section("network", "Network", note="; ".join(notes), metrics=tuple(metrics),
                       tables=tuple(tables), figures=tuple(figs), sources=tuple(sources),
                       progress=tuple(p for p in progress if p is not None))

    return guarded("network", "Network", build)


def epoch_progress(view: dict, proj: dict | None) -> Progress | None:
    """The epoch's progress bar: blocks mined of 2,016, with the projected retarget and its interval.

    ``view`` is :meth:`hashdesk.desk.Desk.network`'s ``network_state``; ``proj`` its
    ``projection`` (None without per-block rows for the epoch).
    """
    from hashdesk.chain.consensus import RETARGET_INTERVAL

    done = view.get("blocks_mined_in_epoch")
    if done is None:
        return None
    label = f"epoch {view['epoch']:,}: {int(done):,} of {RETARGET_INTERVAL:,} blocks"
    marks = [("epoch start", str(view.get("epoch_start_time") or ""))]
    detail = f"next retarget at height {view['next_retarget_height']:,}"
    if proj:
        lo, hi = proj["next_difficulty_change_pct_90"]
        t_lo, t_hi = proj["retarget_time_90"]
        detail += (f", projected {_utc(proj['retarget_time'])} (90%: {_utc(t_lo)} to {_utc(t_hi)}); "
                   f"difficulty change {proj['next_difficulty_change_pct']:+.2f}% (90%: {lo:+.2f}% to {hi:+.2f}%)")
        marks += [("projected retarget", proj["retarget_time"]), ("90% early", t_lo), ("90% late", t_hi)]
    return Progress("epoch", label, int(done), RETARGET_INTERVAL, detail, tuple(marks))


def _utc(iso: str) -> str:
    """``2024-02-02T18:02:51Z`` → ``2024-02-02 18:02 UTC``."""
    return str(iso).replace("T", " ")[:16] + " UTC"


def mark_retargets(fig, retargets):
    """Mark each retarget (vertical line, "retarget −3.90%") on a daily time chart; returns ``fig``.

    ``retargets`` is :meth:`hashdesk.desk.Desk.retargets` with ``change`` as a fraction.
    """
    from hashdesk.theme import SERIES_COLOURS, add_marks, vline_shape

    shapes, notes = [], []
    for r in retargets.to_dict(orient="records"):
        x = r["date"].isoformat() if hasattr(r["date"], "isoformat") else str(r["date"])
        shapes.append(vline_shape(x, dash="dash", width=1, color=SERIES_COLOURS["retarget"]))
        notes.append({"x": x, "y": 1, "yref": "paper", "yanchor": "bottom", "xanchor": "left", "showarrow": False,
                      "text": f"retarget {r['change'] * 100:+.2f}%",
                      "font": {"color": SERIES_COLOURS["retarget"], "size": 10}})
    return add_marks(fig, shapes, notes)


# -- markets ----------------------------------------------------------------------------------

#: Trailing history used to fit each ticker's BTC beta for decoupling episodes [days].
DECOUPLING_LOOKBACK_DAYS = 365


def markets_section(
    desk: Desk,
    start: date,
    end: date,
    tickers: Sequence[str] | None = None,
    window: int = 20,
    k: float = 2.0,
) -> Section:
    """Markets: BTC, each miner, WGMI and QQQ — returns, excess returns, betas, decoupling.

    Statistics are :func:`hashdesk.market.summary.market_summary` over ``start..end`` (daily
    simple returns on the exchange calendar, BTC compounded over weekends; benchmark BTC). Decoupling episodes are :func:`hashdesk.market.decoupling.decoupling_episodes` fitted
    on the trailing :data:`DECOUPLING_LOOKBACK_DAYS` to ``end`` (``window`` exchange days,
    ``k`` sigmas), listed when they overlap the period.
    """

    def build() -> Section:
        import pandas as pd

        from hashdesk.market.charts import cumulative_returns_figure, decoupling_figure
        from hashdesk.market.decoupling import decoupling_episodes
        from hashdesk.market.returns import BTC, cumulative_returns
        from hashdesk.market.summary import DEFAULT_TICKERS, market_summary, panel_returns

        names = list(tickers) if tickers else [*DEFAULT_TICKERS, *[b for b in MARKET_BENCHMARKS if b not in DEFAULT_TICKERS]]
        names = [t for t in names if t != BTC]
        t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
        hist0 = t1 - pd.Timedelta(days=DECOUPLING_LOOKBACK_DAYS)
        inputs = desk.market_inputs(names, min(hist0, t0), t1)
        records, warnings = market_summary(inputs, names, t0, t1, benchmarks=[BTC], strict=False)
        rows = sorted(records, key=lambda r: (r["ticker"] != BTC, r["ticker"] in MARKET_BENCHMARKS, r["ticker"]))
        cols = [
            ("ticker", "ticker", "text"),
            ("return", "return [%]", "pct"),
            ("excess_return_vs_btc", "excess vs BTC, same days [%]", "pct"),
            ("beta_btc", "β vs BTC", "ratio"),
            ("beta_btc_se", "β s.e.", "ratio"),
            ("beta_btc_adj", "lead/lag β vs BTC", "ratio"),
            ("beta_btc_weekly", "weekly β vs BTC", "ratio"),
            ("correlation_btc", "corr. vs BTC", "ratio"),
            ("annual_volatility", "volatility [%/yr]", "pct"),
            ("max_drawdown", "max drawdown [%]", "pct"),
            ("n_obs", "returns [days]", "int"),
        ]
        summary = table_from_records(
            "returns", "Returns and risk in the period", rows, cols,
            note="Daily simple returns on each equity's exchange calendar; BTC's own row runs from the "
            "00:00 UTC fixing of the day before the period to that of its last day (the one BTC return "
            "of the period in every section); an equity's excess return compares it with BTC compounded "
            "over the same exchange days (from the last close before the period); β = OLS on same-day returns; lead/lag β = the sum "
            "of the previous-day and same-day slopes that the timing calls for (BTC's 00:00 UTC fixing "
            "comes 3–4 h after the 16:00 New York close), weekly β (weeks to Friday) beside it; "
            "volatility annualised with 252 (BTC's own row: 365).",
        )
        btc = next((r for r in records if r["ticker"] == BTC), None)
        wgmi = next((r for r in records if r["ticker"] == "WGMI"), None)
        metrics = [metric("btc_return", "BTC return", btc["return"] if btc else None, "pct")]
        if wgmi:
            metrics += [
                metric("wgmi_return", "WGMI (miners ETF) return", wgmi["return"], "pct"),
                metric("wgmi_excess_vs_btc", "WGMI excess vs BTC", wgmi["excess_return_vs_btc"], "pct"),
                metric("wgmi_beta_btc", "WGMI β vs BTC", wgmi["beta_btc"], "ratio"),
            ]
        # Cumulative paths in the period and decoupling over the trailing year.
        measured = [r["ticker"] for r in records if r["ticker"] != BTC]
        panel = panel_returns(inputs, measured, t0, t1)
        paths = {t: cumulative_returns(panel.returns[t]) for t in [BTC, *measured] if t in panel.returns}
        figs = [figure("cumulative", "Cumulative return in the period",
                       cumulative_returns_figure(paths, f"Cumulative return {start} to {end} (UTC)"))]
        hist = panel_returns(inputs, measured, hist0, t1)
        episodes, focus = [], None
        for t in measured:
            try:
                res = decoupling_episodes(hist.returns[t], hist.returns[BTC], window=window, k=k, name=t)
            except ValueError as exc:
                warnings.append(f"decoupling {t}: {exc}")
                continue
            if t == "WGMI":
                focus = res
            ep = res.episodes
            ep = ep[(ep["end"] >= start) & (ep["start"] <= end)]
            for e in ep.to_dict(orient="records"):
                episodes.append({"ticker": t, "beta_btc": res.beta, **e})
        if focus is not None:
            figs.append(figure("decoupling_wgmi", "WGMI decoupling from its BTC beta",
                               decoupling_figure(focus.path.loc[hist0:t1], focus.episodes, "WGMI", k)))
        figs += tearsheet_figures(inputs, hist, measured, end, warnings)
        dec = table_from_records(
            "decoupling", f"Decoupling episodes overlapping the period (trailing {window}-day residual beyond ±{k:g}σ)",
            episodes,
            [("ticker", "ticker", "text"), ("start", "first day outside band", "date"),
             ("end", "last day outside band", "date"), ("direction", "direction", "text"),
             ("size", "residual at peak [%]", "pct"), ("peak_z", "peak z [σ]", "ratio"),
             ("return", "ticker return over span [%]", "pct"), ("btc_return", "BTC return over span [%]", "pct"),
             ("beta_btc", "β vs BTC (trailing year)", "ratio")],
            note=f"Market model fitted on {hist0.date()} to {end}; 'up' = ticker ahead of what its BTC beta implies.",
        )
        return Section(
            "markets", "Markets", metrics=tuple(metrics), tables=(summary, dec), figures=tuple(figs),
            note="; ".join(dict.fromkeys(w for w in warnings if w)),
            sources=("prices_daily (alpaca_iex closes; BTC-USD coinmetrics)", "hashdesk.market"),
        )

    return guarded("markets", "Markets", build)


#: Rolling window of the tearsheet's beta chart [exchange days].
ROLLING_BETA_DAYS = 60
#: Months of the tearsheet's monthly returns heatmap.
HEATMAP_MONTHS = 12


def tearsheet_figures(inputs, hist, measured: Sequence[str], end: date, warnings: list[str]) -> list:
    """Tearsheet views over the trailing year: underwater drawdown (WGMI and BTC), monthly
    returns (BTC's own months from :func:`btc_period_record`), rolling beta vs BTC.

    ``hist`` is :func:`hashdesk.market.summary.panel_returns` over the trailing year; the rolling
    beta is :func:`hashdesk.market.risk.rolling_beta_correlation` (:data:`ROLLING_BETA_DAYS`).
    """
    import pandas as pd

    from hashdesk.market.charts import monthly_returns_figure, rolling_figure, underwater_figure
    from hashdesk.market.returns import BTC, MarketDataError
    from hashdesk.market.risk import rolling_beta_correlation
    from hashdesk.report.tearsheet import monthly_returns, underwater

    figs = []
    lead = [t for t in ("WGMI", "MARA") if t in hist.returns]
    under = {t: underwater(hist.returns[t].dropna()) for t in [BTC, *lead]}
    figs.append(figure("underwater", "Drawdown from peak, trailing year",
                       underwater_figure(under, f"Drawdown from peak, {hist.returns.index[0].date()} to {end} (UTC)")))
    months = monthly_returns(hist.returns[[t for t in measured if t in hist.returns]])
    months = months.iloc[-HEATMAP_MONTHS:]
    btc = {}
    for mth in months.index:
        p = pd.Period(mth, "M")
        try:
            btc[mth] = btc_period_record(inputs, p.start_time.date(), min(p.end_time.date(), end))["return"]
        except (MarketDataError, LookupError, ValueError) as exc:
            warnings.append(f"BTC return {mth}: {exc}")
            btc[mth] = float("nan")
    months.insert(0, BTC, pd.Series(btc))
    figs.append(figure("monthly_returns", "Monthly returns",
                       monthly_returns_figure(months, "Monthly returns [%] (BTC: its own UTC months; "
                                                      "equities: exchange days)")))
    rolling = {}
    for t in lead:
        try:
            rolling[t] = rolling_beta_correlation(hist.returns[t], hist.returns[BTC], ROLLING_BETA_DAYS)
        except MarketDataError as exc:
            warnings.append(f"rolling beta {t}: {exc}")
    if rolling:
        figs.append(figure("rolling_beta", f"Rolling {ROLLING_BETA_DAYS}-day beta vs BTC",
                           rolling_figure(rolling, ROLLING_BETA_DAYS, BTC)))
    return figs


# -- miners -----------------------------------------------------------------------------------


def example_files(kind: str, pattern: str = "*.toml") -> list[Path]:
    """Example records shipped in the source checkout (``examples/<kind>/``), sorted; [] if absent."""
    from hashdesk.config import repo_root

    d = repo_root() / "examples" / kind
    return sorted(d.glob(pattern)) if d.is_dir() else []


def miners_section(desk: Desk, month: Month, profiles: Sequence[Path] | None = None) -> Section:
    """Miners: reported vs expected production, unit economics and halving stance for a month.

    Production is :meth:`hashdesk.desk.Desk.production` (realization with its luck ×
    hashrate-kind interval). Unit economics and the halving stance are the miner model chain's
    (:func:`hashdesk.economics.halving.miner_halving_stress`) for each miner profile (default:
    the example profiles) at the month's average of the daily series
    (:func:`hashdesk.economics.hashprice.network_window`), the "after" side at the next halving's
    subsidy with difficulty, fees and price held.
    """

    def build() -> Section:
        tables, figs, notes = [], [], []
        metrics = []
        try:
            rec = desk.production(None, str(month), str(month))
        except (LookupError, ValueError) as exc:
            notes.append(f"production: {exc}")
        else:
            from hashdesk.economics.charts_production import production_figure

            tables.append(table_from_records(
                "production", f"Reported vs expected production, {month}", rec,
                [("ticker", "ticker", "text"), ("btc_reported", "reported [BTC]", "btc"),
                 ("btc_expected", "expected [BTC]", "btc"), ("realization", "realization [×]", "ratio"),
                 ("realization_lo", "interval low [×]", "ratio"), ("realization_hi", "interval high [×]", "ratio"),
                 ("verdict", "verdict", "text"), ("hashrate_ehs", "hashrate used [EH/s]", "ehs"),
                 ("hashrate_kind", "hashrate kind", "text"), ("pool_payout", "pool payout", "text")],
                note="Expected BTC = ∫ hashrate / work(T) × (subsidy + fees) over the month's epochs; "
                "the interval combines block-finding luck (own pool only) and the hashrate-kind band.",
            ))
            if rec["realization"].notna().any():
                figs.append(figure("production", "Realization by miner", production_figure(rec)))
            verdicts = rec["verdict"].value_counts()
            metrics += [metric(f"verdict_{k}", f"miners: {k}", int(v), "int") for k, v in verdicts.items()]
        # Unit economics and the halving stance of each profile.
        from hashdesk.chain.consensus import SATS_PER_BTC, block_subsidy
        from hashdesk.economics.halving import miner_halving_stress
        from hashdesk.economics.hashprice import network_window

        files = list(profiles) if profiles is not None else example_files("profiles")
        if files:
            econ = desk.daily(month.start, month.end)
            state = network_window(econ, month.start, month.end)
            tip_state = desk.network_state(month.end)
            subsidy_after = block_subsidy(tip_state.next_halving_height) / SATS_PER_BTC
            rows = []
            for f in files:
                miner = desk.miner(f)
                hs = miner_halving_stress(miner, state, subsidy_after)
                for side, ue in (("now", hs.before), (f"after halving ({subsidy_after:g} BTC)", hs.after)):
                    rows.append({"profile": miner.name, "case": side, **ue.__dict__})
            tables.append(table_from_records(
                "unit_economics", f"Unit economics and halving stance ({state.start} to {state.end} network average)",
                rows,
                [("profile", "profile", "text"), ("case", "case", "text"),
                 ("hashrate_ehs", "hashrate [EH/s]", "ehs"), ("efficiency_j_per_th", "efficiency [J/TH]", "j_th"),
                 ("power_usd_per_kwh", "power [USD/kWh]", "usd_kwh"),
                 ("hashprice_usd_per_ph_day", "hashprice [USD/PH/day]", "usd_ph_day"),
                 ("btc_per_day", "BTC per day [BTC]", "btc"), ("margin_usd_per_day", "margin [USD/day]", "usd"),
                 ("margin_pct", "margin [%]", "num"), ("cash_cost_per_btc_usd", "cash cost per BTC [USD]", "usd"),
                 ("breakeven_hashprice_all_in_usd_per_ph_day", "breakeven hashprice [USD/PH/day]", "usd_ph_day"),
                 ("breakeven_btc_price_usd", "breakeven BTC price [USD]", "usd"),
                 ("breakeven_power_usd_per_kwh", "breakeven power [USD/kWh]", "usd_kwh")],
                note="'after halving' holds difficulty, fees and BTC price at the month's average and cuts the "
                "subsidy to the next halving's; profiles are the example files (see their sources).",
            ))
            metrics.append(metric("network_hashprice_avg", f"network hashprice, {month} average",
                                  state.hashprice_usd_per_th_day * 1000, "usd_ph_day"))
        return Section("miners", "Miners", note="; ".join(notes), metrics=tuple(metrics), tables=tuple(tables),
                       figures=tuple(figs), sources=("miner_production (company reports, ranked)", "examples/profiles"))

    return guarded("miners", "Miners", build)


# -- AI / HPC -----------------------------------------------------------------------------------


def hpc_section(desk: Desk, start: date, end: date) -> Section:
    """AI/HPC: the miners' comparables and cohorts as of the period's end, from dated facts.

    Cohorts follow the HPC/AI contracts announced by ``end``
    (:func:`hashdesk.hpc.comps.facts_cohorts`, rule :data:`hashdesk.hpc.comps.COMPS_COHORT_RULE`),
    so a brief never uses a contract announced after its month; performance is
    :func:`hashdesk.market.cohorts.cohort_analysis` on those cohorts. The comparables are
    :meth:`hashdesk.desk.Desk.comps` (facts public by ``end``, each with its date and source).
    """

    def build() -> Section:
        import pandas as pd

        from hashdesk.hpc.comps import COMPS_COHORT_RULE, facts_cohorts
        from hashdesk.market.charts import cumulative_returns_figure
        from hashdesk.market.cohorts import cohort_analysis
        from hashdesk.market.returns import BTC
        from hashdesk.market.summary import panel_returns

        notes, tables, figs, metrics = [], [], [], []
        comps = desk.comps(end)
        firms = comps[comps["ticker"] != "median"]
        if firms.empty:
            return Section("hpc", "AI / HPC", NO_DATA, f"no company facts public by {end}: run `hashdesk ingest`")
        groups = {k: v for k, v in facts_cohorts(comps).items() if v}
        t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
        inputs = desk.market_inputs(sorted({m for g in groups.values() for m in g}), t0, t1)
        groups = {k: tuple(m for m in v if m in inputs.prices.columns) for k, v in groups.items()}
        groups = {k: v for k, v in groups.items() if v}
        members = sorted({m for g in groups.values() for m in g})
        if len(groups) < 2:
            notes.append(f"as of {end} every listed miner is in the {', '.join(groups) or 'same'} cohort "
                         "(no HPC/AI contract announced yet): no cohort spread")
        if groups:
            ar = panel_returns(inputs, members, t0, t1)
            have = [m for m in members if m in ar.returns]
            groups = {k: tuple(m for m in v if m in have) for k, v in groups.items()}
            groups = {k: v for k, v in groups.items() if v}
            res = cohort_analysis(ar.returns[have], ar.returns[BTC], groups, periods_per_year=ar.periods_per_year)
            btc = btc_period_record(inputs, start, end)
            cohort_rows = [r for r in res.table if r["cohort"] != BTC]
            cohort_rows.append({"cohort": BTC, "members": "", "return": btc["return"],
                                "max_drawdown": btc["max_drawdown"]})
            metrics.append(metric("btc_return", "BTC return", btc["return"], "pct"))
            tables.append(table_from_records(
                "cohorts", "Cohort performance in the period (equal weight, rebalanced daily)", cohort_rows,
                [("cohort", "cohort", "text"), ("members", "members", "text"), ("return", "return [%]", "pct"),
                 ("excess_return_vs_btc", "excess vs BTC, same days [%]", "pct"), ("beta_btc", "β vs BTC", "ratio"),
                 ("correlation_btc", "corr. vs BTC", "ratio"), ("max_drawdown", "max drawdown [%]", "pct")],
                note=f"cohorts as of {end}: {COMPS_COHORT_RULE}; BTC's row is its own return for the period "
                     "(as in Markets), excess returns compare each cohort with BTC over the same exchange days",
            ))
            figs.append(figure("cohorts", "Cohorts and spread",
                               cumulative_returns_figure({c: res.cumulative[c] for c in res.cumulative.columns},
                                                         f"Cohorts {start} to {end} (UTC)")))
        rows = []
        for _, r in firms.iterrows():
            dated = sorted({f"{f['figure']}: {f['public_date']}" for f in r["facts"] if f.get("table") != "hpc_contracts"})
            rows.append({**{k: r[k] for k in ("ticker", "cohort", "ev_usd", "ev_per_ehs_usd", "deployed_ehs",
                                              "btc_held", "btc_per_share", "hpc_power_share")},
                         "facts": "; ".join(dated[:4]) + (" …" if len(dated) > 4 else "")})
        tables.append(table_from_records(
            "comps", f"Comparables as of {end} (facts public by then)", rows,
            [("ticker", "ticker", "text"), ("cohort", "cohort", "text"), ("ev_usd", "EV [USD]", "usd"),
             ("ev_per_ehs_usd", "EV per EH/s [USD]", "usd"), ("deployed_ehs", "deployed [EH/s]", "ehs"),
             ("btc_held", "BTC held [BTC]", "btc"), ("btc_per_share", "BTC per share [BTC]", "num"),
             ("hpc_power_share", "HPC share of power [%]", "pct"), ("facts", "facts used (public date)", "text")],
            note="EV = market cap + debt − cash (latest stated facts; a figure not stated counts as 0 and is "
                 "flagged in `hashdesk comps`); see `hashdesk comps --at DATE --format json` for every source URL",
        ))
        med = comps[comps["ticker"] == "median"].iloc[0]
        metrics.append(metric("median_ev_per_ehs", "median EV per EH/s", med["ev_per_ehs_usd"], "usd"))
        metrics.append(metric("hpc_names", "miners with an HPC/AI contract",
                              int((firms["hpc_contracted_mw"] > 0).sum()), "int", f"announced by {end}"))
        return Section("hpc", "AI / HPC", note="; ".join(notes), metrics=tuple(metrics), tables=tuple(tables),
                       figures=tuple(figs),
                       sources=("company facts shipped with hashdesk (dated, sourced)", "prices_daily"))

    return guarded("hpc", "AI / HPC", build)


# -- claims -----------------------------------------------------------------------------------


def claims_section(desk: Desk, claims_path: Path | None) -> Section:
    """Claims: verdicts of :func:`hashdesk.market.claims.check_claims` on a claims YAML file."""

    def build() -> Section:
        if claims_path is None:
            return Section("claims", "Claims", NO_DATA, "no claims file given (--claims FILE)")
        from hashdesk.market.claims import check_claims, load_claims, results_table

        results = check_claims(load_claims(claims_path), desk.market_inputs)
        verdicts = table_from_records(
            "verdicts", "Verdicts", [{"id": r.id, "text": r.text, "verdict": r.verdict,
                                      "data": "; ".join(r.data_used)} for r in results],
            [("id", "claim", "text"), ("text", "statement", "text"), ("verdict", "verdict", "text"),
             ("data", "data used", "text")],
        )
        detail = table_from_records(
            "conditions", "Conditions and measured values", results_table(results),
            [("claim", "claim", "text"), ("verdict", "verdict", "text"), ("condition", "condition", "text"),
             ("measured", "measured (returns as fractions)", "text")],
        )
        counts = {}
        for r in results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        return Section("claims", "Claims", note=f"claims file: {Path(claims_path).name}",
                       metrics=tuple(metric(f"claims_{k}", f"claims {k}", v, "int") for k, v in counts.items()),
                       tables=(verdicts, detail))

    return guarded("claims", "Claims", build)


# -- scenarios --------------------------------------------------------------------------------


def scenarios_section(
    desk: Desk,
    at: date,
    horizon_months: int = 12,
    n_scenarios: int = 1000,
    seed: int = 0,
    profile: Path | None = None,
    price_model: str = "bootstrap",
) -> Section:
    """Scenarios: Monte Carlo of price, hashrate, fees and exact retargets from the state at ``at``.

    :meth:`hashdesk.desk.Desk.scenario_spec` (models fitted on the history known at ``at``) and
    :func:`hashdesk.scenario.executors.simulate` (local executor, one process, root ``seed``);
    with a miner ``profile`` the months carry its BTC mined, revenue, cost and margin.
    """

    def build() -> Section:
        from hashdesk.scenario.charts import fan_chart_figure
        from hashdesk.scenario.executors import simulate
        from hashdesk.scenario.fit import FitOptions, model_notes

        miner = desk.miner(profile) if profile is not None else None
        spec, models, _ = desk.scenario_spec(horizon_months, at, miner=miner,
                                             options=FitOptions(price_model=price_model))
        summary = simulate(spec, n_scenarios, seed=seed, models=models)
        st = summary.start
        metrics = [
            metric("start_date", "start (UTC)", st["date"], "text", st.get("source", "")),
            metric("start_price", "BTC price at start", st["price_usd"], "usd_btc"),
            metric("start_hashrate", "hashrate at start", st["hashrate_ehs"], "ehs"),
            metric("start_hashprice", "hashprice at start", st["hashprice_usd_per_ph_day"], "usd_ph_day"),
            metric("n_scenarios", "scenarios", summary.n_scenarios, "int", f"seed {summary.seed}"),
        ]
        risk = summary.risk or {}
        if risk:
            metrics += [
                metric("p_negative_margin", "P(margin < 0 over the horizon)", risk["p_negative_margin_horizon"], "pct"),
                metric("margin_q50", "total margin, median", risk["horizon_totals"]["margin_usd"]["q50"], "usd"),
                metric("btc_q50", "total BTC mined, median", risk["horizon_totals"]["btc_mined"]["q50"], "btc"),
            ]
        units = {"price_usd": ("BTC price [USD]", "usd"), "hashprice_usd_per_ph_day": ("hashprice [USD/PH/day]", "usd_ph_day"),
                 "hashrate_ehs": ("hashrate [EH/s]", "ehs"), "btc_mined": ("BTC mined [BTC]", "btc"),
                 "margin_usd": ("margin [USD]", "usd")}
        monthly = summary.monthly[summary.monthly.metric.isin(list(units))]
        last = monthly[monthly.month == monthly.month.max()]
        rows = [{"metric": units[r["metric"]][0], **{q: r[q] for q in ("q05", "q25", "q50", "q75", "q95")}}
                for r in last.to_dict(orient="records")]
        tables = [table_from_records(
            "horizon_quantiles", f"Month {int(monthly.month.max())} quantiles", rows,
            [("metric", "metric [unit]", "text"), ("q05", "5%", "num"), ("q25", "25%", "num"),
             ("q50", "median", "num"), ("q75", "75%", "num"), ("q95", "95%", "num")],
        ), table_from_records(
            "retargets", "Simulated retargets (day after start; difficulty change [%])", summary.retargets.head(8),
            [("retarget", "retarget", "int"), ("height", "height", "int"), ("day_q05", "day 5%", "num"),
             ("day_q50", "day median", "num"), ("day_q95", "day 95%", "num"),
             ("change_pct_q05", "change 5% [%]", "num"), ("change_pct_q50", "change median [%]", "num"),
             ("change_pct_q95", "change 95% [%]", "num")],
            note="retargets by the exact consensus rule on simulated timestamps",
        )]
        return Section("scenarios", "Scenarios", metrics=tuple(metrics), tables=tuple(tables),
                       figures=(figure("fan", "Fan chart", fan_chart_figure(summary)),),
                       sources=model_notes(models))

    return guarded("scenarios", "Scenarios", build)


# -- hashprice forward curve and hedging --------------------------------------------------------


#: Scenarios of the brief's forward curve (~0.3 s) and of each profile's hedge (two passes).
FORWARD_SCENARIOS = 10_000
HEDGE_SCENARIOS = 5_000


def forward_section(
    desk: Desk,
    at: date,
    months: int = 12,
    n_scenarios: int = FORWARD_SCENARIOS,
    seed: int = 0,
    profiles: Sequence[Path] | None = None,
    ratio: float = 1.0,
    hedge_scenarios: int = HEDGE_SCENARIOS,
) -> Section:
    """Forward curve: the model-implied hashprice forward curve from the end of ``at``, and hedges.

    :meth:`hashdesk.desk.Desk.forward_curve` (scenario models fitted on the history known at
    ``at``; the month-average hashprice of a 1 PH/s reference miner, :mod:`hashdesk.scenario.forward`)
    and, for each miner profile given, :meth:`hashdesk.desk.Desk.hedge` (a hashprice swap on
    ``ratio`` of expected production at the model mean, paired scenarios,
    :mod:`hashdesk.scenario.hedge`). Nothing after ``at`` is read: realised values are not shown.
    """

    def build() -> Section:
        from hashdesk.scenario.charts import forward_fan_figure

        curve = desk.forward_curve(at, months, n_scenarios, seed)
        rows = curve.rows
        st, dr = curve.start, curve.drivers
        last = rows.iloc[-1]
        metrics = [
            metric("forward_start", "start (UTC)", f"end of {at.isoformat()}", "text", st.get("source", "")),
            metric("hashprice_at_start", "hashprice at start", st["hashprice_usd_per_ph_day"], "usd_ph_day"),
            metric("forward_month1_mean", f"model forward, {rows['month'].iloc[0]}", rows["mean_usd_per_ph_day"].iloc[0],
                   "usd_ph_day"),
            metric("forward_last_mean", f"model forward, {last['month']}", last["mean_usd_per_ph_day"], "usd_ph_day",
                   f"5–95 %: {last['p05']:,.2f}–{last['p95']:,.2f} USD/PH/day"),
            metric("n_scenarios", "scenarios", curve.n_scenarios, "int", f"seed {curve.seed}"),
        ]
        if dr["halving_month_most_likely"]:
            metrics.append(metric("halving_month", "halving (most likely month)", dr["halving_month_most_likely"],
                                  "text", f"subsidy {dr['subsidy_btc_now']:g} → {dr['subsidy_btc_after_halving']:g} BTC"))
        tables = [table_from_records(
            "forward_curve", "Month-average hashprice by delivery month [USD/PH/day]", rows,
            [("month", "month", "text"), ("mean_usd_per_ph_day", "mean", "usd_ph_day"),
             ("median_usd_per_ph_day", "median", "usd_ph_day"), ("p05", "5%", "usd_ph_day"),
             ("p25", "25%", "usd_ph_day"), ("p75", "75%", "usd_ph_day"), ("p95", "95%", "usd_ph_day"),
             ("mean_btc_per_ph_day", "mean [BTC/PH/day]", "btc_ph_day"), ("subsidy_btc", "subsidy [BTC]", "btc"),
             ("retargets_expected", "retargets", "ratio")],
            note="the mean is the model's fair forward (no risk premium); quotes above it imply a premium paid "
            "by the buyer of hashprice",
        )]
        notes = []
        files = list(profiles or [])
        if files:
            hrows = []
            for f in files:
                try:
                    h = desk.hedge(f, at, months, ratio, hedge_scenarios, seed)
                except (LookupError, ValueError) as exc:
                    notes.append(f"hedge {Path(f).name}: {exc}")
                    continue
                t = h.totals
                hrows.append({"profile": h.miner, "min_var_ratio": h.min_var_ratio,
                              "std_unhedged": t["std_usd"].iloc[0], "std_hedged": t["std_usd"].iloc[1],
                              "std_min_var": t["std_usd"].iloc[2], "p_neg_unhedged": t["p_negative"].iloc[0],
                              "p_neg_hedged": t["p_negative"].iloc[1], "cvar_unhedged": t["cvar05_usd"].iloc[0],
                              "cvar_hedged": t["cvar05_usd"].iloc[1]})
            tables.append(table_from_records(
                "hedge", f"Hedging {ratio:g} of expected production at the model forward ({months} months, "
                f"{hedge_scenarios:,} paired scenarios)", hrows,
                [("profile", "profile", "text"), ("min_var_ratio", "R* (min. variance)", "ratio"),
                 ("std_unhedged", "total margin std, unhedged [USD]", "usd"),
                 ("std_hedged", f"std at R = {ratio:g} [USD]", "usd"), ("std_min_var", "std at R* [USD]", "usd"),
                 ("p_neg_unhedged", "P(margin < 0), unhedged [%]", "share"),
                 ("p_neg_hedged", f"P(margin < 0) at R = {ratio:g} [%]", "share"),
                 ("cvar_unhedged", "CVaR 5%, unhedged [USD]", "usd"),
                 ("cvar_hedged", f"CVaR 5% at R = {ratio:g} [USD]", "usd")],
                note="swap per month: R × expected PH-days × (forward − realised month-average hashprice); "
                "the pool fee, curtailment and costs stay in the margin",
            ))
        return Section("forward", "Hashprice forward curve", note="; ".join(notes), metrics=tuple(metrics),
                       tables=tuple(tables),
                       figures=(figure("forward_fan", "Forward curve", forward_fan_figure(curve)),),
                       sources=(*dr["model_notes"], "hashdesk.scenario.forward (reference miner 1 PH/s, FPPS)"))

    return guarded("forward", "Hashprice forward curve", build)


# -- the brief's list -------------------------------------------------------------------------


def brief_builders(month: Month, claims_path=None) -> list[tuple[str, Callable[[Desk], Section]]]:
    """The brief's section builders for ``month``, in reading order, as ``(key, build(desk))``."""
    s, e = month.start, month.end
    out: list[tuple[str, Callable[[Desk], Section]]] = [
        ("markets", lambda d: markets_section(d, s, e)),
        ("network", lambda d: network_section(d, s, e)),
        ("miners", lambda d: miners_section(d, month)),
        ("hpc", lambda d: hpc_section(d, s, e)),
        ("forward", lambda d: forward_section(d, e)),
    ]
    if claims_path is not None:
        out.append(("claims", lambda d: claims_section(d, Path(claims_path))))
    return out
