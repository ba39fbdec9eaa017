"""The OpenAPI 3 document of ``/api`` (written here, served at ``/api/openapi.json``).

A test checks that every ``/api`` route of the app is described and that the document is a
valid OpenAPI 3.0 structure.
"""

from __future__ import annotations

from layers.registry import LAYERS

__all__ = ["openapi_document"]

_P = {
    "bbox": ("bbox", "lon/lat box minx,miny,maxx,maxy (degrees, EPSG:4326)", "string", "3.85,43.58,3.92,43.63"),
    "from": ("from", "start date YYYY-MM-DD (local time, inclusive)", "string", "2024-01-01"),
    "to": ("to", "end date YYYY-MM-DD (local time, inclusive of the whole day)", "string", "2024-06-30"),
    "category": ("category", "category or group codes of the taxonomy, comma-separated or repeated", "string", "theft,alcohol"),
    "zac": ("zac", "ZAC names; incidents inside those ZAC perimeters", "string", None),
    "hours": ("hours", "local hours 0..23, lists and ranges (22-5 wraps around midnight)", "string", "22-5"),
    "weekdays": ("weekdays", "local weekdays 0 (Monday) .. 6 (Sunday), lists and ranges", "string", "4-6"),
    "night": ("night", "1: only incidents that happened in the dark (sun below civil twilight)", "string", "1"),
    "limit": ("limit", "page size (0 gives only numberMatched; default 1000, max 10000)", "integer", 100),
    "offset": ("offset", "rows to skip (paging; follow the `next` link)", "integer", 0),
    "cells": ("cells", "grid columns across the bbox (2..200, default 48)", "integer", 48),
    "method": ("method", "hotspot method: gistar (Getis-Ord Gi* with FDR), kde, counts or lisa", "string", "gistar"),
    "sensitive": ("sensitive", ("proposals only: 1 (or true) to let the proposals use the sensitive "
                                "categories too; police role only (403 otherwise), audited; default 0"),
                  "string", "0"),
    "cell_size": ("cell_size", "grid cell size in metres (default: automatic, about 50 cells across)", "integer", None),
}


def _param(name: str) -> dict:
    pname, desc, typ, example = _P[name]
    p = {"name": pname, "in": "query", "required": False, "description": desc, "schema": {"type": typ}}
    if name == "method":
        p["schema"]["enum"] = ["gistar", "kde", "counts", "lisa"]
    if name == "sensitive":
        p["schema"]["enum"] = ["0", "1", "false", "true"]
    if example is not None:
        p["example"] = example
    return p


