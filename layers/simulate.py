"""Simulated incidents for the demo city.

France publishes no point-level crime data, so Vigie's demo city (Montpellier) pairs the city's
real context layers — shops, schools, street lights, ZAC perimeters, quartiers, commune limit —
with incidents *generated* here. Every generated incident carries ``simulated=True`` and
``source="simulation"``; the generator is seeded, so a seed always gives the same incidents.

The generator is a mixture model, vectorised with NumPy (50,000 incidents in about a second):

- **where**: each category draws its points from a few *places* anchored on the real layers
  (around shops, around alcohol outlets, around schools, along lit streets, in residential
  streets away from the centre, near floodlit car parks and sports grounds, in ZACs, around the
  centre), each with a Gaussian jitter of a few tens of metres, and every point is kept inside
  the study area (points falling outside are drawn again);
- **when**: a day is drawn with weights = seasonality of the category's month × its weekday
  rhythm, then an hour from its daily rhythm (with a weekend-night boost for night-life
  categories); burglaries, most shop break-ins and part of vehicle crime, damage and bicycle
  theft are known only as a *window* (left 08:00, back 18:00; left in the evening, back the next
  morning; away for the weekend), stored as ``occurred_from`` / ``occurred_to``;
- **planted patterns** (``PLANTED``), at fixed places so that tests and demos can find them: an
  *emerging* hotspot in the last four months, a *fading* one gone in the last six months, and a
  *night-time* hotspot beside alcohol outlets in the centre, in a street with real street lights;
- **planted actions** (``PLANTED_ACTIONS``): a lighting repair at the night-time hotspot, after
  which 40 % of its night incidents of the situational categories do not happen (a tenth of
  those happen in the ring around it instead: a little displacement), and a placebo action
  elsewhere that changes nothing. The demo records both as done actions on places followed, and
  the evaluation (``layers.effect``) should find the first and not the second.

Public function: :func:`simulate_incidents`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from layers.checks import check_layer, whole_number
from layers.errors import InputError, ParameterError
from layers.registry import default_taxonomy

__all__ = ["ALCOHOL_KINDS", "DEFAULT_SEED", "PLANTED", "PLANTED_ACTIONS", "action_centre", "action_dates",
           "simulate_incidents"]

#: seed used by the demo city (``geo-app demo`` without ``--seed``)
DEFAULT_SEED = 20231101

#: shop kinds (OSM tags or the French labels of the Montpellier extract, lower-cased) treated as
#: alcohol outlets: bars, pubs, cafés, night clubs, cavistes, grocers (the épiceries de nuit that
#: sell alcohol late), kiosks and tobacconists
ALCOHOL_KINDS = frozenset({
    "bar", "pub", "cafe", "café", "biergarten", "nightclub", "boîte de nuit", "bars", "cafés",
    "alcohol", "wine", "beverages", "convenience", "kiosk", "tobacco",
    "alcools, caves", "épiceries", "kiosques", "tabacs",
})

#: Patterns planted at fixed places (lon/lat WGS84; radius in metres). Incidents of a pattern
#: are spread uniformly within 75 % of ``radius_m`` of its centre (so that removing the lamps
#: within ``radius_m`` leaves every planted incident at least a quarter radius from a lamp).
#: ``months`` says when it is active, as month offsets from ``start`` for the default 24 months.
PLANTED: dict[str, dict] = {
    "emerging": {
        "lon": 3.8586,
        "lat": 43.5823,
        "radius_m": 150.0,
        "share": 0.014,
        "categories": {"drugs": 0.40, "youth_gathering": 0.25, "damage": 0.20, "nuisance": 0.15},
        "months": "last 4 months (offsets 20-23 of 24), growing 1:2:3:4",
        "description": (
            "Emerging hotspot: a drug-dealing spot with gatherings and damage that appears in the "
            "last four months in the ZAC des Grisettes (Croix d'Argent) and grows month after "
            "month; nothing planted before."
        ),
    },
    "fading": {
        "lon": 3.9033,
        "lat": 43.6080,
        "radius_m": 150.0,
        "share": 0.018,
        "categories": {"robbery": 0.30, "theft": 0.30, "drugs": 0.25, "damage": 0.15},
        "months": "strong over the first 12 months, fading over months 12-17, none in the last 6",
        "description": (
            "Fading hotspot: thefts, robberies and drug dealing on an unlit green space along "
            "the Lez (Les Aubes, east of the centre), strong in the first year, decreasing, "
            "then gone in the last six months."
        ),
    },
    "night_bars": {
        "lon": 3.8786,
        "lat": 43.6098,
        "radius_m": 150.0,
        "share": 0.032,
        "categories": {"public_drinking": 0.40, "violence_public": 0.25, "damage": 0.15,
                       "nuisance": 0.15, "robbery": 0.05},
        "months": "all 24 months, more in summer and on Friday and Saturday nights",
        "description": (
            "Night-time hotspot: public drinking, fights, damage and noise between 22:00 and "
            "04:00 around the bars of Place Jean-Jaurès (Écusson), a lit square (141 "
            "street-light supports within 150 m in the city's layer)."
        ),
    },
}

#: Actions planted in the simulation. ``place``: a disk of ``radius_m`` around (lon, lat), or
#: the ``PLANTED`` pattern's; ``month``: the month offset (from ``start``) from which the effect
#: holds, the works taking the ten days before it (``action_dates``); ``effect``: the share of
#: the incidents it targets (its ``night_only`` and the taxonomy's situational categories) inside
#: the place that do not happen from then on, ``displaced``: the share of those that happen in
#: the ring (``ring_m`` around the place) instead. Everything else is the demo's record.
PLANTED_ACTIONS: dict[str, dict] = {
    "lighting_repair": {
        "pattern": "night_bars",
        "radius_m": 150.0,
        "ring_m": 150.0,
        "month": 12,
        "effect": 0.40,
        "displaced": 0.10,
        "kind": "lighting",
        "night_only": True,
        "partner": "Ville de Montpellier, éclairage public",
        "cost": 48000.0,
        "notes": ("Réfection de l'éclairage de la place et des rues voisines : lanternes "
                  "remplacées, mâts ajoutés aux angles sombres (action simulée de la démo)."),
        "place_note": "Les nuits de fin de semaine autour des bars ; éclairage signalé défaillant.",
    },
    "placebo": {
        "lon": 3.8291,
        "lat": 43.6144,
        "radius_m": 150.0,
        "ring_m": 150.0,
        "month": 12,
        "effect": 0.0,
        "displaced": 0.0,
        "kind": "campaign",
        "night_only": False,
        "partner": "Association de quartier",
        "cost": 3000.0,
        "notes": ("Campagne d'affichage et de porte-à-porte ; sans effet simulé, elle sert de "
                  "témoin à l'évaluation (action simulée de la démo)."),
        "place_note": "Signalements des riverains ; une campagne de sensibilisation est décidée.",
    },
}


def action_dates(name: str, start: str = "2023-11-01") -> tuple[str, str]:
    """Local start and end dates (``YYYY-MM-DD``) of the planted action ``name`` for a
    simulation beginning on ``start``: the ten days before its effect month."""
    spec = PLANTED_ACTIONS[name]
    effect = pd.Timestamp(start) + pd.DateOffset(months=int(spec["month"]))
    return ((effect - pd.Timedelta(days=10)).strftime("%Y-%m-%d"),
            (effect - pd.Timedelta(days=1)).strftime("%Y-%m-%d"))


def action_centre(name: str) -> tuple[float, float]:
    """(lon, lat) of the planted action ``name``'s place."""
    spec = PLANTED_ACTIONS[name]
    src = PLANTED[spec["pattern"]] if "pattern" in spec else spec
    return float(src["lon"]), float(src["lat"])


