"""Street micro-places: network, assignment, counts, Gi* over network contiguity, concentration.

Hand-built networks with values worked out by hand, esda's G_Local on the same weights, and the
real Montpellier centre sample of tests/data/addresses/mtp_voies_centre.zip.
"""

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.errors import InputError, ParameterError
from layers.streets import (
    assign,
    assign_xy,
    concentration,
    network,
    segment_counts,
    segment_gistar,
    segment_neighbours,
)

DATA = Path(__file__).resolve().parents[1] / "data"
COUNT_COLUMNS = ["segment", "length_m", "n", "per_100m"]
GISTAR_COLUMNS = COUNT_COLUMNS + ["z", "p", "p_adj", "bin"]


def lines(*coords, crs=2154):
    return gpd.GeoDataFrame({"name": [f"S{i}" for i in range(len(coords))]},
                            geometry=[shapely.LineString(c) for c in coords], crs=crs)


def points(xy, crs=2154):
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


@pytest.fixture
def cross():
    # A, B, C along y=0; D up from (100, 0); E alone far away
    return lines([(0, 0), (100, 0)], [(100, 0), (200, 0)], [(200, 0), (300, 0)],
                 [(100, 0), (100, 100)], [(500, 500), (600, 500)])


def cross_incidents():
    return points([(50, -10)] * 2 + [(150, 5)] * 10 + [(105, 50)] + [(550, 510)] + [(400, 300)])


def test_network_nodes_and_neighbours(cross):
    net = network(cross)
    # (0,0) (100,0) (200,0) (300,0) (100,100) and E's two ends; (100,0) is shared by A, B, D
    assert net.attrs["vigie"]["nodes"] == 7
    assert net[["from_node", "to_node"]].to_numpy().tolist()[1][0] == net["to_node"].iloc[0]
    w = segment_neighbours(cross).toarray()
    expected = np.array([
        [1, 1, 0, 1, 0],
        [1, 1, 1, 1, 0],
        [0, 1, 1, 0, 0],
        [1, 1, 0, 1, 0],
        [0, 0, 0, 0, 1],
    ])
    np.testing.assert_array_equal(w, expected)
    assert net["length_m"].tolist() == [100, 100, 100, 100, 100]


def test_ends_within_snap_distance_meet():
    net = lines([(0, 0), (100, 0)], [(100.3, 0), (200, 0)], [(200.9, 0), (300, 0)])
    w = segment_neighbours(net, snap_m=0.5).toarray()
    assert w[0, 1] == 1 and w[1, 2] == 0
    assert segment_neighbours(net, snap_m=1.0).toarray()[1, 2] == 1


def test_assign_nearest_within_tolerance(cross):
    seg, dist = assign_xy([50, 150, 105, 550, 400, 100, 50], [-10, 5, 50, 510, 300, 0, 29.5], cross)
    # (100, 0) is on A, B and D: the first listed wins; (50, 29.5) is 29.5 m from A
    assert seg.tolist() == [0, 1, 3, 4, -1, 0, 0]
    np.testing.assert_allclose(dist[[0, 1, 2, 3, 5, 6]], [10, 5, 5, 10, 0, 29.5])
    assert np.isnan(dist[4])
    seg, _ = assign_xy([50], [29.5], cross, tolerance_m=20)
    assert seg.tolist() == [-1]


def test_assign_keeps_input_and_counts_off_network(cross):
    inc = cross_incidents()
    before = inc.copy()
    out = assign(inc, cross)
    assert inc.equals(before) and "segment" not in inc
    assert out["segment"].tolist() == [0, 0] + [1] * 10 + [3, 4, -1]
    assert out.attrs["vigie"] == {"tolerance_m": 30.0, "off_network": 1}


def test_segment_counts_by_hand(cross):
    out = segment_counts(cross_incidents(), cross)
    assert list(out.columns[-4:]) == COUNT_COLUMNS
    assert out["n"].tolist() == [2, 10, 0, 1, 1]
    np.testing.assert_allclose(out["per_100m"], [2, 10, 0, 1, 1])
    assert out.attrs["vigie"] == {"tolerance_m": 30.0, "n_incidents": 15, "n_assigned": 14,
                                  "n_off_network": 1}
    half = segment_counts(cross_incidents(), cross.assign(geometry=cross.geometry.scale(0.5, 0.5, origin=(0, 0))),
                          tolerance_m=1000)
    assert half["length_m"].tolist() == [50] * 5


def test_segment_counts_of_incidents_already_assigned_by_hand(cross):
    """The counts of a caller that assigned every incident once (the web's saved segments)."""
    from layers.streets import segment_counts_assigned

    seg = np.array([0, 0] + [1] * 10 + [3, 4, -1], dtype=np.int32)  # test_assign_by_hand's answer
    out = segment_counts_assigned(seg, cross)
    assert out["n"].tolist() == [2, 10, 0, 1, 1]
    assert out.attrs["vigie"] == {"tolerance_m": 30.0, "n_incidents": 15, "n_assigned": 14, "n_off_network": 1}
    pd.testing.assert_frame_equal(out, segment_counts(cross_incidents(), cross))


