"""What the PostGIS store adds to the shared contract (tests/store/test_store_backends.py):
clear errors when it cannot open, tables QGIS opens directly, a version kept in the database,
all-or-nothing imports, and grid counts in SQL equal cell by cell to the NumPy path."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from layers.errors import InputError, StoreError
from layers.filters import Filters, parse_filters
from layers.grid import make_grid
from layers.hotspots import count_xy
from layers.registry import LAYERS
from layers.store import Batch, open_store
from layers.store import postgis as postgis_module

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def make_batch(bid: str, n: int, kind: str = "incidents") -> Batch:
    return Batch(id=bid, kind=kind, file_name=f"{bid}.csv", checksum="0" * 64, user="test",
                 created=f"2026-01-01T00:00:{len(bid):02d}Z", n_read=n, n_stored=n, n_rejected=0)


def generated(n: int, seed: int):
    from bench.gen import clustered_incidents

    return clustered_incidents(n, seed=seed).to_crs(4326)


# --------------------------------------------------------------------------- cannot open


@pytest.mark.parametrize("url", ["postgresql://vigie@db.example:5432/vigie?colour=blue",
                                 "postgresql://vigie@[::1/vigie"])
def test_a_malformed_url_says_how_to_write_one(url):
    with pytest.raises(StoreError, match="postgresql://user@host:port/dbname"):
        open_store(url)


def test_an_unreachable_server_says_what_to_check_without_the_password():
    # port 1 on the loopback: nothing listens, the connection is refused at once
    with pytest.raises(StoreError, match="Check that the server is running") as e:
        open_store("postgresql://vigie:s3cret@127.0.0.1:1/vigie?connect_timeout=3")
    assert "s3cret" not in str(e.value) and "127.0.0.1:1/vigie" in str(e.value)


def test_urls_are_printed_without_their_password():
    from layers.store import redact_url

    assert redact_url("postgresql://vigie:s3cret@db:5432/vigie") == "postgresql://vigie:***@db:5432/vigie"
    assert redact_url("postgresql://vigie@db/vigie?password=s3cret&sslmode=require") == \
        "postgresql://vigie@db/vigie?password=***&sslmode=require"
    assert redact_url("/srv/vigie/store.gpkg") == "/srv/vigie/store.gpkg"


def test_a_database_without_postgis_says_how_to_create_the_extension(postgis):
    postgis.execute("DROP DATABASE IF EXISTS plain")
    postgis.execute("CREATE DATABASE plain")
    try:
        url = postgis.base_url.replace("/vigie?", "/plain?")
        with pytest.raises(StoreError, match="CREATE EXTENSION postgis"):
            open_store(url)
    finally:
        postgis.execute("DROP DATABASE plain WITH (FORCE)")


def test_the_url_selects_the_postgis_backend_and_repr_hides_the_password(postgis_store):
    assert isinstance(postgis_store, postgis_module.PostGISStore)
    assert repr(postgis_store).startswith("PostGISStore('postgresql://postgres@")


# --------------------------------------------------------------------------- layout for QGIS


@pytest.fixture(params=["append", "rebuild"])
def import_path(request, monkeypatch):
    """Small imports append to the indexed table, large ones rebuild it: test both."""
    if request.param == "rebuild":
        monkeypatch.setattr(postgis_module, "_REBUILD_MIN_ROWS", 0)
        monkeypatch.setattr(postgis_module, "_REBUILD_RATIO", 0.0)
    return request.param


def test_layer_tables_are_typed_indexed_and_registered_for_qgis(postgis_store, import_path):
    postgis_store.import_batch("incidents", generated(50, 1), make_batch("one", 50))
    postgis_store.import_batch("incidents", generated(60, 2), make_batch("two", 60))
    with postgis_store.connection() as conn:
        rows = conn.execute(
            "SELECT f_table_name, type, srid FROM geometry_columns "
            "WHERE f_table_schema = current_schema() AND f_geometry_column = 'geometry'").fetchall()
        got = {name: (type_, srid) for name, type_, srid in rows}
        assert len(got) == len(LAYERS)  # no table left over by a rebuild
        for kind, spec in LAYERS.items():
            # points and lines typed (QGIS reads the type); areal kinds mix Polygon and MultiPolygon
            expected = "POINT" if spec.is_point else ("LINESTRING" if spec.is_line else "GEOMETRY")
            assert got[kind] == (expected, 4326), kind
        for kind in LAYERS:
            indexes = dict(conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = %s", (kind,)).fetchall())
            assert "USING gist (geometry)" in indexes[f"{kind}_geometry_gist"], kind
            assert "(fid)" in indexes[f"{kind}_pkey"], kind
        assert sorted(r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'incidents'"
        )) == ["incidents_geometry_gist", "incidents_occurred_from_idx", "incidents_pkey"]
        assert conn.execute("SELECT pg_get_serial_sequence('incidents', 'fid')").fetchone()[0].endswith(
            "incidents_fid_seq")
        # an incidents query by bbox uses the spatial index
        conn.execute("ANALYZE incidents")
        conn.execute("SET enable_seqscan = off")
        plan = " ".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT fid FROM incidents AS t WHERE t.geometry && ST_MakeEnvelope(3.8, 43.5, 3.9, 43.6, 4326)"))
        conn.execute("RESET enable_seqscan")
    assert "incidents_geometry_gist" in plan
    assert postgis_store.count("incidents", Filters(bbox=(3.0, 43.0, 4.5, 44.5))) == 110


def test_a_rebuild_continues_the_fids_after_a_rollback(postgis_store, monkeypatch):
    """fids stay above every fid ever given, as with an append (the sequence carries over)."""
    monkeypatch.setattr(postgis_module, "_REBUILD_MIN_ROWS", 100)
    postgis_store.import_batch("incidents", generated(300, 1), make_batch("base", 300))  # rebuild
    postgis_store.import_batch("incidents", generated(50, 2), make_batch("small", 50))  # append
    top = int(postgis_store.read("incidents", columns=[])["fid"].max())
    postgis_store.rollback("small")
    before = postgis_store.read("incidents")
    postgis_store.import_batch("incidents", generated(400, 3), make_batch("large", 400))  # rebuild
    after = postgis_store.read("incidents")
    old = after[after["batch_id"] == "base"].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, before.reset_index(drop=True))
    new = after[after["batch_id"] == "large"]
    assert len(new) == 400 and new["fid"].min() == top + 1 and new["fid"].is_monotonic_increasing
    postgis_store.rollback("large")
    pd.testing.assert_frame_equal(postgis_store.read("incidents"), before)


def test_polygon_kinds_refuse_other_geometries_in_sql(postgis_store):
    import psycopg

    with pytest.raises(psycopg.errors.CheckViolation), postgis_store.connection() as conn:
        conn.execute(
            "INSERT INTO zac (name, batch_id, geometry) VALUES ('x', 'b', ST_SetSRID(ST_MakePoint(3, 43), 4326))")


# --------------------------------------------------------------------------- version, writes


def test_the_version_lives_in_the_database_and_every_store_object_sees_writes(postgis, postgis_store):
    url = postgis_store.url
    other = open_store(url)
    try:
        v0 = postgis_store.version
        assert other.version == v0
        other.import_batch("incidents", generated(100, 2), make_batch("two", 100))
        v1 = postgis_store.version
        assert v1 != v0 and other.version == v1
        assert postgis_store.count("incidents") == 100
        postgis_store.rollback("two")
        assert other.version not in (v0, v1) and other.count("incidents") == 0
    finally:
        other.close()


def test_an_exception_during_the_copy_leaves_the_store_as_it_was(postgis_store, monkeypatch):
    postgis_store.import_batch("incidents", generated(300, 3), make_batch("base", 300))
    before, v = postgis_store.read("incidents"), postgis_store.version
    monkeypatch.setattr(postgis_module, "_CHUNK", 100)
    seen = []

    def progress(done, total):
        seen.append(done)
        if done >= 200:
            raise KeyboardInterrupt("interrupted (simulated)")

    with pytest.raises(KeyboardInterrupt):
        postgis_store.import_batch("incidents", generated(300, 4), make_batch("half", 300), progress=progress)
    assert seen == [100, 200]
    assert postgis_store.version == v and [b.id for b in postgis_store.batches()] == ["base"]
    pd.testing.assert_frame_equal(postgis_store.read("incidents"), before)


CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from bench.gen import clustered_incidents
    from layers.store import Batch, open_store
    from layers.store import postgis
    postgis._CHUNK = 1000
    if {rebuild!r}:
        postgis._REBUILD_MIN_ROWS, postgis._REBUILD_RATIO = 0, 0.0
    store = open_store({url!r})
    gdf = clustered_incidents(5000, seed=7).to_crs(4326)
    batch = Batch(id="big", kind="incidents", file_name="big.csv", checksum="0" * 64, user="child",
                  created="2026-01-02T00:00:00Z", n_read=5000, n_stored=5000, n_rejected=0)
    def progress(done, total):
        print("written", done, flush=True)
        time.sleep(30)  # the parent kills us here, rows sent but not committed
    store.import_batch("incidents", gdf, batch, progress=progress)
    print("done", flush=True)
    """
)


