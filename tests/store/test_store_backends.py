"""The store test suite, written against ``layers.store.base.Store`` only.

Every test takes the ``store`` fixture, parametrised over the backends: the GeoPackage file
(with and without its in-memory columns) and PostGIS (a new schema of the session's throw-away
cluster, or of ``VIGIE_TEST_POSTGIS_URL``; see ``postgis`` in tests/conftest.py). Expected
results are computed by hand from the small frames below.
"""

from __future__ import annotations

import geopandas as gpd
import shapely
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from layers.errors import InputError, NotFound, ParameterError
from layers.filters import Filters, parse_filters
from layers.registry import LAYERS
from layers.store import Batch, Store, open_store

# "gpkg": in-memory columns for the large layers; "gpkg-pushdown": every filter in the GDAL read
# "postgis": a new schema of the session's PostGIS server (skipped without PostgreSQL, but not in CI);
# "postgis-rebuild": the same with every import taking the path of large batches (the table
# rebuilt and indexed once, see PostGISStore.import_batch)
BACKENDS = ["gpkg", "gpkg-pushdown", "postgis", "postgis-rebuild"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> Store:
    if request.param.startswith("postgis"):
        if request.param == "postgis-rebuild":
            from layers.store import postgis

            monkeypatch = request.getfixturevalue("monkeypatch")
            monkeypatch.setattr(postgis, "_REBUILD_MIN_ROWS", 0)
            monkeypatch.setattr(postgis, "_REBUILD_RATIO", 0.0)
        return request.getfixturevalue("postgis_store")
    if request.param == "gpkg-pushdown":
        from layers.store.gpkg import GeoPackageStore

        return GeoPackageStore(tmp_path / "store.gpkg", cache=False)
    return open_store(tmp_path / "store.gpkg")


def make_batch(kind: str, bid: str, n: int, **kw) -> Batch:
    return Batch(
        id=bid, kind=kind, file_name=f"{bid}.csv", checksum="0" * 64, user="test",
        created=kw.pop("created", f"2026-01-01T00:00:0{len(bid) % 10}Z"),
        n_read=n, n_stored=n, n_rejected=0, **kw,
    )


UTC = "UTC"


def incidents_frame() -> gpd.GeoDataFrame:
    """Six incidents whose filter memberships are worked out by hand in the tests.

    local time is Europe/Paris (UTC+1 in winter, UTC+2 from 2024-03-31 01:00 UTC):
    i1 2024-01-15 09:30 Mon, i2 2024-02-10 23:15 Sat, i3 2024-04-01 01:30 Mon (Sunday in UTC),
    i4 2024-06-30 23:59 Sun, i5 2024-07-01 12:00 Mon, i6 2024-01-01 00:00 Mon (Sunday in UTC).
    """
    return gpd.GeoDataFrame(
        {
            "category": ["theft", "burglary", "theft", "drugs", "nuisance", "theft"],
            "source_label": ["Vol", "Cambriolage", "Vol", "Stups", None, "Vol"],
            "occurred_from": pd.to_datetime(
                [
                    "2024-01-15T08:30:00Z",
                    "2024-02-10T22:15:00Z",
                    "2024-03-31T23:30:00Z",
                    "2024-06-30T21:59:00Z",
                    "2024-07-01T10:00:00Z",
                    "2023-12-31T23:00:00Z",
                ],
                utc=True,
            ),
            "occurred_to": pd.to_datetime(
                [None, "2024-02-11T06:00:00.250Z", None, None, None, None], utc=True
            ),
            "description": ["a", "b", "=1+1", "d", "", "é ü"],
            "source": "police",
            "address": ["1 rue A", None, "3 rue C", None, None, None],
            "external_id": ["i1", "i2", "i3", "i4", "i5", "i6"],
            "simulated": [False, False, False, True, False, False],
        },
        geometry=[Point(3.80, 43.60), Point(3.85, 43.61), Point(3.90, 43.62),
                  Point(3.95, 43.70), Point(3.70, 43.50), Point(3.86, 43.60)],
        crs=4326,
    )


def zac_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["ZAC A", "ZAC B"], "manager": ["SERM", None], "created": ["1998", "2005"]},
        geometry=[box(3.84, 43.59, 3.87, 43.615), box(3.60, 43.40, 3.65, 43.45)],
        crs=4326,
    )


