"""Places followed (lieux suivis) and the actions taken on them: matching computed hotspot areas
to places, the displacement ring, and the register of action kinds tied to Clarke's 25
techniques of situational crime prevention.

Hotspot areas are recomputed for every window, filter and import, so their ids change; a place
is what partners follow for months. ``match_places`` says which place each computed area
belongs to (by overlap), so that a place keeps its id, thread and history.

References
----------
Cornish, D. B. & Clarke, R. V. (2003). Opportunities, precipitators and criminal decisions: a
reply to Wortley's critique of situational crime prevention. Crime Prevention Studies 16, 41-96
(the 25 techniques).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.checks import check_columns, check_layer, check_metric, positive_number
from layers.errors import InputError, ParameterError

__all__ = [
    "CLARKE_TECHNIQUES",
    "ACTION_KINDS",
    "ACTION_STATUSES",
    "PLACE_SOURCES",
    "action_record",
    "check_date",
    "check_location",
    "match_places",
    "ring",
]

#: Clarke's 25 techniques (Cornish & Clarke 2003): code -> (group, number 1..25)
CLARKE_TECHNIQUES = {
    "target_harden": ("effort", 1), "control_access": ("effort", 2), "screen_exits": ("effort", 3),
    "deflect_offenders": ("effort", 4), "control_tools": ("effort", 5),
    "extend_guardianship": ("risk", 6), "natural_surveillance": ("risk", 7),
    "reduce_anonymity": ("risk", 8), "place_managers": ("risk", 9), "formal_surveillance": ("risk", 10),
    "conceal_targets": ("rewards", 11), "remove_targets": ("rewards", 12),
    "identify_property": ("rewards", 13), "disrupt_markets": ("rewards", 14),
    "deny_benefits": ("rewards", 15),
    "reduce_frustration": ("provocations", 16), "avoid_disputes": ("provocations", 17),
    "reduce_arousal": ("provocations", 18), "neutralize_peer_pressure": ("provocations", 19),
    "discourage_imitation": ("provocations", 20),
    "set_rules": ("excuses", 21), "post_instructions": ("excuses", 22), "alert_conscience": ("excuses", 23),
    "assist_compliance": ("excuses", 24), "control_drugs_alcohol": ("excuses", 25),
}

#: action kinds: code -> (technique of ``CLARKE_TECHNIQUES``, default target: ``night`` for the
#: night incidents of situational categories, ``situational`` for every situational category)
ACTION_KINDS = {
    "lighting": ("natural_surveillance", "night"),
    "cctv": ("formal_surveillance", "situational"),
    "target_hardening": ("target_harden", "situational"),
    "layout": ("natural_surveillance", "situational"),
    "presence": ("extend_guardianship", "situational"),
    "campaign": ("alert_conscience", "situational"),
    "other": ("place_managers", "situational"),
}

#: statuses of an action, in order
ACTION_STATUSES = ("planned", "in_progress", "done")

#: what a place is created from
PLACE_SOURCES = ("hotspot", "segment", "drawn")


def ring(geometry, width_m: float):
    """The ring of ``width_m`` metres around ``geometry`` (metric CRS): the displacement area of
    a treated place (the buffer minus the place itself)."""
    width_m = positive_number(width_m, "width_m", unit="metres")
    if geometry is None or shapely.is_empty(geometry):
        raise InputError("The place has no geometry: a ring cannot be drawn around it.")
    return shapely.difference(shapely.buffer(geometry, width_m), geometry)


def match_places(areas: gpd.GeoDataFrame, places: gpd.GeoDataFrame, *, min_overlap: float = 0.25,
                 id_column: str = "hotspot_id", place_column: str = "place_id") -> pd.DataFrame:
    """Match computed areas (hotspot areas) to followed places by overlap.

    Parameters
    ----------
    areas : GeoDataFrame
        Polygons with ``id_column``, in a metric CRS.
    places : GeoDataFrame
        Polygons with ``place_column``, in the same CRS (may be empty).
    min_overlap : float, default 0.25
        An area belongs to a place when their intersection covers at least this share of the
        smaller of the two: a small place inside a large hotspot area matches, and so does a
        new, smaller window of a followed hotspot.

    Returns
    -------
    DataFrame
        One row per area, in its order: ``id_column``, ``place_id`` (the place with the largest
        overlap, or None: a suggestion, not yet followed), ``overlap`` (0..1), ``places`` (every
        matching place id, best first).
    """
    check_layer(areas, "hotspot areas", kinds=("Polygon", "MultiPolygon"), allow_empty=True)
    check_metric(areas, "hotspot areas")
    check_columns(areas, [id_column], "hotspot areas")
    if not 0 < float(min_overlap) <= 1:
        raise ParameterError(f"min_overlap must lie in (0, 1], got {min_overlap!r}.", "min_overlap")
    out = pd.DataFrame({id_column: areas[id_column].to_numpy(), place_column: None,
                        "overlap": 0.0, "places": [[] for _ in range(len(areas))]})
    if places is None or not len(places) or not len(areas):
        return out
    check_columns(places, [place_column], "places")
    if areas.crs is not None and places.crs is not None and not areas.crs.equals(places.crs):
        raise InputError(f"The hotspot areas are in {areas.crs.to_string()} but the places in "
                         f"{places.crs.to_string()}: reproject both to the analysis CRS first.")
    a = np.asarray(areas.geometry.values)
    p = np.asarray(places.geometry.values)
    ia, ip = shapely.STRtree(p).query(a, predicate="intersects")
    if not len(ia):
        return out
    inter = shapely.area(shapely.intersection(a[ia], p[ip]))
    share = inter / np.maximum(np.minimum(shapely.area(a[ia]), shapely.area(p[ip])), 1e-9)
    ids = places[place_column].to_numpy()
    best: dict[int, list] = {}
    for i, j, s in zip(ia, ip, share):
        if s >= min_overlap:
            best.setdefault(int(i), []).append((float(s), ids[j]))
    for i, found in best.items():
        found.sort(key=lambda t: (-t[0], str(t[1])))
        out.at[i, place_column] = found[0][1]
        out.at[i, "overlap"] = found[0][0]
        out.at[i, "places"] = [pid for _, pid in found]
    return out


def check_date(value, name: str, *, required: bool) -> str | None:
    """``value`` as ``YYYY-MM-DD`` (None when empty and not ``required``), or ``ParameterError``."""
    if value in (None, ""):
        if required:
            raise ParameterError(f"{name} is required (YYYY-MM-DD).", name)
        return None
    try:
        return pd.Timestamp(str(value)).strftime("%Y-%m-%d")
    except (ValueError, TypeError):
        raise ParameterError(f"{name} must be a date YYYY-MM-DD, got {value!r}.", name) from None


def check_location(value) -> dict | None:
    """An action's location as a GeoJSON Point in lon/lat, from a GeoJSON Point (dict or JSON
    text) or the text ``"lon,lat"``; None for nothing (the action is at its place).
    ``ParameterError`` naming ``location`` otherwise.

    Examples
    --------
    >>> check_location("3.8777, 43.6085")
    {'type': 'Point', 'coordinates': [3.8777, 43.6085]}
    """
    import json

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    bad = ParameterError(f"location must be a point 'lon,lat' or a GeoJSON Point in lon/lat, got {value!r}.",
                         "location")
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                raise bad from None
        else:
            parts = text.split(",")
            if len(parts) != 2:
                raise bad
            value = {"type": "Point", "coordinates": parts}
    if not isinstance(value, dict) or value.get("type") != "Point":
        raise bad
    try:
        lon, lat = (float(v) for v in value.get("coordinates"))
    except (TypeError, ValueError):
        raise bad from None
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise bad
    return {"type": "Point", "coordinates": [lon, lat]}


def action_record(*, kind: str, start_date, end_date=None, status: str = "planned", partner: str = "",
                  cost=None, categories=None, night_only=None, notes: str = "", location=None,
                  situational=()) -> dict:
    """The checked fields of an action, with its Clarke technique and default targets.

    ``categories`` default to ``situational`` (the taxonomy's situational categories);
    ``night_only`` defaults to True for lighting (it targets night incidents); ``location``
    (``check_location``) defaults to None: the action is at its place. ``ParameterError``
    names the field at fault.
    """
    if kind not in ACTION_KINDS:
        raise ParameterError(f"kind must be one of {', '.join(ACTION_KINDS)}, got {kind!r}.", "kind")
    if status not in ACTION_STATUSES:
        raise ParameterError(f"status must be one of {', '.join(ACTION_STATUSES)}, got {status!r}.", "status")
    start = check_date(start_date, "start_date", required=True)
    end = check_date(end_date, "end_date", required=False)
    if end is not None and end < start:
        raise ParameterError("end_date is before start_date.", "end_date")
    if cost in (None, ""):
        cost = None
    else:
        try:
            cost = float(cost)
        except (TypeError, ValueError):
            raise ParameterError(f"cost must be a number of euros, got {cost!r}.", "cost") from None
        if not np.isfinite(cost) or cost < 0:
            raise ParameterError(f"cost must be a non-negative number of euros, got {cost!r}.", "cost")
    technique, target = ACTION_KINDS[kind]
    cats = sorted(set(categories)) if categories else sorted(situational)
    night = (target == "night") if night_only is None else bool(night_only)
    return {"kind": kind, "technique": technique, "start_date": start, "end_date": end, "status": status,
            "partner": str(partner or "").strip(), "cost": cost, "categories": cats, "night_only": night,
            "notes": str(notes or "").strip(), "location": check_location(location)}