_FILTERS = ["bbox", "from", "to", "category", "zac", "hours", "weekdays", "night"]
_ERRORS = {
    "400": {"description": "bad parameter", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "404": {"description": "unknown kind or resource", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}
_GEOJSON = {"application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}}


def openapi_document(app=None) -> dict:
    """The OpenAPI 3.0.3 document of Vigie's API."""
    kind_param = {"name": "kind", "in": "path", "required": True, "description": "layer kind",
                  "schema": {"type": "string", "enum": list(LAYERS)}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Vigie API",
            "version": "0.1.0",
            "description": "Layers, incidents and hotspot results of a CLSPD deployment. Coordinates "
                           "are lon/lat (EPSG:4326, RFC 7946). Every filter has the same meaning as on "
                           "the pages. Simulated incidents carry simulated=true.",
        },
        "paths": {
            "/api/layers": {"get": {
                "summary": "Layer kinds with their feature counts",
                "operationId": "listLayers",
                "responses": {"200": {"description": "kinds", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"layers": {"type": "array", "items": {"type": "object"}}}}}}}},
            }},
            "/api/layers/{kind}": {"get": {
                "summary": "Features of a kind as GeoJSON, filtered and paged",
                "operationId": "getLayer",
                "parameters": [kind_param] + [_param(p) for p in _FILTERS + ["limit", "offset"]],
                "responses": {"200": {"description": "FeatureCollection with numberMatched, numberReturned and a next link",
                                      "content": _GEOJSON}, **_ERRORS},
            }},
            "/api/layers/{kind}/grid": {"get": {
                "summary": "Counts of a point kind per grid cell over the bbox (display aggregate)",
                "operationId": "getLayerGrid",
                "parameters": [kind_param] + [_param(p) for p in _FILTERS + ["cells"]],
                "responses": {"200": {"description": "cells with n (count); cell_m gives the cell width in metres",
                                      "content": _GEOJSON}, **_ERRORS},
            }},
            "/api/hotspots": {"get": {
                "summary": "Hotspot statistics per grid cell",
                "operationId": "getHotspots",
                "parameters": [_param(p) for p in ["method", "cell_size"] + _FILTERS],
                "responses": {"200": {"description": "cells with the method's columns (gistar: z, p, gi_bin…; "
                                                     "kde: density in incidents per km²); automatic choices in parameters",
                                      "content": _GEOJSON}, **_ERRORS},
            }},
            "/api/hotspots/areas": {"get": {
                "summary": "Hotspot areas: adjacent significant hot cells merged, with a stable hotspot_id",
                "operationId": "getHotspotAreas",
                "parameters": [_param(p) for p in _FILTERS],
                "responses": {"200": {"description": "areas with hotspot_id, n, area_km2, status", "content": _GEOJSON}, **_ERRORS},
            }},
            "/api/map/{key}": {"get": {
                "summary": "A hidden dashboard layer computed on demand (kde, emerging, proposals), ready to draw",
                "operationId": "getMapLayer",
                "parameters": [{"name": "key", "in": "path", "required": True,
                                "schema": {"type": "string", "enum": ["kde", "emerging", "proposals"]}}]
                              + [_param(p) for p in _FILTERS if p != "bbox"] + [_param("sensitive")],
                "responses": {"200": {"description": "features with an escaped _popup and a _style; the layer's "
                                                     "style, point style and legend", "content": _GEOJSON}, **_ERRORS,
                              "403": {"description": "sensitive=1 asked by a role other than police",
                                      "content": _ERRORS["400"]["content"]}},
            }},
            "/api/backtest": {"get": {
                "summary": "Rolling-origin backtest of the hotspot methods on grid cells or street segments",
                "operationId": "getBacktest",
                "parameters": [
                    {"name": "unit", "in": "query", "required": False, "description": "grid (default) or streets",
                     "schema": {"type": "string", "enum": ["grid", "streets"]}},
                    {"name": "coverage", "in": "query", "required": False,
                     "description": "share of the study area flagged, repeatable (default 0.01, 0.05, 0.10)",
                     "schema": {"type": "number", "minimum": 0, "maximum": 1, "exclusiveMinimum": True,
                                "exclusiveMaximum": True}},
                    {"name": "method", "in": "query", "required": False,
                     "description": "repeatable; grid: previous, kde, gistar, prospective; streets: previous, gistar",
                     "schema": {"type": "string", "enum": ["previous", "kde", "gistar", "prospective"]}},
                    {"name": "period", "in": "query", "required": False, "description": "time step (default month)",
                     "schema": {"type": "string", "enum": ["day", "week", "month", "quarter", "year"]}},
                    {"name": "min_history", "in": "query", "required": False,
                     "description": "periods before the first forecast (default 3)",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 120}},
                    _param("cell_size")] + [_param(p) for p in _FILTERS if p not in ("bbox", "night")],
                "responses": {"200": {"description": "rows of method, coverage, n_periods, hit_rate, pai, pei, rri "
                                                     "(means over the test periods); automatic choices in parameters",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}, **_ERRORS},
            }},
            "/api/geocode": {"get": {
                "summary": "A typed address placed on the deployment's address register (offline)",
                "operationId": "geocode",
                "parameters": [{"name": "q", "in": "query", "required": True, "description": "the address as typed",
                                "schema": {"type": "string", "maxLength": 200}}],
                "responses": {"200": {"description": "one feature with precision (house, interpolated, street, "
                                                     "intersection, not_found), score 0-100, label, number, "
                                                     "street, street_code, note; no geometry when not found",
                                      "content": _GEOJSON}, **_ERRORS},
            }},
            "/api/reverse": {"get": {
                "summary": "The register address and street nearest a point (offline reverse geocoding)",
                "operationId": "reverse",
                "parameters": [
                    {"name": "lat", "in": "query", "required": True, "description": "latitude, WGS84 degrees",
                     "schema": {"type": "number", "minimum": -90, "maximum": 90}},
                    {"name": "lon", "in": "query", "required": True, "description": "longitude, WGS84 degrees",
                     "schema": {"type": "number", "minimum": -180, "maximum": 180}},
                    {"name": "radius", "in": "query", "required": False, "description": "metres (default 50)",
                     "schema": {"type": "number", "minimum": 1, "maximum": 500}}],
                "responses": {"200": {"description": "one feature at the point asked with label, number, suffix, "
                                                     "street, street_code, postcode, commune, distance and "
                                                     "street_distance in metres (null beyond radius)",
                                      "content": _GEOJSON}, **_ERRORS},
            }},
            "/api/places": {
                "get": {"summary": "Places followed the account may see (a ZAC manager: those touching their ZAC)",
                        "operationId": "getPlaces",
                        "responses": {"200": {"description": "places with place_id, name, owner, status, source, "
                                                             "start_date, zacs", "content": _GEOJSON}, **_ERRORS}},
                "post": {"summary": "Follow a place: from a hotspot area (source=hotspot, ref=hotspot_id), a street "
                                    "segment (source=segment, ref=its position) or a drawn polygon (source=drawn, "
                                    "geometry=GeoJSON in lon/lat); optional name, owner, start_date",
                         "operationId": "createPlace",
                         "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                         "responses": {"200": {"description": "never (201 on success)"},
                                       "201": {"description": "the new place", "content": _GEOJSON}, **_ERRORS}},
            },
            "/api/places/{place_id}": {"get": {
                "summary": "One place with its review status and its actions",
                "operationId": "getPlace",
                "parameters": [{"name": "place_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the place as a feature", "content": _GEOJSON}, **_ERRORS},
            }},
            "/api/places/{place_id}/actions": {
                "get": {"summary": "The actions of a place", "operationId": "getPlaceActions",
                        "parameters": [{"name": "place_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                        "responses": {"200": {"description": "a list of actions",
                                              "content": {"application/json": {"schema": {"type": "array"}}}}, **_ERRORS}},
                "post": {"summary": "Record an action: kind (lighting, cctv, target_hardening, layout, presence, "
                                    "campaign, other), start_date, end_date, status (planned, in_progress, done), "
                                    "partner, cost, categories, night_only, notes, location (a GeoJSON Point or "
                                    "'lon,lat' within 500 m of the place; default the place)",
                         "operationId": "createPlaceAction",
                         "parameters": [{"name": "place_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                         "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                         "responses": {"200": {"description": "never (201 on success)"},
                                       "201": {"description": "the action with its Clarke technique",
                                               "content": {"application/json": {"schema": {"type": "object"}}}},
                                       **_ERRORS}},
            },
            "/api/openapi.json": {"get": {
                "summary": "This document",
                "operationId": "getOpenAPI",
                "responses": {"200": {"description": "OpenAPI 3 document", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string", "example": "ParameterError"},
                "message": {"type": "string"},
                "param": {"type": "string", "nullable": True, "description": "the parameter at fault"}}},
            "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"type": "object"}},
                "numberMatched": {"type": "integer"},
                "numberReturned": {"type": "integer"},
                "next": {"type": "string", "nullable": True}}},
        }},
    }
