"""Sites, power contracts and companies for the AI/HPC pivot (TOML files, pydantic-validated).

A *site* is a grid connection with a power contract that can host bitcoin miners or AI/HPC
tenants: gross MW (what the grid delivers), critical-IT MW (what an HPC tenant could lease),
PUE, cooling, interconnect status, current use, mining inputs and HPC lease terms. A *company*
is sites + fleet + BTC held + net debt + shares.

Every file may carry ``[sources]`` (dotted field → where the figure comes from) and
``illustrative = [dotted fields]`` (inputs that are assumptions, not reported figures). Both
are checked against the model's fields so that a typo cannot silently label nothing.

Validation errors name the file and the failing field, e.g.
``site.toml: critical_it_mw: critical_it_mw (250 MW) exceeds gross_mw (200 MW)``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hashdesk.economics.profile import ContractType
from hashdesk.hpc.contracts import (
    ContractError,
    add_months,
    format_phases,
    implied_lease_usd_per_kw_month,
    operator_capex_usd_per_mw,
    parse_phases,
    parse_renewal_options,
)


class SiteFileError(ValueError):
    """A site or company file that cannot be read or does not validate (names file and field)."""


class Cooling(StrEnum):
    """Cooling of the existing halls: ``air`` (fans), ``immersion`` (dielectric tanks),
    ``hydro`` (water-cooled plates / hydro-cooled ASICs)."""

    air = "air"
    immersion = "immersion"
    hydro = "hydro"


class SiteUse(StrEnum):
    """What the site does today."""

    mining = "mining"
    hpc = "hpc"
    conversion = "conversion"  # mining halls being converted for an HPC tenant
    development = "development"  # powered land / interconnect, not yet built


class InterconnectStatus(StrEnum):
    """Grid connection status: energized > approved (signed interconnection agreement) > queued."""

    energized = "energized"
    approved = "approved"
    queued = "queued"


class HpcStatus(StrEnum):
    """HPC lease status: ``none``, ``prospective`` (a what-if), ``signed``, ``operating``."""

    none = "none"
    prospective = "prospective"
    signed = "signed"
    operating = "operating"


#: Lease statuses that count as contracted HPC value (sum of the parts, cohorts).
CONTRACTED_HPC: frozenset[HpcStatus] = frozenset({HpcStatus.signed, HpcStatus.operating})


def contracted_by(site: Site, day: dt.date | None = None) -> bool:
    """True when a site's HPC lease is signed or operating and, with ``day``, announced by then
    (a lease without an announcement date counts from any day)."""
    if site.hpc.status not in CONTRACTED_HPC:
        return False
    return day is None or site.hpc.announced is None or site.hpc.announced <= day


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SitePower(_Strict):
    """Power price and contract of a site."""

    price_usd_per_kwh: float = Field(..., gt=0, lt=2, description="all-in power price [USD/kWh]")
    contract: ContractType = ContractType.fixed
    start_date: dt.date | None = Field(None, description="contract start (UTC date)")
    expiry_date: dt.date | None = Field(None, description="contract expiry (UTC date)")
    demand_response: bool = Field(False, description="enrolled in demand response / curtailment")
    demand_response_usd_per_mw_year: float = Field(
        0.0, ge=0, description="demand-response credits while mining [USD/MW-year]"
    )

    @model_validator(mode="after")
    def _dates(self) -> SitePower:
        if self.start_date and self.expiry_date and self.expiry_date <= self.start_date:
            raise ValueError(
                f"expiry_date ({self.expiry_date}) must be after start_date ({self.start_date})"
            )
        if self.demand_response_usd_per_mw_year > 0 and not self.demand_response:
            raise ValueError("demand_response_usd_per_mw_year > 0 needs demand_response = true")
        return self


class SiteInterconnect(_Strict):
    """Grid interconnect."""

    status: InterconnectStatus = InterconnectStatus.energized
    capacity_mw: float | None = Field(None, gt=0, description="interconnect capacity [MW]")
    utility: str | None = None


class SiteMining(_Strict):
    """Mining inputs of a site (per MW of gross site power)."""

    efficiency_j_per_th: float = Field(..., gt=0, lt=200, description="fleet efficiency [J/TH]")
    uptime: float = Field(0.95, gt=0, le=1, description="share of time hashing [0-1]")
    pue: float = Field(
        1.0, ge=1, lt=3, description="site power per ASIC power (fans, losses) [ratio]"
    )
    pool_fee: float = Field(0.0, ge=0, lt=1, description="pool fee share of revenue [0-1]")
    opex_usd_per_mw_year: float = Field(
        0.0, ge=0, description="non-power site opex (staff, repairs) [USD/MW-year]"
    )


class SiteHpc(_Strict):
    """HPC hosting terms (signed, operating, or a prospective what-if).

    The build is either one block after ``months_to_energize`` months or, with ``phases``
    (``'YYYY-MM:MW;…'``, cumulative critical-IT MW in service by each month, as in
    ``hpc_contracts.csv``), a ramp; give one or the other. ``capex_usd_per_mw`` is the whole build
    cost; the operator pays it less what the tenant funds (``tenant_funds_capex`` with
    ``tenant_capex_usd_per_mw`` or, failing an amount, ``tenant_capex_share``:
    :func:`hashdesk.hpc.contracts.operator_capex_usd_per_mw`). ``renewal_options``
    (``'2x5y'``) are valued apart from the initial term at ``renewal_probability``.
    """

    status: HpcStatus = HpcStatus.prospective
    tenant: str | None = None
    announced: dt.date | None = Field(
        None, description="day the lease became public; the valuation date may not precede it")
    lease_usd_per_kw_month: float = Field(
        ..., ge=0, description="lease on critical-IT capacity [USD/kW-month]"
    )
    term_years: float = Field(..., gt=0, le=40, description="initial lease term [years]")
    escalator_per_year: float = Field(0.0, ge=-0.5, le=0.5, description="annual lease escalator")
    operator_opex_usd_per_kw_month: float = Field(
        0.0, ge=0, description="operator-borne opex per critical-IT kW [USD/kW-month]"
    )
    tenant_power_share: float = Field(
        1.0,
        ge=0,
        le=1,
        description="share of the site's power bill the tenant pays (pass-through) [0-1]",
    )
    capex_usd_per_mw: float = Field(
        ..., ge=0, description="build cost per critical-IT MW, excl. GPUs, whoever pays it [USD/MW]"
    )
    tenant_funds_capex: Literal["yes", "no", "partial", "unknown"] = Field(
        "no", description="who pays the build: yes | no | partial | unknown (hpc_contracts.csv)")
    tenant_capex_usd_per_mw: float | None = Field(
        None, ge=0, description="build cost the tenant funds [USD/MW]")
    tenant_capex_share: float | None = Field(
        None, ge=0, le=1, description="share of the build cost the tenant funds when no amount is stated [0-1]")
    months_to_energize: int | None = Field(
        None, ge=0, le=120, description="build time before the whole lease starts [months]")
    phases: str | None = Field(
        None, description="cumulative critical-IT MW in service by month, 'YYYY-MM:MW;…'")
    renewal_options: str | None = Field(
        None, description="extensions after the initial term, '<count>x<years>y[;…]' e.g. '2x5y'")
    renewal_probability: float | None = Field(
        None, ge=0, le=1, description="chance each extension is exercised, given the one before ran [0-1]")

    @model_validator(mode="after")
    def _terms(self) -> SiteHpc:
        if (self.phases is None) == (self.months_to_energize is None):
            raise ValueError("give either months_to_energize or phases (not both, not neither)")
        if self.phases is not None:
            if not parse_phases(self.phases):
                raise ValueError("phases: empty")
        opts = parse_renewal_options(self.renewal_options)
        if opts and self.renewal_probability is None:
            raise ValueError(
                "renewal_options need renewal_probability (the chance each extension is exercised, an assumption)")
        operator_capex_usd_per_mw(self.capex_usd_per_mw, self.tenant_funds_capex,
                                  self.tenant_capex_usd_per_mw, self.tenant_capex_share)
        return self

    @property
    def operator_capex_usd_per_mw(self) -> float:
        """Build cost the operator pays per critical-IT MW [USD/MW]."""
        return operator_capex_usd_per_mw(self.capex_usd_per_mw, self.tenant_funds_capex,
                                         self.tenant_capex_usd_per_mw, self.tenant_capex_share)[0]

    @property
    def capex_rule(self) -> str:
        """How the build cost is split between operator and tenant (text)."""
        return operator_capex_usd_per_mw(self.capex_usd_per_mw, self.tenant_funds_capex,
                                         self.tenant_capex_usd_per_mw, self.tenant_capex_share)[2]


class Valuation(_Strict):
    """Valuation settings of a site or company."""

    as_of: dt.date | None = Field(
        None, description="valuation date [default: latest network day / latest close]"
    )
    discount_rate_per_year: float = Field(0.10, gt=-0.5, lt=1, description="discount rate")
    difficulty_growth_per_year: float = Field(
        0.0, gt=-0.9, lt=5, description="difficulty growth (hashprice divisor) [per year]"
    )
    btc_price_growth_per_year: float = Field(0.0, gt=-0.9, lt=5, description="BTC price drift")
    curtail_when_unprofitable: bool = Field(
        True, description="miners switch off in months whose hashprice is below power cost"
    )


class Site(_Strict):
    """A site: grid connection, power contract, halls, and what it could earn."""

    name: str
    operator: str | None = None
    location: str | None = None
    current_use: SiteUse = SiteUse.mining
    gross_mw: float = Field(..., gt=0, description="grid power available [MW]")
    critical_it_mw: float = Field(..., gt=0, description="leasable IT load [MW]")
    pue: float = Field(1.3, ge=1, lt=3, description="HPC power usage effectiveness [ratio]")
    cooling: Cooling = Cooling.air
    power: SitePower
    interconnect: SiteInterconnect = SiteInterconnect()
    mining: SiteMining
    hpc: SiteHpc
    valuation: Valuation = Valuation()
    sources: dict[str, str] = Field(default_factory=dict, description="dotted field -> source")
    illustrative: list[str] = Field(default_factory=list, description="assumed inputs")

    @model_validator(mode="after")
    def _capacity(self) -> Site:
        if self.critical_it_mw > self.gross_mw:
            raise ValueError(
                f"critical_it_mw ({self.critical_it_mw:g} MW) exceeds gross_mw ({self.gross_mw:g} MW)"
            )
        if self.critical_it_mw * self.pue > self.gross_mw * (1 + 1e-9):
            raise ValueError(
                f"critical_it_mw × pue ({self.critical_it_mw * self.pue:g} MW) exceeds "
                f"gross_mw ({self.gross_mw:g} MW)"
            )
        if self.hpc.phases is not None:
            last = parse_phases(self.hpc.phases)[-1][1]
            if last > self.critical_it_mw * (1 + 1e-9):
                raise ValueError(f"hpc.phases: cumulative MW {last:g} exceed critical_it_mw ({self.critical_it_mw:g} MW)")
        _check_labels(self, Site)
        return self

    @property
    def critical_it_share(self) -> float:
        """Critical-IT MW per gross MW [ratio]."""
        return self.critical_it_mw / self.gross_mw


class Fleet(_Strict):
    """A company's mining fleet."""

    hashrate_ehs: float = Field(..., ge=0, description="fleet hashrate [EH/s]")
    efficiency_j_per_th: float = Field(..., gt=0, lt=200, description="fleet efficiency [J/TH]")
    power_usd_per_kwh: float | None = Field(
        None, gt=0, lt=2, description="fleet power price [default: MW-weighted over mining sites]"
    )
    uptime: float = Field(0.95, gt=0, le=1, description="share of time hashing [0-1]")
    opex_usd_per_mw_year: float = Field(0.0, ge=0, description="non-power opex [USD/MW-year]")
    horizon_years: float = Field(5.0, gt=0, le=30, description="mining valuation horizon [years]")


