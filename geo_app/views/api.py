"""The JSON / GeoJSON API under ``/api`` (same filters as the pages; OpenAPI at /api/openapi.json).

Errors are JSON ``{"error", "message", "param"}`` with a 4xx status (one handler in
``geo_app.create_app``).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import shapely
from flask import Blueprint, Response, current_app, jsonify, request, url_for

from geo_app.auth import get_viewer
from geo_app.views.common import float_param, int_param, request_filters, sensitive_param
from geo_app.views.openapi import openapi_document
from geo_app.workspace import ANALYSES
from layers.errors import ParameterError
from layers.registry import LAYERS, get_spec

__all__ = ["bp", "geojson"]

bp = Blueprint("api", __name__, url_prefix="/api")

HOTSPOT_METHODS = ANALYSES  # the workspace's hotspot methods


def _jsonable(v):
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.isoformat()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) else round(float(v), 6)
    if isinstance(v, np.bool_):
        return bool(v)
    if v is pd.NaT or v is pd.NA:
        return None
    return v


def _column(values: pd.Series) -> list:
    """A column's values made JSON-safe (``_jsonable`` of each), converted column by column."""
    kind = values.dtype.kind
    if kind in "iu":
        if values.hasnans:  # a nullable integer (Int64) with missing values: null, never NaN
            return [None if pd.isna(v) else int(v) for v in values.tolist()]
        return values.to_numpy().tolist()
    if kind == "b":
        return values.to_numpy().tolist()
    if kind == "f":
        return [None if math.isnan(v) else round(v, 6) for v in values.to_numpy(dtype="float64").tolist()]
    return [_jsonable(v) for v in values.tolist()]


def _geometries(geoms, precision: int) -> list:
    """GeoJSON geometry dicts with rounded coordinates (points straight from their arrays)."""
    arr = np.asarray(geoms)
    missing = shapely.is_missing(arr)
    types = shapely.get_type_id(arr)
    if len(arr) and (types == 0).all() and not missing.any() and not shapely.is_empty(arr).any():
        xs, ys = shapely.get_x(arr).tolist(), shapely.get_y(arr).tolist()
        return [{"type": "Point", "coordinates": [round(x, precision), round(y, precision)]} for x, y in zip(xs, ys)]
    out = []
    for geom in arr:
        g = None
        if geom is not None and not geom.is_empty:
            gi = geom.__geo_interface__
            g = {"type": gi["type"], "coordinates": _round(gi["coordinates"], precision)}
        out.append(g)
    return out


def geojson(gdf, *, precision: int = 6, extra: dict | None = None) -> dict:
    """A FeatureCollection from a GeoDataFrame (EPSG:4326), values made JSON-safe.

    Columns are converted one at a time and point coordinates read as arrays (a page of 500
    incidents took 70 ms feature by feature, 10 ms so)."""
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    values = [_column(gdf[c]) for c in cols]
    records = [dict(zip(cols, row)) for row in zip(*values)] if cols else [{} for _ in range(len(gdf))]
    feats = [{"type": "Feature", "geometry": g, "properties": props}
             for props, g in zip(records, _geometries(gdf.geometry.values, precision))]
    out = {"type": "FeatureCollection", "features": feats}
    if extra:
        out.update(extra)
    return out


def _round(c, nd):
    if isinstance(c, float):
        return round(c, nd)
    return [_round(x, nd) for x in c]


def _kind(kind: str):
    return get_spec(kind)  # NotFound (404) naming the known kinds


@bp.get("/layers")
def layers():
    """Every layer kind with its count and its URLs."""
    counts = get_viewer().counts()
    return jsonify({
        "layers": [
            {"kind": k, "label_fr": s.label_fr, "label_en": s.label_en, "count": int(counts.get(k, 0)),
             "geometry": list(s.geometry_types), "large": s.large,
             "url": url_for("api.layer", kind=k), "grid_url": url_for("api.layer_grid", kind=k) if s.is_point else None}
            for k, s in LAYERS.items()
        ]
    })


