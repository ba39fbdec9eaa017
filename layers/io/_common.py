"""Small helpers shared by the readers, the column mapping, the date parser and the writers:
column-name normalisation, text and number conversion of source cells, CRS parsing and naming."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import CRS
from pyproj.exceptions import CRSError

from layers.errors import ParameterError

_WGS84 = CRS.from_epsg(4326)

#: spellings of true and false in source files (lower case)
_TRUE = {"true", "1", "yes", "oui", "vrai", "y", "o", "t"}
_FALSE = {"false", "0", "no", "non", "faux", "n", "f", ""}


def _norm(name) -> str:
    """Normalised column name: lower case, accents removed, runs of non-alphanumerics -> '_'."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def _by_norm(columns) -> dict[str, str]:
    """Normalised name -> column, the first column of each normalised name."""
    out: dict[str, str] = {}
    for c in columns:
        out.setdefault(_norm(c), c)
    return out


def _parse_crs(crs) -> CRS | None:
    if crs is None or crs == "":
        return None
    try:
        if isinstance(crs, CRS):
            return crs
        text = str(crs).strip()
        return CRS.from_epsg(int(text)) if text.isdigit() else CRS.from_user_input(text)
    except (CRSError, ValueError, TypeError):
        raise ParameterError(
            f"--crs '{crs}' is not a known coordinate system: give an EPSG code such as 2154 "
            "(Lambert-93) or 4326 (WGS84 lon/lat).",
            "crs",
        ) from None


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg}" if epsg else crs.name


def _as_text(s: pd.Series) -> pd.Series:
    """A column as stripped text, missing values as ''."""
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy()
        integral = np.isfinite(v) & (np.floor(v) == v) & (np.abs(v) < 1e15)
        out = s.astype("str")
        if integral.any():
            out = out.where(~integral, pd.Series(v, index=s.index).where(integral, 0).astype("int64").astype("str"))
        return out.where(np.isfinite(v), "")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.astype("str").fillna("").replace("NaT", "")
    out = s.astype("str").fillna("")
    return out.str.strip()


def _to_float(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse numbers (decimal point or comma). Returns (values, mask of non-empty unparseable).

    Fast path: one Arrow cast of the whole column (then with ``,`` -> ``.``); only a column
    holding unparseable cells goes through the slower cell-by-cell coercion.
    """
    nonempty = (text != "").to_numpy(dtype=bool)
    arr = pa.array(text.where(text != "", None).astype("str"), type=pa.large_string())
    for candidate in (arr, pc.replace_substring(arr, ",", ".")):
        try:
            v = pc.cast(candidate, pa.float64()).to_numpy(zero_copy_only=False)
            return np.array(v, dtype=float), np.zeros(len(text), dtype=bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    v = np.array(pd.to_numeric(text.where(text != ""), errors="coerce"), dtype=float)
    retry = np.isnan(v) & nonempty
    if retry.any():
        alt = (text[retry].str.replace(" ", "", regex=False).str.replace("\u00a0", "", regex=False)
               .str.replace("\u202f", "", regex=False).str.replace(",", ".", regex=False))
        v[retry] = pd.to_numeric(alt, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(v) & nonempty
    return v, bad
