"""Where the rows are: the source CRS, the coordinate checks and the reprojection to lon/lat.

The CRS is ``--crs`` when given, else the one the file declares, else WGS84 (GeoJSON's default,
CSV lon/lat). Whole-file CRS traps (projected metres in a file without a CRS, degrees in a file
declaring a projected CRS) raise ``InputError`` naming the ``--crs`` to pass; then each row's
coordinates are checked (missing, unreadable, out of range, swapped, (0, 0), outside the
territory) and reprojected.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from layers import validate as _v
from layers.errors import InputError
from layers.io._common import _WGS84, _crs_name
from layers.io.readers import _Raw
from layers.settings import Settings


def _source_crs(raw: _Raw, override: CRS | None, log, display: str) -> CRS:
    """The CRS of the coordinates: ``--crs``, else the declared one, else WGS84 (implied)."""
    if override is not None:
        if raw.declared and raw.crs is not None and not raw.crs.equals(override):
            log.file_warning(
                f"{display} declares {_crs_name(raw.crs)}; --crs {_crs_name(override)} was used instead."
            )
        return override
    if raw.declared and raw.crs is not None:
        return raw.crs
    if raw.fmt == "gpkg":
        raise InputError(f"{display}: layer '{raw.layer}' has no coordinate system: pass it with --crs EPSG.")
    return _WGS84  # GeoJSON's default (RFC 7946); CSV lon/lat


def _locate(raw: _Raw, spec, src: CRS, *, override, settings: Settings, log, display: str):
    """Check the geometries or coordinates and bring them to lon/lat.

    Returns ``(lon, lat, geoms)``: lon/lat arrays for point kinds (``geoms`` None), or the
    reprojected geometries for polygon kinds (``lon``/``lat`` None). Rejected rows are NaN/None.
    """
    if raw.geoms is not None:
        if raw.coord_bad is not None:
            col = raw.coord_fields[0]
            log.error(raw.coord_bad, col, lambda i: f"'{raw.attrs[col].iloc[i]}' is not valid WKT")
        geoms = _v.check_geometries(log, raw.geoms, spec)
        if spec.is_point:
            x = np.asarray(shapely.get_x(geoms), dtype=float)
            y = np.asarray(shapely.get_y(geoms), dtype=float)
            x[log.bad], y[log.bad] = np.nan, np.nan
            x0, y0 = x, y
        else:
            b = shapely.bounds(geoms)
            b[log.bad] = np.nan
            x0, y0 = b[:, 0], b[:, 1]
        field_name = "geometry"
    else:
        if not spec.is_point:
            raise InputError(
                f"{display}: layer kind '{spec.name}' needs polygons, but the file has point "
                "coordinates; give a WKT column (--map wkt=COLUMN) or another format."
            )
        geoms = None
        x, y = raw.x.copy(), raw.y.copy()
        fx, fy = raw.coord_fields
        field_name = fx if fx == fy else f"{fx}/{fy}"
        xt = raw.attrs[fx].astype("str").str.strip()
        yt = raw.attrs[fy].astype("str").str.strip()
        log.error(raw.coord_bad, field_name,
                  lambda i: f"coordinates '{xt.iloc[i]}', '{yt.iloc[i]}' are not numbers"
                  if fx != fy else f"'{xt.iloc[i]}' holds no readable coordinates")
        missing = ~raw.coord_bad & (np.isnan(x) | np.isnan(y))
        log.error(missing, field_name, "missing coordinates (empty cell): the row cannot be placed on the map")
        x[log.bad], y[log.bad] = np.nan, np.nan
        x0, y0 = x, y

    # whole-file traps, then row checks on the source coordinates
    if override is None and src.is_geographic:
        declared = _crs_name(raw.crs) if raw.declared and raw.crs is not None else "no CRS"
        _v.check_crs_trap(x0, y0, source=display, declared=declared)
    elif override is None:
        _v.check_degrees_in_projected(x0, y0, source=display, declared=_crs_name(src))
    if src.is_geographic:
        _v.check_lonlat(log, x0, y0, fields=(field_name, field_name),
                        territory=settings.territory if spec.is_point else None)
    else:
        log.error((x0 == 0) & (y0 == 0), field_name, "coordinates (0, 0): missing or zero coordinates")

    # reproject the rows still valid, then the territory
    good = ~log.bad
    cannot = f"cannot be transformed from {_crs_name(src)} to lon/lat"
    if spec.is_point:
        lon, lat = x.copy(), y.copy()
        if not src.equals(_WGS84) and good.any():
            tr = Transformer.from_crs(src, _WGS84, always_xy=True)
            lon[good], lat[good] = tr.transform(x[good], y[good])
        lon[~good], lat[~good] = np.nan, np.nan
        log.error(good & ~(np.isfinite(lon) & np.isfinite(lat)), field_name, f"coordinates {cannot}")
        _v.check_territory(log, lon, lat, lon, lat, territory=settings.territory, field=field_name)
        return lon, lat, None
    out = np.array(geoms, dtype=object)
    if good.any():
        gs = gpd.GeoSeries(out[good], crs=src)
        if not src.equals(_WGS84):
            gs = gs.to_crs(_WGS84)
        out[good] = np.asarray(gs.array, dtype=object)
    b = shapely.bounds(out)
    b[~good] = np.nan
    log.error(good & ~np.isfinite(b).all(axis=1), "geometry", f"geometry {cannot}")
    _v.check_territory(log, b[:, 0], b[:, 1], b[:, 2], b[:, 3], territory=settings.territory)
    return None, None, out
