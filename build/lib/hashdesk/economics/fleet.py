"""ASIC catalogue and fleets: hashrate [TH/s], power [kW] and efficiency [J/TH] of a miner.

The catalogue is the store's ``asic_models`` (F2Pool's 2020 table and the bundle's recent
models) plus the models shipped in ``economics/data/asic_models_added.csv`` and any file a
user passes (CSV or TOML). Later sources override earlier ones model by model; every row
carries its source.

References
----------
.. [1] Manufacturers' spec sheets as cited per row (``source`` column).
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from hashdesk.economics.profile import MinerProfile

#: Columns of a catalogue frame.
CATALOGUE_COLUMNS = ["model", "manufacturer", "hashrate_th", "power_w", "efficiency_j_per_th", "released", "source"]
#: Relative tolerance between ``efficiency_j_per_th`` and ``power_w / hashrate_th`` [–].
EFFICIENCY_RTOL = 0.05


class CatalogueError(ValueError):
    """A catalogue file or row that does not validate (message names file, row and field)."""


class UnknownAsicError(KeyError):
    """An ASIC model that is not in the catalogue."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


@dataclass(frozen=True)
class AsicModel:
    """One ASIC model: hashrate [TH/s], power [W], efficiency [J/TH] and the source of the figures."""

    model: str
    manufacturer: str | None
    hashrate_th: float
    power_w: float
    efficiency_j_per_th: float
    released: str | None
    source: str


def _key(name: str) -> str:
    return " ".join(str(name).lower().replace("-", " ").split())


