"""OGC API – Features under ``/ogc``: what QGIS, ArcGIS and GDAL read as live layers.

Thin views over ``geo_app.ogc``: parse the request, read through the request's viewer (the
role rules of the pages), serialise as JSON/GeoJSON or HTML. Errors are OGC exception bodies
``{"code", "description", "param"}`` with a 4xx status; an unknown query parameter is a 400
naming it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import numpy as np
import pyproj
import shapely
from flask import Blueprint, Response, render_template, request
from pygeofilter import ast as cql_ast
from werkzeug.exceptions import HTTPException

from geo_app.auth import get_viewer
from geo_app.ogc import collections as colls
from geo_app.ogc import documents as docs
from geo_app.ogc.cql import parse_filter
from geo_app.ogc.features import Query, feature_collection, to_feature
from geo_app.ogc.params import (
    CRS84,
    decode_cursor,
    encode_cursor,
    parse_bbox,
    parse_crs,
    parse_datetime,
    parse_limit,
    parse_sortby,
    supported_crs,
)
from layers.errors import ParameterError, VigieError

__all__ = ["bp"]

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

#: query parameters each kind of resource accepts (anything else is a 400)
_COMMON = {"f"}
_ITEMS = {"limit", "bbox", "bbox-crs", "datetime", "crs", "filter", "filter-lang", "filter-crs", "sortby",
          "cursor", *_COMMON}


def _url(path: str, **query) -> str:
    base = request.host_url.rstrip("/") + bp.url_prefix + path
    q = {k: v for k, v in query.items() if v is not None}
    return base + ("?" + urlencode(q) if q else "")


def _format() -> str:
    f = request.args.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise ParameterError(f"f must be json or html, got '{f}'.", "f")
        return f
    best = request.accept_mimetypes.best_match(["application/json", "application/geo+json", "text/html"])
    return "html" if best == "text/html" else "json"


def _check_params(allowed: set[str], extra: set[str] = frozenset()) -> None:
    unknown = [k for k in request.args if k not in allowed and k not in extra]
    if unknown:
        raise ParameterError(f"unknown query parameter '{unknown[0]}'; accepted here: "
                             f"{', '.join(sorted(set(allowed) | set(extra)))}.", unknown[0])


def _json(body: dict, mimetype: str = "application/json", headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), mimetype=mimetype, headers=headers or {})


def _html(title: str, body: dict, **extra) -> Response:
    return Response(render_template("ogc/page.html", title=title, body=body,
                                    pretty=json.dumps(body, ensure_ascii=False, indent=2), **extra),
                    mimetype="text/html")


@bp.errorhandler(VigieError)
def _vigie_error(err: VigieError):
    body = {"code": type(err).__name__, "description": err.message, "param": getattr(err, "param", None)}
    return _json(body), err.status


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    body = {"code": err.name.replace(" ", ""), "description": err.description, "param": None}
    return _json(body), err.code or 500


# ------------------------------------------------------------------------------------------


@bp.get("")
@bp.get("/")
def landing():
    _check_params(_COMMON)
    fmt = _format()
    body = docs.landing_doc(_url, fmt=fmt)
    return _html(body["title"], body) if fmt == "html" else _json(body)


@bp.get("/conformance")
def conformance():
    _check_params(_COMMON)
    body = docs.conformance_doc()
    return _html("Conformance", body) if _format() == "html" else _json(body)


@bp.get("/api")
def openapi():
    _check_params(_COMMON)
    body = docs.openapi_doc(get_viewer(), _url)
    if _format() == "html":
        return _html("OpenAPI", body)
    return _json(body, mimetype=docs.OPENAPI)


@bp.get("/collections")
def collections():
    _check_params(_COMMON)
    fmt = _format()
    body = docs.collections_doc(get_viewer(), _url, fmt=fmt)
    return _html("Collections", body, collections=body["collections"]) if fmt == "html" else _json(body)


@bp.get("/collections/<cid>")
def collection(cid: str):
    _check_params(_COMMON)
    viewer = get_viewer()
    c = colls.get_collection(viewer, cid)
    fmt = _format()
    body = docs.collection_doc(c, viewer, _url, fmt=fmt)
    return _html(c.title, body) if fmt == "html" else _json(body)


@bp.get("/collections/<cid>/queryables")
def queryables(cid: str):
    _check_params(_COMMON)
    viewer = get_viewer()
    c = colls.get_collection(viewer, cid)
    body = docs.queryables_doc(c, viewer, _url)
    return _html(f"{c.title}: queryables", body) if _format() == "html" else _json(body, docs.SCHEMA)


def _to_lonlat(crs):
    if crs.uri == CRS84:
        return lambda g: g
    if crs.lat_first:
        return lambda g: shapely.transform(g, lambda xy: xy[:, ::-1])
    t = pyproj.Transformer.from_crs(crs.crs, 4326, always_xy=True)
    return lambda g: shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _property_filters(types: dict) -> object:
    """``property=value`` query parameters (queryables-query-parameters) as CQL2 equalities."""
    tree = None
    for name, (typ, _fmt) in types.items():
        raw = request.args.get(name)
        if raw is None:
            continue
        value = raw
        try:
            if typ == "integer":
                value = int(raw)
            elif typ == "number":
                value = float(raw)
            elif typ == "boolean":
                value = {"true": True, "false": False}[raw.lower()]
        except (ValueError, KeyError):
            raise ParameterError(f"{name} must be a {typ}, got '{raw}'.", name) from None
        node = cql_ast.Equal(cql_ast.Attribute(name), value)
        tree = node if tree is None else cql_ast.And(tree, node)
    return tree


def _content_crs(crs) -> dict:
    return {"Content-Crs": f"<{crs.uri}>"}


@bp.get("/collections/<cid>/items")
def items(cid: str):
    viewer = get_viewer()
    c = colls.get_collection(viewer, cid)
    types = colls.queryable_types(c, viewer)
    _check_params(_ITEMS, set(types))
    fmt = _format()
    crs_map = supported_crs(viewer.settings.analysis_crs)
    crs = parse_crs(request.args.get("crs"), crs_map, param="crs")
    bbox = parse_bbox(request.args.get("bbox"), parse_crs(request.args.get("bbox-crs"), crs_map, param="bbox-crs"))
    tree = parse_filter(request.args.get("filter"), request.args.get("filter-lang"))
    extra = _property_filters(types)
    if extra is not None:
        tree = extra if tree is None else cql_ast.And(tree, extra)
    stored = c.source in ("layer", "incidents")
    q = Query(
        id_column=c.id_column, properties=frozenset(types), limit=parse_limit(request.args.get("limit")),
        cursor=decode_cursor(request.args.get("cursor")), bbox=bbox, bbox_done=stored,
        period=parse_datetime(request.args.get("datetime")), temporal=c.temporal, period_done=stored,
        tree=tree, to_lonlat=_to_lonlat(parse_crs(request.args.get("filter-crs"), crs_map, param="filter-crs")),
        sortby=parse_sortby(request.args.get("sortby"), set(types) | {c.id_column}),
    )
    page, matched, nxt = colls.read(c, viewer, q.pick, bbox=bbox, period=q.period)
    args = {k: v for k, v in request.args.items() if k not in ("cursor", "f")}
    path = f"/collections/{c.id}/items"
    other = "html" if fmt == "json" else "json"
    types_ = {"json": docs.GEOJSON, "html": docs.HTML}
    links = [
        {"href": _url(path, **args, f=fmt, cursor=request.args.get("cursor")), "rel": "self", "type": types_[fmt]},
        {"href": _url(path, **args, f=other, cursor=request.args.get("cursor")), "rel": "alternate",
         "type": types_[other]},
        {"href": _url(f"/collections/{c.id}"), "rel": "collection", "type": docs.JSON},
    ]
    if nxt is not None:
        links.append({"href": _url(path, **args, cursor=encode_cursor(nxt), f=fmt if fmt == "html" else None),
                      "rel": "next", "type": types_[fmt], "title": "next page"})
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    body = feature_collection(page, c.id_column, crs, matched=matched, links=links, timestamp=stamp)
    if fmt == "html":
        resp = _html(f"{c.title}: features", body, features=body["features"])
        resp.headers.update(_content_crs(crs))
        return resp
    return _json(body, docs.GEOJSON, _content_crs(crs))


@bp.get("/collections/<cid>/items/<fid>")
def item(cid: str, fid: str):
    viewer = get_viewer()
    c = colls.get_collection(viewer, cid)
    _check_params({"crs", *_COMMON})
    fmt = _format()
    crs = parse_crs(request.args.get("crs"), supported_crs(viewer.settings.analysis_crs), param="crs")
    types = colls.queryable_types(c, viewer)
    q = Query(id_column=c.id_column, properties=frozenset(types), limit=1, feature_id=str(fid))
    page, matched, _ = colls.read(c, viewer, q.pick)
    if not len(page):
        raise colls.NotFound(f"no feature '{fid}' in collection '{c.id}' (or not readable with your role).")
    body = to_feature(page, c.id_column, crs)
    base = f"/collections/{c.id}/items/{fid}"
    other = "html" if fmt == "json" else "json"
    types_ = {"json": docs.GEOJSON, "html": docs.HTML}
    body["links"] = [
        {"href": _url(base, f=fmt), "rel": "self", "type": types_[fmt]},
        {"href": _url(base, f=other), "rel": "alternate", "type": types_[other]},
        {"href": _url(f"/collections/{c.id}"), "rel": "collection", "type": docs.JSON},
    ]
    if fmt == "html":
        resp = _html(f"{c.title}: {fid}", body, features=[body])
    else:
        resp = _json(body, docs.GEOJSON)
    resp.headers.update(_content_crs(crs))
    return resp
