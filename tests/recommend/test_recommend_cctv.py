"""CCTV siting on small hand-built layers: locked cameras, exclusion, field of view, categories."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.errors import InputError, ParameterError
from layers.recommend import coverage_matrix, site_cameras
from layers.recommend._common import recency_weights
from layers.recommend.cctv import SITE_COLUMNS

CRS = 2154
X0, Y0 = 770_000.0, 6_279_000.0
T0 = pd.Timestamp("2025-06-01T12:00", tz="UTC")


def incidents(points, category="theft", days_ago=0, night=None):
    """points: list of (dx, dy, n) clusters of n incidents at (X0+dx, Y0+dy)."""
    xs, ys, cats = [], [], []
    for item in points:
        dx, dy, n = item[:3]
        cat = item[3] if len(item) > 3 else category
        xs += [X0 + dx] * n
        ys += [Y0 + dy] * n
        cats += [cat] * n
    gdf = gpd.GeoDataFrame(
        {"category": cats,
         "occurred_from": pd.Series([T0 - pd.Timedelta(days=days_ago)] * len(xs)),
         "fid": np.arange(1, len(xs) + 1)},
        geometry=gpd.points_from_xy(xs, ys), crs=CRS,
    )
    if night is not None:
        gdf["night"] = night
    return gdf


def points(coords, **cols):
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy([X0 + x for x, _ in coords],
                                                              [Y0 + y for _, y in coords]), crs=CRS)


# three clusters: 10 incidents at (0, 0), 6 at (1000, 0), 3 at (2000, 0)
CLUSTERS = [(0, 0, 10), (1000, 0, 6), (2000, 0, 3)]
CANDS = [(10, 0), (1010, 0), (2010, 0), (5000, 5000)]


def test_two_cameras_cover_the_two_largest_clusters():
    out = site_cameras(incidents(CLUSTERS), candidates=points(CANDS), k=2,
                       recency_half_life_days=None)
    assert list(out.columns) == list(SITE_COLUMNS)
    assert out["candidate"].tolist() == [0, 1]
    assert out["rank"].tolist() == [1, 2]
    assert out["marginal_gain"].tolist() == pytest.approx([10.0, 6.0])
    assert out["covered_incidents"].tolist() == [10, 6]
    assert out["incident_ids"].iloc[1] == list(range(11, 17))
    meta = out.attrs["vigie"]
    assert meta["coverage_before"]["share"] == 0.0
    assert meta["coverage_after"]["share"] == pytest.approx(16 / 19)
    assert meta["coverage_after"]["incidents"] == 16
    assert meta["gap"] == pytest.approx(0.0)
    assert meta["solver"] and meta["method"] == "exact"
    # the explanation quotes the numbers and the technique and evidence are attached
    assert "10 faits à moins de 100 m" in out["reason_fr"].iloc[0]
    assert "10 incidents within 100 m" in out["reason_en"].iloc[0]
    assert "surveillance formelle" in out["technique_fr"].iloc[0]
    assert "−51 %" in out["evidence_fr"].iloc[0] and "Piza" in out["evidence_en"].iloc[0]


def test_existing_camera_locked_in():
    existing = points([(0, 0)], range_m=[100.0])
    out = site_cameras(incidents(CLUSTERS), candidates=points(CANDS), existing=existing, k=1,
                       recency_half_life_days=None)
    assert out["candidate"].tolist() == [1]  # the big cluster is already filmed
    meta = out.attrs["vigie"]
    assert meta["coverage_before"]["weight"] == pytest.approx(10.0)
    assert meta["coverage_after"]["weight"] == pytest.approx(16.0)
    # the reason mentions the existing camera near a new site when there is one
    near = site_cameras(incidents(CLUSTERS), candidates=points(CANDS),
                        existing=points([(150, 0)], range_m=[20.0]), k=1,
                        recency_half_life_days=None)
    assert near["existing_cameras_near"].iloc[0] == 1
    assert "1 caméra(s) existante(s)" in near["reason_fr"].iloc[0]


def test_exclusion_zone_respected():
    zone = gpd.GeoDataFrame(geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 50, Y0 + 50)], crs=CRS)
    out = site_cameras(incidents(CLUSTERS), candidates=points(CANDS), exclusion=zone, k=2,
                       recency_half_life_days=None)
    assert 0 not in out["candidate"].tolist()
    assert out["candidate"].tolist() == [1, 2]
    assert out.attrs["vigie"]["excluded_candidates"] == 1


def test_field_of_view_sectors():
    demand = np.array([[100.0, 0.0], [0.0, 100.0], [-50.0, 0.0], [0.0, 0.0]])
    site = np.array([[0.0, 0.0]])
    # looking east (90°) with 90° of view: sees (100, 0) and the point under the camera only
    m = coverage_matrix(demand, site, radius=150, bearing=[90.0], fov=[90.0])
    assert m.toarray().ravel().tolist() == [1, 0, 0, 1]
    m = coverage_matrix(demand, site, radius=150, bearing=[0.0], fov=[90.0])
    assert m.toarray().ravel().tolist() == [0, 1, 0, 1]
    m = coverage_matrix(demand, site, radius=150, bearing=[np.nan], fov=[np.nan])
    assert m.toarray().ravel().tolist() == [1, 1, 1, 1]
    # an oriented existing camera looking away from the cluster leaves it to a new camera
    existing = points([(-20, 0)], bearing=[270.0], fov=[60.0], range_m=[100.0])
    out = site_cameras(incidents(CLUSTERS), candidates=points(CANDS), existing=existing, k=1,
                       recency_half_life_days=None)
    assert out["candidate"].tolist() == [0]
    # new cameras with a 90° field of view are tried in 4 directions; a cluster north of the
    # pole is seen by the one facing north (0°)
    out = site_cameras(incidents([(0, 60, 5)]), candidates=points([(0, 0)]), fov=90, k=1,
                       recency_half_life_days=None)
    assert out["bearing"].tolist() == [0.0] and out["fov"].tolist() == [90.0]
    assert out["covered_incidents"].tolist() == [5]


def test_sensitive_categories_excluded_by_default():
    inc = incidents([(0, 0, 3, "theft"), (1000, 0, 20, "domestic_violence")])
    out = site_cameras(inc, candidates=points(CANDS), k=1, recency_half_life_days=None)
    assert out["candidate"].tolist() == [0]
    assert "domestic_violence" not in out.attrs["vigie"]["categories"]
    police = site_cameras(inc, candidates=points(CANDS), k=1, recency_half_life_days=None,
                          include_sensitive=True)
    assert police["candidate"].tolist() == [1]
    # only sensitive incidents and no permission: a clear error, not an empty answer
    with pytest.raises(InputError, match="categories"):
        site_cameras(incidents([(0, 0, 3, "domestic_violence")]), candidates=points(CANDS), k=1)


def test_recency_weights_half_life():
    times = pd.Series(pd.to_datetime(["2025-01-01", "2024-01-01", "2023-01-01"], utc=True))
    w = recency_weights(times, half_life_days=365, reference=pd.Timestamp("2025-01-01", tz="UTC"))
    assert w == pytest.approx([1.0, 0.5 ** (366 / 365), 0.5 ** (731 / 365)])
    # a recent small cluster beats an old big one when the half-life is short
    old = incidents([(0, 0, 10)], days_ago=3 * 365)
    new = incidents([(1000, 0, 4)], days_ago=0)
    both = pd.concat([old, new], ignore_index=True)
    out = site_cameras(both, candidates=points(CANDS), k=1, recency_half_life_days=365)
    assert out["candidate"].tolist() == [1]
    out = site_cameras(both, candidates=points(CANDS), k=1, recency_half_life_days=None)
    assert out["candidate"].tolist() == [0]


def test_hours_weighting():
    inc = incidents(CLUSTERS)  # every incident at 12:00 UTC = 14:00 in Paris (summer)
    with pytest.raises(InputError):
        site_cameras(inc, candidates=points(CANDS), k=1, hours=[22, 23, 0, 1])
    out = site_cameras(inc, candidates=points(CANDS), k=1, hours={14: 2.0},
                       recency_half_life_days=None)
    assert out["marginal_gain"].tolist() == pytest.approx([20.0])


def test_grid_candidates_when_none_given():
    out = site_cameras(incidents(CLUSTERS), k=3, recency_half_life_days=None)
    meta = out.attrs["vigie"]
    assert meta["candidate_source"] == "grid" and meta["grid_spacing_m"] == 100.0
    assert meta["coverage_after"]["share"] == pytest.approx(1.0)


def test_coverage_target():
    out = site_cameras(incidents(CLUSTERS), candidates=points(CANDS), coverage_target=0.8,
                       recency_half_life_days=None)
    assert len(out) == 2  # 16/19 = 84 % with two; one gives 53 %


def test_lonlat_input_is_reprojected():
    inc = incidents(CLUSTERS).to_crs(4326)
    out = site_cameras(inc, candidates=points(CANDS).to_crs(4326), k=1, crs=2154,
                       recency_half_life_days=None)
    assert out.crs.to_epsg() == 2154
    assert out.geometry.iloc[0].distance(shapely.Point(X0 + 10, Y0)) < 0.01


def test_inputs_not_mutated():
    inc, cand = incidents(CLUSTERS), points(CANDS)
    before_i, before_c = inc.copy(), cand.copy()
    site_cameras(inc, candidates=cand, k=1)
    pd.testing.assert_frame_equal(inc, before_i)
    pd.testing.assert_frame_equal(cand, before_c)


@pytest.mark.parametrize("change,exc,where", [
    (lambda g: g.set_crs(None, allow_override=True), InputError, "no CRS"),
    (lambda g: g.drop(columns="category"), InputError, "category"),
    (lambda g: g.set_geometry(g.buffer(5)), InputError, "Point"),
    (lambda g: g.iloc[0:0], InputError, "empty"),
])
def test_bad_incidents(change, exc, where):
    with pytest.raises(exc, match=where):
        site_cameras(change(incidents(CLUSTERS)), candidates=points(CANDS), k=1)


@pytest.mark.parametrize("kwargs,param", [
    ({"k": 1, "radius_m": -5}, "radius_m"),
    ({"k": 1, "fov": 400}, "fov"),
    ({"k": 0}, "k"),
    ({"k": 1, "method": "best"}, "method"),
    ({"k": 1, "recency_half_life_days": 0}, "recency_half_life_days"),
    ({"k": 1, "hours": [25]}, "hours"),
    ({"k": 1, "categories": ["nope"]}, "categories"),
])
def test_bad_parameters(kwargs, param):
    with pytest.raises(ParameterError) as e:
        site_cameras(incidents(CLUSTERS), candidates=points(CANDS), **kwargs)
    assert e.value.param == param


def test_night_share_of_each_site():
    inc = incidents(CLUSTERS, night=[True] * 7 + [False] * 3 + [False] * 9)
    out = site_cameras(inc, candidates=points(CANDS), k=2, recency_half_life_days=None)
    assert out["night_share"].tolist() == pytest.approx([0.7, 0.0])
    assert "70 % la nuit" in out["reason_fr"].iloc[0]
    # without a night column the darkness classes are computed (12:00 UTC in June: day)
    out = site_cameras(incidents(CLUSTERS), candidates=points(CANDS), k=1)
    assert out["night_share"].tolist() == [0.0]


@pytest.mark.slow
def test_demo_city_cameras_exact_and_greedy(demo_home):
    import math

    crs = demo_home.settings.analysis_crs
    inc = demo_home.store.read("incidents")
    lights = demo_home.store.read("lights")
    cams = demo_home.store.read("cameras")
    exact = site_cameras(inc, candidates=lights, existing=cams, k=10, crs=crs, method="exact")
    greedy = site_cameras(inc, candidates=lights, existing=cams, k=10, crs=crs, method="greedy")
    e, g = exact.attrs["vigie"], greedy.attrs["vigie"]
    assert e["n_existing"] == len(cams) and e["coverage_before"]["share"] > 0
    assert e["status"] == "optimal" or e["gap"] <= 0.01
    assert g["objective"] <= e["objective"] + 1e-6
    assert g["objective"] >= (1 - 1 / math.e) * e["objective"]
    assert g["bound"] >= e["objective"] - 1e-6
    # the marginal gains add up to the coverage gained, and sites are distinct supports
    assert exact["marginal_gain"].sum() == pytest.approx(e["objective"])
    assert exact["candidate"].is_unique
    assert e["coverage_after"]["weight"] == pytest.approx(e["coverage_before"]["weight"] + e["objective"])
