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
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hashdesk.economics.profile import ContractType


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
    """HPC hosting terms (signed, operating, or a prospective what-if)."""

    status: HpcStatus = HpcStatus.prospective
    tenant: str | None = None
    lease_usd_per_kw_month: float = Field(
        ..., ge=0, description="lease on critical-IT capacity [USD/kW-month]"
    )
    term_years: float = Field(..., gt=0, le=40, description="lease term [years]")
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
        ..., ge=0, description="conversion capex per critical-IT MW, excl. GPUs [USD/MW]"
    )
    months_to_energize: int = Field(..., ge=0, le=120, description="build time [months]")


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
