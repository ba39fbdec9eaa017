"""CQL2 filters (OGC API – Features Part 3) as boolean masks over a GeoDataFrame.

The text and JSON encodings are parsed by pygeofilter; its syntax tree is evaluated here into
a NumPy mask over the frame's columns, so the filter runs vectorised on the rows the viewer
has already cut to the account's rights. Operators outside the declared conformance classes
(temporal, array, arithmetic, functions) are refused with a ``ParameterError`` naming
``filter``.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle

from layers.errors import ParameterError

__all__ = ["CQL2_CONFORMANCE", "attribute_names", "filter_mask", "parse_filter"]

CQL2_CONFORMANCE = [
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
]

_LANGS = ("cql2-text", "cql2-json")


def parse_filter(text: str | None, lang: str | None):
    """The pygeofilter syntax tree of ``filter`` in ``filter-lang`` (default cql2-text)."""
    if text is None or text.strip() == "":
        return None
    lang = (lang or "cql2-text").strip()
    if lang not in _LANGS:
        raise ParameterError(f"filter-lang must be one of {', '.join(_LANGS)}, got '{lang}'.", "filter-lang")
    try:
        if lang == "cql2-json":
            from pygeofilter.parsers.cql2_json import parse

            return parse(json.loads(text))
        from pygeofilter.parsers.cql2_text import parse

        return parse(text)
    except Exception as e:  # lark and json raise many kinds; any of them means bad input
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ParameterError(f"filter is not valid {lang}: {first[:200]}", "filter") from None


def _like_regex(pattern: str, wildcard: str, single: str, escape: str, nocase: bool) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == wildcard else "." if c == single else re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.DOTALL | (re.IGNORECASE if nocase else 0))


def _scalar(v):
    if isinstance(v, dt.datetime):
        ts = pd.Timestamp(v.replace(tzinfo=None) - (v.utcoffset() or dt.timedelta()))
        return ts.tz_localize("UTC")
    if isinstance(v, dt.date):
        return pd.Timestamp(v).tz_localize("UTC")
    return v


def _values(series):
    """A column as something comparable with literals (datetimes in UTC)."""
    if isinstance(series, pd.Series) and isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    return series


def _mask(x) -> np.ndarray:
    return np.asarray(pd.Series(x).fillna(False), dtype=bool) if not isinstance(x, np.ndarray) else x.astype(bool)


_SPATIAL = {
    "INTERSECTS": "intersects", "DISJOINT": "disjoint", "CONTAINS": "contains", "WITHIN": "within",
    "TOUCHES": "touches", "CROSSES": "crosses", "OVERLAPS": "overlaps", "EQUALS": "geom_equals",
}


class _MaskEvaluator(Evaluator):
    def __init__(self, frame: gpd.GeoDataFrame, properties: set[str], to_lonlat):
        self.frame = frame
        self.properties = properties
        self.to_lonlat = to_lonlat

    @handle(ast.Not)
    def not_(self, node, sub):
        return ~_mask(sub)

    @handle(ast.And, ast.Or)
    def combination(self, node, lhs, rhs):
        a, b = _mask(lhs), _mask(rhs)
        return a & b if node.op.value == "AND" else a | b

    @handle(ast.Comparison, subclasses=True)
    def comparison(self, node, lhs, rhs):
        lhs, rhs = _values(lhs), _values(rhs)
        op = node.op.value
        try:
            out = {"=": lambda: lhs == rhs, "<>": lambda: lhs != rhs, "<": lambda: lhs < rhs,
                   "<=": lambda: lhs <= rhs, ">": lambda: lhs > rhs, ">=": lambda: lhs >= rhs}[op]()
        except TypeError:
            raise ParameterError(f"filter compares values of different types ({op}).", "filter") from None
        if isinstance(lhs, pd.Series) and op == "<>":
            out = out & lhs.notna()
        return _mask(out) if isinstance(out, (pd.Series, np.ndarray)) else np.full(len(self.frame), bool(out))

    @handle(ast.Between)
    def between(self, node, lhs, low, high):
        lhs = _values(lhs)
        try:
            out = _mask((lhs >= low) & (lhs <= high))
        except TypeError:
            raise ParameterError("filter: BETWEEN bounds do not match the property's type.", "filter") from None
        return ~out & _mask(pd.Series(lhs).notna()) if node.not_ else out

    @handle(ast.Like)
    def like(self, node, lhs):
        if not isinstance(lhs, pd.Series):
            raise ParameterError("filter: LIKE applies to a property.", "filter")
        rx = _like_regex(node.pattern, node.wildcard, node.singlechar, node.escapechar, node.nocase)
        s = lhs.astype("string")
        out = _mask(s.str.match(rx))
        return ~out & _mask(s.notna()) if node.not_ else out

    @handle(ast.In)
    def in_(self, node, lhs, *options):
        if not isinstance(lhs, pd.Series):
            raise ParameterError("filter: IN applies to a property.", "filter")
        out = _mask(_values(lhs).isin([_scalar(o) for o in options]))
        return ~out & _mask(lhs.notna()) if node.not_ else out

    @handle(ast.IsNull)
    def null(self, node, lhs):
        if not isinstance(lhs, pd.Series):
            raise ParameterError("filter: IS NULL applies to a property.", "filter")
        out = _mask(lhs.isna())
        return ~out if node.not_ else out

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial(self, node, lhs, rhs):
        name = node.op.name
        if name not in _SPATIAL:
            raise ParameterError(f"filter: spatial operator {name} is not supported.", "filter")
        if isinstance(lhs, gpd.GeoSeries) and isinstance(rhs, gpd.GeoSeries):
            raise ParameterError("filter: a spatial operator needs one geometry literal.", "filter")
        if isinstance(rhs, gpd.GeoSeries):
            # lit op prop == prop inverse-op lit
            lhs, rhs = rhs, lhs
            name = {"CONTAINS": "WITHIN", "WITHIN": "CONTAINS"}.get(name, name)
        if not isinstance(lhs, gpd.GeoSeries):
            raise ParameterError("filter: a spatial operator needs the geometry property.", "filter")
        return _mask(getattr(lhs, _SPATIAL[name])(rhs))

    @handle(ast.Attribute)
    def attribute(self, node):
        name = node.name
        if name in ("geometry", "geom", self.frame.geometry.name):
            return self.frame.geometry
        if name not in self.properties:
            raise ParameterError(f"filter: unknown property '{name}'; queryables: {', '.join(sorted(self.properties))}.",
                                 "filter")
        return self.frame[name]

    @handle(*values.LITERALS)
    def literal(self, node):
        return _scalar(node)

    @handle(values.Geometry)
    def geometry(self, node):
        try:
            geom = shapely.geometry.shape(node.geometry if hasattr(node, "geometry") else node)
        except Exception:
            raise ParameterError("filter: a geometry literal could not be read.", "filter") from None
        return self.to_lonlat(geom)

    @handle(values.Envelope)
    def envelope(self, node):
        return self.to_lonlat(shapely.box(node.x1, node.y1, node.x2, node.y2))

    @handle(ast.BBox)
    def bbox(self, node, lhs):
        if not isinstance(lhs, gpd.GeoSeries):
            raise ParameterError("filter: BBOX applies to the geometry property.", "filter")
        return _mask(lhs.intersects(self.to_lonlat(shapely.box(node.minx, node.miny, node.maxx, node.maxy))))

    @handle(ast.Include)
    def include(self, node):
        return np.ones(len(self.frame), dtype=bool)

    def adopt_result(self, result):
        return result


def attribute_names(tree) -> set[str]:
    """Names of the properties the parsed filter ``tree`` reads (the geometry's name included
    when a spatial operator reads it)."""
    out, stack = set(), [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Attribute):
            out.add(node.name)
        if isinstance(node, ast.Node):
            stack.extend(node.get_sub_nodes())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return out


def filter_mask(tree, frame: gpd.GeoDataFrame, properties: set[str], *, to_lonlat=lambda g: g) -> np.ndarray:
    """Rows of ``frame`` (EPSG:4326) matching the parsed filter ``tree``.

    ``properties``: the queryable column names (others are a ``ParameterError``);
    ``to_lonlat``: maps a geometry literal from ``filter-crs`` to lon/lat.
    """
    if tree is None:
        return np.ones(len(frame), dtype=bool)
    try:
        out = _MaskEvaluator(frame, properties, to_lonlat).evaluate(tree)
    except ParameterError:
        raise
    except NotImplementedError:
        raise ParameterError(f"filter uses an operator this server does not support ({type(tree).__name__} or "
                             "below): comparison, LIKE, BETWEEN, IN, IS NULL, AND/OR/NOT and S_* spatial "
                             "operators are supported.", "filter") from None
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise ParameterError(f"filter could not be applied: {str(e)[:200]}", "filter") from None
    if isinstance(out, (bool, np.bool_)):
        return np.full(len(frame), bool(out))
    if not isinstance(out, (np.ndarray, pd.Series)) or len(out) != len(frame):
        raise ParameterError("filter must be a condition (true or false for each feature).", "filter")
    return _mask(out)
