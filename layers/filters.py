"""The one set of incident filters shared by the store, the analyses, the API and the pages.

``Filters`` is a frozen value; ``parse_filters`` builds it from strings (query string or CLI
options) and raises ``ParameterError`` naming the bad field; ``apply_filters`` applies it to a
GeoDataFrame in memory. A store backend pushes what it can (bbox, period, categories) into its
query and calls ``apply_filters`` for the rest, so every caller gets the same semantics:

- ``bbox``: lon/lat degrees, features whose point lies inside (edges included);
- ``start`` / ``end``: tz-aware instants, ``start <= occurred_from < end``;
- ``categories``: taxonomy codes;
- ``zac``: ZAC names; incidents inside any of those ZAC polygons;
- ``hours``: local hours 0..23 of ``occurred_from`` in the deployment's time zone;
- ``weekdays``: local weekdays 0 (Monday) .. 6 (Sunday).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd

from layers.columns import filter_mask, frame_columns
from layers.errors import ParameterError
from layers.settings import parse_bbox

__all__ = ["Filters", "parse_filters", "parse_date", "parse_period", "apply_filters"]


@dataclass(frozen=True)
class Filters:
    """Filters on incidents (see the module docstring for their semantics)."""

    bbox: tuple[float, float, float, float] | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    categories: tuple[str, ...] | None = None
    zac: tuple[str, ...] | None = None
    hours: tuple[int, ...] | None = None
    weekdays: tuple[int, ...] | None = None

    def replace(self, **changes) -> "Filters":
        return replace(self, **changes)

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)

    def describe(self) -> dict:
        """A JSON-friendly description (for provenance and the UI)."""
        out = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            if v is None:
                continue
            out[name] = v.isoformat() if isinstance(v, pd.Timestamp) else list(v) if isinstance(v, tuple) else v
        return out


def parse_date(value: str, *, param: str, tz: str | ZoneInfo) -> pd.Timestamp:
    """Parse ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` as a local time in ``tz`` (tz-aware)."""
    tzinfo = ZoneInfo(tz) if isinstance(tz, str) else tz
    try:
        ts = pd.Timestamp(dt.datetime.fromisoformat(str(value).strip()))
    except ValueError:
        raise ParameterError(
            f"{param} must be a date as YYYY-MM-DD (or YYYY-MM-DDTHH:MM), got '{value}'.", param
        ) from None
    if not 1900 <= ts.year <= 2100:  # also keeps every bound inside datetime64[ns]
        raise ParameterError(f"{param} must be a date between 1900 and 2100, got '{value}'.", param)
    if ts.tzinfo is None:
        ts = ts.tz_localize(tzinfo, ambiguous=False, nonexistent="shift_forward")
    return ts


def parse_period(start: str | None, end: str | None, *, tz: str | ZoneInfo):
    """Parse a ``from``/``to`` pair of local dates. ``to`` is inclusive of its whole day when it
    is a bare date (``--to 2024-06-30`` includes the 30th). Returns ``(start, end)`` as tz-aware
    timestamps with ``end`` exclusive."""
    s = parse_date(start, param="from", tz=tz) if start else None
    e = None
    if end:
        e = parse_date(end, param="to", tz=tz)
        if len(str(end).strip()) == 10:
            e = (e.tz_localize(None) + pd.Timedelta(days=1)).tz_localize(
                e.tzinfo, ambiguous=False, nonexistent="shift_forward"
            )
    if s is not None and e is not None and e <= s:
        raise ParameterError(f"the period ends ({end}) before it starts ({start}).", "to")
    return s, e


def _int_list(value, *, param: str, lo: int, hi: int) -> tuple[int, ...] | None:
    if value is None or value == "" or value == []:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for item in items:
        text = str(item).strip()
        if "-" in text and not text.startswith("-"):
            a, _, b = text.partition("-")
            try:
                a, b = int(a), int(b)
            except ValueError:
                raise ParameterError(f"{param}: '{text}' is not a range like 18-23.", param) from None
            rng = range(a, b + 1) if a <= b else [*range(a, hi + 1), *range(lo, b + 1)]
            out.extend(rng)
            continue
        try:
            out.append(int(text))
        except ValueError:
            raise ParameterError(
                f"{param} must be whole numbers between {lo} and {hi}, got '{text}'.", param
            ) from None
    for v in out:
        if not lo <= v <= hi:
            raise ParameterError(f"{param} must be between {lo} and {hi}, got {v}.", param)
    return tuple(sorted(set(out)))


def _str_list(value) -> tuple[str, ...] | None:
    if value is None or value == "" or value == []:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    out = tuple(s.strip() for s in items if str(s).strip())
    return out or None


def parse_filters(
    *,
    bbox=None,
    start=None,
    end=None,
    categories=None,
    zac=None,
    hours=None,
    weekdays=None,
    tz: str | ZoneInfo = "Europe/Paris",
    taxonomy=None,
) -> Filters:
    """Build ``Filters`` from user strings (query string, form or CLI).

    ``categories`` may hold category codes or group codes of the taxonomy (a group stands for
    its categories). ``hours`` and ``weekdays`` accept lists and ranges (``22-5`` wraps around
    midnight). Raises ``ParameterError`` naming the bad field.
    """
    s, e = parse_period(start, end, tz=tz)
    cats = _str_list(categories)
    if cats and taxonomy is not None:
        expanded = []
        groups = {g.code for g in taxonomy.groups}
        for c in cats:
            if c in taxonomy:
                expanded.append(c)
            elif c in groups:
                expanded.extend(taxonomy.in_group(c))
            else:
                raise ParameterError(
                    f"category '{c}' is neither a category nor a group of the taxonomy "
                    f"(categories: {', '.join(taxonomy.codes)}).",
                    "category",
                )
        cats = tuple(dict.fromkeys(expanded))
    return Filters(
        bbox=parse_bbox(bbox),
        start=s,
        end=e,
        categories=cats,
        zac=_str_list(zac),
        hours=_int_list(hours, param="hours", lo=0, hi=23),
        weekdays=_int_list(weekdays, param="weekdays", lo=0, hi=6),
    )


def apply_filters(
    incidents: gpd.GeoDataFrame,
    filters: Filters | None,
    *,
    tz: str | ZoneInfo = "Europe/Paris",
    zac_layer: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Return the rows of ``incidents`` that pass ``filters`` (a new frame; input untouched).

    ``incidents`` may be in any CRS; ``bbox`` (lon/lat) is compared after reprojecting the
    points' coordinates to EPSG:4326. ``zac_layer`` (with a ``name`` column) is needed when
    ``filters.zac`` is set; an unknown ZAC name raises ``ParameterError``.
    """
    if filters is None or filters.is_empty or len(incidents) == 0:
        return incidents.copy()
    tzname = tz if isinstance(tz, str) else str(tz)
    keep = filter_mask(frame_columns(incidents, tz=tzname), filters, zac_layer=zac_layer)
    return incidents.loc[keep].copy()
