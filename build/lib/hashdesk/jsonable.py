"""JSON-safe conversion shared by every surface (CLI, web API, brief)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas/dataclass values to JSON-safe Python (NaN → null)."""
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return to_jsonable(asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, (list, tuple, np.ndarray)) and not isinstance(obj, (str, bytes)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, pd.Timestamp):
        return None if pd.isna(obj) else obj.isoformat()
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if obj is pd.NaT or (obj is not None and not isinstance(obj, (str, bytes, bool, int)) and pd.isna(obj) is True):
        return None
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    return obj


__all__ = ["to_jsonable"]