# --------------------------------------------------------------------------------------------
# The model: category shares, places, rhythms


def _bumps(spec, base):
    """24 hourly weights: ``base`` plus circular Gaussian bumps ``(centre_hour, sd, height)``."""
    h = np.arange(24) + 0.5
    w = np.full(24, float(base))
    for centre, sd, height in spec:
        d = np.abs(h - centre)
        d = np.minimum(d, 24 - d)
        w += height * np.exp(-0.5 * (d / sd) ** 2)
    return w / w.sum()


_HOURS = {
    "shop": _bumps([(15.5, 3.0, 1.0), (11.0, 1.5, 0.4)], 0.01),
    "afternoon": _bumps([(16.5, 3.5, 1.0), (22.5, 2.0, 0.35)], 0.06),
    "night": _bumps([(0.5, 2.2, 1.0), (22.5, 1.2, 0.4)], 0.02),
    "evening": _bumps([(20.0, 2.8, 1.0), (16.5, 1.5, 0.3)], 0.03),
    "domestic": _bumps([(21.0, 2.5, 1.0), (13.0, 2.0, 0.3)], 0.06),
    "school": _bumps([(10.0, 1.8, 1.0), (15.0, 1.8, 0.8)], 0.005),
    "flat": _bumps([(17.0, 4.0, 0.8)], 0.5),
    "burglary": _bumps([(14.0, 3.0, 1.0), (2.0, 2.0, 0.5)], 0.05),
}

# weekday weights, Monday .. Sunday
_WEEKDAYS = {
    "week": np.array([1.0, 1.0, 1.0, 1.0, 1.1, 1.15, 0.9]),
    "shop": np.array([0.9, 1.0, 1.0, 1.0, 1.1, 1.5, 0.25]),
    "school": np.array([1.0, 1.0, 0.6, 1.0, 1.0, 0.08, 0.04]),
    "weekend": np.array([0.85, 0.85, 0.85, 0.9, 1.1, 1.35, 1.25]),
}


