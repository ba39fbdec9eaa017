"""Counts, Gi* and FDR bins: hand-checkable grids, esda's worked example, esda on the same weights."""

import warnings

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
import shapely
from libpysal.weights import WSP
from scipy import sparse, stats

from layers.errors import InputError, ParameterError
from layers.filters import parse_filters
from layers.grid import make_grid, neighbours
from layers.hotspots import bh_adjust, count_incidents, fdr_bins, gistar, gistar_z

GISTAR_COLUMNS = ["cell_id", "col", "row", "geometry", "n", "z", "p", "p_adj", "bin"]


def points(xy, crs=2154, **cols):
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


def esda_zs(y, w):
    W = WSP(sparse.csr_matrix(w)).to_W(silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(np.asarray(y, float), W, star=True, transform="B", permutations=0).Zs


def clustered(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    xy = np.r_[rng.normal([1200, 900], 150, (n // 2, 2)), rng.uniform([0, 0], [3000, 2000], (n - n // 2, 2))]
    return points(np.clip(xy, 0, [2999, 1999]),
                  category=rng.choice(["theft", "burglary", "damage"], n),
                  occurred_from=pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h"))


def test_three_by_three_with_the_centre_full_by_hand():
    grid = make_grid(shapely.box(0, 0, 300, 300), cell_size=100)
    inc = points([(150, 150)] * 20)
    out = gistar(inc, grid=grid)
    assert list(out.columns) == GISTAR_COLUMNS
    assert out["n"].tolist() == [0, 0, 0, 0, 20, 0, 0, 0, 0]
    # by hand: n=9, xbar=20/9, S² = 400/9 - (20/9)². Queen: the centre's neighbourhood is the
    # whole grid (W=9=n): Gi* is undefined there (0/0) and reported as z=0; a corner (W=4)
    # has lag 20: z = (20 - 4 xbar) / (S sqrt((9*4 - 16) / 8)).
    s = np.sqrt(400 / 9 - (20 / 9) ** 2)
    z_corner = (20 - 4 * 20 / 9) / (s * np.sqrt((9 * 4 - 16) / 8))
    z_edge = (20 - 6 * 20 / 9) / (s * np.sqrt((9 * 6 - 36) / 8))
    assert out["z"].tolist() == pytest.approx([z_corner, z_edge, z_corner, z_edge, 0, z_edge, z_corner, z_edge, z_corner])
    assert (out["bin"] == 0).all()  # 9 cells are too few for significance with queen weights
    # a band shorter than the cell size: each cell alone, z_i = (x_i - xbar) / S
    out = gistar(inc, grid=grid, distance=50)
    z_centre = (20 - 20 / 9) / s
    assert out.loc[4, "z"] == pytest.approx(z_centre)
    p_centre = 2 * stats.norm.sf(z_centre)  # 0.0047; BH over 9 cells: 9 p / 1 = 0.042 -> 95 %
    assert out.loc[4, "p_adj"] == pytest.approx(9 * p_centre)
    assert out.loc[out["bin"] != 0, "cell_id"].tolist() == [4]
    assert out.loc[4, "bin"] == 2


def test_centre_full_in_a_larger_grid_makes_its_block_the_only_hot_area():
    # 11 x 11 grid, the centre cell full: with queen weights the centre and its 8 neighbours
    # all contain the centre (same lag, same W) -> exactly that 3x3 block is hot, with one z.
    grid = make_grid(shapely.box(0, 0, 1100, 1100), cell_size=100)
    out = gistar(points([(550, 550)] * 40), grid=grid)
    hot = out.loc[out["bin"] > 0]
    block = [r * 11 + c for r in (4, 5, 6) for c in (4, 5, 6)]
    assert sorted(hot["cell_id"]) == block
    assert hot["z"].nunique() == 1 and (hot["bin"] == 3).all()
    # centre strictly the highest among its neighbourhood when its neighbours hold a little
    out = gistar(points([(550, 550)] * 40 + [(450, 450), (650, 650)]), grid=grid)
    assert out["z"].idxmax() == 5 * 11 + 5


def test_esda_docstring_worked_example():
    # esda.getisord.G_Local docstring: DistanceBand(points, threshold=15), binary, star=True
    pts = points([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)], crs=None)
    y = np.array([2, 3, 3.2, 5, 8, 7])
    w = neighbours(pts, distance=15)
    z, p = gistar_z(y, w)
    assert z == pytest.approx([-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331], abs=1e-8)
    assert p == pytest.approx(2 * stats.norm.sf(np.abs(z)))
    # the same weights built by libpysal
    wl = libpysal.weights.DistanceBand([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)], threshold=15,
                                       silence_warnings=True)
    assert ((w - sparse.eye(6)) != wl.sparse).nnz == 0


@pytest.mark.parametrize("shape", ["square", "hex"])
@pytest.mark.parametrize("distance", [None, 250])
def test_z_equals_esda(shape, distance):
    inc = clustered()
    grid = make_grid(shapely.box(0, 0, 3000, 2000), cell_size=100, shape=shape)
    out = gistar(inc, grid=grid, distance=distance)
    w = neighbours(grid, distance=distance)
    ref = esda_zs(out["n"].to_numpy(), w)
    assert np.abs(out["z"].to_numpy() - ref).max() < 1e-9
    assert out["bin"].max() == 3


def test_weighted_counts_and_gistar_on_weights():
    grid = make_grid(shapely.box(0, 0, 300, 300), cell_size=100)
    inc = points([(50, 50), (150, 150), (150, 160), (250, 250)], weight=[0.5, 1.0, 2.0, 0.25])
    c = count_incidents(inc, grid, weights="weight")
    assert c["n"].dtype == float
    assert c["n"].tolist() == [0.5, 0, 0, 0, 3.0, 0, 0, 0, 0.25]
    c = count_incidents(inc, grid)
    assert c["n"].dtype == np.int64 and c["n"].sum() == 4
    assert c.attrs["vigie"]["n_incidents"] == 4 and c.attrs["vigie"]["n_outside"] == 0


def test_counts_use_the_store_filters():
    inc = clustered(500)
    grid = make_grid(shapely.box(0, 0, 3000, 2000), cell_size=500)
    f = parse_filters(categories="theft", start="2024-03-01", end="2024-06-30", tz="Europe/Paris")
    c = count_incidents(inc, grid, filters=f)
    local = inc["occurred_from"].dt.tz_convert("Europe/Paris")
    expected = ((inc["category"] == "theft") & (local >= pd.Timestamp("2024-03-01", tz="Europe/Paris"))
                & (local < pd.Timestamp("2024-07-01", tz="Europe/Paris"))).sum()
    assert c["n"].sum() == expected > 0
    assert len(inc) == 500  # input untouched


def test_points_outside_the_grid_are_reported():
    grid = make_grid(shapely.box(0, 0, 300, 300), cell_size=100)
    c = count_incidents(points([(50, 50), (5000, 5000)]), grid)
    assert c["n"].sum() == 1 and c.attrs["vigie"]["n_outside"] == 1


def test_bh_adjust_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.20, np.nan])
    # sorted: .005 .01 .03 .04 .20 (m=5): .005*5/1=.025 .01*5/2=.025 .03*5/3=.05 .04*5/4=.05 .2
    assert bh_adjust(p)[:5] == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.20])
    assert np.isnan(bh_adjust(p)[5])


