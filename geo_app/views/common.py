"""Request parsing shared by the views: filters from the query string, paging, language."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from flask import request

from geo_app.auth import get_viewer
from layers.errors import ParameterError
from layers.filters import Filters, parse_filters
from layers.settings import parse_bbox

__all__ = [
    "FILTER_PARAMS",
    "bool_param",
    "filter_query",
    "float_param",
    "int_param",
    "parse_bbox",
    "request_filters",
    "sensitive_param",
]

#: query-string parameters of the filters (the same on pages and API)
FILTER_PARAMS = ("from", "to", "category", "zac", "hours", "weekdays", "night", "bbox")


def _joined(name: str) -> str | None:
    values = [v for v in request.args.getlist(name) if v.strip()]
    return ",".join(values) if values else None


def bool_param(name: str, default: bool = False) -> bool:
    v = request.args.get(name)
    if v is None or v == "":
        return default
    if v.lower() in ("1", "true", "yes", "on", "oui"):
        return True
    if v.lower() in ("0", "false", "no", "off", "non"):
        return False
    raise ParameterError(f"{name} must be 1 or 0 (true or false), got '{v}'.", name)


def sensitive_param() -> bool:
    """``sensitive`` of the query string, parsed strictly: ``1``/``true`` asks for proposals
    that also use the sensitive categories (police only; the viewer checks the role),
    ``0``/``false`` or absent for the default; anything else is a ``ParameterError``."""
    v = (request.args.get("sensitive") or "").strip().lower()
    if v in ("", "0", "false"):
        return False
    if v in ("1", "true"):
        return True
    raise ParameterError(f"sensitive must be 1 or 0 (true or false), got '{request.args.get('sensitive')}'.",
                         "sensitive")


def int_param(name: str, default: int, *, lo: int, hi: int) -> int:
    v = request.args.get(name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise ParameterError(f"{name} must be a whole number between {lo} and {hi}, got '{v}'.", name) from None
    if not lo <= n <= hi:
        raise ParameterError(f"{name} must be between {lo} and {hi}, got {n}.", name)
    return n


def float_param(name: str, *, lo: float, hi: float, default: float | None = None, unit: str = "") -> float:
    """A number of the query string between ``lo`` and ``hi``; absent gives ``default`` (a
    ``ParameterError`` naming the field when there is no default), as does a value that is not a
    finite number or is out of range."""
    v = (request.args.get(name) or "").strip()
    span = f"between {lo:g} and {hi:g}{' ' + unit if unit else ''}"
    if v == "":
        if default is None:
            raise ParameterError(f"{name} is missing: give a number {span}.", name)
        return default
    try:
        x = float(v)
    except ValueError:
        raise ParameterError(f"{name} must be a number {span}, got '{v}'.", name) from None
    if not math.isfinite(x) or not lo <= x <= hi:
        raise ParameterError(f"{name} must be a number {span}, got '{v}'.", name)
    return x


def request_filters(*, with_bbox: bool = True) -> tuple[Filters, bool]:
    """``(Filters, night)`` from the query string (``ParameterError`` names the bad field)."""
    viewer = get_viewer()
    filters = parse_filters(
        bbox=request.args.get("bbox") if with_bbox else None,
        start=request.args.get("from") or None,
        end=request.args.get("to") or None,
        categories=_joined("category"),
        zac=_joined("zac"),
        hours=_joined("hours"),
        weekdays=_joined("weekdays"),
        tz=viewer.tz,
        taxonomy=viewer.taxonomy,
    )
    if filters.zac:
        known = set(viewer.zac_names())
        unknown = [z for z in filters.zac if z not in known]
        if unknown:
            raise ParameterError(
                f"unknown ZAC {', '.join(map(repr, unknown))}; known ZACs: {', '.join(sorted(known)[:30]) or 'none'}.",
                "zac",
            )
    return filters, bool_param("night")


def filter_query(*, exclude: tuple[str, ...] = ("bbox",)) -> str:
    """The current filters as a query string (for links, API calls and shared views)."""
    pairs = []
    for name in FILTER_PARAMS:
        if name in exclude:
            continue
        for v in request.args.getlist(name):
            if v != "":
                pairs.append((name, v))
    return urlencode(pairs)