def other_frames() -> dict[str, gpd.GeoDataFrame]:
    pts = [Point(3.87, 43.61), Point(3.88, 43.62)]
    return {
        "zac": zac_frame(),
        "areas": gpd.GeoDataFrame(
            {"name": ["Centre", "Montpellier"], "code": ["1", "34172"], "level": ["quartier", "commune"]},
            geometry=[box(3.86, 43.60, 3.89, 43.62),
                      box(3.80, 43.56, 3.94, 43.66).union(box(3.95, 43.56, 3.96, 43.57))],
            crs=4326,
        ),
        "schools": gpd.GeoDataFrame({"name": ["École Jules Ferry", "Lycée Joffre"], "level": ["école", "lycée"]},
                                    geometry=pts, crs=4326),
        "shops": gpd.GeoDataFrame({"name": ["Bar du coin", None], "kind": ["bar", "tabac"],
                                   "late_alcohol": [True, False]}, geometry=pts, crs=4326),
        "lights": gpd.GeoDataFrame({"type": ["LED", None], "status": ["working", "faulty"]},
                                   geometry=pts, crs=4326),
        "cameras": gpd.GeoDataFrame(
            {"name": ["C1", "C2"], "installed": pd.to_datetime(["2015-06-01", None]),
             "range_m": [100.0, np.nan], "bearing": [90.0, 180.5], "fov": [60.0, 360.0],
             "address": ["Place de la Comédie", None]},
            geometry=pts, crs=4326,
        ),
        "addresses": gpd.GeoDataFrame(
            {"number": [4, 0], "suffix": ["bis", None], "street": ["Rue de la Loge", "Rue Foch"],
             "street_code": ["1393", "1043"], "postcode": ["34000", None], "commune": ["Montpellier", "Montpellier"],
             "source": ["Ville de Montpellier", None]},
            geometry=pts, crs=4326,
        ),
        "streets": gpd.GeoDataFrame(
            {"name": ["Rue de la Loge", "Place de la Comédie"], "street_code": ["1393", "815"],
             "segment_id": ["5210", "3"], "type": ["RUE", "PL"], "zac": [None, None],
             "ownership": ["Publique", None]},
            geometry=[shapely.LineString([(3.8766, 43.6106), (3.8790, 43.6101)]),
                      shapely.LineString([(3.8790, 43.6101), (3.8801, 43.6086), (3.8806, 43.6081)])],
            crs=4326,
        ),
    }


def _norm(frame: pd.DataFrame, columns) -> list[tuple]:
    """Rows as tuples with missing values made comparable (None)."""
    out = frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None)
    return [tuple(r) for r in out.itertuples(index=False)]


# --------------------------------------------------------------------------- round trips


def test_empty_store_reads_empty_frames_with_the_spec_columns(store):
    assert store.counts() == dict.fromkeys(LAYERS, 0)
    assert store.batches() == []
    for kind, spec in LAYERS.items():
        gdf = store.read(kind)
        assert len(gdf) == 0
        assert list(gdf.columns) == [*spec.column_names, "batch_id", "fid", "geometry"]
        assert gdf.crs.equals("EPSG:4326")
    assert str(store.read("incidents")["occurred_from"].dtype) == "datetime64[ns, UTC]"


def test_incidents_round_trip_keeps_values_datetimes_and_nat(store):
    gdf = incidents_frame()
    batch = store.import_batch("incidents", gdf, make_batch("incidents", "b1", 6))
    assert batch.n_stored == 6
    back = store.read("incidents")
    spec = LAYERS["incidents"]
    assert list(back.columns) == [*spec.column_names, "batch_id", "fid", "geometry"]
    assert str(back["occurred_from"].dtype) == "datetime64[ns, UTC]"
    assert str(back["occurred_to"].dtype) == "datetime64[ns, UTC]"
    assert back["simulated"].dtype == bool
    back = back.sort_values("external_id").reset_index(drop=True)
    # datetimes to the millisecond (the GeoPackage text precision), NaT as NaT
    pd.testing.assert_series_equal(back["occurred_from"], gdf["occurred_from"].astype("datetime64[ns, UTC]"),
                                   check_names=False)
    assert back.loc[1, "occurred_to"] == pd.Timestamp("2024-02-11T06:00:00.250Z")
    assert back["occurred_to"].isna().tolist() == [True, False, True, True, True, True]
    text_cols = ["category", "source_label", "description", "source", "address", "external_id", "simulated"]
    assert _norm(back, text_cols) == _norm(gdf, text_cols)
    assert back.geometry.geom_equals_exact(gdf.geometry, tolerance=1e-12).all()
    assert set(back["batch_id"]) == {"b1"}
    assert back["fid"].is_unique


