"""Incremental caches: after an import that only appends rows, the workspace extends its layers,
incident columns and darkness classes instead of reading everything again, and gets exactly what
a rebuild gets. A rollback (rows removed) rebuilds.

Runs on both store backends (PostGIS with the throw-away cluster of ``tests/conftest.py``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from bench.gen import clustered_incidents
from geo_app.workspace import Workspace
from layers.store import open_store
from layers.store.base import Batch

BACKENDS = ["gpkg", "postgis"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    if request.param == "postgis":
        return request.getfixturevalue("postgis_store")
    return open_store(tmp_path / "store.gpkg")


def _batch(bid: str, n: int) -> Batch:
    return Batch(id=bid, kind="incidents", file_name=f"{bid}.csv", checksum="0" * 64, user="test",
                 created=f"2026-01-01T00:00:{len(bid):02d}Z", n_read=n, n_stored=n, n_rejected=0)


def _incidents(n: int, seed: int, *, categories=None):
    gdf = clustered_incidents(n, seed=seed).to_crs(4326)
    if categories is not None:  # a category the first batches never had
        gdf["category"] = categories
    return gdf


class _Spy:
    """Counts whole reads of the incident layer."""

    def __init__(self, store):
        self.store, self.whole = store, 0
        self._read = store.read

    def __enter__(self):
        def read(kind, filters=None, **kw):
            if kind == "incidents" and filters is None:
                self.whole += 1
            return self._read(kind, filters, **kw)
        self.store.read = read
        return self

    def __exit__(self, *exc):
        del self.store.read


def _assert_same_columns(a, b):
    for field in dataclasses.fields(a):
        va, vb = getattr(a, field.name), getattr(b, field.name)
        if isinstance(va, np.ndarray):
            np.testing.assert_array_equal(va, vb, err_msg=field.name)
        else:
            assert va == vb, field.name


def _assert_same_as_rebuilt(ws: Workspace, home, store):
    fresh = Workspace(home, store=store, snapshots=False)  # built from the store, nothing saved read
    _assert_same_columns(ws.columns(), fresh.columns())
    np.testing.assert_array_equal(ws.darkness_codes(), fresh.darkness_codes())
    pd.testing.assert_frame_equal(ws.frame("incidents"), fresh.frame("incidents"))


def test_columns_after_appends_equal_columns_rebuilt(home, store):
    ws = Workspace(home, store=store)
    store.import_batch("incidents", _incidents(400, 1), _batch("b1", 400))
    ws.columns(), ws.darkness_codes(), ws.frame("incidents")
    steps = [
        ("b2", _incidents(60, 2)),  # small beside the layer: appended in place
        ("b3", _incidents(900, 3)),  # large: the GeoPackage rewrites the layer, fids kept
        ("b4", _incidents(5, 4, categories="vehicle_theft")),  # a category not seen before
    ]
    for bid, gdf in steps:
        store.import_batch("incidents", gdf, _batch(bid, len(gdf)))
        with _Spy(store) as spy:
            cols = ws.columns()
            ws.darkness_codes()
            ws.frame("incidents")
        assert spy.whole == 0, f"{bid}: the incident layer was read whole"
        assert len(cols) == store.counts()["incidents"]
        _assert_same_as_rebuilt(ws, home, store)
    assert ws.columns().categories[-1] == "vehicle_theft"


def test_a_rollback_rebuilds(home, store):
    ws = Workspace(home, store=store)
    store.import_batch("incidents", _incidents(300, 1), _batch("b1", 300))
    store.import_batch("incidents", _incidents(50, 2), _batch("b2", 50))
    ws.columns(), ws.darkness_codes()
    store.rollback("b1")
    with _Spy(store) as spy:
        cols = ws.columns()
    assert spy.whole == 1
    assert len(cols) == 50
    _assert_same_as_rebuilt(ws, home, store)


def test_an_import_of_another_kind_keeps_the_incidents(home, store):
    import geopandas as gpd
    from shapely.geometry import Point

    ws = Workspace(home, store=store)
    store.import_batch("incidents", _incidents(200, 1), _batch("b1", 200))
    before = ws.columns()
    cams = gpd.GeoDataFrame({"name": ["c1"]}, geometry=[Point(3.88, 43.61)], crs=4326)
    store.import_batch("cameras", cams, dataclasses.replace(_batch("c1", 1), kind="cameras"))
    with _Spy(store) as spy:
        assert ws.columns() is before
    assert spy.whole == 0
    assert len(ws.frame("cameras")) == 1
