"""Time of day: aoristic weights, day / twilight / night, hour x weekday profiles.

An incident is often known only as a window ("between 18:00 and 08:00"): aoristic analysis
(Ratcliffe 2000, 2002) spreads its weight of 1 over the hours of its window, in proportion to
the overlap of each hour with the window. Windows longer than ``max_window`` (default 7 days)
carry no time-of-day information and are left out of time-of-day results; they are counted and
the count is returned with every result.

Darkness classes each instant (or each hour of a window) as ``day``, ``twilight`` (civil) or
``night`` from the sun's elevation at the incident's place, computed with the NOAA solar
position formulas, vectorised in NumPy (checked against ``astral`` in the tests and the bench).

All functions take incidents with the registry columns ``occurred_from`` / ``occurred_to``
(``datetime64[ns, UTC]``; ``occurred_to`` NaT when the time is exact) and a time zone ``tz``
(IANA name, e.g. ``Europe/Paris``, ``Pacific/Noumea``) in which hours and weekdays are read.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.checks import check_columns, check_crs, check_geodataframe
from layers.errors import InputError, ParameterError, RowProblem
from layers.settings import parse_tz

__all__ = [
    "DARKNESS_CLASSES",
    "DAY_ELEVATION",
    "NIGHT_ELEVATION",
    "aoristic_hours",
    "darkness",
    "darkness_shares",
    "hour_weekday_profile",
    "night_share",
    "solar_elevation",
    "sun_events",
]

#: the darkness classes, in order
DARKNESS_CLASSES = ("day", "twilight", "night")
#: sun elevation (degrees) above which it is day: the almanac's sunrise/sunset convention
#: (upper limb on the horizon: 34' of refraction + 16' of semi-diameter)
DAY_ELEVATION = -0.833
#: sun elevation (degrees) below which it is night: end of civil twilight
NIGHT_ELEVATION = -6.0

_HOUR_NS = 3_600_000_000_000
_DEFAULT_MAX_WINDOW = pd.Timedelta(days=7)


# --------------------------------------------------------------------------- checks


_check_tz = parse_tz  # ParameterError naming tz


def _check_max_window(max_window) -> pd.Timedelta:
    try:
        mw = pd.Timedelta(max_window)
    except (TypeError, ValueError):
        raise ParameterError(
            f"max_window must be a duration such as '7 days', got {max_window!r}.", "max_window"
        ) from None
    if mw <= pd.Timedelta(0):
        raise ParameterError("max_window must be a positive duration.", "max_window")
    return mw


def _utc_ns(series: pd.Series, name: str) -> np.ndarray:
    """Nanoseconds since the epoch (int64, NaT -> min int) of a tz-aware column."""
    s = series
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        raise InputError(
            f"column '{name}' must hold time-zone-aware instants (datetime64[ns, UTC]); got "
            f"{s.dtype}. Read incidents through the store or layers.io, which convert them."
        )
    s = s.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    return s.array.asi8 if hasattr(s.array, "asi8") else s.to_numpy().view("i8")


def _check_incidents(incidents, *, need_geometry: bool = False) -> None:
    if not isinstance(incidents, pd.DataFrame):
        raise InputError("incidents must be a (Geo)DataFrame of incidents.")
    check_columns(incidents, ("occurred_from",), hint="the time of each incident is required")
    if need_geometry:
        check_geodataframe(incidents, of=" with point geometries")
        check_crs(incidents)


def _windows(incidents) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start_ns, end_ns, exact) for every incident; ``end == start`` for exact times.

    Raises ``InputError`` listing the rows whose window ends before it starts or has no start.
    """
    start = _utc_ns(incidents["occurred_from"], "occurred_from")
    nat = np.iinfo(np.int64).min
    if "occurred_to" in incidents.columns and len(incidents):
        end = _utc_ns(incidents["occurred_to"], "occurred_to").copy()
    else:
        end = np.full(len(incidents), nat, dtype=np.int64)
    bad_start = start == nat
    exact = (end == nat) | (end == start)
    end = np.where(exact, start, end)
    bad_order = ~exact & (end < start)
    bad = np.flatnonzero(bad_start | bad_order)
    if len(bad):
        problems = [
            RowProblem(
                int(i) + 1,
                "occurred_from" if bad_start[i] else "occurred_to",
                "no time of occurrence" if bad_start[i] else "the window ends before it starts",
            )
            for i in bad[:200]
        ]
        raise InputError(
            f"{len(bad)} incident(s) have an unusable time window; fix them and import again.",
            problems,
        )
    return start, end, exact