@pytest.mark.parametrize("rebuild", [False, True], ids=["append", "rebuild"])
def test_a_process_killed_mid_import_leaves_the_store_as_it_was_and_unlocked(postgis_store, rebuild):
    postgis_store.import_batch("incidents", generated(200, 5), make_batch("base", 200))
    before, v = postgis_store.read("incidents"), postgis_store.version
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT), url=postgis_store.url, rebuild=rebuild)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().split()[0] == "written"
        # during the write, readers see the old state
        assert postgis_store.count("incidents") == 200 and postgis_store.version == v
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
    assert postgis_store.version == v and [b.id for b in postgis_store.batches()] == ["base"]
    pd.testing.assert_frame_equal(postgis_store.read("incidents"), before)
    # the server ends the dead writer's transaction: the next writer is not blocked
    postgis_store.import_batch("incidents", generated(10, 6), make_batch("after", 10))
    assert postgis_store.count("incidents") == 210


def test_filter_values_are_bound_never_spliced_into_sql(postgis_store):
    postgis_store.import_batch("incidents", generated(100, 8), make_batch("one", 100))
    hostile = "theft') OR true; DROP TABLE incidents; --"
    assert postgis_store.count("incidents", Filters(categories=(hostile, "o'brien"))) == 0
    assert postgis_store.read("incidents", Filters(categories=(hostile,))).empty
    assert postgis_store.count("incidents") == 100


