"""Shared input checks and demand building for the recommendation modules (private)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from layers.checks import check_columns, check_layer, check_tz_aware, positive_number
from layers.errors import ParameterError
from layers.registry import Taxonomy, default_taxonomy
from layers.settings import parse_tz


def _metric_crs(incidents: gpd.GeoDataFrame, crs) -> CRS:
    """The analysis CRS: ``crs`` when given, the incidents' own if projected, else UTM."""
    if crs is not None:
        try:
            out = CRS.from_user_input(crs)
        except Exception:  # noqa: BLE001 - pyproj raises several types
            raise ParameterError(f"crs '{crs}' is not a known CRS (use an EPSG code).", "crs") from None
        if not out.is_projected:
            raise ParameterError(f"crs {crs} is not projected: use a metric CRS such as 2154.", "crs")
        return out
    if incidents.crs.is_projected:
        return incidents.crs
    return incidents.estimate_utm_crs()


def _to(gdf, crs):
    if gdf is None:
        return None
    return gdf.to_crs(crs) if not gdf.crs.equals(crs) else gdf.copy()


def _in_metric(incidents: gpd.GeoDataFrame, cats, crs) -> tuple[gpd.GeoDataFrame, CRS]:
    """The incidents whose category is in ``cats``, in the metric CRS (``_metric_crs`` of all
    the incidents), and that CRS. The input is not modified."""
    acrs = _metric_crs(incidents, crs)
    return _to(incidents[incidents["category"].isin(cats)], acrs), acrs


def _xy(gdf) -> np.ndarray:
    if len(gdf) == 0:
        return np.empty((0, 2))
    return np.column_stack([gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()])


_check_tz = parse_tz  # ParameterError naming tz


def situational_categories(
    *, taxonomy: Taxonomy | None = None, include_sensitive: bool = False, categories=None
) -> frozenset[str]:
    """Categories that feed lighting and CCTV demand.

    Default: the taxonomy's situational, non-sensitive categories (``Taxonomy.situational``).
    ``include_sensitive=True`` (police users only, DESIGN §8) adds every sensitive category.
    An explicit ``categories`` list replaces the default, but its sensitive categories are
    still dropped unless ``include_sensitive`` is set.
    """
    tax = taxonomy or default_taxonomy()
    if categories is not None:
        cats = frozenset(str(c) for c in categories)
        unknown = sorted(c for c in cats if c not in tax)
        if unknown:
            raise ParameterError(f"Unknown categories: {', '.join(unknown)}.", "categories")
        if not include_sensitive:
            cats = cats - tax.sensitive
        return cats
    cats = set(tax.situational)
    if include_sensitive:
        cats |= set(tax.sensitive)
    return frozenset(cats)


def _check_incidents(incidents, name: str = "incidents"):
    check_layer(incidents, f"{name} layer")
    check_columns(incidents, ("category", "occurred_from"), f"{name} layer")
    check_tz_aware(incidents, "occurred_from", f"{name} layer")


def recency_weights(times: pd.Series, *, half_life_days, reference=None) -> np.ndarray:
    """Exponential recency weights ``0.5 ** (age_days / half_life_days)``.

    ``reference`` (default: the latest incident) has weight 1; ``half_life_days=None`` gives
    every incident weight 1. Incidents after the reference also get weight 1.
    """
    if half_life_days is None:
        return np.ones(len(times))
    hl = positive_number(half_life_days, "recency_half_life_days")
    if len(times) == 0:
        return np.ones(0)
    ref = pd.Timestamp(reference) if reference is not None else times.max()
    if ref.tzinfo is None:
        raise ParameterError("reference must be a time-zone-aware instant.", "reference")
    age = (ref - times).dt.total_seconds().to_numpy() / 86400.0
    age = np.where(np.isnan(age), np.inf, np.maximum(age, 0.0))
    return np.power(0.5, age / hl)


def hour_weights(times: pd.Series, hours, *, tz) -> np.ndarray:
    """Weights by local hour of ``occurred_from``: ``hours`` is None (all 1), a list of hours
    0–23 (1 for those, 0 otherwise) or a mapping hour -> weight (missing hours 0)."""
    if hours is None:
        return np.ones(len(times))
    local = times.dt.tz_convert(_check_tz(tz)).dt.hour.to_numpy()
    table = np.zeros(24)
    if isinstance(hours, Mapping):
        items = hours.items()
    elif isinstance(hours, Iterable) and not isinstance(hours, str):
        items = ((h, 1.0) for h in hours)
    else:
        raise ParameterError("hours must be a list of hours 0-23 or a mapping hour -> weight.", "hours")
    for h, wt in items:
        try:
            hi, wv = int(h), float(wt)
        except (TypeError, ValueError):
            raise ParameterError(f"hours: '{h}' is not an hour 0-23.", "hours") from None
        if not 0 <= hi <= 23 or wv < 0:
            raise ParameterError(f"hours: {h} is not an hour 0-23 with a non-negative weight.", "hours")
        table[hi] = wv
    return table[local]


def night_flags(incidents: gpd.GeoDataFrame, *, tz, count_twilight: bool = False) -> np.ndarray:
    """True for incidents at night (float NaN-free bool array).

    Uses a boolean ``night`` column or a ``darkness`` column ('day'/'twilight'/'night') when
    present; otherwise ``layers.temporal.darkness`` (civil twilight at the incident's place).
    Incidents whose time window is too long to classify count as not night.
    """
    if "night" in incidents.columns:
        return incidents["night"].fillna(False).astype(bool).to_numpy()
    if "darkness" in incidents.columns:
        dk = incidents["darkness"].astype("object")
    else:
        from layers.temporal import darkness

        dk = darkness(incidents, tz=_check_tz(tz)).astype("object")
    dark = {"night", "twilight"} if count_twilight else {"night"}
    return dk.isin(dark).to_numpy()


def incident_ids(incidents: gpd.GeoDataFrame) -> np.ndarray:
    """The ids to report: the store's ``fid`` when present, else the index labels."""
    if "fid" in incidents.columns:
        return incidents["fid"].to_numpy()
    return incidents.index.to_numpy()


def top_categories(cats, n: int = 3) -> list[tuple[str, int]]:
    """The ``n`` most frequent categories of ``cats`` (array or Series) with their counts."""
    vc = (cats if isinstance(cats, pd.Series) else pd.Series(cats)).value_counts()
    return [(str(c), int(v)) for c, v in vc.head(n).items()]
