"""The workspace holds the incident layer compactly (issue 15, memory per server process): no
shapely point per incident, text columns as categorical codes, no copy of what the incident
columns hold. Every row it hands out equals the stored row (values, dtypes, points), whether the
layer was read whole or extended after an import, and on both store backends.
"""

from __future__ import annotations

import platform

import numpy as np
import pandas as pd
import pytest

from bench.gen import clustered_incidents
from geo_app.memory import large_blocks_to_system, release_free_memory
from geo_app.workspace import IncidentRows, Workspace
from tests.workspace.test_workspace_append import _batch, store  # noqa: F401 - both store backends


def _incidents(n: int, seed: int) -> pd.DataFrame:
    gdf = clustered_incidents(n, seed=seed).to_crs(4326)
    gdf["description"] = np.where(np.arange(n) % 3 == 0, None, "vol à l'étalage")  # text with gaps
    return gdf


def _stored(store, ws):
    return store.read("incidents", None, tz=ws.tz)


def test_rows_handed_out_equal_the_stored_rows(home, store):
    store.import_batch("incidents", _incidents(500, 1), _batch("b1", 500))
    ws = Workspace(home, store=store)
    want = _stored(store, ws)
    pd.testing.assert_frame_equal(ws.frame("incidents"), want, check_exact=True)
    rows = np.array([0, 7, 7, 499, 250])
    pd.testing.assert_frame_equal(ws.incidents_at(rows), want.iloc[rows], check_exact=True)
    pd.testing.assert_frame_equal(ws.incidents_at(np.zeros(0, dtype=np.int64)), want.iloc[0:0], check_exact=True)
    got = ws.read("incidents")
    assert list(got.geometry.x) == list(want.geometry.x) and list(got.geometry.y) == list(want.geometry.y)


def test_the_cached_layer_has_no_geometry_and_codes_its_text(home, store):
    store.import_batch("incidents", _incidents(500, 1), _batch("b1", 500))
    ws = Workspace(home, store=store, snapshots=False)  # in memory (a snapshot is mapped: test_workspace_snapshot)
    held = ws._frame("incidents")
    want = _stored(store, ws)
    assert "geometry" not in held.table.columns
    assert "fid" not in held.table.columns  # IncidentColumns.fid holds them
    for c in ("category", "description", "batch_id"):
        assert isinstance(held.table[c].dtype, pd.CategoricalDtype), c
    whole = int(want.drop(columns="geometry").memory_usage(deep=True).sum()) + 216 * len(want)
    assert held.nbytes < whole / 3


def test_after_appends_the_rows_still_equal_the_stored_rows(home, store):
    ws = Workspace(home, store=store)
    store.import_batch("incidents", _incidents(400, 1), _batch("b1", 400))
    ws.columns(), ws.frame("incidents")
    more = _incidents(30, 2)
    more["description"] = "tag sur façade"  # a value the first batch never had
    store.import_batch("incidents", more, _batch("b2", 30))
    blank = _incidents(5, 3)
    blank["description"] = None  # a batch whose text column is all missing
    store.import_batch("incidents", blank, _batch("b3", 5))
    pd.testing.assert_frame_equal(ws.frame("incidents"), _stored(store, ws), check_exact=True)


def test_incident_rows_build_only_the_rows_taken(home, store):
    store.import_batch("incidents", _incidents(300, 1), _batch("b1", 300))
    ws = Workspace(home, store=store)
    want = _stored(store, ws)
    rows = IncidentRows(ws)
    assert len(rows) == 300 and "category" in rows and rows.columns == list(want.columns)
    np.testing.assert_array_equal(rows["fid"].to_numpy(), want["fid"].to_numpy())
    pd.testing.assert_series_equal(rows["occurred_from"], want["occurred_from"], check_exact=True)
    pd.testing.assert_frame_equal(rows.iloc[np.array([5, 1])], want.iloc[[5, 1]], check_exact=True)
    pd.testing.assert_frame_equal(rows.iloc[2:4], want.iloc[2:4], check_exact=True)
    with pytest.raises(KeyError):
        rows["no_such_column"]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the memory settings are glibc's")
def test_memory_helpers_run_on_glibc():
    assert large_blocks_to_system() is True
    assert release_free_memory() is True


def test_incident_rows_take_some_columns_without_points(home, store):
    store.import_batch("incidents", _incidents(300, 1), _batch("b1", 300))
    ws = Workspace(home, store=store)
    want = _stored(store, ws)
    got = IncidentRows(ws).take(np.array([3, 9]), columns=("category",), points=False)
    assert list(got.columns) == ["category", "geometry"] and got.geometry.isna().all()
    pd.testing.assert_series_equal(got["category"], want["category"].iloc[[3, 9]], check_exact=True)
    full = IncidentRows(ws).take(np.array([3, 9]))
    pd.testing.assert_frame_equal(full, want.iloc[[3, 9]], check_exact=True)


def test_ogc_filters_read_only_the_properties_they_name():
    # an OGC page over the incidents builds, for its CQL2 mask, only the columns the filter reads
    from geo_app.ogc.cql import attribute_names, parse_filter

    tree = parse_filter("category IN ('theft') AND (description LIKE 'x%' OR "
                        "S_INTERSECTS(geometry, POINT(3.87 43.61))) AND NOT fid > 3", "cql2-text")
    assert attribute_names(tree) == {"category", "description", "geometry", "fid"}
    assert attribute_names(parse_filter('{"op": "=", "args": [{"property": "source"}, "x"]}', "cql2-json")) == {"source"}
