"""Proposals prepared once per store version (``layers.recommend.prepared``) give the sites of the
plain GeoDataFrame functions, on the demo city through the workspace and on generated incidents."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from bench.gen import clustered_incidents
from layers.columns import incident_columns
from layers.errors import InputError, ParameterError
from layers.filters import Filters
from layers.recommend import propose_lamps, site_cameras, solve_max_cover
from layers.recommend.cctv import _grid_xy
from layers.recommend.prepared import (
    prepare_cameras,
    prepare_lamps,
    propose_lamps_prepared,
    site_cameras_prepared,
)
from layers.temporal import darkness

CRS = 2154
SAME = ["rank", "source", "marginal_gain", "top_categories", "reason_fr", "reason_en"]


def _library_proposals(ws, filters, *, night=False, k=5):
    """The proposals as the workspace computed them before the preparation: the GeoDataFrame
    functions on the filtered incidents."""
    rows = ws.rows(filters, night=night)
    inc = ws.analysis_points(rows, darkness=True)
    cams, lights = ws.frame("cameras"), ws.frame("lights")
    kw = {"k": k, "taxonomy": ws.taxonomy, "tz": ws.tz, "crs": ws.settings.analysis_crs, "method": "greedy",
          "time_limit_s": 3.0}
    out = {}
    for kind, run in (("cctv", lambda: site_cameras(inc, existing=cams if len(cams) else None, **kw)),
                      ("lighting", lambda: propose_lamps(inc, lights, **kw))):
        try:
            out[kind] = run().to_crs(4326)
        except InputError:
            out[kind] = None
    return out


@pytest.mark.parametrize("filters, night", [
    (None, False),
    (Filters(categories=("burglary", "theft", "vehicle_crime")), False),
    (Filters(start="2025-01-01"), False),
    (Filters(hours=tuple(range(18, 24))), True),
])
def test_workspace_proposals_are_the_library_sites_on_the_demo(demo_home, filters, night):
    from geo_app.workspace import Workspace

    ws = Workspace(demo_home)
    filters = ws.default_filters(filters)
    got = ws.proposals(filters, night=night)
    want = _library_proposals(ws, filters, night=night)
    assert want["cctv"] is not None
    for kind, covered in (("cctv", "new_incidents"), ("lighting", "new_night_incidents")):
        part, ref = got[got["kind"] == kind], want[kind]
        if ref is None:
            assert not len(part)
            continue
        assert len(part) == len(ref) > 0
        assert part["rank"].tolist() == ref["rank"].tolist()
        assert part["covered"].tolist() == ref[covered].tolist()
        assert part["reason_en"].tolist() == ref["reason_en"].tolist()
        np.testing.assert_array_equal(np.c_[part.geometry.x, part.geometry.y], np.c_[ref.geometry.x, ref.geometry.y])


@pytest.fixture(scope="module")
def generated():
    """30,000 clustered incidents (bench.gen, seed 3) with 40 cameras (some oriented, some with
    a range) and 3,000 lamps (one in ten faulty), all in Lambert-93."""
    inc = clustered_incidents(30_000, seed=3).to_crs(CRS).reset_index(drop=True)
    inc["fid"] = np.arange(1, len(inc) + 1) * 3
    rng = np.random.default_rng(3)
    x0, y0 = inc.geometry.x.min(), inc.geometry.y.min()
    span = inc.geometry.x.max() - x0
    cams = gpd.GeoDataFrame({"range_m": np.where(rng.random(40) < 0.5, 60.0, np.nan),
                             "bearing": np.where(rng.random(40) < 0.3, rng.uniform(0, 360, 40), np.nan),
                             "fov": 90.0},
                            geometry=gpd.points_from_xy(x0 + rng.uniform(0, span, 40), y0 + rng.uniform(0, span, 40)),
                            crs=CRS).to_crs(4326)
    pick = rng.choice(len(inc), 3000, replace=False)
    lights = gpd.GeoDataFrame({"status": np.where(rng.random(3000) < 0.1, "faulty", "working")},
                              geometry=gpd.points_from_xy(inc.geometry.x.to_numpy()[pick] + rng.normal(0, 20, 3000),
                                                          inc.geometry.y.to_numpy()[pick] + rng.normal(0, 20, 3000)),
                              crs=CRS)
    cols = incident_columns(inc, crs=CRS, tz="Europe/Paris")
    dark = np.asarray(darkness(inc, tz="Europe/Paris").cat.codes, dtype=np.int8)
    labels = np.array(["day", "twilight", "night", None], dtype=object)
    inc["darkness"] = labels[dark]
    return inc, cols, dark, cams, lights


def _selections(inc):
    t = inc["occurred_from"]
    cat = inc["category"].to_numpy()
    return {
        "all": np.arange(len(inc)),
        "property, last year": np.flatnonzero(np.isin(cat, ["theft", "burglary", "vehicle_crime"])
                                              & (t >= t.max() - pd.Timedelta(days=365)).to_numpy()),
        "every third": np.arange(0, len(inc), 3),
    }


@pytest.mark.parametrize("half_life", [365.0, None])
def test_prepared_cameras_give_the_library_sites(generated, half_life):
    inc, cols, dark, cams, _ = generated
    prep = prepare_cameras(cols, dark, existing=cams)
    for name, rows in _selections(inc).items():
        want = site_cameras(inc.iloc[rows], existing=cams, k=8, recency_half_life_days=half_life, method="greedy")
        got = site_cameras_prepared(prep, rows, k=8, recency_half_life_days=half_life, bound=False)
        for c in [*SAME, "new_incidents", "covered_incidents", "incident_ids", "existing_cameras_near"]:
            assert got[c].tolist() == want[c].tolist(), (name, c)
        np.testing.assert_allclose(got["night_share"], want["night_share"], rtol=0, atol=0)
        np.testing.assert_array_equal(np.c_[got.geometry.x, got.geometry.y], np.c_[want.geometry.x, want.geometry.y])
        a, b = got.attrs["vigie"], want.attrs["vigie"]
        assert a["coverage_before"] == b["coverage_before"] and a["coverage_after"] == b["coverage_after"]
        assert a["objective"] == b["objective"] and a["n_incidents"] == b["n_incidents"]
        assert math.isnan(a["bound"])


def test_prepared_lamps_give_the_library_sites(generated):
    inc, cols, dark, _, lights = generated
    prep = prepare_lamps(cols, dark, lights)
    assert prep.n_working == int((lights["status"] == "working").sum())
    for name, rows in _selections(inc).items():
        want = propose_lamps(inc.iloc[rows], lights, k=8, method="greedy")
        got = propose_lamps_prepared(prep, rows, k=8, bound=False)
        for c in [*SAME, "new_night_incidents", "night_incidents", "incident_ids"]:
            assert got[c].tolist() == want[c].tolist(), (name, c)
        np.testing.assert_array_equal(np.c_[got.geometry.x, got.geometry.y], np.c_[want.geometry.x, want.geometry.y])
        a, b = got.attrs["vigie"], want.attrs["vigie"]
        assert a["coverage_before"] == b["coverage_before"] and a["coverage_after"] == b["coverage_after"]


def test_bound_off_keeps_the_greedy_sites(generated):
    inc, cols, dark, cams, _ = generated
    prep = prepare_cameras(cols, dark, existing=cams)
    with_bound = site_cameras_prepared(prep, np.arange(len(inc)), k=5, bound=True)
    without = site_cameras_prepared(prep, np.arange(len(inc)), k=5, bound=False)
    assert with_bound["candidate"].tolist() == without["candidate"].tolist()
    assert with_bound.attrs["vigie"]["bound"] >= with_bound.attrs["vigie"]["objective"]


def test_row_groups_give_the_same_cover_solution():
    a = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [1, 1, 0]])
    w = [5, 1, 4, 1, 5, 2]
    plain = solve_max_cover(w, a, k=2, method="greedy", bound=False)
    grouped = solve_max_cover(w, a, k=2, method="greedy", bound=False, row_groups=[0, 1, 2, 3, 4, 1])
    # by hand: A covers rows 0, 1, 5 (5 + 1 + 2 = 8), then C adds rows 3, 4 (1 + 5 = 6)
    assert plain.chosen.tolist() == grouped.chosen.tolist() == [0, 2]
    assert plain.marginal_gain.tolist() == grouped.marginal_gain.tolist() == [8.0, 6.0]
    assert math.isnan(plain.bound)


def _grid_by_meshgrid(xy, spacing):
    """The candidate lattice as ``site_cameras`` built it over the whole extent."""
    minx, miny = xy.min(axis=0) - spacing
    maxx, maxy = xy.max(axis=0) + spacing
    xs = np.arange(math.floor(minx / spacing), math.ceil(maxx / spacing) + 1) * spacing + spacing / 2
    ys = np.arange(math.floor(miny / spacing), math.ceil(maxy / spacing) + 1) * spacing + spacing / 2
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    return pts[cKDTree(xy).query(pts, distance_upper_bound=spacing * 1.5)[0] < np.inf]


@pytest.mark.parametrize("spacing", [15.0, 100.0, 7.3])
def test_lattice_around_occupied_cells_is_the_meshgrid_lattice(spacing):
    rng = np.random.default_rng(1)
    for xy in (rng.normal(size=(3000, 2)) * 300 + [765_000, 6_280_000], rng.uniform(-2000, 2000, size=(200, 2)),
               np.array([[0.0, 0.0]]), np.round(rng.uniform(0, 500, (1000, 2)), 1)):
        np.testing.assert_array_equal(_grid_xy(xy, spacing), _grid_by_meshgrid(xy, spacing))


def test_prepared_inputs_are_checked(generated):
    inc, cols, dark, cams, lights = generated
    with pytest.raises(ParameterError) as e:
        prepare_cameras(cols, dark[:10])
    assert e.value.param == "darkness" and "10 values" in e.value.message
    with pytest.raises(ParameterError) as e:
        prepare_lamps(incident_columns(inc.head(5), tz="Europe/Paris"), dark[:5], lights)
    assert e.value.param == "crs"
    with pytest.raises(ParameterError) as e:
        prepare_lamps(cols, dark, lights, reach_m=0)
    assert e.value.param == "reach_m"
    with pytest.raises(ParameterError) as e:
        prepare_cameras(inc, dark)
    assert e.value.param == "columns"
    prep = prepare_cameras(cols, dark, existing=cams)
    with pytest.raises(ParameterError) as e:
        site_cameras_prepared(prep, [0, 1], k=0)
    assert e.value.param == "k"
    with pytest.raises(ParameterError) as e:
        site_cameras_prepared(prep, [0, 1], k=2, method="simplex")
    assert e.value.param == "method"
    other = np.flatnonzero(inc["category"].to_numpy() == "other")
    with pytest.raises(InputError, match="cameras can act on"):
        site_cameras_prepared(prep, other, k=2)