def _season(kind: str) -> np.ndarray:
    """12 monthly weights (January .. December)."""
    m = np.arange(1, 13)
    if kind == "summer":  # public-space nuisance, drinking, gatherings: peak in July-August
        return 1 + 0.45 * np.cos(2 * np.pi * (m - 7.5) / 12)
    if kind == "dark":  # burglary: dark evenings of winter, and the August holidays
        return 1 + 0.25 * np.cos(2 * np.pi * (m - 12.5) / 12) + 0.35 * (m == 8)
    if kind == "christmas":  # shop crime: December shopping
        return 1 + 0.1 * np.cos(2 * np.pi * (m - 12) / 12) + 0.45 * (m == 12)
    if kind == "school":  # school terms only
        return np.where((m == 7) | (m == 8), 0.1, 1.0)
    return np.ones(12)


@dataclass(frozen=True)
class _Cat:
    share: float
    places: dict  # place -> weight
    hours: str
    weekdays: str
    season: str
    nightlife: bool = False  # weekend nights boosted
    window: str | None = None  # kind of time window (see _windows)
    window_share: float = 0.0


_CATEGORIES = {
    "theft": _Cat(0.17, {"shops": 0.40, "centre": 0.25, "streets": 0.35}, "afternoon", "week",
                  "summer"),
    "burglary": _Cat(0.08, {"residential": 0.85, "zac": 0.10, "streets": 0.05}, "burglary", "week",
                     "dark", window="burglary", window_share=0.85),
    "vehicle_crime": _Cat(0.10, {"carparks": 0.35, "residential": 0.40, "streets": 0.25}, "night",
                          "week", "flat", window="overnight", window_share=0.5),
    "bicycle_theft": _Cat(0.04, {"centre": 0.30, "schools": 0.30, "streets": 0.40}, "afternoon",
                          "week", "summer", window="daytime", window_share=0.4),
    "damage": _Cat(0.10, {"streets": 0.45, "schools": 0.15, "centre": 0.15, "residential": 0.15,
                          "zac": 0.10}, "night", "weekend", "flat", nightlife=True,
                   window="overnight", window_share=0.3),
    "shop_robbery": _Cat(0.005, {"shops": 1.0}, "shop", "shop", "christmas"),
    "shoplifting": _Cat(0.06, {"shops": 0.9, "centre": 0.1}, "shop", "shop", "christmas"),
    "shop_breakin": _Cat(0.02, {"shops": 1.0}, "night", "week", "christmas", window="closed",
                         window_share=0.8),
    "robbery": _Cat(0.04, {"centre": 0.40, "shops": 0.30, "streets": 0.30}, "evening", "weekend",
                    "flat", nightlife=True),
    "nuisance": _Cat(0.10, {"alcohol": 0.25, "centre": 0.25, "streets": 0.30, "residential": 0.20},
                     "evening", "weekend", "summer", nightlife=True),
    "public_drinking": _Cat(0.05, {"alcohol": 0.50, "centre": 0.30, "streets": 0.20}, "night",
                            "weekend", "summer", nightlife=True),
    "youth_gathering": _Cat(0.05, {"schools": 0.30, "alcohol": 0.20, "streets": 0.30,
                                   "centre": 0.20}, "evening", "weekend", "summer"),
    "violence_public": _Cat(0.05, {"centre": 0.50, "alcohol": 0.30, "streets": 0.20}, "night",
                            "weekend", "summer", nightlife=True),
    "drugs": _Cat(0.04, {"streets": 0.40, "residential": 0.30, "centre": 0.30}, "evening", "week",
                  "flat"),
    "weapons": _Cat(0.01, {"centre": 0.50, "streets": 0.50}, "night", "weekend", "flat",
                    nightlife=True),
    "domestic_violence": _Cat(0.04, {"residential": 0.80, "streets": 0.20}, "domestic", "weekend",
                              "flat"),
    "sexual_violence": _Cat(0.015, {"residential": 0.50, "centre": 0.30, "streets": 0.20},
                            "night", "weekend", "summer", nightlife=True),
    "minors": _Cat(0.015, {"residential": 0.60, "schools": 0.40}, "afternoon", "week", "flat"),
    "school_dropout": _Cat(0.01, {"schools": 1.0}, "school", "school", "school"),
    "other": _Cat(0.015, {"streets": 0.70, "uniform": 0.30}, "flat", "week", "flat"),
}

# jitter (metres, standard deviation) around each place's anchors
_JITTER = {"streets": 15.0, "residential": 20.0, "shops": 25.0, "alcohol": 35.0, "schools": 60.0,
           "carparks": 25.0}
_CENTRE_SD = 500.0  # metres, Gaussian around the centre
_DISK_SHARE = 0.75  # planted incidents lie within this share of the pattern's radius
_RESIDENTIAL_MIN_DIST = 900.0  # metres from the centre