# --------------------------------------------------------------------------- pushdown


def numpy_counts(store, grid, filters, tz="Europe/Paris"):
    """The NumPy path of the web service: read, reproject with pyproj, ``count_xy``."""
    pts = store.read("incidents", filters, columns=[], tz=tz)
    x, y = Transformer.from_crs(4326, grid.crs, always_xy=True).transform(
        pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy())
    return count_xy(np.asarray(x), np.asarray(y), grid)


PUSHDOWN_FILTERS = {
    "none": {},
    "period and categories": {"start": "2023-03-26", "end": "2023-10-29", "categories": "theft,burglary,drugs"},
    "night hours at weekends": {"hours": "22-4", "weekdays": "5,6"},
    "bbox": {"bbox": "3.82,43.56,3.92,43.64"},
}


@pytest.fixture(scope="module")
def loaded(postgis):
    url = postgis.fresh_url()
    store = open_store(url)
    gdf = generated(20_000, 12)
    store.import_batch("incidents", gdf, make_batch("gen", len(gdf)))
    yield store
    store.close()
    postgis.drop(url)


@pytest.mark.parametrize("shape", ["square", "hex"])
@pytest.mark.parametrize("case", PUSHDOWN_FILTERS)
def test_sql_grid_counts_equal_the_numpy_path_cell_by_cell(loaded, shape, case):
    incidents = loaded.read("incidents", columns=[]).to_crs(2154)
    # a study area smaller than the data (points outside every cell) and an origin off the
    # round metres, so that both the lattice arithmetic and the outside count are exercised
    minx, miny, maxx, maxy = incidents.total_bounds
    area = shapely.box(minx + 2000, miny + 1500, maxx - 1000, maxy - 2500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid = make_grid(area, cell_size=250 if shape == "square" else 300, shape=shape,
                         origin=(minx + 123.4567, miny - 76.54321))
    grid = grid.set_crs(2154)
    f = parse_filters(tz="Europe/Paris", **PUSHDOWN_FILTERS[case])
    sql_counts = loaded.grid_counts(grid, f, tz="Europe/Paris")
    expected = numpy_counts(loaded, grid, f)
    np.testing.assert_array_equal(sql_counts["n"].to_numpy(), expected["n"].to_numpy())
    assert sql_counts["n"].dtype == np.int64
    for key in ("n_incidents", "n_outside", "cell_size", "origin"):
        assert sql_counts.attrs["vigie"][key] == expected.attrs["vigie"][key]
    assert sql_counts["n"].sum() > 0
    if case == "none":
        assert sql_counts.attrs["vigie"]["n_outside"] > 0
    assert loaded.count("incidents", f) == sql_counts.attrs["vigie"]["n_incidents"] + \
        sql_counts.attrs["vigie"]["n_outside"]


def test_grid_counts_of_the_geopackage_store_agree_with_postgis(loaded, tmp_path):
    gpkg = open_store(tmp_path / "s.gpkg")
    gpkg.import_batch("incidents", loaded.read("incidents"), make_batch("gen", 20_000))
    grid = make_grid(loaded.read("incidents", columns=[]).to_crs(2154), cell_size=500)
    f = parse_filters(tz="Europe/Paris", categories="theft,nuisance", weekdays="0-4")
    a, b = gpkg.grid_counts(grid, f), loaded.grid_counts(grid, f)
    np.testing.assert_array_equal(a["n"].to_numpy(), b["n"].to_numpy())


def test_grid_counts_refuse_grids_they_cannot_compute(loaded):
    grid = make_grid(loaded.read("incidents", columns=[]).to_crs(2154), cell_size=1000)
    with pytest.raises(InputError, match="make_grid"):
        loaded.grid_counts(grid.drop(columns=["col", "row"]))
    with pytest.raises(InputError, match="EPSG"):
        loaded.grid_counts(grid.set_crs(None, allow_override=True))


def test_point_ewkb_is_what_shapely_writes():
    """The NumPy EWKB writer of point imports against shapely's (the peer), byte for byte."""
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-180, 180, 1000), [0.0, -0.0, 5e-324, 0.1 + 0.2, 180.0]])
    y = np.concatenate([rng.uniform(-90, 90, 1000), [0.0, 90.0, -90.0, -0.0, 1e-300]])
    got = postgis_module._point_ewkb_hex(x, y)
    expected = shapely.to_wkb(shapely.set_srid(shapely.points(x, y), 4326), hex=True, include_srid=True)
    assert [v.decode() for v in got] == list(expected)


