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

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="ASIC model name in the catalogue")
    units: int | None = Field(None, gt=0, description="number of machines")
    hashrate_ehs: float | None = Field(None, gt=0, description="fleet hashrate [EH/s]")
    efficiency_j_per_th: float | None = Field(None, gt=0, description="fleet efficiency [J/TH]")

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

    model_config = ConfigDict(extra="forbid")

    price_usd_per_kwh: float = Field(..., gt=0, lt=2, description="all-in power price [USD/kWh]")
    contract: ContractType = ContractType.fixed
    index_adder_usd_per_kwh: float = Field(0.0, ge=0, description="adder over the index [USD/kWh]")
    curtail_above_usd_per_kwh: float | None = Field(
        None, gt=0, description="curtail when the spot price exceeds this [USD/kWh]"
    )
    demand_response_usd_per_year: float = Field(
        0.0, ge=0, description="demand-response / curtailment credits [USD/year]"
    )


class MinerProfile(BaseModel):
    """A miner: fleet, uptime, power, hosting and pool terms."""

    model_config = ConfigDict(extra="forbid")

    name: str
    ticker: str | None = None
    fleet: list[FleetEntry] = Field(..., min_length=1)
    uptime: float = Field(0.95, gt=0, le=1, description="share of time hashing [0–1]")
    power: PowerContract
    hosting_usd_per_kwh: float = Field(0.0, ge=0, description="hosting fee on energy [USD/kWh]")
    pool_fee: float = Field(0.0, ge=0, lt=1, description="pool fee share of revenue [0–1]")
    pool_payout: PoolPayout = PoolPayout.fpps
    other_cash_cost_usd_per_year: float = Field(0.0, ge=0, description="site opex [USD/year]")
    source: str | None = Field(None, description="where the figures come from")


def load_profile(path: str | Path) -> MinerProfile:
    """Read and validate a profile TOML file.

    Raises
    ------
    ProfileError
        Naming the file and the failing field(s).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProfileError(f"{path}: no such profile file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: invalid TOML: {exc}") from exc
    try:
        return MinerProfile.model_validate(data)
    except ValidationError as exc:
        parts = [
            f"{'.'.join(str(x) for x in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        ]
        raise ProfileError(f"{path}: " + "; ".join(parts)) from exc
