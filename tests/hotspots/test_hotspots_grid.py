"""Grids: shapes, automatic cell size, clipping, stable ids, neighbours, cell assignment."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers.errors import InputError, ParameterError, VigieWarning
from layers.grid import auto_cell_size, cell_index, make_grid, neighbours


def test_three_by_three_square_grid():
    g = make_grid(shapely.box(0, 0, 300, 300), cell_size=100)
    assert g["cell_id"].tolist() == list(range(9))
    assert np.allclose(g.geometry.area, 10_000)
    assert g.attrs["vigie"] == {
        "cell_size": 100.0, "cell_size_auto": False, "shape": "square", "n_cells": 9,
        "origin": [0.0, 0.0], "cell_area_m2": 10_000.0,
    }
    assert list(g.columns) == ["cell_id", "col", "row", "geometry"]


@pytest.mark.parametrize(
    "bounds, expected",
    [((0, 0, 5000, 8000), 100.0), ((0, 0, 20000, 20000), 500.0), ((0, 0, 1850, 5000), 50.0),
     ((0, 0, 7000, 5000), 100.0), ((0, 0, 12000, 30000), 250.0)],
)
def test_auto_cell_size_is_round_and_about_50_across(bounds, expected):
    cs = auto_cell_size(bounds)
    assert cs == expected
    short = min(bounds[2] - bounds[0], bounds[3] - bounds[1])
    assert 50 / 1.5 <= short / cs <= 50 * 1.5


def test_auto_cell_size_is_reported():
    g = make_grid(shapely.box(0, 0, 5000, 8000))
    assert g.attrs["vigie"]["cell_size"] == 100.0 and g.attrs["vigie"]["cell_size_auto"] is True
    assert g.attrs["vigie"]["n_cells"] == len(g) == 50 * 80


def test_cells_clipped_to_area_are_kept_whole():
    # an L-shaped area: the missing quadrant holds no cell; cells crossing the edge stay whole
    area = shapely.box(0, 0, 1000, 1000).difference(shapely.box(500, 500, 1000, 1000))
    g = make_grid(gpd.GeoSeries([area], crs=2154), cell_size=300)
    assert np.allclose(g.geometry.area, 90_000)
    assert g.crs.to_epsg() == 2154
    assert not g.geometry.intersects(shapely.box(610, 610, 1000, 1000)).any()
    assert g.geometry.intersects(shapely.Point(550, 100)).any()  # cell crossing x=500 kept
    # cells only touching the area are dropped
    g2 = make_grid(shapely.box(0, 0, 250, 100), cell_size=100, origin=(0, 0))
    assert len(g2) == 3


def test_stray_point_far_away_cannot_blow_up_grid():
    area = gpd.GeoSeries([shapely.box(0, 0, 2000, 2000), shapely.box(1e6, 1e6, 1e6 + 10, 1e6 + 10)], crs=2154)
    g = make_grid(area, cell_size=100)
    assert len(g) == 400 + 1


def test_cell_ids_stable_and_origin_shift():
    a = make_grid(shapely.box(0, 0, 1000, 700), cell_size=100)
    b = make_grid(shapely.box(0, 0, 1000, 700), cell_size=100)
    assert a["cell_id"].tolist() == b["cell_id"].tolist()
    assert a.geometry.geom_equals(b.geometry).all()
    c = make_grid(shapely.box(0, 0, 1000, 700), cell_size=100, origin=(50, 50))
    assert c.attrs["vigie"]["origin"] == [50.0, 50.0]
    assert np.allclose(np.sort(c.geometry.bounds["minx"].unique()) % 100, 50)


def test_hexagons():
    g = make_grid(shapely.box(0, 0, 1000, 800), cell_size=100, shape="hex")
    area = np.sqrt(3) / 2 * 100**2
    assert np.allclose(g.geometry.area, area)
    assert g.attrs["vigie"]["cell_area_m2"] == pytest.approx(area)
    # adjacent centres are 100 m apart
    c = g.geometry.centroid
    d = np.hypot(c.x.to_numpy()[:, None] - c.x.to_numpy()[None], c.y.to_numpy()[:, None] - c.y.to_numpy()[None])
    d[d == 0] = np.inf
    assert np.allclose(d.min(axis=1), 100)
    # tessellation: the cells cover the area without overlap
    assert shapely.box(0, 0, 1000, 800).difference(shapely.union_all(g.geometry.values)).area < 1e-6
    assert g.geometry.area.sum() == pytest.approx(shapely.union_all(g.geometry.values).area)


def test_warning_above_100000_cells():
    with pytest.warns(VigieWarning, match="cells"):
        make_grid(shapely.box(0, 0, 40_000, 30_000), cell_size=100)


@pytest.mark.parametrize(
    "kwargs, exc, text",
    [
        ({"cell_size": -5}, ParameterError, "positive"),
        ({"cell_size": "abc"}, ParameterError, "number of metres"),
        ({"shape": "triangle"}, ParameterError, "square"),
        ({"cell_size": 0.001}, ParameterError, "larger cell size"),
        ({"origin": "x"}, ParameterError, "origin"),
    ],
)
def test_bad_parameters(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        make_grid(shapely.box(0, 0, 10_000, 10_000), **kwargs)


def test_bad_areas():
    with pytest.raises(InputError, match="geographic CRS"):
        make_grid(gpd.GeoSeries([shapely.box(3.8, 43.5, 3.9, 43.6)], crs=4326))
    with pytest.raises(InputError, match="empty"):
        make_grid(gpd.GeoSeries([], crs=2154))
    with pytest.raises(InputError, match="GeoDataFrame"):
        make_grid([0, 0, 1, 1])


def test_queen_neighbours_of_3x3():
    w = neighbours(make_grid(shapely.box(0, 0, 300, 300), cell_size=100))
    card = np.asarray(w.sum(axis=1)).ravel()
    assert card.tolist() == [4, 6, 4, 6, 9, 6, 4, 6, 4]  # self included
    assert (w.diagonal() == 1).all() and (w != w.T).nnz == 0


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_lattice_neighbours_equal_geometric_contiguity(shape):
    g = make_grid(shapely.Point(500, 500).buffer(480), cell_size=70, shape=shape)
    fast = neighbours(g)
    plain = gpd.GeoDataFrame(geometry=g.geometry.values, crs=g.crs)  # no lattice columns
    slow = neighbours(plain)
    assert (fast != slow).nnz == 0
    inner = np.asarray(fast.sum(axis=1)).ravel().max()
    assert inner == (9 if shape == "square" else 7)


def test_distance_band_neighbours():
    g = make_grid(shapely.box(0, 0, 500, 500), cell_size=100)
    w = neighbours(g, distance=100)
    assert np.asarray(w.sum(axis=1)).ravel().max() == 5  # rook + self, ties included
    w = neighbours(g, distance=150)
    assert np.asarray(w.sum(axis=1)).ravel().max() == 9
    with pytest.raises(ParameterError, match="distance"):
        neighbours(g, distance=-1)


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_cell_index_matches_point_in_polygon(shape):
    g = make_grid(shapely.box(0, 0, 1000, 800), cell_size=90, shape=shape)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-50, 1050, 5000), rng.uniform(-50, 850, 5000)
    idx = cell_index(g, x, y)
    tree = shapely.STRtree(g.geometry.values)
    for k in range(0, 5000, 7):
        hits = tree.query(shapely.Point(x[k], y[k]), predicate="intersects")
        if len(hits) == 0:
            assert idx[k] == -1
        else:
            assert idx[k] in hits


def test_invalid_study_area_is_repaired():
    bowtie = shapely.Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000), (0, 0)])  # self-intersecting
    assert not bowtie.is_valid
    g = make_grid(gpd.GeoSeries([bowtie, None], crs=2154), cell_size=100)
    assert 40 <= len(g) <= 100
    assert not g.geometry.intersects(shapely.Point(550, 50)).any()  # the empty bottom of the bow tie