class Company(_Strict):
    """A listed miner: sites + fleet + BTC held + net debt + shares."""

    name: str
    ticker: str | None = None
    shares_outstanding: float = Field(..., gt=0, description="shares outstanding [shares]")
    btc_held: float | None = Field(
        None, ge=0, description="BTC on balance sheet [BTC]; default: latest store record"
    )
    net_debt_usd: float = Field(..., description="debt minus cash (negative = net cash) [USD]")
    fleet: Fleet
    sites: list[Site] = Field(default_factory=list)
    valuation: Valuation = Valuation()
    sources: dict[str, str] = Field(default_factory=dict, description="dotted field -> source")
    illustrative: list[str] = Field(default_factory=list, description="assumed inputs")

    @model_validator(mode="after")
    def _labels(self) -> Company:
        _check_labels(self, Company)
        names = [s.name for s in self.sites]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate site names {dupes}")
        return self


# ---------------------------------------------------------------------------------------------
# labels and loading


def _field_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every dotted field path of a model (nested models included)."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        out.add(path)
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out |= _field_paths(ann, f"{path}.")
    return out


def _check_labels(obj: Site | Company, model: type[BaseModel]) -> None:
    valid = _field_paths(model)
    for kind, keys in (("sources", obj.sources.keys()), ("illustrative", obj.illustrative)):
        unknown = sorted(k for k in keys if k not in valid)
        if unknown:
            raise ValueError(f"{kind} names unknown field(s) {unknown}")