_PLACE_FR = {
    "shops": "à proximité d'un commerce",
    "alcohol": "près d'un débit de boissons",
    "schools": "aux abords d'un établissement scolaire",
    "centre": "en centre-ville",
    "carparks": "sur un parking ou un équipement éclairé",
    "streets": "sur la voie publique",
    "residential": "en secteur résidentiel",
    "zac": "dans une ZAC",
    "uniform": "sur la commune",
}

# planted patterns: hours, weekdays, season
_PLANTED_RHYTHM = {
    "emerging": ("evening", "week", "flat", False),
    "fading": ("afternoon", "week", "flat", False),
    "night_bars": ("night_bars", "weekend", "summer", True),
}
_NIGHT_BARS_HOURS = np.array(
    [1.0, 0.9, 0.7, 0.45, 0.12, 0.03, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01,
     0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.03, 0.05, 0.10, 0.20, 0.8, 1.0]
)
_NIGHT_BARS_HOURS = _NIGHT_BARS_HOURS / _NIGHT_BARS_HOURS.sum()


# --------------------------------------------------------------------------------------------
# Checks


def _check_layer(gdf, name: str, types: tuple[str, ...], *, allow_empty: bool = False):
    check_layer(gdf, f"{name} layer", kinds=types, allow_empty=allow_empty,
                empty_hint="the simulation needs it",
                crs_hint="set it (e.g. gdf.set_crs(4326)) before simulating")


def _check_params(n, months, start, tz, seed):
    whole_number(n, "n", minimum=1, why=" (incidents to simulate)")
    whole_number(months, "months", minimum=12, why=" (the planted patterns need a year)")
    whole_number(seed, "seed")
    try:
        t0 = pd.Timestamp(start)
    except (ValueError, TypeError):
        raise ParameterError(f"start must be a date such as 2023-11-01, got {start!r}.",
                             "start") from None
    if t0.tzinfo is not None or t0 != t0.normalize() or t0.day != 1:
        raise ParameterError(
            f"start must be the first day of a month without a time or zone, got {start!r}.",
            "start",
        )
    try:
        pd.Timestamp("2020-01-01").tz_localize(tz)
    except Exception:  # noqa: BLE001 - zoneinfo and pytz raise different types
        raise ParameterError(f"timezone '{tz}' is not an IANA time zone such as Europe/Paris.",
                             "tz") from None
    return t0


# --------------------------------------------------------------------------------------------
# Places


