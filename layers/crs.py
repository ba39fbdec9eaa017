"""Coordinate systems: storage in EPSG:4326, analysis in a metric CRS.

Vigie stores and exchanges lon/lat (EPSG:4326, RFC 7946 axis order) and analyses in a metric
CRS chosen per deployment (``Settings.analysis_crs``): Lambert-93 (EPSG:2154) for metropolitan
France, EPSG:3163 for Nouméa, otherwise the UTM zone estimated from the data. Every distance,
area, cell size and bandwidth is in metres.
"""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from layers.errors import InputError

__all__ = ["STORAGE_CRS", "analysis_crs", "to_analysis", "to_storage", "check_same_crs"]

STORAGE_CRS = CRS.from_epsg(4326)


def analysis_crs(data: gpd.GeoDataFrame | None = None, epsg: int | None = None) -> CRS:
    """The metric CRS to analyse in: ``epsg`` when given, else the UTM zone of ``data``."""
    if epsg is not None:
        return CRS.from_epsg(int(epsg))
    if data is None or len(data) == 0:
        raise InputError("No analysis CRS is configured and there is no data to estimate one from.")
    return data.estimate_utm_crs()


def to_analysis(gdf: gpd.GeoDataFrame, epsg: int | None = None) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to the analysis CRS (a copy; a no-op copy if already there)."""
    if gdf.crs is None:
        raise InputError("The layer has no CRS: Vigie never guesses one; pass it explicitly.")
    target = analysis_crs(gdf if epsg is None else None, epsg)
    if gdf.crs.equals(target):
        return gdf.copy()
    return gdf.to_crs(target)


def to_storage(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to EPSG:4326 for storage, maps and GeoJSON answers."""
    if gdf.crs is None:
        raise InputError("The layer has no CRS: Vigie never guesses one; pass it explicitly.")
    if gdf.crs.equals(STORAGE_CRS):
        return gdf.copy()
    return gdf.to_crs(STORAGE_CRS)


def check_same_crs(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, names=("first", "second")) -> None:
    """Raise ``InputError`` naming both CRSs when ``a`` and ``b`` differ."""
    if a.crs is None or b.crs is None or not a.crs.equals(b.crs):
        raise InputError(
            f"The {names[0]} layer is in {a.crs.to_string() if a.crs else 'no CRS'} and the "
            f"{names[1]} layer in {b.crs.to_string() if b.crs else 'no CRS'}: reproject one to "
            "the other (layers.crs.to_analysis)."
        )