def test_segment_gistar_by_hand(cross):
    out = segment_gistar(cross_incidents(), cross)
    assert list(out.columns[-8:]) == GISTAR_COLUMNS
    # x = (2, 10, 0, 1, 1): n = 5, mean 2.8, mean of squares 21.2, S = sqrt(21.2 - 7.84)
    s = math.sqrt(13.36)
    # B: neighbours A, B, C, D -> W = 4, lag 13: (13 - 2.8*4) / (S sqrt((5*4 - 16)/4))
    z_b = (13 - 11.2) / (s * math.sqrt((20 - 16) / 4))
    # A: A, B, D -> W = 3, lag 13: (13 - 8.4) / (S sqrt((15 - 9)/4))
    z_a = (13 - 8.4) / (s * math.sqrt(6 / 4))
    # E: alone, W = 1, lag 1: (1 - 2.8) / (S sqrt((5 - 1)/4))
    z_e = (1 - 2.8) / s
    np.testing.assert_allclose(out["z"].to_numpy()[[0, 1, 4]], [z_a, z_b, z_e])
    assert out.attrs["vigie"]["neighbourhood"] == "network"
    assert (out["bin"] == 0).all()  # five segments: nothing significant


def test_segment_gistar_equals_esda_on_same_weights():
    esda = pytest.importorskip("esda")
    from libpysal.weights import WSP

    rng = np.random.default_rng(7)
    # a 12 x 12 street lattice: horizontal and vertical segments of 100 m
    segs = []
    for i in range(12):
        for j in range(11):
            segs.append([(j * 100, i * 100), ((j + 1) * 100, i * 100)])
            segs.append([(i * 100, j * 100), (i * 100, (j + 1) * 100)])
    streets = lines(*segs)
    xy = np.r_[rng.normal([500, 500], 120, (600, 2)), rng.uniform(0, 1100, (400, 2))]
    out = segment_gistar(points(xy), streets, fdr=False)
    w = segment_neighbours(streets)
    W = WSP(w).to_W(silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(out["n"].to_numpy(float), W, star=True, transform="B", permutations=0).Zs
    np.testing.assert_allclose(out["z"], ref, atol=1e-9)
    assert (out["bin"] == 3).any()


def test_concentration_by_hand():
    c = concentration([6, 2, 1, 1, 0, 0, 0, 0, 0, 0], shares=(0.1, 0.2, 0.5))
    assert c["places"] == 10 and c["incidents"] == 10
    assert c["curve"] == [
        {"share_places": 0.1, "share_incidents": 0.6},
        {"share_places": 0.2, "share_incidents": 0.8},
        {"share_places": 0.5, "share_incidents": 1.0},
    ]
    assert (c["places_50"], c["places_100"]) == (1, 4)
    assert (c["share_places_50"], c["share_places_100"]) == (0.1, 0.4)
    assert c["points"]["x"][0] == 0 and c["points"]["x"][-1] == 1 and c["points"]["y"][-1] == 1
    # exactly half held by the top two of (3, 3, 3, 3)
    assert concentration([3, 3, 3, 3])["places_50"] == 2


def test_concentration_rejects_bad_input():
    with pytest.raises(InputError):
        concentration([])
    with pytest.raises(ParameterError):
        concentration([1, -1])
    with pytest.raises(ParameterError):
        concentration([1, 2], shares=(0, 0.5))


def test_checks_name_the_problem(cross):
    with pytest.raises(InputError, match="geographic"):
        segment_counts(cross_incidents().to_crs(4326), cross.to_crs(4326))
    with pytest.raises(InputError, match="EPSG:2154"):
        segment_counts(cross_incidents().set_crs(3857, allow_override=True), cross)
    with pytest.raises(InputError, match="streets"):
        segment_counts(cross_incidents(), cross.iloc[:0])
    with pytest.raises(ParameterError, match="tolerance_m"):
        segment_counts(cross_incidents(), cross, tolerance_m=0)


@pytest.fixture(scope="module")
def centre():
    return gpd.read_file(DATA / "addresses" / "mtp_voies_centre.zip").to_crs(2154)


def test_real_centre_network(centre):
    assert len(centre) == 1340
    net = network(centre)
    w = segment_neighbours(centre)
    degree = np.diff(w.indptr) - 1
    # a street network: almost every segment touches another at one of its ends
    assert (degree > 0).mean() > 0.97
    assert 800 < net.attrs["vigie"]["nodes"] < 1340
    # every arc of Rue de la Loge touches another arc of the network
    loge = centre.index[centre["LIB_OFF"] == "Rue de la Loge"]
    assert len(loge) >= 2 and (degree[loge] > 0).all()


def test_real_centre_concentration_and_hotspot(centre):
    rng = np.random.default_rng(2015)
    loge = centre[centre["LIB_OFF"] == "Rue de la Loge"].geometry
    # 300 incidents spread along Rue de la Loge, 700 near random points of the network
    along = [g.interpolate(rng.uniform(0, 1), normalized=True) for g in loge.sample(300, replace=True, random_state=1)]
    spread = centre.geometry.sample(700, replace=True, random_state=2).interpolate(0.5, normalized=True)
    pts = np.r_[shapely.get_coordinates(along), shapely.get_coordinates(spread.values)]
    pts = pts + rng.normal(0, 3, pts.shape)
    out = segment_gistar(points(pts), centre)
    assert out.attrs["vigie"]["n_off_network"] == 0
    assert out["n"].sum() == 1000
    hot = out[out["bin"] == 3]
    assert set(centre.loc[hot.index, "LIB_OFF"]) >= {"Rue de la Loge"}
    c = concentration(out["n"])
    # 30 % of incidents on one street of ~1,340 segments: half of them on few segments
    assert c["share_places_50"] < 0.25
