"""Space-time cube, Mann-Kendall, space-time Gi* and the emerging-hotspot categories."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pymannkendall as mk
import pytest
import shapely

from layers.errors import InputError, ParameterError
from layers.grid import make_grid, neighbours
from layers.spacetime import (
    EMERGING_CATEGORIES,
    choose_period,
    classify_emerging,
    classify_sfhotspot,
    emerging_hotspots,
    mann_kendall,
    space_time_cube,
    space_time_gistar,
)

CODE = {v: k for k, v in EMERGING_CATEGORIES.items()}

# ------------------------------------------------------------------ Mann-Kendall


@pytest.mark.parametrize("series", [
    [1, 2, 2, 3, 3, 3, 5, 4, 4, 1, 0, 0, 7],          # ties
    [5, 4, 4, 4, 3, 3, 2, 2, 1, 0, 0, 0],              # decreasing with ties
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],              # many tied zeros (a new hotspot's counts)
    [3.2, 1.1, 4.5, 2.2, 5.9, 0.3, 2.8, 3.3, 1.9, 4.4],  # no ties
])
def test_mann_kendall_equals_pymannkendall(series):
    s, z, p = mann_kendall(np.array(series, dtype=float))
    ref = mk.original_test(np.array(series, dtype=float))
    assert s == ref.s
    assert z == pytest.approx(ref.z, abs=1e-12)
    assert p == pytest.approx(ref.p, abs=1e-12)


def test_mann_kendall_vectorised_over_rows_and_constant_rows():
    rng = np.random.default_rng(3)
    x = rng.poisson(2.0, size=(50, 24)).astype(float)
    x[0] = 4.0
    s, z, p = mann_kendall(x)
    assert z[0] == 0 and p[0] == 1
    for k in range(1, 50):
        ref = mk.original_test(x[k])
        assert (s[k], z[k], p[k]) == pytest.approx((ref.s, ref.z, ref.p), abs=1e-12)


# ------------------------------------------------------------------ categories from hand-made bins

N = 20  # periods; 90 % of 20 is 18
SIG_UP = (3.0, 0.001)
SIG_DOWN = (-3.0, 0.001)
FLAT = (0.2, 0.8)


def row(hot=(), cold=(), level=2):
    b = np.zeros(N, dtype=int)
    b[list(hot)] = level
    b[list(cold)] = -level
    return b


CASES = {
    "new hot spot": (row(hot=[19]), FLAT),
    "consecutive hot spot": (row(hot=[16, 17, 18, 19]), FLAT),
    "intensifying hot spot": (row(hot=range(1, 20)), SIG_UP),
    "persistent hot spot": (row(hot=range(20)), FLAT),
    "diminishing hot spot": (row(hot=list(range(18)) + [19]), SIG_DOWN),
    "sporadic hot spot": (row(hot=[3, 7, 8, 12, 19]), FLAT),
    "oscillating hot spot": (row(hot=[10, 18, 19], cold=[2, 3]), FLAT),
    "historical hot spot": (row(hot=range(19)), SIG_DOWN),
    "new cold spot": (row(cold=[19]), FLAT),
    "consecutive cold spot": (row(cold=[17, 18, 19]), FLAT),
    "intensifying cold spot": (row(cold=range(20)), SIG_DOWN),
    "persistent cold spot": (row(cold=list(range(9)) + list(range(10, 20))), FLAT),
    "diminishing cold spot": (row(cold=range(1, 20)), SIG_UP),
    "sporadic cold spot": (row(cold=[0, 5, 19]), FLAT),
    "oscillating cold spot": (row(cold=[4, 19], hot=[1]), FLAT),
    "historical cold spot": (row(cold=range(18)), FLAT),
    "no pattern detected": (row(hot=[5, 6]), FLAT),
}


def test_every_category_has_a_case():
    assert set(CASES) == set(EMERGING_CATEGORIES.values())


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_made_cube_lands_in_its_category(name):
    bins, (tz, tp) = CASES[name]
    code = classify_emerging(bins[None, :], [tz], [tp])[0]
    assert EMERGING_CATEGORIES[int(code)] == name


def test_categories_vectorised_in_one_call_and_confidence_level():
    names = sorted(CASES)
    bins = np.vstack([CASES[n][0] for n in names])
    tz = [CASES[n][1][0] for n in names]
    tp = [CASES[n][1][1] for n in names]
    got = [EMERGING_CATEGORIES[int(c)] for c in classify_emerging(bins, tz, tp)]
    assert got == names
    # bins of 90 % confidence (+-1) do not count at 95 %
    weak = row(hot=[19], level=1)
    assert classify_emerging(weak[None], [0.0], [1.0], confidence=95)[0] == 0
    assert classify_emerging(weak[None], [0.0], [1.0], confidence=90)[0] == CODE["new hot spot"]


def test_ninety_percent_rule_boundary():
    # 18 of 20 periods hot (90 %) including the last: persistent; 17 of 20: sporadic
    assert classify_emerging(row(hot=list(range(2, 20)))[None], [0.0], [0.9])[0] == CODE["persistent hot spot"]
    assert classify_emerging(row(hot=list(range(3, 20)))[None], [0.0], [0.9])[0] == CODE["consecutive hot spot"]
    assert classify_emerging(row(hot=[0] + list(range(4, 20)))[None], [0.0], [0.9])[0] == CODE["sporadic hot spot"]


def test_bad_confidence_is_a_parameter_error():
    with pytest.raises(ParameterError) as e:
        classify_emerging(row()[None], [0.0], [1.0], confidence=80)
    assert e.value.param == "confidence"


def test_sfhotspot_classes():
    bins = np.vstack([
        row(hot=range(20)),            # persistent
        row(hot=[16, 17, 18, 19]),        # emerging: none in the older 16, all 4 recent
        row(hot=[0, 1, 2, 3, 4]),         # former
        row(hot=[2, 9, 17]),              # intermittent
        row(),                            # no pattern
        row(hot=[0, 1, 2], cold=[10, 11, 12]),  # mixed
    ])
    got = list(classify_sfhotspot(bins))
    assert got == ["persistent hotspot", "emerging hotspot", "former hotspot", "intermittent hotspot",
                   "no pattern", "mixed hot/coldspot"]


# ------------------------------------------------------------------ space-time Gi* against esda


def test_space_time_gistar_equals_esda_on_the_flattened_cube():
    from esda.getisord import G_Local
    from libpysal.weights import WSP
    from scipy import sparse

    grid = make_grid(shapely.box(0, 0, 500, 400), cell_size=100)
    rng = np.random.default_rng(11)
    cube = rng.poisson(1.5, size=(len(grid), 6)).astype(float)
    cube[7, 3:] += 30
    w = neighbours(grid)
    z, _, _ = space_time_gistar(cube, w, time_window=1)
    t_band = sparse.diags([np.ones(6), np.ones(5)], [0, -1])
    big = sparse.kron(t_band, w, format="csr")
    # esda's star weights: pass the matrix without the diagonal, star=True adds it back
    nodiag = (big - sparse.identity(big.shape[0], format="csr")).tocsr()
    nodiag.eliminate_zeros()
    ref = G_Local(cube.T.ravel(), WSP(nodiag).to_W(silence_warnings=True), star=True,
                  transform="B", permutations=0)
    np.testing.assert_allclose(z, np.asarray(ref.Zs).reshape(6, -1).T, atol=1e-9)
    assert z[7, 4] > 2 and z[7, 0] < 0  # the cell becomes hot when the extra counts start
    # space-only neighbourhood: each slice's neighbours are in its own period only
    z0, _, _ = space_time_gistar(cube, w, time_window=0)
    assert not np.allclose(z0, z)


def test_bad_time_window():
    with pytest.raises(ParameterError) as e:
        space_time_gistar(np.ones((4, 5)), np.eye(4), time_window=-1)
    assert e.value.param == "time_window"


# ------------------------------------------------------------------ cube and end-to-end


def _incidents(xs, ys, times, crs=2154):
    return gpd.GeoDataFrame(
        {"occurred_from": pd.to_datetime(list(times), utc=True).as_unit("ns"),
         "occurred_to": pd.Series(pd.NaT, index=range(len(xs)), dtype="datetime64[ns, UTC]")},
        geometry=gpd.points_from_xy(xs, ys), crs=crs)


def _month_start(k):
    return pd.Timestamp("2023-01-01", tz="Europe/Paris") + pd.DateOffset(months=k)


def synthetic_city(seed=5, months=18, planted=None):
    """Uniform background over 2 km x 2 km plus planted cells: {name: (x, y, counts per month)}."""
    rng = np.random.default_rng(seed)
    xs, ys, ts = [], [], []
    for m in range(months):
        n = 60
        xs += list(rng.uniform(0, 2000, n))
        ys += list(rng.uniform(0, 2000, n))
        ts += [_month_start(m) + pd.Timedelta(days=float(d)) for d in rng.uniform(0, 27, n)]
        for x, y, counts in (planted or {}).values():
            c = counts[m]
            xs += list(rng.uniform(x - 40, x + 40, c))
            ys += list(rng.uniform(y - 40, y + 40, c))
            ts += [_month_start(m) + pd.Timedelta(days=float(d)) for d in rng.uniform(0, 27, c)]
    return _incidents(xs, ys, ts)


def test_cube_counts_by_local_month_with_empty_periods():
    g = _incidents([50, 150, 150], [50, 50, 50],
                   ["2024-01-31 23:30+01:00", "2024-02-01 00:10+01:00", "2024-04-15 12:00+02:00"])
    grid = make_grid(gpd.GeoSeries([shapely.box(0, 0, 200, 100)], crs=2154), cell_size=100)
    cube, labels, info = space_time_cube(g, grid, period="month", tz="Europe/Paris")
    assert labels == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert cube.tolist() == [[1, 0, 0, 0], [0, 1, 0, 1]]
    assert info["period"] == "month" and not info["period_auto"]
    _, wl, _ = space_time_cube(g, grid, period="week", tz="Europe/Paris")
    assert wl[0] == "2024-W05"


def test_period_rule():
    assert choose_period(pd.Timedelta(days=10)) == "day"
    assert choose_period(pd.Timedelta(days=60)) == "week"
    assert choose_period(pd.Timedelta(days=700)) == "month"
    assert choose_period(pd.Timedelta(days=2000)) == "quarter"
    assert choose_period(pd.Timedelta(days=5000)) == "year"


def test_end_to_end_new_persistent_and_intensifying_cells():
    months = 18
    planted = {
        "new": (250, 250, [0] * 17 + [40]),
        "persistent": (1250, 1250, [20] * months),
        "growing": (1750, 250, [10 + m for m in range(months)]),
    }
    g = synthetic_city(planted=planted, months=months)
    grid = make_grid(gpd.GeoSeries([shapely.box(0, 0, 2000, 2000)], crs=2154), cell_size=100)
    out = emerging_hotspots(g, grid=grid, period="month", tz="Europe/Paris")
    assert out.attrs["vigie"]["period"] == "month" and out.attrs["vigie"]["periods"][-1] == "2024-06"

    def cat(x, y):
        return out.loc[out.geometry.contains(shapely.Point(x, y)), "category"].iloc[0]

    assert cat(250, 250) == "new hot spot"
    assert cat(1250, 1250) == "persistent hot spot"
    assert cat(1750, 250) == "intensifying hot spot"
    growing = out.loc[out.geometry.contains(shapely.Point(1750, 250))].iloc[0]
    assert growing["count_trend_z"] > 3 and growing["count_trend_p"] < 0.01
    # documented columns
    for col in ("cell_id", "category", "category_code", "sfhotspot_class", "trend_z", "trend_p",
                "count_trend_z", "count_trend_p", "n", "n_hot", "n_cold", "bin_2023-01", "n_2024-06"):
        assert col in out.columns
    assert out["n"].sum() == len(g)
    assert (out.filter(like="bin_").abs().max().max()) <= 3


def test_emerging_writes_and_reads_back_as_geopackage(tmp_path):
    g = synthetic_city(planted={"p": (1250, 1250, [12] * 12)}, months=12)
    out = emerging_hotspots(g, cell_size=200, period="month", tz="Europe/Paris")
    path = tmp_path / "ehsa.gpkg"
    out.to_file(path, driver="GPKG")
    back = gpd.read_file(path)
    assert list(back["category"]) == list(out["category"])
    assert (back["bin_2023-05"].to_numpy() == out["bin_2023-05"].to_numpy()).all()


def test_too_few_periods_and_bad_period_are_explained():
    g = synthetic_city(months=2)
    with pytest.raises(InputError, match="at least 4 periods"):
        emerging_hotspots(g, cell_size=200, period="month", tz="Europe/Paris")
    with pytest.raises(ParameterError) as e:
        emerging_hotspots(g, cell_size=200, period="fortnight", tz="Europe/Paris")
    assert e.value.param == "period"


def test_geographic_crs_is_rejected():
    g = synthetic_city(months=5).to_crs(4326)
    with pytest.raises(InputError, match="analysis CRS"):
        emerging_hotspots(g, period="month", tz="Europe/Paris")


@pytest.mark.parametrize("time_window", [0, 1, 3])
def test_cube_gistar_equals_hotspots_gistar_z_on_explicit_kronecker_weights(time_window):
    from scipy import sparse

    from layers.hotspots import gistar_z

    grid = make_grid(gpd.GeoSeries([shapely.box(0, 0, 600, 500)], crs=2154), cell_size=100)
    cube = np.random.default_rng(2).poisson(2.0, size=(len(grid), 7)).astype(float)
    w = neighbours(grid)
    z, p, _ = space_time_gistar(cube, w, time_window=time_window)
    offsets = list(range(0, -time_window - 1, -1))
    band = sparse.diags([np.ones(7 - abs(o)) for o in offsets], offsets, shape=(7, 7))
    z_ref, p_ref = gistar_z(cube.T.ravel(), sparse.kron(band, w, format="csr"))
    np.testing.assert_allclose(z, z_ref.reshape(7, -1).T, atol=1e-10)
    np.testing.assert_allclose(p, p_ref.reshape(7, -1).T, atol=1e-12)