class _Places:
    """Samplers of points (metric CRS) for each place kind, kept inside the study area."""

    def __init__(self, rng, *, shops, schools, lights, areas, zac, study_area, crs, centre):
        self.rng = rng
        area = shapely.union_all(study_area.to_crs(crs).geometry.to_numpy())
        shapely.prepare(area)
        self.area = area

        def xy(gdf):
            if len(gdf) == 0:
                return np.empty((0, 2))
            g = gdf.to_crs(crs).geometry
            pts = np.column_stack([g.x.to_numpy(), g.y.to_numpy()])
            return pts[shapely.contains_xy(area, pts[:, 0], pts[:, 1])]

        lights_xy = xy(lights)
        shops_xy = xy(shops)
        if len(lights_xy) == 0 or len(shops_xy) == 0:
            raise InputError(
                "No street light or no shop lies inside the study area: check that the layers "
                "and the study area are the same city."
            )
        if centre is None:
            # the place with the most shops within 400 m
            from scipy.spatial import cKDTree

            counts = cKDTree(shops_xy).query_ball_point(shops_xy, 400.0, return_length=True)
            centre_xy = shops_xy[int(np.argmax(counts))]
        else:
            t = Transformer.from_crs(4326, crs, always_xy=True)
            centre_xy = np.array(t.transform(*centre))
        self.centre = centre_xy
        kinds = _shop_kinds(shops)
        if kinds is not None:
            alcohol = shops.loc[kinds.isin(ALCOHOL_KINDS).to_numpy()]
        else:
            alcohol = shops[:0]
        alcohol_xy = xy(alcohol)
        types = (
            lights["type"].astype("str").str.upper().to_numpy()
            if "type" in lights.columns else np.array([""] * len(lights))
        )
        flood = lights.loc[np.char.find(types.astype(str), "PROJECTEUR") >= 0]
        flood_xy = xy(flood)
        dist = np.hypot(lights_xy[:, 0] - centre_xy[0], lights_xy[:, 1] - centre_xy[1])
        residential = lights_xy[dist > _RESIDENTIAL_MIN_DIST]
        schools_xy = xy(schools)
        self.anchors = {
            "streets": lights_xy,
            "residential": residential if len(residential) else lights_xy,
            "shops": shops_xy,
            "alcohol": alcohol_xy if len(alcohol_xy) else shops_xy,
            "schools": schools_xy if len(schools_xy) else lights_xy,
            "carparks": flood_xy if len(flood_xy) else lights_xy,
        }
        zac_geom = None
        if zac is not None and len(zac):
            zac_union = shapely.union_all(zac.to_crs(crs).geometry.to_numpy())
            zac_geom = shapely.intersection(zac_union, area)
            if zac_geom.is_empty:
                zac_geom = None
        self.polygons = {"zac": zac_geom or area, "uniform": area}
        if areas is not None and len(areas):
            a = shapely.intersection(shapely.union_all(areas.to_crs(crs).geometry.to_numpy()), area)
            if not a.is_empty:
                self.polygons["uniform"] = a

    def _raw(self, place: str, n: int) -> np.ndarray:
        rng = self.rng
        if place in self.anchors:
            a = self.anchors[place]
            pts = a[rng.integers(0, len(a), n)]
            return pts + rng.normal(0.0, _JITTER[place], (n, 2))
        if place == "centre":
            return self.centre + rng.normal(0.0, _CENTRE_SD, (n, 2))
        poly = self.polygons[place]
        minx, miny, maxx, maxy = poly.bounds
        pts = np.column_stack([rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)])
        return pts[shapely.contains_xy(poly, pts[:, 0], pts[:, 1])]

    def sample(self, place: str, n: int) -> np.ndarray:
        """``n`` points of ``place`` inside the study area (drawn again until inside)."""
        out = np.empty((0, 2))
        for _ in range(200):
            need = n - len(out)
            if need <= 0:
                break
            pts = self._raw(place, int(need * 1.3) + 8)
            pts = pts[shapely.contains_xy(self.area, pts[:, 0], pts[:, 1])]
            out = np.vstack([out, pts[:need]])
        if len(out) < n:  # pragma: no cover - only with a degenerate study area
            raise InputError(
                f"Could not place simulated incidents '{place}' inside the study area."
            )
        return out

    def disk(self, x0: float, y0: float, radius: float, n: int) -> np.ndarray:
        """``n`` points uniformly spread in the disk (75 % of ``radius``), inside the study area."""
        out = np.empty((0, 2))
        for _ in range(200):
            need = n - len(out)
            if need <= 0:
                break
            m = int(need * 1.3) + 8
            r = _DISK_SHARE * radius * np.sqrt(self.rng.random(m))
            t = self.rng.uniform(0, 2 * np.pi, m)
            pts = np.column_stack([x0 + r * np.cos(t), y0 + r * np.sin(t)])
            pts = pts[shapely.contains_xy(self.area, pts[:, 0], pts[:, 1])]
            out = np.vstack([out, pts[:need]])
        if len(out) < n:
            raise InputError("A planted pattern lies outside the study area.")
        return out


def _shop_kinds(shops) -> pd.Series | None:
    if "kind" not in shops.columns:
        return None
    return shops["kind"].astype("str").str.strip().str.lower()


# --------------------------------------------------------------------------------------------
# Times


class _Calendar:
    """The local days of the simulated period and their month, weekday and season."""

    def __init__(self, start: pd.Timestamp, months: int):
        end = start + pd.DateOffset(months=months)
        self.days = pd.date_range(start, end - pd.Timedelta(days=1), freq="D")
        self.day_ns = self.days.as_unit("ns").asi8
        self.dow = self.days.day_of_week.to_numpy()
        self.calmonth = self.days.month.to_numpy()
        years = self.days.year - start.year
        self.offset = (years * 12 + self.days.month - start.month).to_numpy()
        self.months = months


def _matrix(hours: np.ndarray, weekdays: np.ndarray, nightlife: bool) -> np.ndarray:
    """7 × 24 weekday × hour weights; night-life categories get Friday and Saturday nights
    (Friday 20:00 → Saturday 05:00 and Saturday 20:00 → Sunday 05:00) boosted 2.5 times."""
    w = np.outer(weekdays, hours)
    if nightlife:
        boost = np.ones((7, 24))
        boost[[4, 5], 20:] = 2.5
        boost[[5, 6], :5] = 2.5
        w = w * boost
    return w