def test_local_times_are_stored_as_the_same_instants(store):
    gdf = incidents_frame().iloc[:2].copy()
    gdf["occurred_from"] = gdf["occurred_from"].dt.tz_convert("Europe/Paris")
    store.import_batch("incidents", gdf, make_batch("incidents", "paris", 2))
    back = store.read("incidents").sort_values("external_id")
    assert back["occurred_from"].tolist() == [pd.Timestamp("2024-01-15T08:30Z"), pd.Timestamp("2024-02-10T22:15Z")]


def test_projected_frames_are_stored_in_wgs84(store):
    gdf = incidents_frame().to_crs(2154)
    store.import_batch("incidents", gdf, make_batch("incidents", "l93", 6))
    back = store.read("incidents").sort_values("external_id").reset_index(drop=True)
    assert back.crs.equals("EPSG:4326")
    assert np.allclose(back.geometry.x, incidents_frame().geometry.x, atol=1e-9)


@pytest.mark.parametrize("kind", [k for k in LAYERS if k != "incidents"])
def test_round_trip_of_every_other_kind(store, kind):
    gdf = other_frames()[kind]
    store.import_batch(kind, gdf, make_batch(kind, f"{kind}1", len(gdf)))
    back = store.read(kind).sort_values("fid").reset_index(drop=True)
    spec = LAYERS[kind]
    assert list(back.columns) == [*spec.column_names, "batch_id", "fid", "geometry"]
    assert _norm(back, spec.column_names) == _norm(gdf, spec.column_names)
    assert back.geometry.geom_equals_exact(gdf.geometry, tolerance=1e-12).all()
    assert store.counts()[kind] == len(gdf)


def test_columns_subset(store):
    store.import_batch("incidents", incidents_frame(), make_batch("incidents", "b1", 6))
    out = store.read("incidents", parse_filters(categories="theft"), columns=["external_id"])
    assert list(out.columns) == ["external_id", "batch_id", "fid", "geometry"]
    assert sorted(out["external_id"]) == ["i1", "i3", "i6"]


# --------------------------------------------------------------------------- filters


@pytest.fixture
def filled(store):
    store.import_batch("zac", zac_frame(), make_batch("zac", "z1", 2, created="2026-01-01T00:00:00Z"))
    store.import_batch("incidents", incidents_frame(), make_batch("incidents", "i1", 6, created="2026-01-02T00:00:00Z"))
    return store


# expected memberships worked out by hand from the frame's docstring
FILTER_CASES = {
    "bbox edges included": ({"bbox": "3.79,43.59,3.90,43.63"}, ["i1", "i2", "i3", "i6"]),
    "period, start inclusive, to inclusive of its day": ({"start": "2024-01-01", "end": "2024-06-30"},
                                                       ["i1", "i2", "i3", "i4", "i6"]),
    "period to the minute": ({"start": "2024-02-10T23:15", "end": "2024-06-30T23:59"}, ["i2", "i3"]),
    "categories": ({"categories": "theft"}, ["i1", "i3", "i6"]),
    "group of categories": ({"categories": "property"}, ["i1", "i2", "i3", "i6"]),
    "local hours wrapping midnight": ({"hours": "23-1"}, ["i2", "i3", "i4", "i6"]),
    "local weekday monday": ({"weekdays": "0"}, ["i1", "i3", "i5", "i6"]),
    "zac": ({"zac": "ZAC A"}, ["i2", "i6"]),
    "combined": ({"bbox": "3.79,43.59,3.90,43.63", "categories": "theft", "start": "2024-01-01",
                      "end": "2024-12-31", "weekdays": "0"}, ["i1", "i3", "i6"]),
    "nothing matches": ({"categories": "weapons"}, []),
}


@pytest.mark.parametrize("case", FILTER_CASES)
def test_filters_match_a_hand_computation(filled, case):
    from layers.registry import default_taxonomy

    kwargs, expected = FILTER_CASES[case]
    f = parse_filters(tz="Europe/Paris", taxonomy=default_taxonomy(), **kwargs)
    got = filled.read("incidents", f, tz="Europe/Paris")
    assert sorted(got["external_id"]) == expected
    assert filled.count("incidents", f, tz="Europe/Paris") == len(expected)


