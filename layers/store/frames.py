"""What every store backend shares: argument checks, column types, empty frames.

Both backends (``gpkg``, ``postgis``) check their arguments and convert column types here, so
that they refuse the same inputs with the same messages and return the same dtypes.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from layers.errors import InputError, ParameterError
from layers.filters import Filters
from layers.registry import LayerSpec
from layers.store.base import Batch

__all__ = ["INCIDENT_ONLY", "as_type", "check_columns", "check_filters", "check_frame", "empty_frame"]

#: filters that apply to incidents only (the other kinds take a bbox alone)
INCIDENT_ONLY = ("start", "end", "categories", "zac", "hours", "weekdays")

_EMPTY_DTYPES = {
    "str": "str",
    "float": "float64",
    "int": "Int64",
    "bool": "bool",
    "datetime": "datetime64[ns, UTC]",
    "date": "datetime64[ns]",
}


def empty_frame(spec: LayerSpec, columns) -> gpd.GeoDataFrame:
    """An empty layer with ``columns`` of ``spec`` plus ``batch_id`` and ``fid`` (EPSG:4326)."""
    data = {name: pd.Series([], dtype=_EMPTY_DTYPES[spec.column(name).type]) for name in columns}
    data["batch_id"] = pd.Series([], dtype="str")
    data["fid"] = pd.Series([], dtype="int64")
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=4326), crs=4326)


def as_type(s: pd.Series, type_: str, *, unit: str) -> pd.Series:
    """``s`` with the registry type ``type_`` (see ``layers.registry``); datetimes at ``unit``
    precision (``ms`` as GeoPackage stores them, ``us`` as PostgreSQL does, ``ns`` as the store
    returns them). Missing booleans become False."""
    if type_ == "datetime":
        return pd.to_datetime(s, utc=True).astype(f"datetime64[{unit}, UTC]")
    if type_ == "date":
        s = pd.to_datetime(s)
        if s.dt.tz is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        return s.astype(f"datetime64[{unit}]")
    if type_ == "bool":
        return s.astype("boolean").fillna(False).astype(bool)
    if type_ == "float":
        return pd.to_numeric(s).astype("float64")
    if type_ == "int":
        return pd.to_numeric(s).astype("Int64")
    return s.astype("str")


def check_columns(spec: LayerSpec, columns) -> list[str]:
    """The kind's columns a read returns (all, or those of ``columns`` in the spec's order)."""
    if columns is None:
        return list(spec.column_names)
    unknown = [c for c in columns if c not in spec.column_names and c not in ("fid", "batch_id", "geometry")]
    if unknown:
        raise ParameterError(
            f"unknown column(s) {', '.join(unknown)} for layer '{spec.name}'; "
            f"columns: {', '.join(spec.column_names)}.",
            "columns",
        )
    return [c for c in spec.column_names if c in columns]


def check_filters(spec: LayerSpec, filters: Filters | None) -> Filters | None:
    """``filters`` (None when empty); incident-only filters on another kind are refused."""
    if filters is None or filters.is_empty:
        return None
    if spec.name != "incidents":
        used = [f for f in INCIDENT_ONLY if getattr(filters, f) is not None]
        if used:
            raise ParameterError(
                f"the filter(s) {', '.join(used)} apply to incidents only, not to '{spec.name}'.",
                used[0],
            )
    return filters


def check_frame(spec: LayerSpec, gdf: gpd.GeoDataFrame, batch: Batch) -> gpd.GeoDataFrame:
    """The features of an import, checked against ``spec`` and reprojected to EPSG:4326.

    Raises ``InputError`` for a non-GeoDataFrame, a batch of another kind, a missing CRS, missing
    required columns, or geometries of the wrong type, missing or empty. (Whether the batch id
    is new is the backend's check, made under its write lock.)
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError("import_batch needs a GeoDataFrame.")
    if batch.kind != spec.name:
        raise InputError(f"batch {batch.id} is for '{batch.kind}' but the features are '{spec.name}'.")
    if gdf.crs is None:
        raise InputError("The features have no CRS; the store holds EPSG:4326 (layers.crs.to_storage).")
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    missing = [c for c in spec.required if c not in gdf.columns]
    if missing:
        raise InputError(f"The features lack the required column(s) {', '.join(missing)} of '{spec.name}'.")
    geom_types = set(gdf.geom_type.dropna().unique())
    bad = geom_types - set(spec.geometry_types)
    if bad or gdf.geometry.isna().any() or gdf.geometry.is_empty.any():
        raise InputError(
            f"Layer '{spec.name}' takes {' or '.join(spec.geometry_types)} geometries, got "
            f"{', '.join(sorted(bad)) or 'missing or empty geometries'}."
        )
    return gdf
