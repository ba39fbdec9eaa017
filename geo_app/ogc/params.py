"""Parsing of the OGC API – Features query parameters (no Flask).

Every parser takes the raw string (``None`` when absent) and returns a plain value, or raises
``layers.errors.ParameterError`` naming the parameter, which the web layer turns into a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass

import pandas as pd
from pyproj import CRS, Transformer

from layers.errors import ParameterError

__all__ = [
    "CRS84",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Cursor",
    "OgcCrs",
    "crs_uri",
    "decode_cursor",
    "encode_cursor",
    "parse_bbox",
    "parse_crs",
    "parse_datetime",
    "parse_limit",
    "parse_sortby",
]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10000


def crs_uri(epsg: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{int(epsg)}"


@dataclass(frozen=True)
class OgcCrs:
    """A CRS a client may ask for: its URI, the pyproj CRS, and whether its axis order is
    latitude first (EPSG:4326 as the EPSG register defines it; CRS84 is longitude first)."""

    uri: str
    crs: CRS
    lat_first: bool

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        if self.lat_first:
            x, y = y, x
        if self.uri == CRS84 or self.crs.equals(CRS.from_epsg(4326)):
            return x, y
        return Transformer.from_crs(self.crs, 4326, always_xy=True).transform(x, y)


def supported_crs(metric_epsg: int | None) -> dict[str, OgcCrs]:
    """The CRSs of the deployment: CRS84, EPSG:4326 and the metric analysis CRS."""
    out = {
        CRS84: OgcCrs(CRS84, CRS.from_user_input("OGC:CRS84"), False),
        crs_uri(4326): OgcCrs(crs_uri(4326), CRS.from_epsg(4326), True),
    }
    if metric_epsg:
        out[crs_uri(metric_epsg)] = OgcCrs(crs_uri(metric_epsg), CRS.from_epsg(metric_epsg), False)
    return out


def parse_crs(value: str | None, supported: dict[str, OgcCrs], *, param: str) -> OgcCrs:
    """One of ``supported`` (CRS84 when absent); URIs may be given in ``[EPSG:2154]`` safe-CURIE form."""
    if value is None or value.strip() == "":
        return supported[CRS84]
    v = value.strip()
    if v.startswith("[") and v.endswith("]"):
        auth, _, code = v[1:-1].partition(":")
        v = CRS84 if (auth.upper(), code.upper()) == ("OGC", "CRS84") else crs_uri(code) if auth.upper() == "EPSG" and code.isdigit() else v
    if v not in supported:
        raise ParameterError(f"{param} must be one of {', '.join(supported)}, got '{value}'.", param)
    return supported[v]


def parse_limit(value: str | None) -> int:
    """``limit``: 1..MAX_LIMIT, default DEFAULT_LIMIT."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        n = int(value)
    except ValueError:
        raise ParameterError(f"limit must be a whole number between 1 and {MAX_LIMIT}, got '{value}'.", "limit") from None
    if not 1 <= n <= MAX_LIMIT:
        raise ParameterError(f"limit must be between 1 and {MAX_LIMIT}, got {n}.", "limit")
    return n


def parse_bbox(value: str | None, crs: OgcCrs) -> tuple[float, float, float, float] | None:
    """``bbox`` as ``minx,miny,maxx,maxy`` in ``crs`` (``bbox-crs``), returned in lon/lat degrees."""
    if value is None or value.strip() == "":
        return None
    parts = value.split(",")
    if len(parts) == 6:  # 3D box: keep the horizontal part
        parts = [parts[0], parts[1], parts[3], parts[4]]
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise ParameterError(f"bbox must be four numbers minx,miny,maxx,maxy, got '{value}'.", "bbox") from None
    if len(nums) != 4 or not all(math.isfinite(n) for n in nums):
        raise ParameterError(f"bbox must be four finite numbers minx,miny,maxx,maxy, got '{value}'.", "bbox")
    a, b, c, d = nums
    if crs.lat_first:
        a, b, c, d = b, a, d, c
    if b > d:
        raise ParameterError(f"bbox: the lower corner is above the upper one in '{value}'.", "bbox")
    if crs.uri == CRS84 or crs.lat_first:
        if not (-180 <= a <= 180 and -180 <= c <= 180 and -90 <= b <= 90 and -90 <= d <= 90):
            raise ParameterError(f"bbox is outside longitude -180..180, latitude -90..90: '{value}'.", "bbox")
        if a > c:
            raise ParameterError(f"bbox crossing the antimeridian is not supported: '{value}'.", "bbox")
        return a, b, c, d
    if a > c:
        raise ParameterError(f"bbox: the lower corner is right of the upper one in '{value}'.", "bbox")
    t = Transformer.from_crs(crs.crs, 4326, always_xy=True)
    minx, miny, maxx, maxy = t.transform_bounds(a, b, c, d)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise ParameterError(f"bbox is outside the area of {crs.uri}: '{value}'.", "bbox")
    return minx, miny, maxx, maxy


