"""Which source column feeds which field of a layer kind.

Fields are found by name (case- and accent-insensitive, the kind's aliases, the short names of
Vigie's own shapefile exports), or given with ``--map FIELD=COLUMN``; ``--set FIELD=VALUE`` gives
every row the same value. A CSV's coordinates come from lon/lat or x/y columns, a
``geo_point_2d``-like column or a WKT column, found by name or given with ``--map x=… y=…``,
``--map point=…`` or ``--map wkt=…``. A required field without a column is an error naming the
names looked for and the file's columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.errors import InputError, ParameterError
from layers.io._common import _FALSE, _TRUE, _by_norm, _norm, _to_float
from layers.io.dates import _parse_when

#: short DBF names (<= 10 characters) of spec columns in shapefile exports
SHP_FIELD_NAMES = {
    "occurred_from": "occ_from",
    "occurred_to": "occ_to",
    "source_label": "src_label",
    "external_id": "ext_id",
    "description": "descr",
    "late_alcohol": "late_alc",
    "simulated": "simulated",
    "installed": "installed",
}


# CSV coordinate columns, by normalised name, in order of preference
_X_NAMES = ("longitude", "lon", "lng", "long", "x", "coord_x", "coordx", "xcoord", "x_coord",
            "x_wgs84", "lon_wgs84", "longitude_wgs84")
_Y_NAMES = ("latitude", "lat", "y", "coord_y", "coordy", "ycoord", "y_coord", "y_wgs84",
            "lat_wgs84", "latitude_wgs84")
_POINT_NAMES = ("geo_point_2d", "geo_point", "geopoint", "coordonnees", "coordinates", "coords",
                "lat_lon", "latlon", "wgs84")
_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "geometrie", "wkt_geom")
_COORD_KEYS = ("x", "y", "point", "wkt")


def _coordinate_columns(df: pd.DataFrame, mapping: dict, display: str):
    """The CSV columns holding the coordinates, ``(x, y, point, wkt)``, those not used None.

    ``--map x=… y=…``, ``--map point=…`` or ``--map wkt=…`` when given; else found by name, in
    this order of preference: a lon/lat (x/y) pair, a ``geo_point_2d``-like column, a WKT column.
    """
    norm = _by_norm(df.columns)

    def resolve(key):
        col = mapping[key]
        if col in df.columns:
            return col
        if _norm(col) in norm:
            return norm[_norm(col)]
        raise ParameterError(
            f"--map {key}={col}: {display} has no column '{col}'; its columns are: "
            f"{', '.join(df.columns)}.",
            "mapping",
        )

    xcol = ycol = pcol = wcol = None
    if "x" in mapping or "y" in mapping:
        if not ("x" in mapping and "y" in mapping):
            raise ParameterError("--map needs both x=COLUMN and y=COLUMN for coordinates.", "mapping")
        xcol, ycol = resolve("x"), resolve("y")
    elif "point" in mapping:
        pcol = resolve("point")
    elif "wkt" in mapping:
        wcol = resolve("wkt")
    else:
        xcol = next((norm[n] for n in _X_NAMES if n in norm), None)
        ycol = next((norm[n] for n in _Y_NAMES if n in norm), None)
        if xcol is None or ycol is None:
            xcol = ycol = None
            pcol = next((norm[n] for n in _POINT_NAMES if n in norm), None)
            if pcol is None:
                wcol = next((norm[n] for n in _WKT_NAMES if n in norm), None)
    return xcol, ycol, pcol, wcol


def _map_columns(columns, spec, mapping: dict | None, used: set, display: str) -> dict[str, str]:
    cols = list(columns)
    norm = _by_norm(cols)
    out: dict[str, str] = {}
    for fld, col in (mapping or {}).items():
        if fld in _COORD_KEYS:
            continue
        if fld not in spec.column_names:
            raise ParameterError(
                f"--map {fld}={col}: '{fld}' is not a field of layer kind '{spec.name}' "
                f"(fields: {', '.join(spec.column_names)}; coordinates: x, y, point, wkt).",
                "mapping",
            )
        src = col if col in cols else norm.get(_norm(col))
        if src is None:
            raise ParameterError(
                f"--map {fld}={col}: {display} has no column '{col}'; its columns are: "
                f"{', '.join(map(str, cols))}.",
                "mapping",
            )
        out[fld] = src
        used.add(src)
    for c in spec.columns:
        if c.name in out:
            continue
        # the short names of Vigie's own shapefile exports (occ_from…) read back too
        short = (SHP_FIELD_NAMES[c.name],) if c.name in SHP_FIELD_NAMES else ()
        for alias in (c.name, *c.aliases, *short):
            src = norm.get(_norm(alias))
            if src is not None and src not in used:
                out[c.name] = src
                used.add(src)
                break
    return out


def _check_constants(spec, constants: dict | None, mapping: dict | None, *, tz, date_format) -> dict[str, str]:
    """``{field: value as text}`` of ``--set FIELD=VALUE``, checked against the kind's fields."""
    out: dict[str, str] = {}
    for fld, value in (constants or {}).items():
        given = f"--set {fld}={value}"
        if fld not in spec.column_names:
            raise ParameterError(
                f"{given}: '{fld}' is not a field of layer kind '{spec.name}' "
                f"(fields: {', '.join(spec.column_names)}).",
                "set",
            )
        if fld in (mapping or {}):
            raise ParameterError(f"{given}: '{fld}' is also given by --map; give it once.", "set")
        text = "" if value is None else str(value).strip()
        col = spec.column(fld)
        if text == "":
            raise ParameterError(f"{given}: give a value (--set {fld}=VALUE).", "set")
        one = pd.Series([text], dtype="str")
        if col.type in ("float", "int"):
            v, bad = _to_float(one)
            ok = not bad[0] and (col.type == "float" or float(v[0]).is_integer())
        elif col.type == "bool":
            ok = text.lower() in _TRUE | _FALSE
        elif col.type in ("date", "datetime"):
            ok = not _parse_when(one, column=given, tz=tz, date_format=date_format, display=given,
                                 rows=np.ones(1, dtype=np.int64)).bad[0]
        else:
            ok = True
        if not ok:
            raise ParameterError(f"{given}: '{text}' is not a valid {col.type} for field '{fld}'.", "set")
        out[fld] = text
    return out


def _check_required_columns(spec, colmap: dict, columns, display: str) -> None:
    missing = []
    for name in spec.required:
        if name in colmap:
            continue
        if spec.name == "incidents" and name == "category" and "source_label" in colmap:
            continue  # categories come from the labels through the label mapping
        missing.append(name)
    if spec.one_of and not any(f in colmap for f in spec.one_of):
        missing.append(" or ".join(spec.one_of))
    if missing:
        parts = []
        for name in missing:
            fields = name.split(" or ")
            names = sorted({a for f in fields for a in spec.column(f).aliases})
            parts.append(f"'{name}' (looked for: {', '.join(names)})")
        raise InputError(
            f"{display}: no column for the required field{'s' if len(missing) > 1 else ''} "
            f"{'; '.join(parts)} of layer kind '{spec.name}'. The file's columns are: "
            f"{', '.join(map(str, columns))}. Name the column with --map FIELD=COLUMN."
        )
