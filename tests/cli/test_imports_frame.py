"""``geo_app.imports.import_frame``: already-built frames (the demo's simulated incidents)
go through the same batch pipeline as files."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from geo_app.imports import ImportOutcome, frame_checksum, import_frame, new_batch_id
from layers.errors import InputError


def frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "category": ["theft", "aliens", None, "drugs"],
            "occurred_from": pd.to_datetime(["2024-01-01T10:00Z", "2024-01-02T10:00Z", "2024-01-03T10:00Z",
                                             None], utc=True),
            "external_id": ["1", "2", "3", "4"],
        },
        geometry=[Point(770000, 6280000), Point(771000, 6281000), Point(772000, 6282000), Point()],
        crs=2154,
    )


def test_a_clean_frame_is_stored_as_one_simulated_batch(home):
    gdf = frame().iloc[[0]]
    out = import_frame(home, "incidents", gdf, file_name="simulated-incidents", user="demo", simulated=True)
    assert isinstance(out, ImportOutcome)
    assert out.counts == {"read": 1, "valid": 1, "stored": 1, "rejected": 0}
    b = out.batch
    assert (b.kind, b.file_name, b.user, b.simulated) == ("incidents", "simulated-incidents", "demo", True)
    assert re.fullmatch(r"[0-9a-f]{64}", b.checksum) and b.checksum == frame_checksum(gdf)
    assert home.store.batches() == [b]
    back = home.store.read("incidents")
    assert back["simulated"].tolist() == [True]
    assert back.crs.equals("EPSG:4326")
    assert back.to_crs(2154).geometry.iloc[0].distance(Point(770000, 6280000)) < 1e-3


def test_bad_rows_refuse_the_frame_naming_rows_and_fields(home):
    with pytest.raises(InputError) as e:
        import_frame(home, "incidents", frame(), file_name="f")
    got = {(p.row, p.field) for p in e.value.problems}
    assert got == {(2, "category"), (3, "category"), (4, "occurred_from"), (4, "geometry")}
    assert "nothing was stored" in e.value.message and "1 valid" in e.value.message
    assert home.store.version == "empty" and home.store.batches() == []


def test_skip_invalid_stores_the_valid_rows_and_keeps_the_report(home):
    out = import_frame(home, "incidents", frame(), file_name="f", skip_invalid=True)
    assert out.counts == {"read": 4, "valid": 1, "stored": 1, "rejected": 3}
    stored = home.store.batches()[0]
    assert stored.n_rejected == 3
    assert {(p["row"], p["field"]) for p in stored.report} == {
        (2, "category"), (3, "category"), (4, "occurred_from"), (4, "geometry")}
    assert home.store.read("incidents")["external_id"].tolist() == ["1"]


def test_dry_run_writes_nothing(home):
    out = import_frame(home, "incidents", frame(), file_name="f", dry_run=True)
    assert out.batch is None and out.dry_run and out.counts["valid"] == 1 and out.counts["stored"] == 0
    assert not home.store.path.exists()


def test_shops_need_a_name_or_a_kind(home):
    shops = gpd.GeoDataFrame({"name": ["Bar", None], "kind": [None, " "]},
                             geometry=[Point(3.8, 43.6), Point(3.81, 43.61)], crs=4326)
    with pytest.raises(InputError) as e:
        import_frame(home, "shops", shops, file_name="shops")
    assert [(p.row, p.field) for p in e.value.problems] == [(2, "name")]


def test_batch_ids_are_sortable_and_distinct():
    ids = {new_batch_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", i) for i in ids)
