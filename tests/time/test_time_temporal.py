"""Aoristic weights, sun position, darkness classes and hour x weekday profiles."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from astral import Observer
from astral.sun import elevation, sun

from layers.errors import InputError, ParameterError
from layers.temporal import (
    aoristic_hours,
    darkness,
    darkness_shares,
    hour_weekday_profile,
    night_share,
    solar_elevation,
    sun_events,
)

PARIS = "Europe/Paris"
MONTPELLIER = (3.8767, 43.6108)  # Place de la Comédie, lon/lat
NOUMEA = (166.4580, -22.2758)


def _t(s, tz=PARIS):
    return pd.Timestamp(s, tz=tz).tz_convert("UTC")


def frame(windows, lonlat=MONTPELLIER):
    """Incidents at one place from (from, to-or-None) local-time strings."""
    f = [_t(a) for a, _ in windows]
    t = [_t(b) if b else pd.NaT for _, b in windows]
    return gpd.GeoDataFrame(
        {"occurred_from": pd.Series(f, dtype="datetime64[ns, UTC]"),
         "occurred_to": pd.Series(t, dtype="datetime64[ns, UTC]")},
        geometry=gpd.points_from_xy([lonlat[0]] * len(f), [lonlat[1]] * len(f)), crs=4326,
    )


# ------------------------------------------------------------------ aoristic


def test_window_18_to_08_spreads_one_fourteenth_per_hour():
    w = aoristic_hours(frame([("2024-03-04 18:00", "2024-03-05 08:00")]), tz=PARIS)
    assert len(w) == 14
    np.testing.assert_allclose(w["weight"], 1 / 14)
    assert list(w["hour"]) == [18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7]
    assert list(w["weekday"]) == [0] * 6 + [1] * 8  # Monday evening, Tuesday morning


def test_partial_hours_get_their_overlap_and_exact_times_weight_one():
    # 18:30 -> 20:00: 30 min in hour 18, 60 min in hour 19 -> 1/3, 2/3
    g = frame([("2024-03-04 18:30", "2024-03-04 20:00"), ("2024-03-06 10:20", None)])
    w = aoristic_hours(g, tz=PARIS)
    first = w[w["row"] == 0]
    np.testing.assert_allclose(first["weight"], [1 / 3, 2 / 3])
    exact = w[w["row"] == 1]
    assert list(exact["hour"]) == [10] and list(exact["weight"]) == [1.0]
    assert w.groupby("row")["weight"].sum().tolist() == pytest.approx([1.0, 1.0])


def test_long_windows_are_excluded_and_counted():
    g = frame([("2024-03-01 00:00", "2024-04-01 00:00"), ("2024-03-04 18:00", "2024-03-05 08:00"),
               ("2024-03-10 12:00", None)])
    w = aoristic_hours(g, tz=PARIS)
    assert w.attrs["excluded_long_windows"] == 1
    assert set(w["row"]) == {1, 2}
    prof = hour_weekday_profile(g, tz=PARIS)
    assert prof.shape == (7, 24)
    assert prof.to_numpy().sum() == pytest.approx(2.0)
    assert prof.attrs["excluded_long_windows"] == 1
    assert prof.loc[6, 12] == pytest.approx(1.0)  # Sunday 10 March at noon
    assert prof.loc[0, 18] == pytest.approx(1 / 14)
    plain = hour_weekday_profile(g, tz=PARIS, aoristic=False)
    assert plain.loc[0, 18] == 1.0 and plain.to_numpy().sum() == 2.0


def test_profile_in_noumea_uses_its_own_zone():
    g = frame([("2024-03-04 22:00", None)], lonlat=NOUMEA)  # local Paris 22:00 = Nouméa 08:00 next day
    prof = hour_weekday_profile(g, tz="Pacific/Noumea")
    assert prof.loc[1, 8] == 1.0


def test_reversed_window_is_rejected_with_its_row():
    g = frame([("2024-03-04 18:00", None), ("2024-03-05 08:00", "2024-03-04 18:00")])
    with pytest.raises(InputError) as e:
        aoristic_hours(g, tz=PARIS)
    assert e.value.problems[0].row == 2 and e.value.problems[0].field == "occurred_to"


def test_bad_time_zone_and_max_window_name_the_parameter():
    g = frame([("2024-03-04 18:00", None)])
    with pytest.raises(ParameterError) as e:
        aoristic_hours(g, tz="Europe/Montpellier")
    assert e.value.param == "tz"
    with pytest.raises(ParameterError) as e:
        aoristic_hours(g, tz=PARIS, max_window="-1 day")
    assert e.value.param == "max_window"


def test_naive_times_are_rejected():
    g = pd.DataFrame({"occurred_from": [pd.Timestamp("2024-03-04 18:00")]})
    with pytest.raises(InputError, match="time-zone-aware"):
        aoristic_hours(g, tz=PARIS)


# ------------------------------------------------------------------ sun


def test_solar_elevation_matches_astral_on_random_places_and_instants():
    rng = np.random.default_rng(7)
    n = 200
    lon, lat = rng.uniform(-180, 180, n), rng.uniform(-65, 65, n)
    when = pd.Timestamp("2015-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 15 * 365 * 86400, n), unit="s")
    ours = solar_elevation(lon, lat, when)
    ref = [elevation(Observer(latitude=b, longitude=a), t.to_pydatetime(), with_refraction=False)
           for a, b, t in zip(lon, lat, when)]
    np.testing.assert_allclose(ours, ref, atol=0.02)


def _minutes(ts):
    return ts.hour * 60 + ts.minute + ts.second / 60


def test_montpellier_solstice_sunrise_sunset_against_almanac_and_astral():
    ev = sun_events(*MONTPELLIER, ["2024-06-20", "2024-06-21"], tz=PARIS)
    # Published value: Hérault Tribune, "Solstice d'été : de quoi s'agit-il ?" (June 2024): on
    # Thursday 20 June 2024 "pour les Héraultais, le soleil se lèvera à 6h01 et 20 secondes et se
    # couchera à 21 h 31 et 3 secondes" (CEST). The article does not say for which point of the
    # Hérault; Montpellier is its prefecture. Tolerance 2 minutes.
    d20 = ev.loc[dt.date(2024, 6, 20)]
    assert abs(_minutes(d20["sunrise"]) - (6 * 60 + 1 + 20 / 60)) <= 2
    assert abs(_minutes(d20["sunset"]) - (21 * 60 + 31 + 3 / 60)) <= 2
    # and astral (an independent implementation) for the 21st, every event within 1 minute
    ref = sun(Observer(latitude=MONTPELLIER[1], longitude=MONTPELLIER[0]), date=dt.date(2024, 6, 21),
              tzinfo=PARIS)
    d21 = ev.loc[dt.date(2024, 6, 21)]
    for name in ("dawn", "sunrise", "noon", "sunset", "dusk"):
        assert abs((d21[name] - pd.Timestamp(ref[name])).total_seconds()) <= 60, name
    assert d21["sunrise"].utcoffset() == pd.Timedelta(hours=2)


def test_noumea_sunrise_in_its_own_zone():
    ev = sun_events(*NOUMEA, ["2024-12-21"], tz="Pacific/Noumea").iloc[0]
    ref = sun(Observer(latitude=NOUMEA[1], longitude=NOUMEA[0]), date=dt.date(2024, 12, 21),
              tzinfo="Pacific/Noumea")
    assert ev["sunrise"].utcoffset() == pd.Timedelta(hours=11)
    for name in ("sunrise", "sunset", "dusk"):
        assert abs((ev[name] - pd.Timestamp(ref[name])).total_seconds()) <= 60, name
    assert 5 * 60 <= _minutes(ev["sunrise"]) <= 5 * 60 + 15  # about 05:07 local


# ------------------------------------------------------------------ darkness


def test_darkness_classes_around_a_montpellier_summer_evening():
    # 21 June 2024: sunset 21:29, dusk 22:05 (CEST)
    g = frame([("2024-06-21 13:00", None), ("2024-06-21 21:45", None), ("2024-06-21 23:30", None),
               ("2024-06-21 05:40", None), ("2024-06-21 05:00", None)])
    assert list(darkness(g, tz=PARIS)) == ["day", "twilight", "night", "twilight", "night"]


def test_darkness_of_windows_is_aoristic():
    # 20:00 -> 24:00 on 21 June: hours 20, 21 day-ish (mid 20:30 day, 21:30 twilight), 22:30, 23:30 night
    g = frame([("2024-06-21 20:00", "2024-06-22 00:00"), ("2024-06-01 00:00", "2024-06-30 00:00")])
    sh = darkness_shares(g, tz=PARIS)
    np.testing.assert_allclose(sh.iloc[0].to_numpy(), [0.25, 0.25, 0.5])
    assert sh.iloc[1].isna().all() and sh.attrs["excluded_long_windows"] == 1
    cls = darkness(g, tz=PARIS)
    assert cls.iloc[0] == "night" and pd.isna(cls.iloc[1])
    assert list(cls.cat.categories) == ["day", "twilight", "night"]


def test_night_share_per_cell():
    import shapely

    pts = frame([("2024-06-21 13:00", None), ("2024-06-21 23:30", None), ("2024-06-21 23:45", None)])
    pts = pts.to_crs(2154)
    x, y = pts.geometry.x.iloc[0], pts.geometry.y.iloc[0]
    cells = gpd.GeoDataFrame({"cell_id": [0, 1]},
                             geometry=[shapely.box(x - 50, y - 50, x + 50, y + 50),
                                       shapely.box(x + 500, y, x + 600, y + 100)], crs=2154)
    out = night_share(pts, cells, tz=PARIS)
    assert out.loc[0, "n_timed"] == 3
    assert out.loc[0, "night_share"] == pytest.approx(2 / 3)
    assert out.loc[0, "dark_share"] == pytest.approx(2 / 3)
    assert out.loc[0, "day_share"] == pytest.approx(1 / 3)
    assert np.isnan(out.loc[1, "night_share"])
    assert "night_share" not in cells.columns  # input untouched