def test_bbox_on_polygons_gives_intersecting_features(filled):
    got = filled.read("zac", Filters(bbox=(3.86, 43.60, 3.90, 43.70)))
    assert got["name"].tolist() == ["ZAC A"]


def test_incident_only_filters_on_other_kinds_are_refused(filled):
    with pytest.raises(ParameterError) as e:
        filled.read("zac", parse_filters(categories="theft"))
    assert e.value.param == "categories"


def test_unknown_zac_name_is_refused_naming_the_known_ones(filled):
    with pytest.raises(ParameterError, match="ZAC A"):
        filled.read("incidents", parse_filters(zac="Nowhere"))


def test_unknown_kind_and_columns(filled):
    with pytest.raises(NotFound, match="Known kinds"):
        filled.read("bicycles")
    with pytest.raises(ParameterError, match="colour"):
        filled.read("incidents", columns=["colour"])


# --------------------------------------------------------------------------- batches, rollback


def test_batches_are_listed_oldest_first_with_their_report(filled, write_path):
    report = [{"row": 3, "field": "date", "message": "bad date", "severity": "error"}]
    filled.import_batch("incidents", incidents_frame().iloc[:2],
                        make_batch("incidents", "i2", 2, created="2026-01-03T00:00:00Z",
                                   report=report, options={"crs": 2154}, simulated=True))
    assert [b.id for b in filled.batches()] == ["z1", "i1", "i2"]
    assert [b.id for b in filled.batches("incidents")] == ["i1", "i2"]
    last = filled.batches("incidents")[-1]
    assert last.report == report and last.options == {"crs": 2154} and last.simulated is True
    assert (last.n_read, last.n_stored, last.n_rejected) == (2, 2, 0)
    assert filled.count("incidents") == 8


@pytest.fixture(params=["delete", "rewrite"])
def rollback_path(request, monkeypatch):
    """Rollback deletes small batches and rewrites the layer without large ones: test both."""
    from layers.store import gpkg

    monkeypatch.setattr(gpkg, "_REWRITE_ROWS", 10**9 if request.param == "delete" else 0)
    return request.param


def test_rollback_restores_the_exact_previous_content(filled, rollback_path, write_path):
    before = filled.read("incidents")
    before_batches = filled.batches()
    v0 = filled.version
    filled.import_batch("incidents", incidents_frame(), make_batch("incidents", "extra", 6,
                                                                   created="2026-02-01T00:00:00Z"))
    assert filled.count("incidents") == 12 and filled.version != v0
    v1 = filled.version
    gone = filled.rollback("extra")
    assert gone.id == "extra"
    assert filled.version not in (v0, v1)
    pd.testing.assert_frame_equal(filled.read("incidents"), before)
    assert filled.batches() == before_batches
    assert filled.counts()["incidents"] == 6
    # the spatial index follows the deletion
    assert sorted(filled.read("incidents", Filters(bbox=(3.0, 43.0, 4.0, 44.0)))["fid"]) == sorted(before["fid"])


def test_rollback_of_an_unknown_batch_is_not_found_and_changes_nothing(filled):
    v = filled.version
    with pytest.raises(NotFound, match="i1"):
        filled.rollback("nope")
    assert filled.version == v


# --------------------------------------------------------------------------- bad input, store unchanged


BAD_FRAMES = {
    "wrong geometry type": lambda: gpd.GeoDataFrame(incidents_frame().drop(columns="geometry"),
                                                    geometry=[box(0, 0, 1, 1)] * 6, crs=4326),
    "missing required column": lambda: incidents_frame().drop(columns="category"),
    "no CRS": lambda: incidents_frame().set_crs(None, allow_override=True),
    "empty geometry": lambda: incidents_frame().set_geometry(
        [Point(), *incidents_frame().geometry.iloc[1:]], crs=4326),
}


@pytest.mark.parametrize("case", BAD_FRAMES)
def test_bad_frames_are_refused_and_the_store_is_unchanged(filled, case):
    v, counts = filled.version, filled.counts()
    with pytest.raises(InputError):
        filled.import_batch("incidents", BAD_FRAMES[case](), make_batch("incidents", "bad", 6))
    assert filled.version == v and filled.counts() == counts


def test_duplicate_batch_id_is_refused(filled):
    v = filled.version
    with pytest.raises(InputError, match="already"):
        filled.import_batch("incidents", incidents_frame(), make_batch("incidents", "i1", 6))
    assert filled.version == v