def _format_errors(exc: ValidationError) -> str:
    return "; ".join(
        (f"{'.'.join(str(x) for x in e['loc'])}: " if e['loc'] else "")
        + e['msg'].removeprefix('Value error, ')
        for e in exc.errors()
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SiteFileError(f"{path}: no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SiteFileError(f"{path}: invalid TOML: {exc}") from exc


def parse_site(data: dict[str, Any], where: str = "site") -> Site:
    """Validate a site mapping (as read from TOML).

    Raises
    ------
    SiteFileError
        Naming ``where`` and the failing field(s).
    """
    try:
        return Site.model_validate(data)
    except ValidationError as exc:
        raise SiteFileError(f"{where}: {_format_errors(exc)}") from exc


def load_site(path: str | Path) -> Site:
    """Read and validate a site TOML file.

    Raises
    ------
    SiteFileError
        Naming the file and the failing field(s).
    """
    path = Path(path)
    return parse_site(_read_toml(path), str(path))


def load_company(path: str | Path) -> Company:
    """Read and validate a company TOML file.

    ``sites`` may list inline site tables or ``{file = "other.toml"}`` references, resolved
    relative to the company file.

    Raises
    ------
    SiteFileError
        Naming the file (and the site file) and the failing field(s).
    """
    path = Path(path)
    data = _read_toml(path)
    sites: list[Site] = []
    for i, entry in enumerate(data.pop("sites", []) or []):
        if not isinstance(entry, dict):
            raise SiteFileError(f"{path}: sites.{i}: expected a table")
        if "file" in entry:
            if set(entry) != {"file"}:
                raise SiteFileError(f"{path}: sites.{i}: a file reference takes only 'file'")
            sites.append(load_site(path.parent / entry["file"]))
        else:
            sites.append(parse_site(entry, f"{path}: sites.{i}"))
    try:
        return Company.model_validate({**data, "sites": sites})
    except ValidationError as exc:
        raise SiteFileError(f"{path}: {_format_errors(exc)}") from exc


# ---------------------------------------------------------------------------------------------
# sites and companies from the stored company facts (docs/facts.md)


class FactAssumptions(_Strict):
    """What the company facts do not say, stated as user inputs (TOML: ``--assumptions FILE``).

    Each default is shown beside the result it fed (``inputs`` with ``kind = 'assumption'``) so
    it cannot pass as a fact. Fields named like a fact (``lease_usd_per_kw_month``,
    ``term_years``, ``mining_efficiency_j_per_th``, ``net_debt_usd``, ``btc_held``) replace the
    fact when given.
    """

    capex_usd_per_mw: float = Field(
        9_000_000.0, ge=0,
        description="build cost per critical-IT MW excl. GPUs [USD/MW]: midpoint of the USD 8-10M/MW "
                    "estimates in hpc_deals_public.csv")
    tenant_capex_share_if_yes: float = Field(
        1.0, ge=0, le=1, description="tenant_funds_capex = yes without an amount: share the tenant pays [0-1]")
    tenant_capex_share_if_partial: float = Field(
        0.5, ge=0, le=1, description="tenant_funds_capex = partial without an amount: share the tenant pays [0-1]")
    tenant_capex_share_if_unknown: float = Field(
        0.0, ge=0, le=1, description="tenant_funds_capex = unknown: share the tenant pays (0: operator pays) [0-1]")
    operator_opex_share_of_lease: float = Field(
        0.15, ge=0, lt=1, description="operator opex as a share of the lease: 1 - the 0.85 NOI margin TeraWulf "
                                       "reported (hpc_deals_public.csv) [0-1]")
    escalator_per_year: float = Field(0.0, ge=-0.5, le=0.5, description="annual lease escalator [1/year]")
    pue: float = Field(1.3, ge=1, lt=3, description="HPC PUE: gross MW = critical-IT MW x PUE [ratio]")
    tenant_power_share: float = Field(1.0, ge=0, le=1, description="share of the power bill the tenant pays [0-1]")
    power_usd_per_kwh: float = Field(
        0.04, gt=0, lt=2, description="power price where no site fact states one [USD/kWh]")
    months_to_service_after_announcement: int = Field(
        12, ge=0, le=120, description="months from announcement to service when no phases or start date [months]")
    renewal_probability: float = Field(
        0.5, ge=0, le=1, description="chance each renewal option is exercised, given the one before ran [0-1]")
    lease_usd_per_kw_month: float | None = Field(
        None, ge=0, description="lease instead of the one implied by total value / (MW x term) [USD/kW-month]")
    term_years: float | None = Field(None, gt=0, le=40, description="initial term when the fact is blank [years]")
    mining_efficiency_j_per_th: float | None = Field(
        None, gt=0, lt=200, description="fleet efficiency instead of the latest fleet fact [J/TH]")
    mining_uptime: float = Field(0.95, gt=0, le=1, description="share of time hashing [0-1]")
    mining_opex_usd_per_mw_year: float = Field(60_000.0, ge=0, description="non-power mining opex [USD/MW-year]")
    pool_fee: float = Field(0.0, ge=0, lt=1, description="pool fee where companies.csv states none [0-1]")
    fleet_horizon_years: float = Field(5.0, gt=0, le=30, description="mining valuation horizon [years]")
    net_debt_usd: float | None = Field(None, description="net debt instead of debt - cash from the facts [USD]")
    btc_held: float | None = Field(None, ge=0, description="BTC held instead of the latest fact [BTC]")
    discount_rate_per_year: float = Field(0.10, gt=-0.5, lt=1, description="discount rate [1/year]")
    difficulty_growth_per_year: float = Field(0.20, gt=-0.9, lt=5, description="difficulty growth [1/year]")
    btc_price_growth_per_year: float = Field(0.0, gt=-0.9, lt=5, description="BTC price drift [1/year]")
    curtail_when_unprofitable: bool = Field(True, description="miners switch off below their power cost")

    def tenant_capex_share(self, tenant_funds_capex: str) -> float | None:
        """The assumed tenant share of the build for a ``tenant_funds_capex`` value (None for 'no')."""
        return {"yes": self.tenant_capex_share_if_yes, "partial": self.tenant_capex_share_if_partial,
                "unknown": self.tenant_capex_share_if_unknown}.get(tenant_funds_capex)


def load_assumptions(path: str | Path | None) -> FactAssumptions:
    """Read a :class:`FactAssumptions` TOML file (None: the defaults).

    Raises
    ------
    SiteFileError
        Naming the file and the failing field(s).
    """
    if path is None:
        return FactAssumptions()
    path = Path(path)
    try:
        return FactAssumptions.model_validate(_read_toml(path))
    except ValidationError as exc:
        raise SiteFileError(f"{path}: {_format_errors(exc)}") from exc


class FactsError(LookupError):
    """The facts known at a date lack something a valuation needs (the message says what)."""


def _blank(v: Any) -> bool:
    if v is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _date(v: Any) -> dt.date | None:
    if _blank(v):
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def fact_input(name: str, value: Any, unit: str, row: Any, table: str) -> dict[str, Any]:
    """A provenance record for an input read from a fact row: value, dates and source URL."""
    pub = _date(row.get("public_date")) or _date(row.get("announced"))
    as_of = _date(row.get("as_of")) or _date(row.get("announced")) or pub
    return {"input": name, "value": value, "unit": unit, "kind": "fact", "table": table,
            "as_of": as_of.isoformat() if as_of else None,
            "public_date": pub.isoformat() if pub else None, "source_url": row.get("source_url")}


def assumption_input(name: str, value: Any, unit: str, note: str) -> dict[str, Any]:
    """A provenance record for an assumed input (a user input with a stated default)."""
    return {"input": name, "value": value, "unit": unit, "kind": "assumption", "table": None,
            "as_of": None, "public_date": None, "source_url": None, "note": note}


def latest_fact(df: Any, ticker: str, col: str) -> Any:
    """The latest row (by ``as_of``, then ``public_date``) of a ticker stating ``col`` (None if none)."""
    if df is None or len(df) == 0 or col not in df:
        return None
    d = df[(df["ticker"] == ticker) & df[col].notna()]
    if d.empty:
        return None
    return d.sort_values(["as_of", "public_date"]).iloc[-1]


@dataclass(frozen=True)
class ContractSite:
    """A contract from the facts as a :class:`Site`, with where each input came from."""

    ticker: str
    contract_id: str
    tenant: str
    site: Site
    inputs: tuple[dict, ...]
    warnings: tuple[str, ...] = ()


def site_from_contract(contract: Any, facts: dict, day: dt.date,
                       assumptions: FactAssumptions | None = None) -> ContractSite:
    """Build the site a contract values as, from the facts known on ``day``.

    Facts used (each with its public date and source): the contract's tenant, critical-IT MW,
    total value and term (the implied lease: :func:`hashdesk.hpc.contracts.implied_lease_usd_per_kw_month`),
    announcement, start date or phases, who funds the build and how much, renewal options; the
    company's latest fleet efficiency and pool fee; the site's power price when stated.
    Everything else is an assumption from ``assumptions`` and says so.

    Parameters
    ----------
    contract : mapping
        A row of ``company_hpc_contracts`` (:func:`hashdesk.data.companies.company_facts`).
    facts : dict of pandas.DataFrame
        The company facts known on ``day``.
    day : datetime.date
        Valuation day; it may not precede the announcement.
    assumptions : FactAssumptions, optional

    Raises
    ------
    FactsError
        The valuation day precedes the announcement, or the MW / term / efficiency needed are
        neither stated nor assumed (the message names the contract and the missing fact).
    """
    a = assumptions or FactAssumptions()
    t, cid, tenant = str(contract["ticker"]), str(contract["contract_id"]), str(contract["tenant"])
    where = f"{t} {cid}"
    announced = _date(contract["announced"])
    if announced and day < announced:
        raise FactsError(f"{where}: the valuation date {day} precedes the contract's announcement on "
                         f"{announced}: value it on or after {announced}")
    tbl = "company_hpc_contracts"
    inputs: list[dict] = []
    illustrative: list[str] = []
    sources: dict[str, str] = {}
    warnings: list[str] = []

    def fact(dotted: str, value: Any, unit: str, row: Any, table: str) -> None:
        rec = fact_input(dotted, value, unit, row, table)
        inputs.append(rec)
        sources[dotted] = f"{table}: public {rec['public_date']}: {rec['source_url']}"

    def assume(dotted: str, value: Any, unit: str, note: str) -> None:
        inputs.append(assumption_input(dotted, value, unit, note))
        if dotted in _SITE_FIELDS:
            illustrative.append(dotted)

    inputs.append(fact_input("hpc.tenant", tenant, "", contract, tbl))
    sources["hpc.tenant"] = f"{tbl}: public {announced}: {contract['source_url']}"
    mw = None if _blank(contract.get("critical_it_mw")) else float(contract["critical_it_mw"])
    if mw is None or mw <= 0:
        raise FactsError(f"{where}: critical_it_mw is not stated (only gross MW or a lower bound was given): "
                         "value it with a site file (--site)")
    fact("critical_it_mw", mw, "MW", contract, tbl)
    term = None if _blank(contract.get("term_years")) else float(contract["term_years"])
    if a.term_years is not None:
        term = a.term_years
        assume("hpc.term_years", term, "years", "assumptions.term_years")
    elif term is None:
        raise FactsError(f"{where}: term_years is not stated: give term_years in --assumptions")
    else:
        fact("hpc.term_years", term, "years", contract, tbl)
    esc = a.escalator_per_year
    assume("hpc.escalator_per_year", esc, "1/year", "assumptions.escalator_per_year")
    if a.lease_usd_per_kw_month is not None:
        lease = a.lease_usd_per_kw_month
        assume("hpc.lease_usd_per_kw_month", lease, "USD/kW-month", "assumptions.lease_usd_per_kw_month")
    elif _blank(contract.get("total_value_usd")):
        raise FactsError(f"{where}: total_value_usd is not stated, so no lease can be implied: "
                         "give lease_usd_per_kw_month in --assumptions")
    else:
        total = float(contract["total_value_usd"])
        lease = implied_lease_usd_per_kw_month(total, mw, term, esc)
        inputs.append(fact_input("total_value_usd", total, "USD", contract, tbl))
        inputs.append({**fact_input("hpc.lease_usd_per_kw_month", lease, "USD/kW-month", contract, tbl),
                       "kind": "derived", "note": "total_value_usd / (critical-IT kW x lease months, escalated)"})
        sources["hpc.lease_usd_per_kw_month"] = (f"derived: total value {total:,.0f} USD over {term:g} years on "
                                                 f"{mw:g} MW ({tbl}, {contract['source_url']})")
    opex = a.operator_opex_share_of_lease * lease
    assume("hpc.operator_opex_usd_per_kw_month", opex, "USD/kW-month",
           f"assumptions.operator_opex_share_of_lease = {a.operator_opex_share_of_lease:g} of the lease")
    assume("pue", a.pue, "ratio", "assumptions.pue")
    gross = mw * a.pue
    assume("gross_mw", gross, "MW", "critical-IT MW x assumptions.pue (the power the lease takes from mining)")
    assume("hpc.tenant_power_share", a.tenant_power_share, "share", "assumptions.tenant_power_share")

    # who pays the build
    funds = str(contract.get("tenant_funds_capex") or "unknown")
    fact("hpc.tenant_funds_capex", funds, "", contract, tbl)
    assume("hpc.capex_usd_per_mw", a.capex_usd_per_mw, "USD/MW", "assumptions.capex_usd_per_mw (build cost)")
    tenant_amt = None if _blank(contract.get("tenant_capex_usd_per_mw")) else float(contract["tenant_capex_usd_per_mw"])
    share = None
    if tenant_amt is not None:
        fact("hpc.tenant_capex_usd_per_mw", tenant_amt, "USD/MW", contract, tbl)
    elif funds != "no":
        share = a.tenant_capex_share(funds)
        assume("hpc.tenant_capex_share", share, "share",
               f"assumptions.tenant_capex_share_if_{funds}: no amount is stated")

    # when the MW go into service
    phases_text = contract.get("phases")
    start = _date(contract.get("start_date"))
    if not _blank(phases_text) and phases_text:
        phases = parse_phases(str(phases_text))
        fact("hpc.phases", str(phases_text), "YYYY-MM:MW", contract, tbl)
        if phases[-1][1] < mw:
            warnings.append(f"{where}: phases reach {phases[-1][1]:g} of {mw:g} MW; the rest has no "
                            "in-service month and is not valued")
    elif start is not None:
        phases = [(f"{start:%Y-%m}", mw)]
        fact("hpc.phases", format_phases(phases), "YYYY-MM:MW", {**dict(contract), "as_of": start}, tbl)
    else:
        month = add_months(f"{announced:%Y-%m}", a.months_to_service_after_announcement)
        phases = [(month, mw)]
        assume("hpc.phases", format_phases(phases), "YYYY-MM:MW",
               f"no phases or start date stated: all MW in service {a.months_to_service_after_announcement} "
               "months after the announcement (assumptions.months_to_service_after_announcement)")

    opts = None if _blank(contract.get("renewal_options")) else str(contract["renewal_options"]) or None
    if opts:
        fact("hpc.renewal_options", opts, "<n>x<years>y", contract, tbl)
        assume("hpc.renewal_probability", a.renewal_probability, "probability", "assumptions.renewal_probability")

    # the mining counterfactual on the same power
    comp = facts.get("companies")
    crow = comp[comp["ticker"] == t].iloc[0] if comp is not None and len(comp) and (comp["ticker"] == t).any() else None
    fleet = facts.get("company_fleet")
    eff_row = latest_fact(fleet, t, "efficiency_j_per_th")
    if a.mining_efficiency_j_per_th is not None:
        eff = a.mining_efficiency_j_per_th
        assume("mining.efficiency_j_per_th", eff, "J/TH", "assumptions.mining_efficiency_j_per_th")
    elif eff_row is not None:
        eff = float(eff_row["efficiency_j_per_th"])
        fact("mining.efficiency_j_per_th", eff, "J/TH", eff_row, "company_fleet")
    else:
        raise FactsError(f"{t}: no fleet efficiency (efficiency_j_per_th) is public by {day}: give "
                         "mining_efficiency_j_per_th in --assumptions")
    if crow is not None and not _blank(crow.get("pool_fee")):
        pool = float(crow["pool_fee"])
        fact("mining.pool_fee", pool, "share", crow, "companies")
    else:
        pool = a.pool_fee
        assume("mining.pool_fee", pool, "share", "assumptions.pool_fee (companies.csv states none)")
    assume("mining.uptime", a.mining_uptime, "share", "assumptions.mining_uptime")
    assume("mining.opex_usd_per_mw_year", a.mining_opex_usd_per_mw_year, "USD/MW-year",
           "assumptions.mining_opex_usd_per_mw_year")
    price, location = None, None
    sid = None if _blank(contract.get("site_id")) else str(contract["site_id"])
    if sid:
        sites_df = facts.get("company_sites")
        ss = sites_df[(sites_df["ticker"] == t) & (sites_df["site_id"] == sid)] if sites_df is not None else None
        if ss is not None and len(ss):
            srow = ss.sort_values(["as_of", "public_date"]).iloc[-1]
            location = ", ".join(str(x) for x in (srow.get("name"), srow.get("city"), srow.get("state"))
                                 if not _blank(x))
            pr = latest_fact(ss, t, "power_price_usd_per_kwh")
            if pr is not None:
                price = float(pr["power_price_usd_per_kwh"])
                fact("power.price_usd_per_kwh", price, "USD/kWh", pr, "company_sites")
    if price is None:
        price = a.power_usd_per_kwh
        assume("power.price_usd_per_kwh", price, "USD/kWh",
               "assumptions.power_usd_per_kwh (no site fact states a power price)")
    for dotted, value, unit in (("valuation.discount_rate_per_year", a.discount_rate_per_year, "1/year"),
                                ("valuation.difficulty_growth_per_year", a.difficulty_growth_per_year, "1/year"),
                                ("valuation.btc_price_growth_per_year", a.btc_price_growth_per_year, "1/year")):
        assume(dotted, value, unit, f"assumptions.{dotted.split('.')[-1]}")
    illustrative += ["cooling", "power.contract"]
    data = {
        "name": f"{t} {cid} ({tenant})",
        "operator": None if crow is None else str(crow["name"]),
        "location": location,
        "current_use": "conversion",
        "gross_mw": gross, "critical_it_mw": mw, "pue": a.pue,
        "power": {"price_usd_per_kwh": price},
        "mining": {"efficiency_j_per_th": eff, "uptime": a.mining_uptime, "pool_fee": pool,
                   "opex_usd_per_mw_year": a.mining_opex_usd_per_mw_year},
        "hpc": {"status": "signed", "tenant": tenant, "announced": announced, "lease_usd_per_kw_month": lease,
                "term_years": term, "escalator_per_year": esc, "operator_opex_usd_per_kw_month": opex,
                "tenant_power_share": a.tenant_power_share, "capex_usd_per_mw": a.capex_usd_per_mw,
                "tenant_funds_capex": funds, "tenant_capex_usd_per_mw": tenant_amt, "tenant_capex_share": share,
                "phases": format_phases(phases), "renewal_options": opts,
                "renewal_probability": a.renewal_probability if opts else None},
        "valuation": {"as_of": day, "discount_rate_per_year": a.discount_rate_per_year,
                      "difficulty_growth_per_year": a.difficulty_growth_per_year,
                      "btc_price_growth_per_year": a.btc_price_growth_per_year,
                      "curtail_when_unprofitable": a.curtail_when_unprofitable},
        "sources": sources,
        "illustrative": sorted(set(illustrative)),
    }
    try:
        site = parse_site(data, where)
    except SiteFileError as exc:
        raise FactsError(str(exc)) from exc
    return ContractSite(t, cid, tenant, site, tuple(inputs), tuple(warnings))


#: Dotted site fields (what ``illustrative`` may name).
_SITE_FIELDS: frozenset[str] = frozenset(_field_paths(Site))


@dataclass(frozen=True)
class CompanyFromFacts:
    """A :class:`Company` assembled from the facts, with where each input came from."""

    company: Company
    contracts: tuple[ContractSite, ...]
    skipped: tuple[dict, ...]
    inputs: tuple[dict, ...]
    warnings: tuple[str, ...] = ()


def company_from_facts(ticker: str, facts: dict, day: dt.date,
                       assumptions: FactAssumptions | None = None) -> CompanyFromFacts:
    """Build a company (fleet, net debt, shares, contracted HPC sites) from the facts known on ``day``.

    * shares: the latest ``shares_outstanding`` fact (required);
    * net debt: latest ``debt_usd`` − latest ``cash_usd`` (a figure no fact states counts as 0,
      with a warning, as in ``hashdesk comps``), or ``assumptions.net_debt_usd``;
    * BTC held: the latest ``btc_held`` fact, else ``assumptions.btc_held``, else None (the
      caller may fall back to the store's production reports);
    * fleet: the latest ``deployed_ehs`` (required) and ``efficiency_j_per_th`` facts; fleet
      power price, uptime, opex and horizon are assumptions;
    * sites: one signed site per HPC contract announced by ``day`` that can be valued
      (:func:`site_from_contract`); the others are listed in ``skipped`` with the reason.

    Raises
    ------
    FactsError
        The ticker is not in the facts, or shares / deployed EH/s are not public by ``day``.
    """
    a = assumptions or FactAssumptions()
    comp = facts.get("companies")
    if comp is None or not len(comp) or not (comp["ticker"] == ticker).any():
        raise FactsError(f"{ticker}: not in the company facts (known: "
                         f"{', '.join(sorted(comp['ticker'])) if comp is not None and len(comp) else 'none'})")
    crow = comp[comp["ticker"] == ticker].iloc[0]
    cap, fleet = facts.get("company_capital"), facts.get("company_fleet")
    inputs: list[dict] = []
    warnings: list[str] = []
    sh = latest_fact(cap, ticker, "shares_outstanding")
    if sh is None:
        raise FactsError(f"{ticker}: no shares_outstanding fact is public by {day}")
    shares = float(sh["shares_outstanding"])
    inputs.append(fact_input("shares_outstanding", shares, "shares", sh, "company_capital"))
    if a.net_debt_usd is not None:
        net_debt = a.net_debt_usd
        inputs.append(assumption_input("net_debt_usd", net_debt, "USD", "assumptions.net_debt_usd"))
    else:
        net_debt = 0.0
        for col, sign in (("debt_usd", 1.0), ("cash_usd", -1.0)):
            r = latest_fact(cap, ticker, col)
            if r is None:
                warnings.append(f"{ticker}: no {col} fact is public by {day}: 0 used in net debt "
                                "(give net_debt_usd in --assumptions)")
                continue
            net_debt += sign * float(r[col])
            inputs.append(fact_input(col, float(r[col]), "USD", r, "company_capital"))
    held = None
    if a.btc_held is not None:
        held = a.btc_held
        inputs.append(assumption_input("btc_held", held, "BTC", "assumptions.btc_held"))
    else:
        hr = latest_fact(cap, ticker, "btc_held")
        if hr is not None:
            held = float(hr["btc_held"])
            inputs.append(fact_input("btc_held", held, "BTC", hr, "company_capital"))
    er = latest_fact(fleet, ticker, "deployed_ehs")
    if er is None:
        raise FactsError(f"{ticker}: no deployed_ehs fleet fact is public by {day}")
    ehs = float(er["deployed_ehs"])
    inputs.append(fact_input("fleet.hashrate_ehs", ehs, "EH/s", er, "company_fleet"))
    if a.mining_efficiency_j_per_th is not None:
        eff = a.mining_efficiency_j_per_th
        inputs.append(assumption_input("fleet.efficiency_j_per_th", eff, "J/TH",
                                       "assumptions.mining_efficiency_j_per_th"))
    else:
        fr = latest_fact(fleet, ticker, "efficiency_j_per_th")
        if fr is None:
            raise FactsError(f"{ticker}: no efficiency_j_per_th fleet fact is public by {day}: give "
                             "mining_efficiency_j_per_th in --assumptions")
        eff = float(fr["efficiency_j_per_th"])
        inputs.append(fact_input("fleet.efficiency_j_per_th", eff, "J/TH", fr, "company_fleet"))
    for name, value, unit in (("fleet.power_usd_per_kwh", a.power_usd_per_kwh, "USD/kWh"),
                              ("fleet.uptime", a.mining_uptime, "share"),
                              ("fleet.opex_usd_per_mw_year", a.mining_opex_usd_per_mw_year, "USD/MW-year"),
                              ("fleet.horizon_years", a.fleet_horizon_years, "years")):
        inputs.append(assumption_input(name, value, unit, f"assumptions ({name})"))
    contracts, skipped = [], []
    cc = facts.get("company_hpc_contracts")
    if cc is not None and len(cc):
        cc = cc[(cc["ticker"] == ticker) & (cc["announced"] <= day)].sort_values(["announced", "contract_id"])
        for _, row in cc.iterrows():
            try:
                contracts.append(site_from_contract(row, facts, day, a))
            except (FactsError, ContractError) as exc:
                skipped.append({"contract_id": row["contract_id"], "tenant": row["tenant"],
                                "announced": str(row["announced"]), "reason": str(exc)})
    company = Company.model_validate({
        "name": str(crow["name"]), "ticker": ticker, "shares_outstanding": shares, "btc_held": held,
        "net_debt_usd": net_debt,
        "fleet": {"hashrate_ehs": ehs, "efficiency_j_per_th": eff, "power_usd_per_kwh": a.power_usd_per_kwh,
                  "uptime": a.mining_uptime, "opex_usd_per_mw_year": a.mining_opex_usd_per_mw_year,
                  "horizon_years": a.fleet_horizon_years},
        "sites": [c.site for c in contracts],
        "valuation": {"as_of": day, "discount_rate_per_year": a.discount_rate_per_year,
                      "difficulty_growth_per_year": a.difficulty_growth_per_year,
                      "btc_price_growth_per_year": a.btc_price_growth_per_year,
                      "curtail_when_unprofitable": a.curtail_when_unprofitable},
        "illustrative": ["fleet.power_usd_per_kwh", "fleet.uptime", "fleet.opex_usd_per_mw_year",
                         "fleet.horizon_years", "valuation"],
    })
    return CompanyFromFacts(company, tuple(contracts), tuple(skipped), tuple(inputs), tuple(warnings))
