"""Miner profiles (TOML, validated with pydantic): fleet, power contract, fees, uptime.

A profile is the input of the model chain network state → fleet → expected production →
revenue and cost → margin. Validation errors name the offending field.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ProfileError(ValueError):
    """A profile file that cannot be read or does not validate (message names the field)."""


#: Plausible fleet efficiency [J/TH]: from the best 2025 machines (~9.5) to 2013-era ASICs (~200).
EFFICIENCY_RANGE_J_PER_TH: tuple[float, float] = (5.0, 200.0)
#: A single miner's fleet cannot exceed the whole network (~1,000 EH/s in 2025) [EH/s].
MAX_FLEET_EHS: float = 2_000.0
#: Largest plausible yearly cash cost or credit [USD/year].
MAX_USD_PER_YEAR: float = 1e11


class ContractType(StrEnum):
    """Power contract kind."""

    fixed = "fixed"
    indexed = "indexed"
    curtailable = "curtailable"


class PoolPayout(StrEnum):
    """Who bears block-finding luck: ``fpps``/``pps`` pools absorb it; ``own`` (solo/own pool) does not."""

    fpps = "fpps"
    pps = "pps"
    own = "own"


class FleetEntry(BaseModel):
    """One fleet line: either ``model`` + ``units`` (from the ASIC catalogue) or hashrate + J/TH."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    model: str | None = Field(None, description="ASIC model name in the catalogue")
    units: int | None = Field(None, gt=0, le=10_000_000, description="number of machines")
    hashrate_ehs: float | None = Field(None, gt=0, le=MAX_FLEET_EHS, description="fleet hashrate [EH/s]")
    efficiency_j_per_th: float | None = Field(None, gt=0, le=10_000, description="fleet efficiency [J/TH]")

    @model_validator(mode="after")
    def _one_way(self) -> FleetEntry:
        by_model = self.model is not None
        by_rate = self.hashrate_ehs is not None
        if by_model == by_rate:
            raise ValueError("give either model + units, or hashrate_ehs + efficiency_j_per_th")
        if by_model and self.units is None:
            raise ValueError("units is required with model")
        if by_rate and self.efficiency_j_per_th is None:
            raise ValueError("efficiency_j_per_th is required with hashrate_ehs")
        return self


class PowerContract(BaseModel):
    """Power price and contract terms."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    price_usd_per_kwh: float = Field(..., gt=0, lt=2, description="all-in power price [USD/kWh]")
    contract: ContractType = ContractType.fixed
    index_adder_usd_per_kwh: float = Field(0.0, ge=0, lt=2, description="adder over the index [USD/kWh]")
    curtail_above_usd_per_kwh: float | None = Field(
        None, gt=0, description="curtail when the spot price exceeds this [USD/kWh]"
    )
    demand_response_usd_per_year: float = Field(
        0.0, ge=0, le=MAX_USD_PER_YEAR, description="demand-response / curtailment credits [USD/year]"
    )


class MinerProfile(BaseModel):
    """A miner: fleet, uptime, power, hosting and pool terms.

    Physical inputs are checked for plausibility: a fleet line's efficiency must lie in
    :data:`EFFICIENCY_RANGE_J_PER_TH` (5–200 J/TH) unless ``unusual_efficiency_ok = true`` says
    the user means it; a fleet cannot exceed :data:`MAX_FLEET_EHS`; no value may be NaN or inf.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str
    ticker: str | None = None
    fleet: list[FleetEntry] = Field(..., min_length=1)
    uptime: float = Field(0.95, gt=0, le=1, description="share of time hashing [0–1]")
    power: PowerContract
    hosting_usd_per_kwh: float = Field(0.0, ge=0, lt=2, description="hosting fee on energy [USD/kWh]")
    pool_fee: float = Field(0.0, ge=0, lt=1, description="pool fee share of revenue [0–1]")
    pool_payout: PoolPayout = PoolPayout.fpps
    other_cash_cost_usd_per_year: float = Field(0.0, ge=0, le=MAX_USD_PER_YEAR, description="site opex [USD/year]")
    source: str | None = Field(None, description="where the figures come from")
    unusual_efficiency_ok: bool = Field(
        False, description="accept fleet efficiencies outside 5–200 J/TH (the user says so)")

    @model_validator(mode="after")
    def _plausible(self) -> MinerProfile:
        lo, hi = EFFICIENCY_RANGE_J_PER_TH
        for i, e in enumerate(self.fleet):
            eff = e.efficiency_j_per_th
            if eff is not None and not self.unusual_efficiency_ok and not lo <= eff <= hi:
                raise ValueError(
                    f"fleet[{i}].efficiency_j_per_th: {eff:g} J/TH is outside the plausible {lo:g}–{hi:g} "
                    "J/TH (set unusual_efficiency_ok = true if you mean it)")
        total = sum(e.hashrate_ehs or 0.0 for e in self.fleet)
        if total > MAX_FLEET_EHS:
            raise ValueError(f"fleet: {total:g} EH/s in all exceeds {MAX_FLEET_EHS:g} EH/s (twice the network)")
        return self


def load_profile(path: str | Path) -> MinerProfile:
    """Read and validate a profile TOML file.

    Raises
    ------
    ProfileError
        Naming the file and the failing field(s).
    """
    path = Path(path)
    if path.is_dir():
        raise ProfileError(f"{path}: is a directory, not a profile file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProfileError(f"{path}: no such profile file") from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: invalid TOML: {exc}") from exc
    try:
        return MinerProfile.model_validate(data)
    except ValidationError as exc:
        parts = [
            f"{'.'.join(str(x) for x in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        ]
        raise ProfileError(f"{path}: " + "; ".join(parts)) from exc
