"""Snapshots: a store version's per-incident arrays saved under ``<home>/cache`` and mapped back
(issue 15: the first request after a start, memory shared between processes).

What a user relies on: a server started on a saved version answers without reading the
incident layer, with exactly what a server computing everything answers; a new version that
only appended rows extends the saved arrays of the previous one; anything unreadable, stale or
unwritable is recomputed, never served. Both store backends.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd
from click.testing import CliRunner

from geo_app.config import Home
from geo_app.workspace import Workspace, nbytes
from layers.grid import cell_index
from layers.store.snapshot import Snapshots, is_mapped
from tests.workspace.test_workspace_append import (  # noqa: F401 - both store backends
    _assert_same_columns,
    _batch,
    _incidents,
    _Spy,
    store,
)


def _same(ws: Workspace, fresh: Workspace) -> None:
    _assert_same_columns(ws.columns(), fresh.columns())
    np.testing.assert_array_equal(ws.darkness_codes(), fresh.darkness_codes())
    np.testing.assert_array_equal(ws.incident_cells(), fresh.incident_cells())
    pd.testing.assert_frame_equal(ws.frame("incidents"), fresh.frame("incidents"), check_exact=True)


def _open(ws: Workspace) -> None:
    ws.columns(), ws.darkness_codes(), ws.incident_cells(), ws.frame("incidents")


def test_a_new_process_maps_the_saved_arrays_without_reading_the_store(home, store):
    store.import_batch("incidents", _incidents(500, 1), _batch("b1", 500))
    first = Workspace(home, store=store)
    first.prepare()
    assert list((home.path / "cache").iterdir())  # saved next to the deployment
    again = Workspace(home, store=store)  # what a new server process holds
    with _Spy(store) as spy:
        _open(again)
    assert spy.whole == 0, "the incident layer was read although its arrays were saved"
    cols = again.columns()
    assert is_mapped(cols.x) and is_mapped(cols.t) and is_mapped(again.darkness_codes())
    assert not cols.x.flags.writeable
    _same(again, Workspace(home, store=store, snapshots=False))
    # mapped pages belong to the page cache: they do not count in the cache budget
    assert nbytes(cols) == nbytes(again.darkness_codes()) == nbytes(again._frame("incidents")) == 0
    assert nbytes(Workspace(home, store=store, snapshots=False).columns()) == cols.nbytes > 0


def test_the_saved_text_comes_back_with_its_dtype_and_gaps(home, store):
    gdf = _incidents(300, 2)
    gdf["description"] = np.where(np.arange(300) % 4 == 0, None, "dépôt sauvage, rue de l'Aiguillerie")
    store.import_batch("incidents", gdf, _batch("b1", 300))
    Workspace(home, store=store).prepare()
    got = Workspace(home, store=store).frame("incidents")
    want = store.read("incidents", None, tz="Europe/Paris")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["description"].isna().sum() == 75


def test_an_append_extends_the_previous_versions_saved_arrays(home, store):
    store.import_batch("incidents", _incidents(400, 1), _batch("b1", 400))
    Workspace(home, store=store).prepare()  # an import CLI: saved, then the process ends
    store.import_batch("incidents", _incidents(50, 3, categories="vehicle_theft"), _batch("b2", 50))
    ws = Workspace(home, store=store)  # a new process on the new version
    with _Spy(store) as spy:
        ws.prepare()
    assert spy.whole == 0, "the saved arrays of the previous version were not extended"
    assert len(ws.columns()) == 450 and ws.columns().categories[-1] == "vehicle_theft"
    _same(Workspace(home, store=store), Workspace(home, store=store, snapshots=False))


def test_after_a_rollback_the_saved_arrays_are_not_extended(home, store):
    store.import_batch("incidents", _incidents(300, 1), _batch("b1", 300))
    store.import_batch("incidents", _incidents(40, 2), _batch("b2", 40))
    Workspace(home, store=store).prepare()
    store.rollback("b2")
    ws = Workspace(home, store=store)
    assert len(ws.columns()) == 300
    _same(ws, Workspace(home, store=store, snapshots=False))


def test_an_import_of_another_kind_links_the_same_files(home, store):
    import geopandas as gpd
    from shapely.geometry import Point

    store.import_batch("incidents", _incidents(200, 1), _batch("b1", 200))
    ws = Workspace(home, store=store)
    before = ws.columns()
    cams = gpd.GeoDataFrame({"name": ["c1"]}, geometry=[Point(3.88, 43.61)], crs=4326)
    store.import_batch("cameras", cams, dataclasses.replace(_batch("c1", 1), kind="cameras"))
    assert ws.columns() is before
    saved = sorted((home.path / "cache" / "columns").rglob("x.npy"))
    assert len(saved) == 2 and saved[0].stat().st_ino == saved[1].stat().st_ino  # linked, not copied


def test_an_unreadable_snapshot_is_recomputed(home, store, caplog):
    store.import_batch("incidents", _incidents(300, 1), _batch("b1", 300))
    Workspace(home, store=store).prepare()
    x = next((home.path / "cache" / "columns").rglob("x.npy"))
    x.write_bytes(x.read_bytes()[:100])  # truncated (a full disk, a copy cut short)
    ws = Workspace(home, store=store)
    with _Spy(store) as spy:
        cols = ws.columns()
    assert spy.whole == 1 and "ignoring the unreadable snapshot" in caplog.text
    _assert_same_columns(cols, Workspace(home, store=store, snapshots=False).columns())
    assert is_mapped(cols.x)  # saved again, whole


def test_snapshots_of_other_code_are_not_used(home, store, monkeypatch):
    import geo_app.workspace as wsmod

    store.import_batch("incidents", _incidents(200, 1), _batch("b1", 200))
    Workspace(home, store=store).prepare()
    monkeypatch.setattr(wsmod, "_code_stamp", lambda: "another-release")
    with _Spy(store) as spy:
        Workspace(home, store=store).columns()
    assert spy.whole == 1


def test_an_unwritable_cache_folder_only_costs_speed(home, store, caplog):
    store.import_batch("incidents", _incidents(200, 1), _batch("b1", 200))
    home.path.mkdir(parents=True, exist_ok=True)
    (home.path / "cache").write_text("not a folder")  # mkdir fails as on a read-only disk
    ws = Workspace(home, store=store)
    ws.prepare()
    assert not is_mapped(ws.columns().x) and "cannot save the snapshot" in caplog.text
    _same(ws, Workspace(home, store=store, snapshots=False))


def test_two_processes_saving_one_version_keep_one_whole_snapshot(tmp_path):
    snaps = Snapshots(tmp_path)
    a = snaps.save("x", "k", "v1", {"values": np.arange(5)}, {"n": 1})
    b = snaps.save("x", "k", "v1", {"values": np.arange(5) * 2}, {"n": 2})  # lost the race: theirs kept
    np.testing.assert_array_equal(b.arrays["values"], np.arange(5))
    assert a.meta == b.meta == {"n": 1}
    assert not [p for p in (tmp_path / "x").rglob(".tmp-*")]
    for v in ("v2", "v3"):
        snaps.save("x", "k", v, {"values": np.arange(3)}, {})
    kept = sorted(p.name for p in next((tmp_path / "x").iterdir()).iterdir())
    assert len(kept) == 2 and "v1" not in kept  # the oldest removed


def test_the_import_command_saves_what_a_server_maps(home, tmp_path):
    from geo_app.cli import cli

    csv = tmp_path / "incidents.csv"
    gdf = _incidents(120, 4)
    pd.DataFrame({"lon": gdf.geometry.x, "lat": gdf.geometry.y, "category": gdf["category"],
                  "date": gdf["occurred_from"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")}).to_csv(csv, index=False)
    env = {"GEO_APP_HOME": str(home.path)}
    r = CliRunner().invoke(cli, ["import", "incidents", str(csv)], env=env)
    assert r.exit_code == 0, r.output
    served = Workspace(Home(home.path))
    with _Spy(served.store) as spy:
        served.warm()
    assert spy.whole == 0 and is_mapped(served.columns().x)
    assert len(served.columns()) == 120


def test_demo_arrays_mapped_equal_arrays_computed(demo_home_path):
    """On the demo city (streets, cameras, lights): every saved array, the hotspot areas, the
    street concentration and the proposals of a server mapping them equal those of a server
    computing everything."""
    mapped, fresh = Workspace(Home(demo_home_path)), Workspace(Home(demo_home_path), snapshots=False)
    assert is_mapped(mapped.incident_segments()) and is_mapped(mapped.incident_cells())
    assert is_mapped(mapped.proposal_models()[1].row)
    _same(mapped, fresh)
    np.testing.assert_array_equal(mapped.incident_segments(), fresh.incident_segments())
    cols, grid = fresh.columns(), fresh.analysis_grid()
    np.testing.assert_array_equal(fresh.incident_cells(), cell_index(grid, cols.x, cols.y))
    f = fresh.default_filters(None)
    pd.testing.assert_frame_equal(mapped.hotspot_areas(f), fresh.hotspot_areas(f))
    assert mapped.street_concentration(f) == fresh.street_concentration(f)
    pd.testing.assert_frame_equal(mapped.proposals(f), fresh.proposals(f))


def test_hotspot_areas_from_the_saved_cells_equal_those_of_cell_index(demo_home_path):
    """The default grid's areas (cells taken from ``incident_cells``) equal the areas of the
    same grid asked with its cell size (cells computed by ``cell_index``)."""
    ws = Workspace(Home(demo_home_path))
    f = ws.default_filters(None)
    size = ws.analysis_grid().attrs["vigie"]["cell_size"]
    a, b = ws.hotspot_areas(f), ws.hotspot_areas(f, cell_size=size)
    pd.testing.assert_frame_equal(a, b)


def test_the_cache_folder_is_in_the_deployment(home, store):
    assert Workspace(home, store=store).snapshots().root == home.path / "cache"
    assert Workspace(None, store=store).snapshots() is None  # no deployment: nothing saved


def test_the_prepare_command_saves_what_a_server_maps(home):
    """`geo-app prepare` after an upgrade: the arrays and the proposal models are saved, and a
    server then maps both without reading the incident layer or building the models."""
    from geo_app.cli import cli

    home.store.import_batch("incidents", _incidents(300, 1), _batch("b1", 300))
    r = CliRunner().invoke(cli, ["prepare"], env={"GEO_APP_HOME": str(home.path)})
    assert r.exit_code == 0, r.output
    assert "Saved the arrays of 300 incidents" in r.output
    served = Workspace(Home(home.path))
    with _Spy(served.store) as spy:
        served.columns(), served.frame("incidents")
    assert spy.whole == 0
    assert served.saved_proposal_models() and is_mapped(served.proposal_models()[0].point)


def test_warm_builds_missing_proposal_models_only_for_small_layers(home, monkeypatch):
    """Above ``WARM_MODELS_MAX`` incidents a start does not build the proposal models (minutes
    at ten million); once saved (``geo-app prepare``), a start maps them."""
    home.store.import_batch("incidents", _incidents(300, 1), _batch("b1", 300))
    monkeypatch.setattr(Workspace, "WARM_MODELS_MAX", 100)
    big = Workspace(home)
    big.warm()
    assert big.peek("proposal_models", ()) is None and not big.saved_proposal_models()
    monkeypatch.setattr(Workspace, "WARM_MODELS_MAX", 1000)
    small = Workspace(home)
    small.warm()
    assert small.peek("proposal_models", ()) is not None and small.saved_proposal_models()
    monkeypatch.setattr(Workspace, "WARM_MODELS_MAX", 100)
    again = Workspace(home)
    again.warm()
    assert is_mapped(again.peek("proposal_models", ())[0].point)


def test_a_server_saves_in_the_background_and_answers_from_its_own_copy(home, store):
    """The web's workspace saves what it computed without making the request wait; the next
    process maps it."""
    store.import_batch("incidents", _incidents(300, 1), _batch("b1", 300))
    server = Workspace(home, store=store)
    server.save_in_background()
    cols = server.columns()
    assert not is_mapped(cols.x)  # its own copy: the request did not wait for the disk
    server._saver.shutdown(wait=True)
    assert is_mapped(server.columns().x)  # once saved, its own copy gives way to the shared pages
    _assert_same_columns(server.columns(), cols)
    nxt = Workspace(home, store=store)
    with _Spy(store) as spy:
        mapped = nxt.columns()
    assert spy.whole == 0 and is_mapped(mapped.x)
    _assert_same_columns(mapped, cols)


def test_a_forked_worker_saves_with_its_own_thread(tmp_path):
    """gunicorn forks its workers after the warm-up: a worker's saves must run (a forked
    process has none of its parent's threads)."""
    from geo_app.workspace import _BackgroundSaver

    saver = _BackgroundSaver()
    saver.submit((tmp_path / "parent").write_text, "p").result(timeout=10)
    pid = os.fork()
    if pid == 0:  # the worker
        try:
            saver.submit((tmp_path / "child").write_text, "c").result(timeout=10)
            saver.shutdown()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert (tmp_path / "child").read_text() == "c"
    saver.shutdown()


