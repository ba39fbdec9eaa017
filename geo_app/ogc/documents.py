"""The OGC API – Features documents other than items: landing page, conformance, collections,
queryables and the OpenAPI 3.0 description (no Flask: URLs come from a ``url(path, **query)``
function the web layer passes in).
"""

from __future__ import annotations

from geo_app.ogc.collections import Collection, collections_for, queryable_types
from geo_app.ogc.cql import CQL2_CONFORMANCE
from geo_app.ogc.params import CRS84, DEFAULT_LIMIT, MAX_LIMIT, crs_uri

__all__ = ["CONFORMANCE", "GEOJSON", "OPENAPI", "collection_doc", "collections_doc", "conformance_doc",
           "landing_doc", "openapi_doc", "queryables_doc", "supported_crs_uris"]

GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
JSON = "application/json"
HTML = "text/html"
SCHEMA = "application/schema+json"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    *CQL2_CONFORMANCE,
]


def supported_crs_uris(metric_epsg: int | None) -> list[str]:
    return [CRS84, crs_uri(4326)] + ([crs_uri(metric_epsg)] if metric_epsg else [])


def _link(href, rel, type_, title=None):
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def _self_links(url, path, fmt, title):
    """``self`` in the format answered and ``alternate`` in the other."""
    other = "html" if fmt == "json" else "json"
    types = {"json": JSON, "html": HTML}
    return [_link(url(path, f=fmt), "self", types[fmt], title),
            _link(url(path, f=other), "alternate", types[other], f"{title} ({other.upper()})")]


def landing_doc(url, *, fmt: str = "json", title: str = "Vigie") -> dict:
    return {
        "title": f"{title} — OGC API – Features",
        "description": "Layers, incidents and hotspot results of a CLSPD deployment, cut to your role.",
        "links": [
            *_self_links(url, "", fmt, "This document"),
            _link(url("/api"), "service-desc", OPENAPI, "The API definition (OpenAPI 3.0, JSON)"),
            _link(url("/api", f="html"), "service-doc", HTML, "The API documentation"),
            _link(url("/conformance"), "conformance", JSON, "Conformance classes"),
            _link(url("/conformance"), OGC_REL + "conformance", JSON, "Conformance classes"),
            _link(url("/collections"), "data", JSON, "Collections"),
            _link(url("/collections"), OGC_REL + "data", JSON, "Collections"),
        ],
    }


def conformance_doc() -> dict:
    return {"conformsTo": list(CONFORMANCE)}


def collection_doc(c: Collection, viewer, url, *, fmt: str = "json") -> dict:
    base = f"/collections/{c.id}"
    extent = viewer.extent()  # the territory; a context layer's own bounds when it has features
    if c.source == "layer":
        frame = viewer.context(c.kind)
        if len(frame) and frame.geometry.notna().any():
            extent = tuple(float(v) for v in frame.total_bounds)
    metric = viewer.settings.analysis_crs
    doc = {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": supported_crs_uris(metric),
        "storageCrs": CRS84,
        "links": [
            *_self_links(url, base, fmt, c.title),
            _link(url(base + "/items"), "items", GEOJSON, f"{c.title} (GeoJSON)"),
            _link(url(base + "/items", f="html"), "items", HTML, f"{c.title} (HTML)"),
            _link(url(base + "/queryables"), OGC_REL + "queryables", SCHEMA, "Queryables"),
            _link(url(base + "/queryables"), "describedby", SCHEMA, "Schema of the features"),
        ],
    }
    if extent:
        doc["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84}}
    return doc


def collections_doc(viewer, url, *, fmt: str = "json") -> dict:
    return {
        "links": _self_links(url, "/collections", fmt, "Collections"),
        "collections": [collection_doc(c, viewer, url) for c in collections_for(viewer)],
        "crs": supported_crs_uris(viewer.settings.analysis_crs),
    }


def queryables_doc(c: Collection, viewer, url) -> dict:
    props = {}
    for name, (typ, fmt) in queryable_types(c, viewer).items():
        if name == "fid" and c.id_column == "fid":
            continue
        p = {"title": name, "type": typ}
        if fmt:
            p["format"] = fmt
        props[name] = p
    geom = {"point": "https://geojson.org/schema/Point.json",
            "line": "https://geojson.org/schema/LineString.json",
            "polygon": "https://geojson.org/schema/Polygon.json"}[c.geometry_type]
    props["geometry"] = {"title": "geometry", "format": "geometry-" + c.geometry_type, "$ref": geom}
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url(f"/collections/{c.id}/queryables"),
        "type": "object",
        "title": c.title,
        "properties": props,
        "additionalProperties": False,
    }


# ------------------------------------------------------------------------------------------
# OpenAPI 3.0


def _qp(name, description, schema, *, style=None, explode=None):
    p = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
    if style:
        p["style"] = style
    if explode is not None:
        p["explode"] = explode
    return p