@pytest.mark.parametrize("n_new, n_stored, rebuilds", [
    (50_000, 0, True),  # a first import of 50,000 rows
    (49_999, 0, False),  # smaller: appended
    (1_000_000, 1_000_000, True),  # a reload as large as the layer
    (60_000, 60_001, False),  # a batch smaller than the layer: appended
])
def test_which_imports_rebuild_the_table(n_new, n_stored, rebuilds):
    """The rule the README states: at least 50,000 rows and at least as many as stored."""
    assert postgis_module._rebuilds(n_new, n_stored) is rebuilds


def test_a_view_on_the_table_makes_a_large_import_append_instead(postgis_store, monkeypatch):
    """A view a QGIS user made on incidents cannot be dropped with the table: the import still
    succeeds (appended in the same transaction) and the view keeps working."""
    monkeypatch.setattr(postgis_module, "_REBUILD_MIN_ROWS", 0)
    postgis_store.import_batch("incidents", generated(100, 1), make_batch("base", 100))
    with postgis_store.connection() as conn:
        conn.execute("CREATE VIEW thefts AS SELECT fid, geometry FROM incidents WHERE category = 'theft'")
        oid = conn.execute("SELECT 'incidents'::regclass::oid").fetchone()[0]
    seen = []
    postgis_store.import_batch("incidents", generated(300, 2), make_batch("large", 300),
                               progress=lambda done, total: seen.append((done, total)))
    assert postgis_store.count("incidents") == 400
    assert seen[-1] == (300, 300)
    frame = postgis_store.read("incidents", columns=["category"])
    with postgis_store.connection() as conn:
        assert conn.execute("SELECT 'incidents'::regclass::oid").fetchone()[0] == oid  # the same table
        assert conn.execute("SELECT count(*) FROM thefts").fetchone()[0] == int((frame["category"] == "theft").sum())