def _sample_times(rng, cal: _Calendar, n: int, w: np.ndarray, month_w: np.ndarray) -> np.ndarray:
    """``n`` local naive times (int64 ns): day ~ month weight × weekday total, hour | weekday."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    p = month_w * w.sum(axis=1)[cal.dow]
    days = rng.choice(len(cal.days), size=n, p=p / p.sum())
    dow = cal.dow[days]
    hours = np.empty(n, dtype=np.int64)
    for k in range(7):
        idx = np.flatnonzero(dow == k)
        if len(idx):
            hours[idx] = rng.choice(24, size=len(idx), p=w[k] / w[k].sum())
    minutes = rng.integers(0, 60, n)
    return cal.day_ns[days] + (hours * 60 + minutes) * 60_000_000_000


_H = 3_600_000_000_000  # one hour in ns


def _windows(rng, kind: str, start_ns: np.ndarray, dow: np.ndarray):
    """Turn the sampled days into time windows (local ns): returns (from, to)."""
    n = len(start_ns)
    day = start_ns - start_ns % (24 * _H)  # local midnight (naive ns count is local)

    def h(lo, hi, size=n):
        # quarter-hour resolution, as people report times
        return (np.round(rng.uniform(lo, hi, size) * 4) / 4 * _H).astype(np.int64)

    if kind == "burglary":
        u = rng.random(n)
        t_from = np.where(u < 0.55, day + h(7.5, 9.5),
                          np.where(u < 0.90, day + h(18.0, 22.0), day + h(8.0, 18.0)))
        t_to = np.where(u < 0.55, day + h(16.5, 19.5),
                        np.where(u < 0.90, day + 24 * _H + h(7.0, 10.0), t_from + h(24.0, 44.0)))
        return t_from, t_to
    if kind == "overnight":
        return day + h(19.0, 23.0), day + 24 * _H + h(6.5, 9.0)
    if kind == "daytime":
        return day + h(7.5, 9.5), day + h(17.0, 19.5)
    if kind == "closed":  # closed in the evening, found at next opening (Monday after Saturday)
        extra = np.where(dow == 5, 48, 24) * _H
        return day + h(19.0, 20.5), day + extra + h(7.5, 9.5)
    raise ValueError(kind)  # pragma: no cover


def _to_utc(local_ns: np.ndarray, tz: str) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(local_ns.astype("datetime64[ns]"))
    idx = idx.tz_localize(tz, ambiguous=np.zeros(len(idx), dtype=bool), nonexistent="shift_forward")
    return idx.tz_convert("UTC").as_unit("ns")


def _planted_month_weights(name: str, months: int) -> np.ndarray:
    w = np.zeros(months)
    if name == "emerging":
        w[months - 4:] = [1.0, 2.0, 3.0, 4.0]
    elif name == "fading":
        strong = months - 12  # 12 of 24
        w[:strong] = 1.0
        decay = [0.6, 0.4, 0.25, 0.15, 0.08, 0.03]
        w[strong:strong + 6] = decay[: max(0, min(6, months - 6 - strong))]
    else:
        w[:] = 1.0
    return w


# --------------------------------------------------------------------------------------------
# Public function


def simulate_incidents(
    *,
    shops: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    lights: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    zac: gpd.GeoDataFrame,
    study_area: gpd.GeoDataFrame,
    seed: int = DEFAULT_SEED,
    start: str = "2023-11-01",
    months: int = 24,
    n: int = 50_000,
    tz: str = "Europe/Paris",
    analysis_crs: int | None = None,
    centre: tuple[float, float] | None = None,
    planted: bool = True,
) -> gpd.GeoDataFrame:
    """Generate plausible, seeded, *simulated* incidents over a city's real context layers.

    Parameters
    ----------
    shops, schools, lights : GeoDataFrame
        Points (any CRS). ``shops.kind`` (OSM tag or label) finds the alcohol outlets
        (``ALCOHOL_KINDS``); ``lights.type`` containing ``PROJECTEUR`` (floodlights) marks car
        parks and sports grounds. ``schools`` may be empty.
    areas, zac : GeoDataFrame
        Polygons; incidents of the "uniform" place are drawn in the union of ``areas``, part of
        burglaries and damage in the ZACs (new housing, building sites). Either may be empty.
    study_area : GeoDataFrame
        Polygons: every incident falls inside their union (the commune limit for the demo).
    seed : int
        Seed of NumPy's PCG64 generator; the same seed gives the same incidents.
    start : str
        First local day, the first of a month (``"2023-11-01"``).
    months : int
        Length of the period in months (at least 12).
    n : int
        Number of incidents drawn, planted patterns included; the planted actions then take
        some away (``attrs["prevented"]``), so the frame holds ``n - prevented``.
    tz : str
        IANA time zone of the local times (rhythms are in local time).
    analysis_crs : int, optional
        EPSG code of the metric CRS in which points are placed (jitters in metres); default the
        UTM zone of the study area.
    centre : (lon, lat), optional
        The city centre; default the shop with the most shops within 400 m.
    planted : bool
        Plant the ``PLANTED`` patterns (their share of ``n``: 1.4 %, 1.8 %, 3.2 %) and the
        effect of the ``PLANTED_ACTIONS``.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points sorted by ``occurred_from``, with the incident columns: ``category``
        (code of ``default_taxonomy()``), ``source_label`` (the French label),
        ``occurred_from`` and ``occurred_to`` (``datetime64[ns, UTC]``; ``occurred_to`` is NaT
        for an exact time), ``description`` (French, says "fait simulé"), ``source``
        (``"simulation"``), ``address`` (empty), ``external_id`` (``SIM-<seed>-<n>``),
        ``simulated`` (True), and ``pattern`` (the ``PLANTED`` key or ``""`` for background).
        ``attrs["prevented"]`` and ``attrs["displaced"]``: incidents the ``PLANTED_ACTIONS``
        drew out and moved into a ring (0 without ``planted``).

    Notes
    -----
    Category shares follow the usual mix of recorded urban delinquency (theft 17 %, vehicle
    crime 10 %, damage 10 %, nuisance 10 %, burglary 8 %…; see ``_CATEGORIES``); they and the
    rhythms are illustrative, not calibrated on Montpellier's real figures, which are not
    published at this scale. Seasonality: public-space nuisance, drinking and gatherings peak in
    July–August (× ~2.6 against January); burglary peaks in winter and August; shop crime in
    December; school-related reports stop in July–August. Weekly rhythm: night-life categories
    are 2.5 times more frequent on Friday and Saturday nights, shop crime is highest on Saturday
    and lowest on Sunday. Windows: 85 % of burglaries (left 07:30–09:30 back 16:30–19:30; out in
    the evening back the next morning; away up to 44 h), 80 % of shop break-ins (closing → next
    opening), half of vehicle crime and 30 % of damage (overnight), 40 % of bicycle thefts
    (working day). Times are drawn in local time and converted to UTC; local times that do not
    exist (spring DST change) move forward, ambiguous ones (autumn) take standard time.

    Examples
    --------
    >>> inc = simulate_incidents(shops=s, schools=e, lights=l, areas=a, zac=z,
    ...                          study_area=commune, seed=1, n=5000)  # doctest: +SKIP
    >>> inc.simulated.all()  # doctest: +SKIP
    True
    """
    t0 = _check_params(n, months, start, tz, seed)
    _check_layer(shops, "shops", ("Point",))
    _check_layer(lights, "lights", ("Point",))
    _check_layer(schools, "schools", ("Point",), allow_empty=True)
    _check_layer(study_area, "study area", ("Polygon", "MultiPolygon"))
    _check_layer(areas, "areas", ("Polygon", "MultiPolygon"), allow_empty=True)
    _check_layer(zac, "zac", ("Polygon", "MultiPolygon"), allow_empty=True)

    taxonomy = default_taxonomy()
    crs = CRS.from_epsg(int(analysis_crs)) if analysis_crs else study_area.estimate_utm_crs()
    rng = np.random.default_rng(int(seed))
    places = _Places(rng, shops=shops, schools=schools, lights=lights, areas=areas, zac=zac,
                     study_area=study_area, crs=crs, centre=centre)
    cal = _Calendar(t0, int(months))

    parts = []  # dicts of arrays

    def add(cat, pts, t_from, t_to, place_text, pattern):
        k = len(pts)
        parts.append({
            "category": np.full(k, cat, dtype=object),
            "x": pts[:, 0], "y": pts[:, 1],
            "from": t_from, "to": t_to,
            "place": np.full(k, place_text, dtype=object),
            "pattern": np.full(k, pattern, dtype=object),
        })

    # planted patterns
    n_planted = 0
    if planted:
        to_wgs = Transformer.from_crs(4326, crs, always_xy=True)
        for name, spec in PLANTED.items():
            k_total = round(spec["share"] * n)
            n_planted += k_total
            hours_key, wd_key, season_key, nightlife = _PLANTED_RHYTHM[name]
            hours = _NIGHT_BARS_HOURS if hours_key == "night_bars" else _HOURS[hours_key]
            w = _matrix(hours, _WEEKDAYS[wd_key], nightlife)
            month_w = (_season(season_key)[cal.calmonth - 1]
                       * _planted_month_weights(name, months)[cal.offset])
            cats = list(spec["categories"])
            counts = rng.multinomial(k_total, np.array(list(spec["categories"].values())))
            x0, y0 = to_wgs.transform(spec["lon"], spec["lat"])
            for cat, k in zip(cats, counts):
                pts = places.disk(x0, y0, spec["radius_m"], int(k))
                t = _sample_times(rng, cal, int(k), w, month_w)
                add(cat, pts, t, np.full(int(k), np.iinfo(np.int64).min), "", name)

    # background
    n_bg = max(0, n - n_planted)
    codes = list(_CATEGORIES)
    shares = np.array([_CATEGORIES[c].share for c in codes])
    cat_counts = rng.multinomial(n_bg, shares / shares.sum())
    for code, k_cat in zip(codes, cat_counts):
        spec = _CATEGORIES[code]
        w = _matrix(_HOURS[spec.hours], _WEEKDAYS[spec.weekdays], spec.nightlife)
        month_w = _season(spec.season)[cal.calmonth - 1]
        place_names = list(spec.places)
        pw = np.array(list(spec.places.values()))
        for place, k in zip(place_names, rng.multinomial(k_cat, pw / pw.sum())):
            k = int(k)
            if k == 0:
                continue
            pts = places.sample(place, k)
            t = _sample_times(rng, cal, k, w, month_w)
            t_to = np.full(k, np.iinfo(np.int64).min)
            if spec.window:
                is_win = rng.random(k) < spec.window_share
                if is_win.any():
                    dow = cal.dow[((t[is_win] - cal.day_ns[0]) // (24 * _H)).astype(int)]
                    wf, wt = _windows(rng, spec.window, t[is_win], dow)
                    t = t.copy()
                    t[is_win] = wf
                    t_to[is_win] = wt
            add(code, pts, t, t_to, _PLACE_FR[place], "")

    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    cat = cols["category"].astype(str)
    label_of = {c.code: c.label_fr for c in taxonomy.categories}
    source_label = pd.Series(cat).map(label_of)
    place = pd.Series(cols["place"], dtype="str")
    description = ("Fait simulé : " + source_label.str.lower()
                   + np.where(place != "", " " + place, "") + " (données de démonstration)")
    t_from = _to_utc(cols["from"], tz)
    nat = cols["to"] == np.iinfo(np.int64).min
    to_local = np.where(nat, cols["from"], cols["to"])
    t_to = pd.Series(_to_utc(to_local, tz)).where(~nat)
    geom = gpd.points_from_xy(cols["x"], cols["y"], crs=crs)
    out = gpd.GeoDataFrame(
        {
            "category": pd.Series(cat, dtype="str"),
            "source_label": source_label.astype("str"),
            "occurred_from": pd.Series(t_from),
            "occurred_to": t_to.astype("datetime64[ns, UTC]"),
            "description": description.astype("str"),
            "source": "simulation",
            "address": pd.Series([None] * len(cat), dtype="str"),
            "simulated": True,
            "pattern": pd.Series(cols["pattern"], dtype="str"),
        },
        geometry=geom,
    )
    prevented = displaced = 0
    if planted:
        out, prevented, displaced = _apply_actions(out, rng, start=t0, months=int(months), tz=tz,
                                                   situational=taxonomy.situational)
    out = out.to_crs(4326)
    out = out.sort_values(["occurred_from", "category"], kind="stable").reset_index(drop=True)
    out.insert(7, "external_id", "SIM-" + str(int(seed)) + "-" + pd.Series(
        np.arange(1, len(out) + 1)).astype("str").str.zfill(6))
    out.attrs["prevented"] = prevented
    out.attrs["displaced"] = displaced
    return out


def _apply_actions(out: gpd.GeoDataFrame, rng, *, start, months, tz, situational):
    """The incidents once the ``PLANTED_ACTIONS`` took effect (metric CRS in and out): of the
    targeted incidents in each place from its effect month on, ``effect`` are drawn out, and
    ``displaced`` of those move into the ring (same time and category). Returns the frame, the
    number of incidents that no longer happen and the number moved into a ring."""
    from layers.temporal import darkness

    x, y = out.geometry.x.to_numpy().copy(), out.geometry.y.to_numpy().copy()
    drop = np.zeros(len(out), dtype=bool)
    n_moved = 0
    to_metric = Transformer.from_crs(4326, out.crs, always_xy=True)
    for name, spec in PLANTED_ACTIONS.items():
        if not spec["effect"] or int(spec["month"]) >= months:
            continue
        cx, cy = to_metric.transform(*action_centre(name))
        r = float(spec["radius_m"])
        since = (pd.Timestamp(start) + pd.DateOffset(months=int(spec["month"]))).tz_localize(tz)
        cand = ((np.hypot(x - cx, y - cy) <= r) & (out["occurred_from"] >= since).to_numpy()
                & out["category"].isin(list(situational)).to_numpy() & ~drop)
        idx = np.flatnonzero(cand)
        if spec["night_only"] and len(idx):
            dk = darkness(out.iloc[idx], tz=tz)
            idx = idx[(dk == "night").to_numpy()]
        hit = idx[rng.random(len(idx)) < float(spec["effect"])]
        moved = hit[rng.random(len(hit)) < float(spec["displaced"])]
        # uniformly in the ring's area, clear of its edges by 5 %
        r0, r1 = 1.05 * r, 0.95 * (r + float(spec["ring_m"]))
        rad = np.sqrt(rng.uniform(r0 ** 2, r1 ** 2, len(moved)))
        ang = rng.uniform(0, 2 * np.pi, len(moved))
        x[moved], y[moved] = cx + rad * np.cos(ang), cy + rad * np.sin(ang)
        drop[np.setdiff1d(hit, moved)] = True
        n_moved += len(moved)
    out = out.set_geometry(gpd.points_from_xy(x, y, crs=out.crs))
    return out[~drop], int(drop.sum()), n_moved