def _params(metric: int | None) -> dict:
    crs_enum = {"type": "string", "enum": supported_crs_uris(metric)}
    return {
        "f": _qp("f", "answer format (default: from the Accept header, else JSON)", {"type": "string", "enum": ["json", "html"]}),
        "limit": _qp("limit", f"features per page (1..{MAX_LIMIT}, default {DEFAULT_LIMIT})",
                     {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        "bbox": _qp("bbox", "minx,miny,maxx,maxy in bbox-crs (default CRS84: lon/lat degrees)",
                    {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                    style="form", explode=False),
        "bbox-crs": _qp("bbox-crs", "CRS of bbox (default CRS84)", crs_enum),
        "crs": _qp("crs", "CRS of the answer's geometries (default CRS84); sent back in Content-Crs", crs_enum),
        "datetime": _qp("datetime", "RFC 3339 instant or interval a/b (.. open); incidents only (occurred_from)",
                        {"type": "string"}),
        "filter": _qp("filter", "CQL2 filter (text or JSON, see filter-lang) over the queryables", {"type": "string"}),
        "filter-lang": _qp("filter-lang", "language of filter (default cql2-text)",
                           {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}),
        "filter-crs": _qp("filter-crs", "CRS of geometry literals in filter (default CRS84)", crs_enum),
        "sortby": _qp("sortby", "properties to sort by, comma-separated, '-' for descending", {"type": "string"}),
        "cursor": _qp("cursor", "where the page starts (as written in a next link)", {"type": "string"}),
    }


def openapi_doc(viewer, url) -> dict:
    """The OpenAPI 3.0.3 document of ``/ogc`` for the account (its collections as an enum)."""
    metric = viewer.settings.analysis_crs
    P = _params(metric)
    ids = [c.id for c in collections_for(viewer)]
    cid = {"name": "collectionId", "in": "path", "required": True, "description": "collection id",
           "schema": {"type": "string", "enum": ids or ["none"]}}
    fid = {"name": "featureId", "in": "path", "required": True, "description": "feature id",
           "schema": {"type": "string"}}
    err = {"description": "bad parameter", "content": {JSON: {"schema": {"$ref": "#/components/schemas/Exception"}}}}
    nf = {"description": "unknown or not readable with your role", "content": err["content"]}
    ok_json = {"description": "OK", "content": {JSON: {"schema": {"type": "object"}}, HTML: {"schema": {"type": "string"}}}}
    fc = {"description": "a page of features", "headers": {"Content-Crs": {"schema": {"type": "string"}}},
          "content": {GEOJSON: {"schema": {"$ref": "#/components/schemas/FeatureCollection"}},
                      HTML: {"schema": {"type": "string"}}}}

    def get(op, summary, params, responses):
        return {"get": {"operationId": op, "summary": summary, "parameters": params,
                        "responses": {**responses, "400": err}}}

    return {
        "openapi": "3.0.3",
        "info": {"title": "Vigie — OGC API – Features", "version": "1.0.0",
                 "description": "Layers, incidents and hotspot results of a CLSPD deployment, cut to the "
                                "caller's role. Authenticate with HTTP Basic (an account or an API token as "
                                "the password) or Authorization: Bearer <token>."},
        "servers": [{"url": url("")}],
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                                "bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Exception": {"type": "object", "required": ["code"], "properties": {
                    "code": {"type": "string"}, "description": {"type": "string"}, "param": {"type": "string", "nullable": True}}},
                "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": {"type": "object"}},
                    "numberMatched": {"type": "integer", "minimum": 0},
                    "numberReturned": {"type": "integer", "minimum": 0},
                    "timeStamp": {"type": "string", "format": "date-time"},
                    "links": {"type": "array", "items": {"type": "object"}}}},
            },
        },
        "security": [{"basic": []}, {"bearer": []}],
        "paths": {
            "/": get("getLandingPage", "Landing page", [P["f"]], {"200": ok_json}),
            "/conformance": get("getConformance", "Conformance classes", [P["f"]], {"200": ok_json}),
            "/api": get("getAPI", "This document", [P["f"]], {"200": {"description": "OpenAPI 3.0",
                        "content": {OPENAPI: {"schema": {"type": "object"}}, HTML: {"schema": {"type": "string"}}}}}),
            "/collections": get("getCollections", "The collections your role may read", [P["f"]], {"200": ok_json}),
            "/collections/{collectionId}": get("describeCollection", "One collection", [cid, P["f"]],
                                               {"200": ok_json, "404": nf}),
            "/collections/{collectionId}/queryables": get(
                "getQueryables", "Queryable properties (JSON Schema)", [cid, P["f"]],
                {"200": {"description": "JSON Schema", "content": {SCHEMA: {"schema": {"type": "object"}},
                                                                   HTML: {"schema": {"type": "string"}}}}, "404": nf}),
            "/collections/{collectionId}/items": get(
                "getFeatures", "Features, filtered, sorted and paged",
                [cid] + [P[n] for n in ("limit", "bbox", "bbox-crs", "datetime", "crs", "filter", "filter-lang",
                                        "filter-crs", "sortby", "cursor", "f")],
                {"200": fc, "404": nf}),
            "/collections/{collectionId}/items/{featureId}": get(
                "getFeature", "One feature", [cid, fid, P["crs"], P["f"]],
                {"200": {"description": "a feature", "content": {GEOJSON: {"schema": {"type": "object"}},
                                                                 HTML: {"schema": {"type": "string"}}}}, "404": nf}),
        },
    }