# --------------------------------------------------------------------------- aoristic


def aoristic_hours(
    incidents: pd.DataFrame,
    *,
    tz: str | ZoneInfo,
    max_window: pd.Timedelta | str = _DEFAULT_MAX_WINDOW,
) -> pd.DataFrame:
    """Spread each incident's weight of 1 over the hours of its time window (aoristic).

    Parameters
    ----------
    incidents : DataFrame or GeoDataFrame
        Incidents with ``occurred_from`` and optionally ``occurred_to`` (UTC, tz-aware;
        ``occurred_to`` NaT or equal to ``occurred_from`` when the time is exact).
    tz : str or ZoneInfo
        Time zone in which hours and weekdays are read (``Europe/Paris``).
    max_window : Timedelta or str, default 7 days
        Windows longer than this carry no time-of-day information: they are left out and
        counted in ``result.attrs["excluded_long_windows"]``.

    Returns
    -------
    DataFrame
        One row per (incident, clock hour) with columns

        - ``row``: position (0-based) of the incident in ``incidents``;
        - ``hour_start``: start of the clock hour, local time (tz-aware);
        - ``weekday``: local weekday, 0 = Monday .. 6 = Sunday;
        - ``hour``: local hour 0..23;
        - ``weight``: share of the incident in that hour; the weights of an incident sum to 1.

        ``attrs``: ``excluded_long_windows`` (int), ``max_window`` (str), ``n_incidents``
        (incidents kept).

    Notes
    -----
    The window ``[occurred_from, occurred_to)`` is cut at clock-hour boundaries; each piece
    gets ``overlap / window length``. An exact time gets weight 1 in its hour. A window
    "18:00-08:00" gives 1/14 to each of the 14 hours 18, 19, ..., 07. Hours are cut in UTC,
    which coincides with local clock hours in every zone whose offset is a whole number of
    hours (France, New Caledonia); at a DST change the repeated local hour receives both
    UTC hours.

    References
    ----------
    Ratcliffe, J. H. (2000). Aoristic analysis: the spatial interpretation of unspecific
    temporal events. *International Journal of Geographical Information Science*, 14(7), 669-679.

    Ratcliffe, J. H. (2002). Aoristic signatures and the spatio-temporal analysis of high
    volume crime patterns. *Journal of Quantitative Criminology*, 18(1), 23-43.

    Examples
    --------
    >>> df = pd.DataFrame({"occurred_from": [pd.Timestamp("2024-03-04 17:00", tz="UTC")],
    ...                    "occurred_to": [pd.Timestamp("2024-03-05 07:00", tz="UTC")]})
    >>> w = aoristic_hours(df, tz="Europe/Paris")
    >>> len(w), round(float(w["weight"].iloc[0]), 4), list(w["hour"][:2])
    (14, 0.0714, [18, 19])
    """
    _check_incidents(incidents)
    tzinfo = _check_tz(tz)
    mw = _check_max_window(max_window)
    start, end, exact = _windows(incidents)
    length = end - start
    long_ = length > mw.value
    keep = np.flatnonzero(~long_)
    s, e, ex = start[keep], end[keep], exact[keep]
    first_hour = np.floor_divide(s, _HOUR_NS)
    # last hour touched by [s, e): the hour containing e - 1 ns (e itself for exact times)
    last_hour = np.where(ex, first_hour, np.floor_divide(e - 1, _HOUR_NS))
    n_pieces = (last_hour - first_hour + 1).astype(np.int64)
    rows = np.repeat(keep, n_pieces)
    offset = np.arange(n_pieces.sum()) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
    hour_idx = np.repeat(first_hour, n_pieces) + offset
    h0 = hour_idx * _HOUR_NS
    ps = np.maximum(h0, np.repeat(s, n_pieces))
    pe = np.minimum(h0 + _HOUR_NS, np.repeat(e, n_pieces))
    lengths = np.repeat(e - s, n_pieces).astype(float)
    exact_rep = np.repeat(ex, n_pieces)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(exact_rep, 1.0, (pe - ps) / lengths)
    hour_start = pd.DatetimeIndex(h0.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(tzinfo)
    out = pd.DataFrame(
        {
            "row": rows,
            "hour_start": hour_start,
            "weekday": hour_start.day_of_week.to_numpy(dtype=np.int64),
            "hour": hour_start.hour.to_numpy(dtype=np.int64),
            "weight": weight,
        }
    )
    out = out[out["weight"] > 0].reset_index(drop=True)
    out.attrs.update(
        excluded_long_windows=int(long_.sum()), max_window=str(mw), n_incidents=len(keep)
    )
    return out


def hour_weekday_profile(
    incidents: pd.DataFrame,
    *,
    tz: str | ZoneInfo,
    aoristic: bool = True,
    max_window: pd.Timedelta | str = _DEFAULT_MAX_WINDOW,
) -> pd.DataFrame:
    """Incidents per local weekday x hour (7 x 24), aoristic by default.

    Parameters
    ----------
    incidents : DataFrame or GeoDataFrame
        Incidents with ``occurred_from`` (and ``occurred_to`` for windows).
    tz : str or ZoneInfo
        Time zone of the deployment.
    aoristic : bool, default True
        Spread windows over their hours (:func:`aoristic_hours`); ``False`` counts each
        incident once at the hour of ``occurred_from``.
    max_window : Timedelta or str, default 7 days
        Longer windows are excluded (in both modes) and counted.

    Returns
    -------
    DataFrame
        Index ``weekday`` 0 (Monday) .. 6 (Sunday), columns ``0`` .. ``23`` (local hour);
        values are (weighted) incident counts. ``attrs``: ``excluded_long_windows``,
        ``n_incidents``, ``aoristic``, ``max_window``, ``tz``.

    References
    ----------
    Ratcliffe, J. H. (2002). Aoristic signatures and the spatio-temporal analysis of high
    volume crime patterns. *Journal of Quantitative Criminology*, 18(1), 23-43.
    """
    _check_incidents(incidents)
    tzinfo = _check_tz(tz)
    mw = _check_max_window(max_window)
    if aoristic:
        w = aoristic_hours(incidents, tz=tzinfo, max_window=mw)
        excluded, n = w.attrs["excluded_long_windows"], w.attrs["n_incidents"]
        weekday, hour, weight = w["weekday"].to_numpy(), w["hour"].to_numpy(), w["weight"].to_numpy()
    else:
        start, end, _ = _windows(incidents)
        keep = (end - start) <= mw.value
        local = incidents["occurred_from"].dt.tz_convert(tzinfo)[keep]
        weekday, hour = local.dt.day_of_week.to_numpy(), local.dt.hour.to_numpy()
        weight = np.ones(len(local))
        excluded, n = int((~keep).sum()), int(keep.sum())
    grid = np.zeros(7 * 24)
    np.add.at(grid, weekday.astype(np.int64) * 24 + hour.astype(np.int64), weight)
    out = pd.DataFrame(grid.reshape(7, 24), index=pd.RangeIndex(7, name="weekday"),
                       columns=pd.RangeIndex(24, name="hour"))
    out.attrs.update(excluded_long_windows=int(excluded), n_incidents=int(n),
                     aoristic=bool(aoristic), max_window=str(mw), tz=str(tzinfo))
    return out


# --------------------------------------------------------------------------- sun


def _julian_century(ns: np.ndarray) -> np.ndarray:
    jd = ns / 86_400e9 + 2440587.5
    return (jd - 2451545.0) / 36525.0


def _sun_declination_eot(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Declination (radians) and equation of time (minutes) at Julian century ``t`` (NOAA)."""
    l0 = np.mod(280.46646 + t * (36000.76983 + t * 0.0003032), 360.0)
    m = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    mr = np.radians(m)
    c = (np.sin(mr) * (1.914602 - t * (0.004817 + 0.000014 * t))
         + np.sin(2 * mr) * (0.019993 - 0.000101 * t) + np.sin(3 * mr) * 0.000289)
    true_long = l0 + c
    omega = 125.04 - 1934.136 * t
    app_long = true_long - 0.00569 - 0.00478 * np.sin(np.radians(omega))
    mean_obl = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
    obl = np.radians(mean_obl + 0.00256 * np.cos(np.radians(omega)))
    decl = np.arcsin(np.sin(obl) * np.sin(np.radians(app_long)))
    y = np.tan(obl / 2) ** 2
    l0r = np.radians(l0)
    eot = 4 * np.degrees(
        y * np.sin(2 * l0r) - 2 * e * np.sin(mr) + 4 * e * y * np.sin(mr) * np.cos(2 * l0r)
        - 0.5 * y * y * np.sin(4 * l0r) - 1.25 * e * e * np.sin(2 * mr)
    )
    return decl, eot


def solar_elevation(lon, lat, when) -> np.ndarray:
    """Geometric elevation of the sun's centre (degrees, no refraction), vectorised.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees (WGS84).
    when : array_like of datetime64 or DatetimeIndex / Series (tz-aware or UTC)
        Instants.

    Returns
    -------
    ndarray of float
        Elevation in degrees; the same as ``astral.sun.elevation(observer, t,
        with_refraction=False)`` to about 0.01 degree.

    References
    ----------
    NOAA Global Monitoring Laboratory, *Solar calculation details* (the NOAA solar calculator
    spreadsheet), after Meeus, J. (1991). *Astronomical Algorithms*. Willmann-Bell.
    """
    ns = _as_utc_ns(when)
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    t = _julian_century(ns)
    decl, eot = _sun_declination_eot(t)
    minutes = np.mod(ns / 60e9, 1440.0)
    true_solar = np.mod(minutes + eot + 4 * lon, 1440.0)
    hour_angle = np.radians(true_solar / 4 - 180)
    latr = np.radians(lat)
    cos_zen = np.sin(latr) * np.sin(decl) + np.cos(latr) * np.cos(decl) * np.cos(hour_angle)
    return 90 - np.degrees(np.arccos(np.clip(cos_zen, -1, 1)))


def _as_utc_ns(when) -> np.ndarray:
    if isinstance(when, pd.Series):
        when = pd.DatetimeIndex(when)
    if isinstance(when, pd.Timestamp):
        when = pd.DatetimeIndex([when])
    idx = pd.DatetimeIndex(when)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    return idx.tz_convert("UTC").as_unit("ns").asi8.astype(np.float64)


def sun_events(lon: float, lat: float, dates, *, tz: str | ZoneInfo) -> pd.DataFrame:
    """Dawn, sunrise, solar noon, sunset and dusk (local time) at one place, for local dates.

    Parameters
    ----------
    lon, lat : float
        Place in degrees (WGS84).
    dates : sequence of date-like
        Local calendar dates.
    tz : str or ZoneInfo
        Time zone of the answer.

    Returns
    -------
    DataFrame
        Index: the dates; columns ``dawn``, ``sunrise``, ``noon``, ``sunset``, ``dusk``
        (tz-aware local times; NaT when the event does not happen, e.g. polar day).
        Sunrise and sunset use the almanac convention (centre 0.833 degrees below the
        horizon); dawn and dusk civil twilight (6 degrees).

    References
    ----------
    NOAA Global Monitoring Laboratory, *Solar calculation details*; Meeus, J. (1991).
    *Astronomical Algorithms*. Willmann-Bell.
    """
    tzinfo = _check_tz(tz)
    days = pd.DatetimeIndex(pd.to_datetime(list(dates))).normalize()
    local_noon = days + pd.Timedelta(hours=12)
    noon_ns = local_noon.tz_localize(tzinfo).tz_convert("UTC").as_unit("ns").asi8.astype(float)
    # two iterations: evaluate declination / equation of time at the event itself
    out = {}
    utc_midnight = np.floor(noon_ns / 86_400e9) * 86_400e9
    for name, depression, sign in (("dawn", 6.0, -1), ("sunrise", 0.833, -1), ("noon", None, 0),
                                   ("sunset", 0.833, 1), ("dusk", 6.0, 1)):
        guess = noon_ns.copy()
        for _ in range(3):
            decl, eot = _sun_declination_eot(_julian_century(guess))
            noon_min = 720 - 4 * lon - eot
            if depression is None:
                minutes = noon_min
            else:
                latr = np.radians(lat)
                cos_ha = (np.cos(np.radians(90 + depression)) - np.sin(latr) * np.sin(decl)) / (
                    np.cos(latr) * np.cos(decl))
                ha = np.degrees(np.arccos(np.where(np.abs(cos_ha) <= 1, cos_ha, np.nan)))
                minutes = noon_min + sign * 4 * ha
            guess = utc_midnight + minutes * 60e9
        vals = pd.DatetimeIndex(np.where(np.isnan(guess), np.datetime64("NaT"),
                                         np.nan_to_num(guess).astype("int64").astype("datetime64[ns]")))
        out[name] = vals.tz_localize("UTC").tz_convert(tzinfo)
    return pd.DataFrame(out, index=days.date)


def _lonlat(incidents: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    pts = incidents.geometry
    if not incidents.crs.equals("EPSG:4326"):
        pts = pts.to_crs(4326)
    return pts.x.to_numpy(), pts.y.to_numpy()


def _classify(elev: np.ndarray) -> np.ndarray:
    """0 day, 1 twilight, 2 night."""
    return np.where(elev > DAY_ELEVATION, 0, np.where(elev > NIGHT_ELEVATION, 1, 2))


def darkness_shares(
    incidents: gpd.GeoDataFrame,
    *,
    tz: str | ZoneInfo,
    max_window: pd.Timedelta | str = _DEFAULT_MAX_WINDOW,
) -> pd.DataFrame:
    """Share of each incident's time in day, civil twilight and night (aoristic).

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents with ``occurred_from`` (and ``occurred_to``), any CRS.
    tz : str or ZoneInfo
        Time zone of the deployment (hours of windows are cut in it).
    max_window : Timedelta or str, default 7 days
        Longer windows get NaN shares and are counted in ``attrs["excluded_long_windows"]``.

    Returns
    -------
    DataFrame
        Same index as ``incidents``; columns ``day``, ``twilight``, ``night`` (shares summing
        to 1; NaN for excluded long windows).

    Notes
    -----
    An exact time is classed at its instant. A window is cut into clock hours
    (:func:`aoristic_hours`); each piece is classed at its midpoint and weighted by its
    aoristic weight. Day: sun's centre above -0.833 degrees (between the almanac's sunrise
    and sunset); civil twilight: between -0.833 and -6 degrees; night: below -6 degrees.

    References
    ----------
    NOAA Global Monitoring Laboratory, *Solar calculation details*. U.S. Naval Observatory,
    *Rise, set, and twilight definitions* (civil twilight: centre 6 degrees below the horizon).
    """
    _check_incidents(incidents, need_geometry=True)
    tzinfo = _check_tz(tz)
    mw = _check_max_window(max_window)
    lon, lat = _lonlat(incidents)
    w = aoristic_hours(incidents, tz=tzinfo, max_window=mw)
    start, end, exact = _windows(incidents)
    rows = w["row"].to_numpy()
    h0 = w["hour_start"].dt.tz_convert("UTC").array.asi8
    ps = np.maximum(h0, start[rows])
    pe = np.minimum(h0 + _HOUR_NS, end[rows])
    mid = np.where(exact[rows], start[rows], ps + (pe - ps) // 2)
    cls = _classify(solar_elevation(lon[rows], lat[rows], mid.astype("datetime64[ns]")))
    shares = np.zeros((len(incidents), 3))
    np.add.at(shares, (rows, cls), w["weight"].to_numpy())
    long_ = (end - start) > mw.value
    shares[long_] = np.nan
    out = pd.DataFrame(shares, index=incidents.index, columns=list(DARKNESS_CLASSES))
    out.attrs.update(excluded_long_windows=int(long_.sum()), max_window=str(mw))
    return out


def darkness(
    incidents: gpd.GeoDataFrame,
    *,
    tz: str | ZoneInfo,
    max_window: pd.Timedelta | str = _DEFAULT_MAX_WINDOW,
) -> pd.Series:
    """Day, civil twilight or night for each incident.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents with ``occurred_from`` (and ``occurred_to``), any CRS.
    tz : str or ZoneInfo
        Time zone of the deployment.
    max_window : Timedelta or str, default 7 days
        Longer windows get a missing class.

    Returns
    -------
    Series of Categorical
        Categories ``['day', 'twilight', 'night']``, index of ``incidents``, name ``darkness``.
        An exact time is classed at its instant; a window gets the class holding the largest
        share of its hours (:func:`darkness_shares`; ties go to the darker class).

    References
    ----------
    NOAA Global Monitoring Laboratory, *Solar calculation details*. U.S. Naval Observatory,
    *Rise, set, and twilight definitions*.
    """
    shares = darkness_shares(incidents, tz=tz, max_window=max_window)
    vals = shares.to_numpy()
    codes = np.full(len(vals), -1)
    ok = ~np.isnan(vals).any(axis=1)
    # ties go to the darker class: argmax over reversed columns
    codes[ok] = 2 - np.argmax(vals[ok][:, ::-1], axis=1)
    cat = pd.Categorical.from_codes(codes, categories=list(DARKNESS_CLASSES))
    out = pd.Series(cat, index=incidents.index, name="darkness")
    out.attrs.update(shares.attrs)
    return out


def night_share(
    incidents: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    tz: str | ZoneInfo,
    max_window: pd.Timedelta | str = _DEFAULT_MAX_WINDOW,
) -> gpd.GeoDataFrame:
    """Day / twilight / night shares of the incidents in each cell or hotspot area.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents (any CRS; reprojected to ``areas``' CRS).
    areas : GeoDataFrame
        Polygons: grid cells or hotspot areas (not modified).
    tz : str or ZoneInfo
        Time zone of the deployment.
    max_window : Timedelta or str, default 7 days
        Longer windows are left out (counted in ``attrs["excluded_long_windows"]``).

    Returns
    -------
    GeoDataFrame
        A copy of ``areas`` with ``n_timed`` (incidents with a usable time, weighted),
        ``day_share``, ``twilight_share``, ``night_share`` and ``dark_share``
        (twilight + night); shares are NaN where ``n_timed`` is 0. An incident on a shared
        border counts in the first area only.

    Notes
    -----
    Lighting acts on darkness: ``dark_share`` is what "dark hotspots" rank on.

    References
    ----------
    Welsh, B. C., & Farrington, D. P. (2008). Effects of improved street lighting on crime.
    *Campbell Systematic Reviews*, 4(1), 1-51.
    """
    _check_incidents(incidents, need_geometry=True)
    check_geodataframe(areas, "areas", of=" of polygons")
    check_crs(areas, "areas")
    shares = darkness_shares(incidents, tz=tz, max_window=max_window)
    pts = incidents.geometry.to_crs(areas.crs) if not incidents.crs.equals(areas.crs) else incidents.geometry
    pos = np.arange(len(incidents))
    joined = gpd.sjoin(
        gpd.GeoDataFrame({"_pos": pos}, geometry=pts.values, crs=areas.crs),
        gpd.GeoDataFrame({"_area": np.arange(len(areas))}, geometry=areas.geometry.values, crs=areas.crs),
        how="inner",
        predicate="intersects",
    ).drop_duplicates("_pos")
    vals = shares.to_numpy()[joined["_pos"].to_numpy()]
    ok = ~np.isnan(vals).any(axis=1)
    sums = np.zeros((len(areas), 3))
    np.add.at(sums, joined["_area"].to_numpy()[ok], vals[ok])
    n = sums.sum(axis=1)
    out = areas.copy()
    out["n_timed"] = n
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = sums / n[:, None]
    out["day_share"] = frac[:, 0]
    out["twilight_share"] = frac[:, 1]
    out["night_share"] = frac[:, 2]
    out["dark_share"] = frac[:, 1] + frac[:, 2]
    out.attrs.update(excluded_long_windows=shares.attrs["excluded_long_windows"],
                     max_window=shares.attrs["max_window"])
    return out
