"""Stores written before incidents had ``geocode_precision`` / ``geocode_score``: opening one
adds the columns (migration, empty for the rows already stored) instead of requiring a rebuild,
and addresses can then be geocoded into it. The old layout is made in the test by dropping the
two columns from a store written by this version (GeoPackage: SQLite's ``DROP COLUMN``;
PostGIS: ``ALTER TABLE … DROP COLUMN``)."""

from __future__ import annotations

import contextlib
import sqlite3

import pandas as pd
import pytest

from geo_app.cli import main

OLD = ("geocode_precision", "geocode_score")
POINTS = "date;categorie;lon;lat\n" + "".join(
    f"2024-02-{d:02d} 21:00;theft;{3.8760 + d / 10000:.4f};43.6100\n" for d in range(1, 21))
ADDRESSED = "date;categorie;adresse;lon;lat\n2024-03-01 22:10;theft;RUE DE LA LOGE 4;;\n"


def run(capsys, *args):
    code = main([*map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _columns(path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        return {r[1] for r in con.execute('PRAGMA table_info("incidents")')}


@pytest.fixture
def old_gpkg_home(address_home, tmp_path, capsys):
    """The sample register and 20 incidents with points, in a store of the old layout."""
    csv = tmp_path / "points.csv"
    csv.write_text(POINTS, encoding="utf-8")
    assert run(capsys, "import", "incidents", csv)[0] == 0
    path = address_home.store.path
    with contextlib.closing(sqlite3.connect(path)) as con:
        for c in OLD:
            con.execute(f'ALTER TABLE incidents DROP COLUMN "{c}"')
        con.commit()
    assert not set(OLD) & _columns(path)
    return address_home


def test_an_old_geopackage_store_opens_with_the_new_columns(old_gpkg_home):
    from geo_app.config import Home
    from layers.store import open_store

    store = open_store(old_gpkg_home.store.path)
    got = store.read("incidents")
    assert len(got) == 20 and set(OLD) <= set(got.columns)
    assert got["geocode_precision"].isna().all() and got["geocode_score"].isna().all()
    assert set(OLD) <= _columns(store.path)  # written to the file: migrated once
    assert store.migrate() == []
    # the workspace the web reads through sees the columns too
    ws = Home(old_gpkg_home.path).workspace()
    assert set(OLD) <= set(ws.frame("incidents").columns)


def test_a_geocoded_import_into_an_old_store_keeps_the_old_rows(old_gpkg_home, tmp_path, capsys):
    csv = tmp_path / "adresses.csv"
    csv.write_text(ADDRESSED, encoding="utf-8")
    # one row beside twenty: the import appends to the layer (no rewrite) after migrating it
    code, out, err = run(capsys, "import", "incidents", csv, "--geocode", "adresse")
    assert code == 0, out + err
    got = old_gpkg_home.store.read("incidents").sort_values("occurred_from").reset_index(drop=True)
    assert len(got) == 21
    assert got["geocode_precision"].iloc[:20].isna().all()
    assert got.loc[20, "geocode_precision"] == "house" and got.loc[20, "geocode_score"] == 100
    assert got.loc[20, "address"] == "RUE DE LA LOGE 4"
    assert got.geometry.x.iloc[:20].to_numpy() == pytest.approx([3.8760 + d / 10000 for d in range(1, 21)], abs=1e-7)


def test_the_migration_returns_what_it_added(old_gpkg_home):
    from layers.store import open_store

    store = open_store(old_gpkg_home.store.path)
    version = store.version
    assert sorted(store.migrate()) == ["incidents.geocode_precision", "incidents.geocode_score"]
    assert store.version != version  # caches keyed on the version reload


def test_an_old_postgis_store_is_migrated_when_opened(postgis):
    import geopandas as gpd
    import shapely

    from layers.store import Batch, open_store

    url = postgis.fresh_url()
    try:
        store = open_store(url)
        gdf = gpd.GeoDataFrame({"category": ["theft", "theft"],
                                "occurred_from": pd.to_datetime(["2024-02-01 21:00", "2024-02-02 21:00"], utc=True)},
                               geometry=[shapely.Point(3.876, 43.61), shapely.Point(3.877, 43.61)], crs=4326)
        store.import_batch("incidents", gdf, Batch(id="b1", kind="incidents", file_name="a.csv", checksum="0" * 64,
                                                   user="t", created="2026-01-01T00:00:00Z", n_read=2, n_stored=2,
                                                   n_rejected=0))
        store.close()
        for c in OLD:
            postgis.execute(f"ALTER TABLE incidents DROP COLUMN {c}", url=url)
        store = open_store(url)
        got = store.read("incidents")
        assert len(got) == 2 and set(OLD) <= set(got.columns) and got["geocode_precision"].isna().all()
        assert store.migrate() == []
        store.close()
    finally:
        postgis.drop(url)
