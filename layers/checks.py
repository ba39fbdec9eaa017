"""The input checks analysis functions share: one wording for one mistake, wherever it is made.

Each check raises the project's own exception (``layers.errors``): ``InputError`` for the data
(not a GeoDataFrame, no CRS, degrees where metres are needed, empty, wrong geometry type, a
missing column), ``ParameterError`` for an option (naming the parameter). Messages name the
layer or parameter concerned and say what to do. ``name`` is the noun phrase a message starts
with ("incidents", "shops layer", "study area").

Functions call them first, before any work (geopandas' ``_basic_checks``, sfhotspot's input
validation do the same); the ones that return a value return it checked (a float, an int).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InputError, ParameterError

__all__ = [
    "check_columns",
    "check_crs",
    "check_geodataframe",
    "check_geometries",
    "check_layer",
    "check_metric",
    "check_not_empty",
    "check_one_of",
    "check_points",
    "check_same_length",
    "check_tz_aware",
    "positive_number",
    "whole_number",
]

#: shapely geometry type ids -> names
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}
_TYPE_IDS = {v: k for k, v in _TYPE_NAMES.items()}
#: plain words for geometry types, in messages
_PLAIN = {"Point": "points", "MultiPoint": "points", "Polygon": "polygons",
          "MultiPolygon": "polygons", "LineString": "lines", "MultiLineString": "lines"}


def _plural(name: str) -> bool:
    """Whether ``name`` takes a plural verb: its head noun (before " of ") ends in "s"."""
    head = name.split(" of ")[0].replace("(", " ").replace(")", " ").split()
    word = head[-1] if head else ""
    return word.endswith("s") and not word.endswith("ss")


def _is(name: str) -> str:
    return "are" if _plural(name) else "is"


def _has(name: str) -> str:
    return "have" if _plural(name) else "has"


def _them(name: str) -> str:
    return "them" if _plural(name) else "it"


def _rows(mask: np.ndarray) -> str:
    """The first 1-based row numbers of ``mask`` ("1, 4, 9" and "…" when there are more)."""
    rows = np.flatnonzero(mask)
    text = ", ".join(str(int(r) + 1) for r in rows[:10])
    return text + ("…" if len(rows) > 10 else "")


def check_geodataframe(obj, name: str = "incidents", *, of: str = "") -> gpd.GeoDataFrame:
    """``obj`` itself, or ``InputError`` when it is not a GeoDataFrame (``of``: " of points")."""
    if not isinstance(obj, gpd.GeoDataFrame):
        raise InputError(f"The {name} must be a GeoDataFrame{of}, got {type(obj).__name__}.")
    return obj


def check_crs(gdf: gpd.GeoDataFrame, name: str = "incidents", *,
              hint: str = "set it first (e.g. gdf.set_crs(4326))") -> None:
    """``InputError`` when ``gdf`` has no CRS: Vigie never guesses one."""
    if gdf.crs is None:
        raise InputError(f"The {name} {_has(name)} no CRS: Vigie never guesses one; {hint}.")


def check_metric(gdf, name: str = "incidents", *, allow_none: bool = True,
                 alternative: str = "") -> None:
    """``InputError`` when ``gdf`` (a GeoDataFrame, GeoSeries or anything with ``crs``) is in a
    geographic CRS: distances, cell sizes and bandwidths are metres. A missing CRS is accepted
    (coordinates taken as metres) unless ``allow_none`` is False. ``alternative`` adds another
    way out (", or give a grid or a study area in metres")."""
    crs = getattr(gdf, "crs", None)
    if crs is None:
        if not allow_none:
            check_crs(gdf, name)
        return
    if not crs.is_projected:
        raise InputError(
            f"The {name} {_is(name)} in {crs.to_string()}, a geographic CRS (degrees), not a "
            f"metric CRS: reproject {_them(name)} to the analysis CRS in metres first "
            f"(layers.crs.to_analysis){alternative}."
        )


def check_not_empty(gdf, name: str = "incidents", *, hint: str = "nothing to analyse") -> None:
    """``InputError`` when ``gdf`` has no rows."""
    if len(gdf) == 0:
        if _plural(name):
            raise InputError(f"There are no {name}: {hint}.")
        raise InputError(f"The {name} is empty: {hint}.")


def check_geometries(gdf: gpd.GeoDataFrame, name: str = "incidents", *,
                     kinds=("Point",)) -> None:
    """``InputError`` when a row has no geometry (missing or empty) or a geometry type not in
    ``kinds`` (``"Point"``, ``"Polygon"``, ``"MultiPolygon"``…); the message gives the count,
    the types found and the first rows. Vectorised: a million points take milliseconds."""
    values = np.asarray(gdf.geometry.values)  # the shapely objects (no pandas ufunc dispatch)
    if len(values) == 0:
        return
    type_id = shapely.get_type_id(values)
    empty = (type_id < 0) | shapely.is_empty(values)
    if empty.any():
        raise InputError(
            f"The {name} {_has(name)} {int(empty.sum())} rows without a geometry (rows "
            f"{_rows(empty)}): drop them or give their coordinates."
        )
    wrong = ~np.isin(type_id, [_TYPE_IDS[k] for k in kinds])
    if wrong.any():
        found = sorted({_TYPE_NAMES.get(t, str(t)) for t in type_id[wrong][:1000].tolist()})
        plain = " or ".join(dict.fromkeys(_PLAIN.get(k, k) for k in kinds))
        raise InputError(
            f"The {name} must hold {' or '.join(kinds)} geometries ({plain}), found "
            f"{', '.join(found)} (rows {_rows(wrong)})."
        )


def check_points(gdf, name: str = "incidents") -> gpd.GeoDataFrame:
    """A GeoDataFrame of points (any CRS, possibly empty), or ``InputError``."""
    check_geodataframe(gdf, name, of=" of points")
    check_geometries(gdf, name, kinds=("Point",))
    return gdf


def check_layer(gdf, name: str, *, kinds=("Point",), allow_empty: bool = False,
                empty_hint: str = "nothing to analyse",
                crs_hint: str = "set it first (e.g. gdf.set_crs(4326))") -> gpd.GeoDataFrame:
    """A GeoDataFrame with a CRS, rows (unless ``allow_empty``) and geometries of ``kinds``."""
    check_geodataframe(gdf, name)
    check_crs(gdf, name, hint=crs_hint)
    if not allow_empty:
        check_not_empty(gdf, name, hint=empty_hint)
    check_geometries(gdf, name, kinds=kinds)
    return gdf


def check_columns(df, columns, name: str = "incidents", *, hint: str = "") -> None:
    """``InputError`` naming the ``columns`` missing from ``df`` (and ``hint``: what to do)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise InputError(
            f"The {name} {_has(name)} no column{s} {', '.join(repr(c) for c in missing)}"
            f"{': ' + hint if hint else ''}."
        )


