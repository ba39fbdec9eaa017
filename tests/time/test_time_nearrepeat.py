"""Knox test: band edges by hand, planted near repeats found, random data left alone."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from layers.errors import InputError, ParameterError
from layers.nearrepeat import knox_test, parse_bands


def incidents(xy, days, crs=2154, start="2024-01-01 12:00"):
    t0 = pd.Timestamp(start, tz="Europe/Paris")
    times = [t0 + pd.Timedelta(days=float(d)) for d in days]
    return gpd.GeoDataFrame(
        {"occurred_from": pd.to_datetime(times, utc=True).as_unit("ns")},
        geometry=gpd.points_from_xy([p[0] for p in xy], [p[1] for p in xy]), crs=crs,
    )


def brute_force(xy, days, s_edges, t_edges, metric="euclidean"):
    """Every pair, by hand, with the documented convention (lo, hi], lo of the first band included."""
    out = np.zeros((len(s_edges) - 1, len(t_edges) - 1), dtype=int)

    def band(v, edges):
        if v == edges[0]:
            return 0
        for k in range(len(edges) - 1):
            if edges[k] < v <= edges[k + 1]:
                return k
        return None

    for i, j in itertools.combinations(range(len(xy)), 2):
        dx, dy = xy[i][0] - xy[j][0], xy[i][1] - xy[j][1]
        d = np.hypot(dx, dy) if metric == "euclidean" else abs(dx) + abs(dy)
        si, ti = band(d, s_edges), band(abs(days[i] - days[j]), t_edges)
        if si is not None and ti is not None:
            out[si, ti] += 1
    return out


def test_band_edges_by_hand():
    # distances to the first point: 0, 100 (edge: first band), 100.4, 200, 401 (outside)
    xy = [(0, 0), (0, 0), (100, 0), (100.4, 0), (0, 200), (401, 0)]
    days = [0, 0, 7, 8, 14, 1]
    res = knox_test(incidents(xy, days), space_bands=[0, 100, 200, 400], time_bands=[0, 7, 14],
                    iterations=9, seed=1)
    expect = brute_force(xy, days, [0, 100, 200, 400], [0, 7, 14])
    assert res["observed"].to_numpy().reshape(3, 2).tolist() == expect.tolist()
    first = res.iloc[0]
    # pairs 0-100 m and 0-7 days: (0,1) 0 m 0 d, (0,2) 100 m 7 d, (1,2) 100 m 7 d, (2,3) 0.4 m 1 d
    assert (first.space_from, first.space_to, first.time_from, first.time_to) == (0, 100, 0, 7)
    assert first.observed == 4


def test_same_day_is_zero_days_whatever_the_hours():
    t = pd.to_datetime(["2024-03-04 00:30+01:00", "2024-03-04 23:30+01:00", "2024-03-05 00:10+01:00"], utc=True)
    g = gpd.GeoDataFrame({"occurred_from": t.as_unit("ns")},
                         geometry=gpd.points_from_xy([0, 10, 20], [0, 0, 0]), crs=2154)
    res = knox_test(g, space_bands=[0, 50], time_bands=[0, 0.5, 1], iterations=9, seed=0)
    assert res["observed"].tolist() == [1, 2]  # same date: (0,1); next date: (0,2), (1,2)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_counts_equal_brute_force_on_random_points(metric):
    rng = np.random.default_rng(4)
    xy = [tuple(p) for p in rng.uniform(0, 600, size=(150, 2)).round(0)]
    days = list(rng.integers(0, 60, 150))
    s_edges, t_edges = [0, 50, 100, 200], [0, 7, 14, 28]
    res = knox_test(incidents(xy, days), space_bands=s_edges, time_bands=t_edges, metric=metric,
                    iterations=5, seed=3)
    assert res["observed"].to_numpy().reshape(3, 3).tolist() == brute_force(xy, days, s_edges, t_edges, metric).tolist()


def planted_near_repeats(seed=0, n_seeds=300, repeats=2):
    """Background burglaries plus, after each of ``n_seeds`` of them, repeats within 50 m and 5 days."""
    rng = np.random.default_rng(seed)
    n_bg = 1500
    xy = rng.uniform(0, 5000, size=(n_bg, 2))
    days = rng.integers(0, 365, n_bg).astype(float)
    src = rng.choice(n_bg, n_seeds, replace=False)
    extra_xy = np.repeat(xy[src], repeats, axis=0) + rng.uniform(-35, 35, size=(n_seeds * repeats, 2))
    extra_days = np.repeat(days[src], repeats) + rng.integers(1, 6, n_seeds * repeats)
    return np.vstack([xy, extra_xy]), np.r_[days, extra_days]


def test_planted_near_repeats_are_detected():
    xy, days = planted_near_repeats()
    res = knox_test(incidents([tuple(p) for p in xy], days), space_bands="0,100,200,400",
                    time_bands="0,7,14,28", iterations=99, seed=42)
    close = res[(res.space_from == 0) & (res.time_from == 0)].iloc[0]
    assert close.p <= 0.05 and close.knox_ratio > 1.5
    assert res.attrs["n_incidents"] == len(xy) and res.attrs["iterations"] == 99
    # far bands are not inflated
    far = res[(res.space_from == 200) & (res.time_from == 14)].iloc[0]
    assert far.knox_ratio < 1.2


def test_random_data_is_not_flagged():
    rng = np.random.default_rng(9)
    xy = rng.uniform(0, 5000, size=(2000, 2))
    days = rng.integers(0, 365, 2000)
    res = knox_test(incidents([tuple(p) for p in xy], days), space_bands="0,100,200,400",
                    time_bands="0,7,14,28", iterations=99, seed=5)
    assert (res["p"] > 0.05).sum() >= 7  # 9 band pairs; about 0.45 false alarms expected
    assert res["knox_ratio"].between(0.7, 1.3).all()


def test_same_seed_same_answer_and_p_formula():
    xy, days = planted_near_repeats(n_seeds=50)
    g = incidents([tuple(p) for p in xy], days)
    a = knox_test(g, space_bands="0,100", time_bands="0,7", iterations=19, seed=8)
    b = knox_test(g, space_bands="0,100", time_bands="0,7", iterations=19, seed=8)
    pd.testing.assert_frame_equal(a, b)
    # p = (1 + #perm >= obs) / (1 + iterations): a multiple of 1/20
    assert (a["p"] * 20).round(9).mod(1).eq(0).all()


def test_month_only_dates_are_left_out_and_counted():
    g = incidents([(0, 0), (10, 0), (20, 0)], [0, 1, 2])
    g["occurred_to"] = g["occurred_from"]
    g.loc[2, "occurred_to"] = g.loc[2, "occurred_from"] + pd.Timedelta(days=30)
    res = knox_test(g, space_bands="0,100", time_bands="0,7", iterations=9)
    assert res.attrs["excluded_long_windows"] == 1 and res.attrs["n_incidents"] == 2


@pytest.mark.parametrize("value, param", [
    ("0,100,abc", "space_bands"), ("100", "space_bands"), ("0,200,100", "space_bands"), ("-5,10", "space_bands"),
])
def test_bad_bands_name_the_option(value, param):
    with pytest.raises(ParameterError) as e:
        parse_bands(value, param=param)
    assert e.value.param == param


def test_bad_options_and_inputs():
    g = incidents([(0, 0), (10, 0)], [0, 1])
    with pytest.raises(ParameterError) as e:
        knox_test(g, space_bands="0,100", time_bands="0,7", iterations=0)
    assert e.value.param == "iterations"
    with pytest.raises(ParameterError) as e:
        knox_test(g, space_bands="0,100", time_bands="0,7", metric="chebyshev")
    assert e.value.param == "metric"
    with pytest.raises(InputError, match="metric CRS"):
        knox_test(g.to_crs(4326), space_bands="0,100", time_bands="0,7")
    with pytest.raises(InputError, match="at least 2"):
        knox_test(g.iloc[:1], space_bands="0,100", time_bands="0,7")
