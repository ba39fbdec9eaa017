"""``geo-app import`` and ``geo-app export`` end to end: exit codes, the store unchanged after
a rejected file, dry runs, ``--skip-invalid``, and every export format re-read with GDAL."""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile

import pandas as pd
import pyogrio
import pytest

from geo_app.cli import main

# a French spreadsheet export: ';' separator, decimal commas, dd/mm/yyyy dates
GOOD = """lon;lat;date;category;description;id
3,87;43,61;15/01/2024 10:30;theft;=HYPERLINK("http://evil");a1
3,88;43,62;2024-01-16;burglary;+33 6 12 34 56 78;a2
3,86;43,61;2024-02-01T22:00:00Z;drugs;-2 pochons;a3
3,85;43,60;2024-03-10 08:00;theft;@SUM(A1);a4
3,84;43,615;2024-06-30 23:59;nuisance;ordinary text;a5
"""
# row 2 has an impossible date, row 4 null island
BAD = """lon,lat,date,category,id
3.87,43.61,2024-01-15 10:30,theft,b1
3.88,43.62,2024-13-01,theft,b2
3.86,43.61,2024-02-01,drugs,b3
0,0,2024-02-02,drugs,b4
"""


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([*map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    return good, bad


@pytest.fixture
def loaded(home, files, capsys):
    code, _, _ = run(capsys, "import", "incidents", files[0])
    assert code == 0
    return home


def test_import_stores_one_batch_with_the_file_checksum(home, files, capsys):
    good, _ = files
    code, out, _ = run(capsys, "import", "incidents", good, "--user", "alice")
    assert code == 0
    assert "Read 5 row(s): 5 valid, 0 rejected." in out and "Stored 5 incidents as batch" in out
    (b,) = home.store.batches()
    assert b.checksum == hashlib.sha256(good.read_bytes()).hexdigest()
    assert (b.file_name, b.user, b.n_read, b.n_stored, b.n_rejected) == ("good.csv", "alice", 5, 5, 0)
    assert b.options["column_mapping"]["occurred_from"] == "date"
    got = home.store.read("incidents").sort_values("external_id")
    # 15/01/2024 10:30 Paris time is 09:30 UTC
    assert got["occurred_from"].iloc[0] == pd.Timestamp("2024-01-15T09:30Z")
    assert got["category"].tolist() == ["theft", "burglary", "drugs", "theft", "nuisance"]


def test_a_rejected_file_exits_1_names_the_rows_and_leaves_the_store_unchanged(loaded, files, capsys):
    store = loaded.store
    v, counts, batches = store.version, store.counts(), store.batches()
    code, _out, err = run(capsys, "import", "incidents", files[1])
    assert code == 1
    assert "nothing was stored" in err
    assert "row 2" in err and "row 4" in err
    assert (store.version, store.counts(), store.batches()) == (v, counts, batches)


def test_dry_run_writes_nothing(home, files, capsys):
    code, out, _ = run(capsys, "import", "incidents", files[0], "--dry-run")
    assert code == 0 and "Dry run: 5 incidents would be stored" in out
    assert home.store.version == "empty" and not home.store.path.exists()
    code, out, err = run(capsys, "import", "incidents", files[1], "--dry-run")
    assert code == 1 and "row 2" in out and "dry run" in err
    assert home.store.version == "empty"


def test_skip_invalid_stores_the_valid_rows_and_keeps_the_report(home, files, capsys):
    code, out, _ = run(capsys, "import", "incidents", files[1], "--skip-invalid")
    assert code == 0 and "2 valid, 2 rejected" in out
    (b,) = home.store.batches()
    assert (b.n_read, b.n_stored, b.n_rejected) == (4, 2, 2)
    assert {p["row"] for p in b.report if p["severity"] == "error"} == {2, 4}
    assert sorted(home.store.read("incidents")["external_id"]) == ["b1", "b3"]


def test_identical_rows_kept_and_reported_or_dropped_with_drop_duplicates(home, tmp_path, capsys):
    f = tmp_path / "same.csv"
    line = "3.87,43.61,2024-01-15 10:30,theft\n"
    f.write_text("lon,lat,date,category\n" + line + "3.88,43.62,2024-01-16,theft\n" + line, encoding="utf-8")
    code, out, _ = run(capsys, "import", "incidents", f, "--dry-run")
    assert code == 0 and "3 valid, 0 rejected" in out
    assert "rows 1 and 3 are identical: kept as two incidents; pass --drop-duplicates" in out
    code, out, _ = run(capsys, "import", "incidents", f, "--drop-duplicates")
    assert code == 0 and "Read 3 row(s): 2 valid, 1 rejected." in out
    assert "1 row(s) identical to an earlier row in every field were dropped (--drop-duplicates)" in out
    (b,) = home.store.batches()
    assert b.n_stored == 2 and b.options["drop_duplicates"] is True
    assert [p["row"] for p in b.report if p["row"] is not None] == [3]


def test_map_option_and_labels(home, tmp_path, capsys):
    f = tmp_path / "police.csv"
    f.write_text("X,Y,quand,nature\n3.87,43.61,2024-01-15,Vol\n3.88,43.62,2024-01-16,Shoplifting\n")
    code, out, _ = run(capsys, "import", "incidents", f, "--map", "occurred_from=quand",
                       "--map", "source_label=nature", "--labels", "police_uk")
    assert code == 0, out
    got = home.store.read("incidents").sort_values("occurred_from")
    assert got["source_label"].tolist() == ["Vol", "Shoplifting"]
    assert got["category"].tolist() == ["other", "shoplifting"]
    assert "'Vol' (1)" in out


def test_mapping_to_a_missing_column_is_a_usage_error(home, files, capsys):
    code, _, err = run(capsys, "import", "incidents", files[0], "--map", "occurred_from=quand")
    assert code == 2 and "quand" in err
    assert home.store.version == "empty"


def test_progress_bar_on_long_imports(home, files, capsys, monkeypatch):
    from geo_app.cli import data

    monkeypatch.setattr(data, "PROGRESS_MIN_ROWS", 1)
    code, _, err = run(capsys, "import", "incidents", files[0])
    assert code == 0 and "Storing incidents" in err


# --------------------------------------------------------------------------- export


def _reread(path, fmt) -> pd.DataFrame:
    """Read an exported file back with GDAL; (external_id, category, x, y) sorted."""
    if fmt == "csv":
        df = pyogrio.read_dataframe(path, X_POSSIBLE_NAMES="x", Y_POSSIBLE_NAMES="y", KEEP_GEOM_COLUMNS="NO")
    elif fmt == "shp":
        df = pyogrio.read_dataframe(f"/vsizip/{path}/incidents.shp").rename(columns={"ext_id": "external_id"})
    else:
        df = pyogrio.read_dataframe(path, layer="incidents")
    out = pd.DataFrame({
        "external_id": df["external_id"].astype(str).to_numpy(),
        "category": df["category"].astype(str).to_numpy(),
        "x": df.geometry.x.round(7).to_numpy(),
        "y": df.geometry.y.round(7).to_numpy(),
    })
    return out.sort_values("external_id").reset_index(drop=True), df


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv", "kml"])
def test_export_then_gdal_reads_back_the_stored_features(loaded, tmp_path, capsys, fmt):
    out = tmp_path / f"export.{fmt}"
    code, text, _ = run(capsys, "export", "incidents", "--format", fmt, "--out", out)
    assert code == 0 and "Exported 5 incidents" in text
    if fmt == "shp":  # written as a zip holding the shapefile's files
        assert not out.exists()
        out = out.with_suffix(".zip")
        assert {"incidents.shp", "incidents.dbf", "incidents.prj"} <= set(zipfile.ZipFile(out).namelist())
    stored = loaded.store.read("incidents")
    expected = pd.DataFrame({
        "external_id": stored["external_id"].astype(str).to_numpy(),
        "category": stored["category"].astype(str).to_numpy(),
        "x": stored.geometry.x.round(7).to_numpy(),
        "y": stored.geometry.y.round(7).to_numpy(),
    }).sort_values("external_id").reset_index(drop=True)
    got, raw = _reread(out, fmt)
    pd.testing.assert_frame_equal(got, expected)
    if fmt in ("geojson", "gpkg"):
        when = pd.to_datetime(raw.sort_values("external_id")["occurred_from"], utc=True)
        assert when.tolist() == stored.sort_values("external_id")["occurred_from"].tolist()


def test_export_with_filters_and_crs(loaded, tmp_path, capsys):
    out = tmp_path / "theft.gpkg"
    code, _, _ = run(capsys, "export", "incidents", "--format", "gpkg", "--out", out, "--crs", "2154",
                     "--category", "theft", "--from", "2024-01-01", "--to", "2024-02-29")
    assert code == 0
    df = pyogrio.read_dataframe(out, layer="incidents")
    assert df.crs.to_epsg() == 2154
    assert df["external_id"].tolist() == ["a1"]  # a4 (theft) is in March
    assert 700_000 < df.geometry.x.iloc[0] < 800_000
    prov = dict(pyogrio.read_dataframe(out, layer="provenance")[["key", "value"]].to_numpy())
    assert json.loads(prov["filters"])["categories"] == ["theft"]
    assert prov["data"] == "real"
    assert json.loads(prov["batches"])[0]["file_name"] == "good.csv"


def test_csv_export_neutralises_formulas(loaded, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert run(capsys, "export", "incidents", "--format", "csv", "--out", out)[0] == 0
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    descriptions = {r["external_id"]: r["description"] for r in rows}
    assert descriptions["a1"] == "'=HYPERLINK(\"http://evil\")"
    assert descriptions["a2"] == "'+33 6 12 34 56 78"
    assert descriptions["a3"] == "'-2 pochons"
    assert descriptions["a4"] == "'@SUM(A1)"
    assert descriptions["a5"] == "ordinary text"
    for r in rows:
        for k, v in r.items():
            if k not in ("x", "y"):
                assert not v[:1] in ("=", "+", "-", "@"), (k, v)
    prov = json.loads(out.with_name("x.provenance.json").read_text())
    assert prov["simulated"] is False and prov["features"] == 5


def test_export_of_simulated_incidents_says_so(home, tmp_path, capsys):
    import geopandas as gpd
    from shapely.geometry import Point

    from geo_app.imports import import_frame

    gdf = gpd.GeoDataFrame({"category": ["theft"], "occurred_from": pd.to_datetime(["2024-01-01T10:00Z"])},
                           geometry=[Point(3.87, 43.61)], crs=4326)
    import_frame(home, "incidents", gdf, file_name="simulated", simulated=True)
    out = tmp_path / "sim.geojson"
    code, text, _ = run(capsys, "export", "incidents", "--format", "geojson", "--out", out)
    assert code == 0 and "SIMULATED" in text
    doc = json.loads(out.read_text())
    assert doc["provenance"]["data"] == "simulated"
    assert doc["features"][0]["properties"]["simulated"] is True


def test_export_kml_refuses_a_projected_crs(loaded, tmp_path, capsys):
    code, _, err = run(capsys, "export", "incidents", "--format", "kml", "--out", tmp_path / "x.kml",
                       "--crs", "2154")
    assert code == 2 and "KML" in err
    assert not (tmp_path / "x.kml").exists()


def test_export_of_an_empty_layer_writes_an_empty_file(home, tmp_path, capsys):
    out = tmp_path / "zac.gpkg"
    code, text, _ = run(capsys, "export", "zac", "--format", "gpkg", "--out", out)
    assert code == 0 and "Exported 0 zac" in text
    assert len(pyogrio.read_dataframe(out, layer="zac")) == 0


@pytest.mark.parametrize(
    "name, text, needle",
    [
        ("lambert.geojson",
         ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Z"}, '
         '"geometry": {"type": "Point", "coordinates": [770211.4, 6279610.6]}}]}'), "--crs 2154"),
        ("empty.csv", "", "empty"),
        ("header_only.csv", "lon,lat,date,category\n", "no"),
    ],
)
def test_unusable_files_exit_1_and_leave_the_store_unchanged(loaded, tmp_path, capsys, name, text, needle):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    store = loaded.store
    v, batches = store.version, store.batches()
    kind = "schools" if name.endswith("geojson") else "incidents"
    code, _, err = run(capsys, "import", kind, f)
    assert code == 1
    assert needle in err
    assert store.version == v and store.batches() == batches


def test_date_format_option_reads_us_dates(home, tmp_path, capsys):
    f = tmp_path / "us.csv"
    f.write_text("lon,lat,date,category\n3.87,43.61,03/04/2024,theft\n3.88,43.62,12/25/2024,theft\n")
    code, out, _ = run(capsys, "import", "incidents", f, "--date-format", "%m/%d/%Y")
    assert code == 0, out
    days = home.store.read("incidents").sort_values("occurred_from")["occurred_from"].dt.tz_convert("Europe/Paris")
    assert [(d.month, d.day) for d in days] == [(3, 4), (12, 25)]


def test_a_polygon_of_a_million_vertices_exits_1_fast_and_stores_nothing(home, tmp_path, capsys):
    import time

    import numpy as np

    n = 1_000_000
    a = np.linspace(0, 2 * np.pi, n)
    r = 0.01 * (1 + 0.5 * np.sin(37 * a)) * (1 + (np.arange(n) % 2) * 0.3)  # self-intersecting
    ring = np.c_[3.87 + r * np.cos(a), 43.61 + r * np.sin(a)].round(7)
    ring = np.vstack([ring, ring[:1]]).tolist()
    p = tmp_path / "zac.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "huge"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    version = home.store.version
    t0 = time.perf_counter()
    code, out, err = run(capsys, "import", "zac", p)
    assert code == 1 and time.perf_counter() - t0 < 15
    assert "1,000,001 vertices" in out + err and "geometry" in out + err
    assert home.store.version == version and home.store.count("zac") == 0