@bp.get("/layers/<kind>")
def layer(kind: str):
    """Features of a kind as GeoJSON, filtered and paged (``limit``, ``offset``, ``next``)."""
    _kind(kind)
    cfg = current_app.config
    limit = int_param("limit", cfg["API_DEFAULT_LIMIT"], lo=0, hi=cfg["API_MAX_LIMIT"])
    offset = int_param("offset", 0, lo=0, hi=10**9)
    filters, night = request_filters()
    page, total = get_viewer().page(kind, filters, limit=limit, offset=offset, night=night)
    links = []
    if offset + limit < total and limit > 0:
        args = request.args.to_dict(flat=False)
        args["offset"] = [str(offset + limit)]
        args["limit"] = [str(limit)]
        links.append({"rel": "next", "href": url_for("api.layer", kind=kind, **args)})
    body = geojson(page, extra={"numberMatched": int(total), "numberReturned": len(page),
                                "links": links, "filters": filters.describe()})
    body["next"] = links[0]["href"] if links else None
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/geo+json")


@bp.get("/geocode")
def geocode_address():
    """One typed address placed on the stored register (``q``), as a FeatureCollection of one
    feature with ``precision``, ``score``, ``label``… (``layers.geocode.geocode``); the register
    holds public addresses, so every role that sees the map may ask."""
    from geo_app.geocoding import register_index
    from layers.geocode import geocode

    q = (request.args.get("q") or "").strip()
    if not q:
        raise ParameterError("q: give an address to look up, e.g. q=12 rue Foch.", "q")
    if len(q) > 200:
        raise ParameterError("q is too long (200 characters at most).", "q")
    ws = get_viewer().workspace  # the register is public data: no role rule applies
    out = geocode([q], register_index(ws.home, store=ws.store))
    return Response(json.dumps(geojson(out), ensure_ascii=False), mimetype="application/geo+json")


@bp.get("/reverse")
def reverse_address():
    """The register address and the street nearest a point (``lat``, ``lon`` in degrees,
    WGS84; ``radius`` in metres, 1 to 500, default 50), as a FeatureCollection of one feature:
    the point asked, with ``label``, ``number``, ``street``, ``distance``, ``street_distance``…
    (``layers.geocode.reverse_geocode``; ``null`` values when nothing is within ``radius``).
    Every role that sees the map may ask: the register is public data."""
    lat = float_param("lat", lo=-90, hi=90, unit="degrees")
    lon = float_param("lon", lo=-180, hi=180, unit="degrees")
    radius = float_param("radius", lo=1, hi=500, default=50.0, unit="metres")
    out = get_viewer().reverse(lon, lat, radius=radius)
    return Response(json.dumps(geojson(out, extra={"radius": radius}), ensure_ascii=False),
                    mimetype="application/geo+json")


@bp.get("/layers/<kind>/grid")
def layer_grid(kind: str):
    """Counts of a point kind per cell over ``bbox`` (display aggregate for zoomed-out views)."""
    _kind(kind)
    cells = int_param("cells", 48, lo=2, hi=200)
    filters, night = request_filters()
    grid = get_viewer().grid(kind, filters, cells=cells, night=night)
    body = geojson(grid, precision=6, extra={"cell_m": grid.attrs.get("cell_m"), "total": int(grid["n"].sum())})
    return Response(json.dumps(body), mimetype="application/geo+json")


@bp.get("/hotspots")
def hotspots():
    """A hotspot method's cells (``method`` = gistar, kde, counts or lisa) as GeoJSON."""
    method = request.args.get("method", "gistar")
    if method not in HOTSPOT_METHODS:
        raise ParameterError(f"method must be one of {', '.join(HOTSPOT_METHODS)}, got '{method}'.", "method")
    params = {}
    if request.args.get("cell_size"):
        params["cell_size"] = float(int_param("cell_size", 0, lo=10, hi=5000))
    filters, night = request_filters()
    viewer = get_viewer()

    def body() -> bytes:
        result = viewer.analysis(method, filters, night=night, **params)
        attrs = {k: _jsonable(v) if not isinstance(v, (dict, list, tuple)) else v for k, v in result.attrs.items()}
        return json.dumps(geojson(result, extra={"method": method, "parameters": _safe(attrs)}),
                          default=str).encode()

    # the same cells for every account of these rights: serialized once per store version (a
    # refusal raises inside and is never cached)
    key = (method, filters, night, tuple(sorted(params.items())))
    return Response(viewer.cached("api_hotspots", key, body), mimetype="application/geo+json")


#: the choices of ``GET /api/backtest`` (``geo-app backtest``'s options)
BACKTEST_METHODS = {"grid": ("previous", "kde", "gistar", "prospective"), "streets": ("previous", "gistar")}
BACKTEST_PERIODS = ("day", "week", "month", "quarter", "year")