def check_tz_aware(df, column: str, name: str = "incidents") -> None:
    """``InputError`` when ``df[column]`` does not hold time-zone-aware instants."""
    if not isinstance(df[column].dtype, pd.DatetimeTZDtype):
        raise InputError(
            f"Column '{column}' of the {name} must hold time-zone-aware instants "
            f"(datetime64[ns, UTC]), got {df[column].dtype}: read the layer through the store or "
            "layers.io, which convert them."
        )


def positive_number(value, name: str, *, unit: str = "", allow_none: bool = False):
    """``value`` as a finite float > 0, or ``ParameterError`` naming ``name``
    (``unit``: "metres" reads "a positive number of metres"). ``None`` passes with
    ``allow_none``."""
    if value is None and allow_none:
        return None
    what = f"a positive number of {unit}" if unit else "a positive number"
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be {what}, got {value!r}.", name)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be {what}, got {value!r}.", name) from None
    if not math.isfinite(v) or v <= 0:
        raise ParameterError(f"{name} must be {what}, got {value!r}.", name)
    return v


def whole_number(value, name: str, *, minimum: int | None = None, why: str = "") -> int:
    """``value`` as an int (at least ``minimum`` when given), or ``ParameterError`` naming
    ``name``; ``why`` says the reason for the minimum. Only integers pass (not ``True``, ``12.0``
    or ``"12"``): a count or a seed given as anything else is a mistake upstream."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or (minimum is not None and value < minimum):
        least = "" if minimum is None else f" of at least {minimum}"
        raise ParameterError(f"{name} must be a whole number{least}{why}, got {value!r}.", name)
    return int(value)


def check_one_of(value, choices, name: str):
    """``value`` when it is one of ``choices``, else ``ParameterError`` listing them."""
    if value not in choices:
        raise ParameterError(
            f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}.", name
        )
    return value


def check_same_length(**arrays) -> int:
    """The common length of ``arrays`` (one value per cell or point), or ``ParameterError``
    naming each with its length."""
    lengths = {k: len(v) for k, v in arrays.items()}
    first = next(iter(lengths.values()))
    differs = [k for k, n in lengths.items() if n != first]
    if differs:
        raise ParameterError(
            "the same number of values is needed in each of "
            + ", ".join(f"{k} ({n})" for k, n in lengths.items()) + ".",
            differs[0],
        )
    return first