@pytest.fixture(params=["append", "rewrite"])
def write_path(request, monkeypatch):
    """Imports append small batches to a large layer and rewrite it otherwise: test both."""
    from layers.store import gpkg

    monkeypatch.setattr(gpkg, "_APPEND_RATIO", 0 if request.param == "append" else 10**9)
    return request.param


def test_fids_are_stable_across_imports_and_the_spatial_index_stays_valid(filled, write_path):
    import warnings

    before = filled.read("incidents")[["fid", "external_id"]]
    filled.import_batch("incidents", incidents_frame(), make_batch("incidents", "again", 6,
                                                                   created="2026-03-01T00:00:00Z"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # GDAL warns through pyogrio when an R-tree is unusable
        after = filled.read("incidents")
        boxed = filled.read("incidents", Filters(bbox=(3.79, 43.59, 3.90, 43.63)))
    old = after[after["batch_id"] == "i1"][["fid", "external_id"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, before.reset_index(drop=True))
    new = after[after["batch_id"] == "again"]
    assert new["fid"].min() > before["fid"].max()
    assert sorted(boxed["external_id"]) == sorted(["i1", "i2", "i3", "i6"] * 2)


def test_reads_follow_writes_from_another_store_object(store, tmp_path):
    """In-memory columns are reloaded when another writer changed the file (``version``)."""
    if not hasattr(store, "path"):  # pragma: no cover - file backends only
        pytest.skip("file backend only")
    theft = parse_filters(categories="theft")
    store.import_batch("incidents", incidents_frame(), make_batch("incidents", "one", 6))
    # twice at each version: the second read comes from memory when the cache is on
    assert [len(store.read("incidents", theft)) for _ in range(2)] == [3, 3]
    other = open_store(store.path)
    other.import_batch("incidents", incidents_frame(), make_batch("incidents", "two", 6))
    assert [len(store.read("incidents", theft)) for _ in range(2)] == [6, 6]
    other.rollback("one")
    for _ in range(2):
        got = store.read("incidents", theft)
        assert len(got) == 3 and set(got["batch_id"]) == {"two"}
    if getattr(store, "cache", False):
        assert store._columns["incidents"].version == store.version


def test_returned_frames_are_copies(store):
    store.import_batch("incidents", incidents_frame(), make_batch("incidents", "one", 6))
    first = store.read("incidents")
    first.loc[0, "category"] = "changed"
    first["extra"] = 1
    again = store.read("incidents")
    assert "changed" not in set(again["category"]) and "extra" not in again.columns


def test_in_memory_and_pushdown_reads_agree_on_generated_incidents(tmp_path):
    import sys
    from pathlib import Path

    from layers.store.gpkg import GeoPackageStore

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.gen import clustered_incidents

    gdf = clustered_incidents(3000, seed=11).to_crs(4326)
    cached = GeoPackageStore(tmp_path / "s.gpkg")
    cached.import_batch("incidents", gdf, make_batch("incidents", "gen", 3000))
    cached.warm()
    pushdown = GeoPackageStore(tmp_path / "s.gpkg", cache=False)
    cases = [
        {"bbox": "3.80,43.55,3.90,43.65"},
        {"start": "2023-03-26", "end": "2023-10-29"},  # both DST changes
        {"bbox": "3.8,43.5,3.95,43.7", "start": "2024-01-01", "categories": "theft,drugs,other"},
        {"hours": "22-4", "weekdays": "5,6", "categories": "public_drinking,nuisance,theft"},
    ]
    for kwargs in cases:
        f = parse_filters(tz="Europe/Paris", **kwargs)
        a = cached.read("incidents", f).sort_values("fid").reset_index(drop=True)
        b = pushdown.read("incidents", f).sort_values("fid").reset_index(drop=True)
        assert 0 < len(a) < 3000, kwargs
        pd.testing.assert_frame_equal(a, b)
    assert "incidents" in cached._columns  # the first path really was the in-memory one


def test_rolling_back_the_only_batch_leaves_an_empty_layer(store, rollback_path):
    b = store.import_batch("zac", zac_frame(), make_batch("zac", "z", 2))
    store.rollback(b.id)
    assert store.counts()["zac"] == 0 and store.batches() == []
    empty = store.read("zac")
    assert len(empty) == 0 and list(empty.columns) == ["name", "manager", "created", "batch_id", "fid", "geometry"]
    store.import_batch("zac", zac_frame(), make_batch("zac", "z2", 2))
    assert sorted(store.read("zac")["name"]) == ["ZAC A", "ZAC B"]