def _instant(text: str, *, end: bool) -> pd.Timestamp | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise ParameterError(f"datetime must be an RFC 3339 date-time or an interval a/b (.. for open), got '{text}'.",
                             "datetime") from None
    if ts is pd.NaT or not 1900 <= ts.year <= 2100:
        raise ParameterError(f"datetime must fall between 1900 and 2100, got '{text}'.", "datetime")
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    date_only = len(text) == 10
    if end:
        return ts + (pd.Timedelta(days=1) if date_only else pd.Timedelta(microseconds=1))
    return ts


def parse_datetime(value: str | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None] | None:
    """``datetime``: an instant or an interval ``start/end`` (``..`` open), both ends included,
    as a half-open pair ``(start, end)`` of UTC timestamps (``start <= t < end``). A time
    without zone is read as UTC; a bare date covers its whole (UTC) day."""
    if value is None or value.strip() == "":
        return None
    if "/" in value:
        a, _, b = value.partition("/")
        if "/" in b:
            raise ParameterError(f"datetime holds more than one '/': '{value}'.", "datetime")
        start, end = _instant(a, end=False), _instant(b, end=True)
        if a.strip() in ("", "..") and b.strip() in ("", ".."):
            return None
    else:
        if value.strip() == "..":
            raise ParameterError("datetime '..' alone is not an instant; use '../..' for no limit.", "datetime")
        start, end = _instant(value, end=False), _instant(value, end=True)
    if start is not None and end is not None and start >= end:
        raise ParameterError(f"datetime: the interval ends before it starts: '{value}'.", "datetime")
    return start, end


def parse_sortby(value: str | None, allowed: set[str]) -> tuple[tuple[str, bool], ...]:
    """``sortby``: ``prop,-prop,+prop`` -> ``((prop, ascending), ...)``; properties checked."""
    if value is None or value.strip() == "":
        return ()
    out = []
    for part in value.split(","):
        part = part.strip()
        asc = not part.startswith("-")
        name = part.lstrip("+-").strip()
        if " " in name:  # "+" decoded as a space by a form-encoded query string
            name = name.strip()
        if name not in allowed:
            raise ParameterError(f"sortby: unknown property '{name}'; sortable: {', '.join(sorted(allowed))}.", "sortby")
        out.append((name, asc))
    return tuple(out)


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after the feature id ``after`` (default order, keyset), or
    at position ``offset`` (with ``sortby``)."""

    after: int | str | None = None
    offset: int = 0


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps({"a": cursor.after, "o": cursor.offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None) -> Cursor:
    if value is None or value == "":
        return Cursor()
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        d = json.loads(raw)
        after, offset = d.get("a"), int(d.get("o", 0))
    except (binascii.Error, ValueError, TypeError, AttributeError, UnicodeDecodeError):
        raise ParameterError("cursor is not one this server wrote: follow the 'next' link as given.", "cursor") from None
    if not isinstance(after, (int, str, type(None))) or isinstance(after, bool) or offset < 0:
        raise ParameterError("cursor is not one this server wrote: follow the 'next' link as given.", "cursor")
    return Cursor(after=after, offset=offset)