def validate_catalogue(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check a catalogue frame and fill ``efficiency_j_per_th`` or ``power_w`` when one is absent.

    Raises
    ------
    CatalogueError
        Naming ``origin``, the 1-based row and the field.
    """
    df = df.copy()
    for col in ("model", "hashrate_th", "source"):
        if col not in df.columns:
            raise CatalogueError(f"{origin}: missing column '{col}'")
    if "power_w" not in df.columns and "efficiency_j_per_th" not in df.columns:
        raise CatalogueError(f"{origin}: needs 'power_w' or 'efficiency_j_per_th'")
    for col in ("manufacturer", "released", "power_w", "efficiency_j_per_th"):
        if col not in df.columns:
            df[col] = None
    for i, r in enumerate(df.itertuples(index=False), start=1):
        where = f"{origin}, row {i}"
        if not str(r.model or "").strip():
            raise CatalogueError(f"{where}, field 'model': empty")
        if not str(r.source or "").strip() or pd.isna(r.source):
            raise CatalogueError(f"{where} ({r.model}), field 'source': every model needs its source")
    for col in ("hashrate_th", "power_w", "efficiency_j_per_th"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in ("hashrate_th", "power_w", "efficiency_j_per_th"):
        bad = df[col].notna() & ((df[col] <= 0) | ~np.isfinite(df[col].astype(float)))
        if col == "hashrate_th":
            bad |= df[col].isna()
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise CatalogueError(
                f"{origin}, row {i + 1} ({df.model.iloc[i]}), field '{col}': must be a finite number > 0"
            )
    eff = df["efficiency_j_per_th"].fillna(df["power_w"] / df["hashrate_th"])
    # catalogues hold old machines too (a 2016 Antminer V9: 257 J/TH); beyond 1–2,000 J/TH a
    # value is a unit error (W vs kW, TH vs GH)
    odd = eff.notna() & ((eff < 1.0) | (eff > 2_000.0))
    if odd.any():
        i = int(odd.to_numpy().nonzero()[0][0])
        raise CatalogueError(
            f"{origin}, row {i + 1} ({df.model.iloc[i]}), field 'efficiency_j_per_th': {eff.iloc[i]:g} J/TH is "
            "outside the 1–2,000 J/TH of any ASIC (a unit error?)"
        )
    df["power_w"] = df["power_w"].fillna(df["hashrate_th"] * df["efficiency_j_per_th"])
    df["efficiency_j_per_th"] = df["efficiency_j_per_th"].fillna(df["power_w"] / df["hashrate_th"])
    if df["power_w"].isna().any():
        i = int(df["power_w"].isna().to_numpy().nonzero()[0][0])
        raise CatalogueError(f"{origin}, row {i + 1}: needs power_w or efficiency_j_per_th")
    off = (df.power_w / df.hashrate_th - df.efficiency_j_per_th).abs() > EFFICIENCY_RTOL * df.efficiency_j_per_th
    if off.any():
        i = int(off.to_numpy().nonzero()[0][0])
        raise CatalogueError(
            f"{origin}, row {i + 1} ({df.model.iloc[i]}), field 'efficiency_j_per_th': "
            f"{df.efficiency_j_per_th.iloc[i]} disagrees with power_w / hashrate_th = "
            f"{df.power_w.iloc[i] / df.hashrate_th.iloc[i]:.3f}"
        )
    keys = df.model.map(_key)
    if keys.duplicated().any():
        raise CatalogueError(f"{origin}: model '{df.model[keys.duplicated()].iloc[0]}' appears twice")
    df["model"] = df["model"].astype(str).str.strip()
    df["released"] = df["released"].astype(object).where(df["released"].notna(), None)
    return df[CATALOGUE_COLUMNS].reset_index(drop=True)


def read_catalogue_file(path: str | Path) -> pd.DataFrame:
    """Read a user catalogue: CSV with :data:`CATALOGUE_COLUMNS`, or TOML with ``[[asic]]`` tables.

    Raises
    ------
    CatalogueError
        If the file is missing, unreadable or invalid.
    """
    path = Path(path)
    if not path.exists():
        raise CatalogueError(f"{path}: no such ASIC catalogue file")
    if path.is_dir():
        raise CatalogueError(f"{path}: is a directory, not an ASIC catalogue file")
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise CatalogueError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueError(f"{path}: invalid TOML: {exc}") from exc
        rows = data.get("asic")
        if not isinstance(rows, list) or not rows:
            raise CatalogueError(f"{path}: expected one or more [[asic]] tables")
        df = pd.DataFrame(rows)
    elif path.suffix.lower() == ".csv":
        try:
            df = pd.read_csv(path, encoding="utf-8-sig")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise CatalogueError(f"{path}: cannot parse CSV: {exc}") from exc
    else:
        raise CatalogueError(f"{path}: ASIC catalogue must be .csv or .toml")
    return validate_catalogue(df, str(path))


def shipped_additions() -> pd.DataFrame:
    """Newer models shipped with hashdesk (``economics/data/asic_models_added.csv``), with sources."""
    ref = resources.files("hashdesk.economics").joinpath("data/asic_models_added.csv")
    with resources.as_file(ref) as p:
        return read_catalogue_file(p)


@dataclass(frozen=True)
class AsicCatalogue:
    """ASIC models by name (case-, space- and hyphen-insensitive lookup)."""

    models: tuple[AsicModel, ...]

    @classmethod
    def from_frames(cls, *frames: pd.DataFrame) -> AsicCatalogue:
        """Merge catalogue frames; a later frame's model replaces an earlier one of the same name."""
        by_key: dict[str, AsicModel] = {}
        for df in frames:
            for r in df.itertuples(index=False):
                by_key[_key(r.model)] = AsicModel(
                    model=str(r.model), manufacturer=None if pd.isna(r.manufacturer) else str(r.manufacturer),
                    hashrate_th=float(r.hashrate_th), power_w=float(r.power_w),
                    efficiency_j_per_th=float(r.efficiency_j_per_th),
                    released=None if r.released is None or pd.isna(r.released) else str(r.released),
                    source=str(r.source),
                )
        return cls(tuple(by_key.values()))

    def get(self, name: str) -> AsicModel:
        """The model called ``name``.

        Raises
        ------
        UnknownAsicError
            Naming the model and the closest catalogue names.
        """
        table = {_key(m.model): m for m in self.models}
        hit = table.get(_key(name))
        if hit is None:
            close = difflib.get_close_matches(_key(name), list(table), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(repr(table[c].model) for c in close)}?" if close else ""
            raise UnknownAsicError(
                f"unknown ASIC model {name!r} ({len(self.models)} models in the catalogue){hint} "
                "Add it with an ASIC catalogue file (--asics FILE.csv|.toml)."
            )
        return hit

    def frame(self) -> pd.DataFrame:
        """The catalogue as a frame, most efficient first."""
        df = pd.DataFrame([m.__dict__ for m in self.models], columns=CATALOGUE_COLUMNS)
        return df.sort_values("efficiency_j_per_th").reset_index(drop=True)


@dataclass(frozen=True)
class FleetLine:
    """One resolved fleet line: hashrate [TH/s], power [kW], efficiency [J/TH]."""

    label: str
    units: int | None
    hashrate_ths: float
    power_kw: float
    efficiency_j_per_th: float
    source: str


@dataclass(frozen=True)
class Fleet:
    """A miner's fleet at nameplate (before uptime)."""

    lines: tuple[FleetLine, ...]

    @property
    def hashrate_ths(self) -> float:
        """Nameplate hashrate [TH/s]."""
        return sum(x.hashrate_ths for x in self.lines)

    @property
    def hashrate_ehs(self) -> float:
        """Nameplate hashrate [EH/s]."""
        return self.hashrate_ths / 1e6

    @property
    def power_kw(self) -> float:
        """Nameplate power [kW]."""
        return sum(x.power_kw for x in self.lines)

    @property
    def efficiency_j_per_th(self) -> float:
        """Hashrate-weighted efficiency = power / hashrate [J/TH]."""
        return self.power_kw * 1000.0 / self.hashrate_ths


def resolve_fleet(profile: MinerProfile, catalogue: AsicCatalogue) -> Fleet:
    """Turn a profile's fleet entries into hashrate, power and efficiency.

    Parameters
    ----------
    profile : MinerProfile
        Validated profile.
    catalogue : AsicCatalogue
        Models for entries given as ``model`` + ``units``.

    Returns
    -------
    Fleet

    Raises
    ------
    UnknownAsicError
        For a model not in the catalogue (naming the ``fleet[i]`` entry).

    Examples
    --------
    10 machines of 200 TH/s at 3,500 W are 2,000 TH/s, 35 kW, 17.5 J/TH:

    >>> from hashdesk.economics.profile import MinerProfile
    >>> cat = AsicCatalogue((AsicModel("S21", "Bitmain", 200.0, 3500.0, 17.5, None, "spec"),))
    >>> p = MinerProfile.model_validate({"name": "x", "fleet": [{"model": "s21", "units": 10}],
    ...                                  "power": {"price_usd_per_kwh": 0.05}})
    >>> f = resolve_fleet(p, cat)
    >>> (f.hashrate_ths, f.power_kw, f.efficiency_j_per_th)
    (2000.0, 35.0, 17.5)
    """
    lines = []
    for i, e in enumerate(profile.fleet):
        if e.model is not None:
            try:
                m = catalogue.get(e.model)
            except UnknownAsicError as exc:
                raise UnknownAsicError(f"fleet[{i}].model: {exc}") from None
            lines.append(
                FleetLine(m.model, e.units, m.hashrate_th * e.units, m.power_w * e.units / 1000.0,
                          m.efficiency_j_per_th, m.source)
            )
        else:
            ths = e.hashrate_ehs * 1e6
            lines.append(
                FleetLine(f"{e.hashrate_ehs:g} EH/s at {e.efficiency_j_per_th:g} J/TH", None, ths,
                          ths * e.efficiency_j_per_th / 1000.0, e.efficiency_j_per_th,
                          profile.source or "profile")
            )
    return Fleet(tuple(lines))
