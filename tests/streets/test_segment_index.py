"""The nearest-segment index (``layers.streets.SegmentIndex``) against a brute-force GEOS
peer: every point's distance to every segment with ``shapely.distance`` on the real
Montpellier centre sample (tests/data/addresses/mtp_voies_centre.zip)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers.streets import SegmentIndex, assign_xy

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def centre():
    return gpd.read_file(DATA / "addresses" / "mtp_voies_centre.zip").to_crs(2154).reset_index(drop=True)


def _brute(x, y, streets, tol):
    """Nearest segment by GEOS distance to every segment; ties to the first listed."""
    g = np.asarray(streets.geometry.values)
    d = shapely.distance(shapely.points(x, y)[:, None], g[None, :])
    seg = d.argmin(axis=1)
    best = d[np.arange(len(x)), seg]
    far = best > tol
    return np.where(far, -1, seg), np.where(far, np.nan, best)


@pytest.mark.parametrize("tol", [30.0, 12.5])
def test_index_agrees_with_geos_brute_force(centre, tol):
    rng = np.random.default_rng(7)
    g = np.asarray(centre.geometry.values)
    pick = rng.integers(0, len(g), 1500)
    on = shapely.get_coordinates(shapely.line_interpolate_point(g[pick], rng.uniform(0, 1, 1500), normalized=True))
    near = on + rng.normal(0, 15, on.shape)
    b = centre.total_bounds
    anywhere = np.c_[rng.uniform(b[0] - 200, b[2] + 200, 500), rng.uniform(b[1] - 200, b[3] + 200, 500)]
    # segment ends exactly: ties between the segments meeting there
    ends = shapely.get_coordinates(shapely.get_point(g[:200], 0))
    xy = np.r_[near, anywhere, ends]
    seg, dist = assign_xy(xy[:, 0], xy[:, 1], centre, tolerance_m=tol)
    want_seg, want_dist = _brute(xy[:, 0], xy[:, 1], centre, tol)
    assert (seg == want_seg).all()
    assert np.allclose(dist, want_dist, atol=1e-9, equal_nan=True)
    assert (seg[-200:] >= 0).all() and np.allclose(dist[-200:], 0)


def test_prepared_index_reused_and_checked(centre):
    index = SegmentIndex(centre, tolerance_m=30)
    x, y = np.array([770649.0, np.nan, 1e7]), np.array([6279490.0, 6279490.0, 1e7])
    a = assign_xy(x, y, centre, tolerance_m=20, tree=index)
    b = assign_xy(x, y, centre, tolerance_m=20)
    assert (a[0] == b[0]).all() and np.allclose(a[1], b[1], equal_nan=True)
    assert (a[0][1:] == -1).all()  # not finite, far away
    # an index of a smaller tolerance, or of another network, is not used
    small = SegmentIndex(centre, tolerance_m=5)
    assert (assign_xy(x, y, centre, tolerance_m=20, tree=small)[0] == b[0]).all()
    part = centre.iloc[:10]
    assert (assign_xy(x, y, part, tolerance_m=20, tree=index)[0] == assign_xy(x, y, part, tolerance_m=20)[0]).all()
    assert (assign_xy(x, y, part, tolerance_m=20)[0] < 10).all()