def test_the_rollback_command_saves_what_a_server_maps(home, tmp_path):
    from geo_app.cli import cli

    env = {"GEO_APP_HOME": str(home.path)}
    for seed, name in ((4, "a.csv"), (5, "b.csv")):
        gdf = _incidents(80, seed)
        pd.DataFrame({"lon": gdf.geometry.x, "lat": gdf.geometry.y, "category": gdf["category"],
                      "date": gdf["occurred_from"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")}).to_csv(tmp_path / name,
                                                                                             index=False)
        assert CliRunner().invoke(cli, ["import", "incidents", str(tmp_path / name)], env=env).exit_code == 0
    last = home.store.batches("incidents")[-1].id
    r = CliRunner().invoke(cli, ["rollback", last], env=env)
    assert r.exit_code == 0, r.output
    served = Workspace(Home(home.path))
    with _Spy(served.store) as spy:
        cols = served.columns()
    assert spy.whole == 0 and is_mapped(cols.x) and len(cols) == 80
    _assert_same_columns(cols, Workspace(Home(home.path), snapshots=False).columns())


def test_a_snapshot_of_other_batches_under_the_same_version_is_not_served(home, store, monkeypatch, caplog):
    """A store restored from a dump may reuse a version token for other rows: a snapshot whose
    batches differ from the store's is discarded and computed again."""
    store.import_batch("incidents", _incidents(200, 1), _batch("b1", 200))
    Workspace(home, store=store).prepare()
    real = Workspace._batches
    monkeypatch.setattr(Workspace, "_batches", lambda self: {**real(self), "restored-other": "incidents"})
    ws = Workspace(home, store=store)
    with _Spy(store) as spy:
        cols = ws.columns()
    assert spy.whole == 1 and "do not fit its rows" in caplog.text
    monkeypatch.setattr(Workspace, "_batches", real)
    _assert_same_columns(cols, Workspace(home, store=store, snapshots=False).columns())
    assert Workspace(home, store=store)._matches(  # saved again with the (patched) batches it was built from
        Snapshots(home.path / "cache").load("columns", ws._snapshot_key("columns"), ws.version).meta,
        200) is False


def test_segments_and_cells_follow_other_streets_and_another_study_area(tmp_path):
    """Each incident's segment and cell depend on the streets and on the grid too: when the
    streets and the study area are replaced (rolled back, then imported anew: as many streets,
    another area), a running server and a new one give the segments and cells computed anew,
    not those carried over from the previous version."""
    import geopandas as gpd
    from shapely.geometry import LineString, box

    from geo_app.config import write_config

    home = Home(tmp_path / "home")
    write_config(home.path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris",
                                             "study_area": "areas"})
    store = home.store
    inc = _incidents(300, 1)
    store.import_batch("incidents", inc, _batch("b1", 300))
    x0, y0, x1, y1 = inc.total_bounds
    area = gpd.GeoDataFrame({"name": ["a"], "level": ["quartier"]}, geometry=[box(x0, y0, x1, y1)], crs=4326)
    store.import_batch("areas", area, dataclasses.replace(_batch("a1", 1), kind="areas"))
    lines = [LineString([(x0, y), (x1, y)]) for y in np.linspace(y0, y1, 12)]
    streets = gpd.GeoDataFrame({"name": [f"Rue {i}" for i in range(12)]}, geometry=lines, crs=4326)
    store.import_batch("streets", streets, dataclasses.replace(_batch("s1", 12), kind="streets"))
    ws = Workspace(home)
    ws.incident_segments(), ws.incident_cells()
    turned = streets.assign(geometry=[LineString([(x, y0), (x, y1)]) for x in np.linspace(x0, x1, 12)])
    store.rollback("s1")
    store.import_batch("streets", turned, dataclasses.replace(_batch("s2", 12), kind="streets"))
    smaller = area.assign(geometry=[box(x0, y0, (x0 + x1) / 2, y1)])
    store.rollback("a1")
    store.import_batch("areas", smaller, dataclasses.replace(_batch("a2", 1), kind="areas"))
    fresh = Workspace(home, snapshots=False)
    np.testing.assert_array_equal(ws.incident_segments(), fresh.incident_segments())
    np.testing.assert_array_equal(ws.incident_cells(), fresh.incident_cells())
    np.testing.assert_array_equal(Workspace(home).incident_segments(), fresh.incident_segments())


def test_the_code_digest_of_an_install_without_source_files(monkeypatch):
    """A zipped or frozen install has no source file to read: the digest falls back to the
    release, never fails."""
    import layers.columns
    from geo_app import workspace as wsmod

    wsmod._code_stamp.cache_clear()
    real = wsmod._code_stamp()
    monkeypatch.setattr(layers.columns, "__file__", "/nonexistent/columns.pyc")
    wsmod._code_stamp.cache_clear()
    try:
        other = wsmod._code_stamp()
        assert other != real and len(other) == 16
    finally:
        wsmod._code_stamp.cache_clear()