def _coverages() -> tuple[float, ...]:
    """``coverage`` of the query string, repeatable or comma-separated shares in (0, 1)."""
    raw = [v.strip() for arg in request.args.getlist("coverage") for v in arg.split(",") if v.strip()]
    if not raw:
        return (0.01, 0.05, 0.10)
    if len(raw) > 10:
        raise ParameterError("coverage: give at most 10 shares of the area.", "coverage")
    out = []
    for v in raw:
        try:
            c = float(v)
        except ValueError:
            c = math.nan
        if not (math.isfinite(c) and 0 < c < 1):
            raise ParameterError(f"coverage must be a share of the area between 0 and 1 (e.g. 0.05), got '{v}'.",
                                 "coverage")
        out.append(c)
    return tuple(dict.fromkeys(out))


@bp.get("/backtest")
def backtest():
    """The rolling-origin backtest of ``geo-app backtest`` as JSON: per method and coverage the
    mean hit rate, PAI, PEI and RRI over the test periods, on grid cells (``unit=grid``) or
    street segments (``unit=streets``)."""
    unit = request.args.get("unit") or "grid"
    if unit not in BACKTEST_METHODS:
        raise ParameterError(f"unit must be grid or streets, got '{unit}'.", "unit")
    methods = tuple(dict.fromkeys(v.strip() for arg in request.args.getlist("method")
                                  for v in arg.split(",") if v.strip()))
    bad = [m for m in methods if m not in BACKTEST_METHODS[unit]]
    if bad:
        raise ParameterError(f"method must be among {', '.join(BACKTEST_METHODS[unit])} for unit={unit}, "
                             f"got '{bad[0]}'.", "method")
    period = request.args.get("period") or "month"
    if period not in BACKTEST_PERIODS:
        raise ParameterError(f"period must be one of {', '.join(BACKTEST_PERIODS)}, got '{period}'.", "period")
    params = {"coverages": _coverages(), "methods": methods or None, "period": period,
              "min_history": int_param("min_history", 3, lo=1, hi=120)}
    if request.args.get("cell_size"):
        if unit != "grid":
            raise ParameterError("cell_size applies to unit=grid only.", "cell_size")
        params["cell_size"] = float(int_param("cell_size", 0, lo=10, hi=5000))
    filters, _night = request_filters(with_bbox=False)
    viewer = get_viewer()

    def body() -> bytes:
        out = viewer.backtest(filters, unit=unit, **params)
        meta = _safe(out.attrs.get("vigie", {}))
        rows = [{k: _jsonable(v) for k, v in r.items()} for r in out.to_dict("records")]
        return json.dumps({"unit": unit, "rows": rows, "parameters": meta}, default=str).encode()

    key = (unit, filters, tuple(sorted((k, v) for k, v in params.items())))
    return Response(viewer.cached("api_backtest", key, body), mimetype="application/json")


def _safe(d):
    try:
        json.dumps(d, default=str)
        return json.loads(json.dumps(d, default=str))
    except (TypeError, ValueError):
        return {}


@bp.get("/hotspots/areas")
def hotspot_areas():
    """Hotspot areas (merged significant hot cells, stable ``hotspot_id``) as GeoJSON."""
    filters, night = request_filters()
    areas = get_viewer().hotspot_areas(filters, night=night)
    body = geojson(areas, extra={"parameters": _safe(dict(areas.attrs))})
    return Response(json.dumps(body, default=str), mimetype="application/geo+json")


@bp.get("/map/<key>")
def map_layer(key: str):
    """A hidden dashboard layer (``kde``, ``emerging``, ``proposals``) computed on demand for the
    filters, as the map draws it: features with an escaped ``_popup`` and a ``_style``, the
    layer's ``style``, ``point`` style and ``legend``. ``sensitive=1`` (proposals, police
    only, audited) lets the proposals use the sensitive categories too."""
    from geo_app.mapping import lazy_features
    from geo_app.views.i18n import current_lang

    filters, night = request_filters(with_bbox=False)
    gdf = get_viewer().lazy_layer(key, filters, night=night, include_sensitive=sensitive_param())
    body = lazy_features(key, gdf, current_lang())
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/geo+json")


@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI 3 description."""
    return jsonify(openapi_document(current_app))