def test_fdr_bins_match_hand_benjamini_hochberg():
    rng = np.random.default_rng(7)
    z = np.r_[rng.normal(0, 1, 400), rng.normal(3.2, 0.7, 40), -rng.normal(3.0, 0.7, 20)]
    p = 2 * stats.norm.sf(np.abs(z))
    bins = fdr_bins(z, p)
    m = len(p)
    order = np.argsort(p)

    def bh_reject(alpha):  # the step-up rule as written in Benjamini & Hochberg (1995)
        ok = p[order] <= alpha * np.arange(1, m + 1) / m
        k = np.flatnonzero(ok).max() + 1 if ok.any() else 0
        rej = np.zeros(m, bool)
        rej[order[:k]] = True
        return rej

    expected = np.zeros(m, int)
    for level, alpha in ((1, 0.10), (2, 0.05), (3, 0.01)):
        expected[bh_reject(alpha)] = level
    expected = np.sign(z).astype(int) * expected
    assert bins.tolist() == expected.tolist()
    assert (bins == 3).sum() > 0 and (bins == -3).sum() > 0
    raw = fdr_bins(z, p, fdr=False)
    assert (np.abs(raw) >= np.abs(bins)).all() and (np.abs(raw) > np.abs(bins)).any()


def test_all_zero_counts_give_no_hotspot():
    grid = make_grid(shapely.box(0, 0, 300, 300), cell_size=100)
    out = gistar(points(np.zeros((0, 2))), grid=grid)
    assert (out["z"] == 0).all() and (out["bin"] == 0).all() and (out["p"] == 1).all()


def test_automatic_choices_are_reported():
    out = gistar(clustered())
    meta = out.attrs["vigie"]
    assert meta["cell_size_auto"] is True and meta["cell_size"] == 50.0
    assert meta["fdr"] is True and meta["correction"] == "Benjamini-Hochberg"
    assert meta["neighbourhood"] == "queen"
    auto = gistar(clustered(), distance="auto", cell_size=100)
    assert auto.attrs["vigie"]["distance_auto"] is True
    assert auto.attrs["vigie"]["scale"]["method"] in ("peak", "knn")


def test_incidents_in_another_crs_are_counted_on_the_metric_grid():
    inc = clustered(2000)
    grid = make_grid(gpd.GeoSeries([shapely.box(0, 0, 3000, 2000)], crs=2154), cell_size=100)
    a = gistar(inc, grid=grid)
    b = gistar(inc.to_crs(4326), grid=grid)  # coordinates transformed, not the geometries
    assert a["n"].tolist() == b["n"].tolist()
    assert np.allclose(a["z"], b["z"])
    from layers.hotspots import hotspot_areas

    assert hotspot_areas(a, inc)["hotspot_id"].tolist() == hotspot_areas(b, inc.to_crs(4326))["hotspot_id"].tolist()


