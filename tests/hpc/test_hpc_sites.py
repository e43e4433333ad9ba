"""Site and company files: validation errors name the field; examples load; units in names."""

from __future__ import annotations

import copy
import re

import pytest

from hashdesk.config import repo_root
from hashdesk.hpc.cohorts import classify_cohort, cohort_table, cohort_tickers, hpc_power_share
from hashdesk.hpc.sites import Company, Site, SiteFileError, load_company, load_site, parse_site

EXAMPLES = repo_root() / "examples" / "hpc"

GOOD = {
    "name": "s",
    "gross_mw": 100.0,
    "critical_it_mw": 70.0,
    "pue": 1.3,
    "power": {"price_usd_per_kwh": 0.04, "start_date": "2022-01-01", "expiry_date": "2030-01-01"},
    "mining": {"efficiency_j_per_th": 20.0},
    "hpc": {"lease_usd_per_kw_month": 130.0, "term_years": 10, "capex_usd_per_mw": 9e6, "months_to_energize": 12},
}


def bad(path: str, value) -> dict:
    data = copy.deepcopy(GOOD)
    *parents, leaf = path.split(".")
    node = data
    for p in parents:
        node = node[p]
    node[leaf] = value
    return data


def test_good_site_parses():
    site = parse_site(GOOD)
    assert site.critical_it_share == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("critical_it_mw", 120.0, r"critical_it_mw \(120 MW\) exceeds gross_mw \(100 MW\)"),
        ("critical_it_mw", 90.0, r"critical_it_mw × pue \(117 MW\) exceeds gross_mw \(100 MW\)"),
        ("hpc.capex_usd_per_mw", -1.0, r"hpc\.capex_usd_per_mw: .*greater than or equal to 0"),
        ("power.expiry_date", "2021-01-01", r"power: expiry_date \(2021-01-01\) must be after start_date"),
        ("hpc.months_to_energize", -3, r"hpc\.months_to_energize"),
        ("hpc.term_years", 0, r"hpc\.term_years"),
        ("gross_mw", 0, r"gross_mw: .*greater than 0"),
        ("pue", 0.9, r"pue: .*greater than or equal to 1"),
        ("power.price_usd_per_kwh", 5, r"power\.price_usd_per_kwh"),
        ("cooling", "fans", r"cooling: .*'air', 'immersion' or 'hydro'"),
        ("hpc.lease_usd_per_kw_mnth", 1.0, r"hpc\.lease_usd_per_kw_mnth: .*not permitted"),
        ("sources", {"hpc.lease": "x"}, r"sources names unknown field\(s\) \['hpc\.lease'\]"),
        ("illustrative", ["mining.efficiency"], r"illustrative names unknown field"),
    ],
)
def test_bad_site_errors_name_the_field(path, value, expected):
    with pytest.raises(SiteFileError, match=expected):
        parse_site(bad(path, value), "site.toml")


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(SiteFileError, match="no such file"):
        load_site(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n", encoding="utf-8")
    with pytest.raises(SiteFileError, match=r"broken\.toml: invalid TOML"):
        load_site(broken)
    over = tmp_path / "over.toml"
    over.write_text(
        'name = "x"\ngross_mw = 10.0\ncritical_it_mw = 12.0\n[power]\nprice_usd_per_kwh = 0.05\n'
        '[mining]\nefficiency_j_per_th = 20.0\n[hpc]\nlease_usd_per_kw_month = 100.0\nterm_years = 5\n'
        'capex_usd_per_mw = 1.0\nmonths_to_energize = 0\n',
        encoding="utf-8",
    )
    with pytest.raises(SiteFileError, match=r"over\.toml: critical_it_mw \(12 MW\) exceeds gross_mw"):
        load_site(over)


def test_company_errors_name_the_site_file(tmp_path):
    (tmp_path / "site.toml").write_text(
        'name = "x"\ngross_mw = 10.0\ncritical_it_mw = 5.0\n[power]\nprice_usd_per_kwh = 0.05\n'
        '[mining]\nefficiency_j_per_th = 20.0\n[hpc]\nlease_usd_per_kw_month = 100.0\nterm_years = 5\n'
        'capex_usd_per_mw = -1.0\nmonths_to_energize = 0\n',
        encoding="utf-8",
    )
    comp = tmp_path / "co.toml"
    comp.write_text(
        'name = "co"\nshares_outstanding = 1.0\nnet_debt_usd = 0.0\n[fleet]\nhashrate_ehs = 1.0\n'
        'efficiency_j_per_th = 20.0\n[[sites]]\nfile = "site.toml"\n',
        encoding="utf-8",
    )
    with pytest.raises(SiteFileError, match=r"site\.toml: hpc\.capex_usd_per_mw"):
        load_company(comp)
    comp.write_text(
        'name = "co"\nshares_outstanding = 0.0\nnet_debt_usd = 0.0\n[fleet]\nhashrate_ehs = 1.0\n'
        'efficiency_j_per_th = 20.0\n',
        encoding="utf-8",
    )
    with pytest.raises(SiteFileError, match=r"co\.toml: shares_outstanding"):
        load_company(comp)


def test_examples_load_and_label_their_inputs():
    site_files = [p for p in EXAMPLES.glob("*.toml") if "shares_outstanding" not in p.read_text()]
    company_files = [p for p in EXAMPLES.glob("*.toml") if p not in site_files]
    assert len(site_files) >= 3 and len(company_files) >= 3
    for p in site_files:
        site = load_site(p)
        assert site.sources or site.illustrative, f"{p.name}: no sources and nothing labelled illustrative"
    for p in company_files:
        comp = load_company(p)
        assert comp.ticker
        assert comp.illustrative  # balance-sheet figures are not in the bundle
    # figures from the public-deals table are cited as such
    lm = load_site(EXAMPLES / "terawulf_lake_mariner_hpc.toml")
    assert lm.hpc.lease_usd_per_kw_month == 154.2
    assert "hpc_deals_public.csv" in lm.sources["hpc.lease_usd_per_kw_month"]


def test_cohorts_follow_the_stated_rule():
    cohorts = {p.stem: classify_cohort(load_company(p)) for p in
               (EXAMPLES / "mara.toml", EXAMPLES / "core_scientific.toml", EXAMPLES / "terawulf.toml")}
    assert cohorts == {"mara": "pure-play", "core_scientific": "hybrid", "terawulf": "hpc"}
    corz = load_company(EXAMPLES / "core_scientific.toml")
    assert hpc_power_share(corz) == pytest.approx(260 / (260 + 600))
    table = cohort_table([corz])
    assert table.loc[0, "cohort"] == "hybrid" and "pure-play if 0" in table.loc[0, "rule"]
    companies = [load_company(p) for p in sorted(EXAMPLES.glob("*.toml")) if "shares_outstanding" in p.read_text()]
    assert cohort_tickers(companies) == {"pure-play": ("MARA",), "hybrid": ("CORZ",), "hpc": ("WULF",)}
    empty = Company.model_validate(
        {"name": "x", "shares_outstanding": 1, "net_debt_usd": 0,
         "fleet": {"hashrate_ehs": 1, "efficiency_j_per_th": 20}}
    )
    assert classify_cohort(empty) == "pure-play"


#: Dimensionless field names (ratios and shares) allowed without a unit suffix.
DIMENSIONLESS = {"pue", "uptime", "pool_fee", "tenant_power_share", "tenant_capex_share", "renewal_probability"}
#: Names whose unit is a word in them: months, BTC, shares.
UNIT_IN_NAME = {"months_to_energize", "btc_held", "shares_outstanding"}
UNIT_SUFFIX = re.compile(
    r"_(mw|usd|usd_per_kwh|usd_per_kw_month|usd_per_mw|usd_per_mw_year|years|per_year|j_per_th|ehs)$"
)


def _numeric_fields(model, prefix=""):
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and hasattr(ann, "model_fields"):
            yield from _numeric_fields(ann, f"{prefix}{name}.")
        elif "float" in str(ann) or "int" in str(ann):
            yield f"{prefix}{name}", name


@pytest.mark.parametrize("model", [Site, Company])
def test_numeric_field_names_carry_units(model):
    missing = [
        full for full, name in _numeric_fields(model)
        if name not in DIMENSIONLESS | UNIT_IN_NAME and not UNIT_SUFFIX.search(name)
    ]
    assert missing == [], f"numeric fields without a unit in the name: {missing}"