def test_input_not_mutated():
    inc = clustered(300)
    before = inc.copy()
    gistar(inc, cell_size=200)
    pd.testing.assert_frame_equal(pd.DataFrame(inc.drop(columns="geometry")), pd.DataFrame(before.drop(columns="geometry")))
    assert inc.geometry.equals(before.geometry)


@pytest.mark.parametrize(
    "make, exc, text",
    [
        (lambda: gistar(points([(1, 1)]).to_crs(4326)), InputError, "geographic CRS"),
        (lambda: gistar(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=2154)), InputError, "points"),
        (lambda: gistar(pd.DataFrame({"x": [1]})), InputError, "GeoDataFrame"),
        (lambda: gistar(points([(1, 1), (5, 5)]), distance="far"), ParameterError, "distance"),
        (lambda: gistar(points([(1, 1), (5, 5)]), distance=-3), ParameterError, "distance"),
        (lambda: gistar(points([(1, 1), (5, 5)]), cell_size=0), ParameterError, "cell_size"),
        (lambda: count_incidents(points([(1, 1)]), make_grid(shapely.box(0, 0, 9, 9), cell_size=3),
                                 weights="nope"), ParameterError, "weights"),
        (lambda: count_incidents(points([(1, 1)]), make_grid(shapely.box(0, 0, 9, 9), cell_size=3),
                                 weights=[-1]), ParameterError, "non-negative"),
        (lambda: gistar(points([(1, 1)]).to_crs(4326), study_area=gpd.GeoSeries([shapely.box(0, 0, 9, 9)], crs=4326)),
         InputError, "geographic CRS"),
        (lambda: gistar(points([(1, 1)]), distance="auto"), InputError, "at least 30 incidents"),
    ],
)
def test_bad_inputs(make, exc, text):
    with pytest.raises(exc, match=text):
        make()


def test_non_binary_weights_count_as_binary_like_esda():
    inc = clustered(1500)
    grid = make_grid(shapely.box(0, 0, 3000, 2000), cell_size=150)
    y = count_incidents(inc, grid)["n"].to_numpy()
    w = neighbours(grid)
    rs = sparse.diags(1 / np.asarray(w.sum(axis=1)).ravel()) @ w  # row-standardised
    z_rs, _ = gistar_z(y, rs)
    z_b, _ = gistar_z(y, w)
    assert np.abs(z_rs - z_b).max() < 1e-12
    assert np.abs(z_b - esda_zs(y, w)).max() < 1e-9
    assert np.abs(gistar_z(y, w.toarray())[0] - z_b).max() < 1e-12  # dense input too
    with pytest.raises(ParameterError, match="weights"):
        gistar_z(y[:-1], w)


def test_array_fast_paths_equal_the_frame_functions():
    from layers.hotspots import count_xy, gistar_counts, kde, kde_xy

    inc = clustered(2000)
    grid = make_grid(shapely.box(0, 0, 3000, 2000), cell_size=100)
    xy = shapely.get_coordinates(inc.geometry.values)
    c = count_xy(xy[:, 0], xy[:, 1], grid)
    assert c["n"].tolist() == count_incidents(inc, grid)["n"].tolist()
    from layers.grid import cell_index
    from layers.hotspots import count_cells

    pd.testing.assert_frame_equal(count_cells(cell_index(grid, xy[:, 0], xy[:, 1]), grid), c)
    g1, g2 = gistar_counts(c, distance=250), gistar(inc, grid=grid, distance=250)
    assert g1["z"].tolist() == g2["z"].tolist() and g1["bin"].tolist() == g2["bin"].tolist()
    assert g1.attrs["vigie"]["neighbourhood"] == 250.0
    k1, k2 = kde_xy(xy[:, 0], xy[:, 1], grid, bandwidth=200), kde(inc, grid=grid, bandwidth=200)
    assert np.allclose(k1["kde"], k2["kde"])
    with pytest.raises(ParameterError, match="weights"):
        count_xy(xy[:, 0], xy[:, 1], grid, weights=[1.0])
    with pytest.raises(ParameterError, match="auto"):
        gistar_counts(c, distance="auto")


def test_transformed_coordinates_are_reused_only_for_the_same_points():
    from layers.hotspots._common import _xy

    inc = clustered(500).to_crs(4326)
    x1, y1 = _xy(inc, 2154)
    x2, _ = _xy(inc, 2154)
    assert x2 is x1  # gistar then hotspot_areas on the same frame: one transformation
    moved = inc.copy()
    moved.geometry = moved.geometry.translate(0.001, 0)
    x3, _ = _xy(moved, 2154)
    assert x3 is not x1 and not np.allclose(x3, x1)
    back = clustered(500)
    assert np.allclose(x1, back.geometry.x, atol=1e-6) and np.allclose(y1, back.geometry.y, atol=1e-6)
