"""``geo-app import incidents FILE --geocode COLUMN`` and ``geo-app geocode FILE`` for the vector
formats Vigie reads (GeoJSON, GeoPackage, zipped shapefile, KML): on import, features without a
geometry are placed from their address, features with a point keep it; the batch command
geocodes every feature. The store and the written files are re-read and checked against the
register's own points (tests/data/addresses)."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo_app.cli import main

ROWS = [  # date, category, address, own point (Lambert-93) or None
    ("2024-03-01 22:10", "theft", "RUE DE LA LOGE 4", None),
    ("2024-03-02 01:00", "theft", "12 rue foch, 34000 Montpellier", None),
    ("2024-03-03 12:00", "drugs", "13 rue de la Loge", (770300.0, 6279300.0)),
    ("2024-03-04 12:00", "nuisance", "angle rue Foch / rue Saint-Guilhem", None),
]


def run(capsys, *args):
    code = main([*map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _frame(rows=ROWS, crs=2154):
    geoms = [None if p is None else shapely.Point(p) for *_, p in rows]
    return gpd.GeoDataFrame({"date": [r[0] for r in rows], "categorie": [r[1] for r in rows],
                             "adresse": [r[2] for r in rows]}, geometry=geoms, crs=2154).to_crs(crs)


def _write(frame, tmp_path, fmt):
    if fmt == "geojson":
        path = tmp_path / "main_courante.geojson"
        frame.to_crs(4326).to_file(path, driver="GeoJSON")
    elif fmt == "kml":
        path = tmp_path / "main_courante.kml"
        frame.to_crs(4326).to_file(path, driver="KML")
    elif fmt == "gpkg":
        path = tmp_path / "main_courante.gpkg"
        frame.to_file(path, layer="faits", driver="GPKG")
    else:
        folder = tmp_path / "shp"
        folder.mkdir()
        frame.to_file(folder / "faits.shp")
        path = tmp_path / "main_courante.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in folder.iterdir():
                zf.write(f, f.name)
    return path


def _register_point(register, code, number):
    return register[(register.street_code == code) & (register.number == number)
                    & register.suffix.isna()].to_crs(4326).geometry.iloc[0]


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "kml"])
def test_features_without_geometry_are_placed_from_their_address(address_home, register, tmp_path, fmt,
                                                                 capsys):
    path = _write(_frame(), tmp_path, fmt)
    code, out, err = run(capsys, "import", "incidents", path, "--geocode", "adresse")
    assert code == 0, out + err
    assert "Geocoded 3 address(es)" in out
    got = address_home.store.read("incidents").sort_values("occurred_from").reset_index(drop=True)
    assert len(got) == 4
    assert list(got["geocode_precision"].fillna("")) == ["house", "house", "", "intersection"]
    loge4, foch31 = _register_point(register, "1393", 4), _register_point(register, "1043", 12)
    assert got.geometry[0].distance(loge4) < 1e-6 and got.geometry[1].distance(foch31) < 1e-6
    own = gpd.GeoSeries([shapely.Point(770300.0, 6279300.0)], crs=2154).to_crs(4326).iloc[0]
    assert got.geometry[2].distance(own) < 1e-6  # its own point, not 13 rue de la Loge
    assert pd.isna(got.loc[2, "geocode_score"]) and got.loc[0, "geocode_score"] == 100
    assert got.loc[0, "address"] == "RUE DE LA LOGE 4"
    (batch,) = address_home.store.batches("incidents")
    assert batch.options["geocode"] == "adresse" and batch.options["geocoded"] == {"house": 2, "intersection": 1}
    assert "2154" in (batch.options["source_crs"] or "") or fmt in ("geojson", "kml")


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_a_feature_with_neither_geometry_nor_found_address_is_named(address_home, tmp_path, fmt, capsys):
    rows = [*ROWS, ("2024-03-05 12:00", "theft", "3 rue qui n'existe pas", None),
            ("2024-03-06 12:00", "theft", "", None)]
    path = _write(_frame(rows), tmp_path, fmt)
    code, out, err = run(capsys, "import", "incidents", path, "--geocode", "adresse")
    assert code == 1
    assert "row 5, field 'adresse': address '3 rue qui n'existe pas' not found" in out + err
    assert "row 6, field 'adresse': no coordinates and no address" in out + err
    assert address_home.store.counts()["incidents"] == 0
    code, out, err = run(capsys, "import", "incidents", path, "--geocode", "adresse", "--skip-invalid")
    assert code == 0 and address_home.store.counts()["incidents"] == 4


def test_a_polygon_among_the_points_is_an_error_on_its_geometry(address_home, tmp_path, capsys):
    frame = _frame()
    frame.loc[2, "geometry"] = shapely.box(770300, 6279300, 770310, 6279310)
    path = _write(frame, tmp_path, "gpkg")
    code, out, err = run(capsys, "import", "incidents", path, "--geocode", "adresse")
    assert code == 1 and "row 3, field 'geometry'" in out + err, out + err
    assert address_home.store.counts()["incidents"] == 0


def test_an_unknown_column_and_an_unread_file_type_are_usage_errors(address_home, tmp_path, capsys):
    path = _write(_frame(), tmp_path, "geojson")
    code, _, err = run(capsys, "import", "incidents", path, "--geocode", "rue")
    assert code == 2 and "no column 'rue'" in err and "adresse" in err
    sheet = tmp_path / "main_courante.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not really a sheet")
    code, _, err = run(capsys, "import", "incidents", sheet, "--geocode", "adresse")
    assert code == 2 and "save a sheet as CSV" in err
    empty = tmp_path / "vide.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}), encoding="utf-8")
    code, _, err = run(capsys, "import", "incidents", empty, "--geocode", "adresse")
    assert code == 1 and "vide" in err
    assert address_home.store.counts()["incidents"] == 0


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "kml"])
@pytest.mark.parametrize("suffix", [".csv", ".gpkg"])
def test_geocode_command_reads_vector_files(address_home, register, tmp_path, fmt, suffix, capsys):
    """Every feature is geocoded from its address, with or without a point of its own, exactly
    as the same addresses in a CSV; the written file is re-read."""
    path = _write(_frame(), tmp_path, fmt)
    out_file = tmp_path / f"geocoded{suffix}"
    code, out, err = run(capsys, "geocode", path, "--address-column", "adresse", "--out", out_file)
    assert code == 0, out + err
    assert f"Geocoded 4 row(s) of {path.name}: house 2, interpolated 1, street 0, intersection 1" in out
    got = pd.read_csv(out_file, dtype=str, keep_default_na=False) if suffix == ".csv" \
        else gpd.read_file(out_file, layer="geocoded")
    assert list(got["adresse"]) == [r[2] for r in ROWS]  # the file's order and columns kept
    # 13 rue de la Loge is not in the register: interpolated between its neighbours
    assert list(got["geocode_precision"]) == ["house", "house", "interpolated", "intersection"]
    if suffix == ".csv":
        pts = gpd.GeoSeries(gpd.points_from_xy(got["lon"].astype(float), got["lat"].astype(float)), crs=4326)
    else:
        assert got.crs.to_epsg() == 4326
        pts = got.geometry
    loge4, foch12 = _register_point(register, "1393", 4), _register_point(register, "1043", 12)
    assert pts[0].distance(loge4) < 1e-6 and pts[1].distance(foch12) < 1e-6
    loge = register[register.street_code == "1393"].to_crs(4326)
    metric = gpd.GeoSeries([pts[2]], crs=4326).to_crs(2154).iloc[0]
    assert loge.to_crs(2154).distance(metric).min() < 30  # from its address, on rue de la Loge
    # the feature's own point kept beside, as lon/lat WKT
    own = gpd.GeoSeries([shapely.Point(770300.0, 6279300.0)], crs=2154).to_crs(4326).iloc[0]
    assert shapely.from_wkt(got.loc[2, "file_geometry"]).distance(own) < 1e-6
    assert [got.loc[i, "file_geometry"] or "" for i in (0, 1, 3)] == ["", "", ""]
    # the same addresses from a CSV: the same answers
    csv = tmp_path / "same.csv"
    pd.DataFrame({"adresse": [r[2] for r in ROWS]}).to_csv(csv, index=False)
    code, _, _ = run(capsys, "geocode", csv, "--address-column", "adresse", "--out", tmp_path / "same_out.csv")
    same = pd.read_csv(tmp_path / "same_out.csv")
    assert code == 0 and list(same["geocode_precision"]) == list(got["geocode_precision"])
    assert list(same["geocode_score"].astype(float)) == list(got["geocode_score"].astype(float))
    same_pts = gpd.points_from_xy(same["lon"], same["lat"], crs=4326)
    assert all(a.distance(b) < 1e-6 for a, b in zip(same_pts, pts))


def test_geocode_command_bad_files_are_named(address_home, tmp_path, capsys):
    for name in ("main_courante.xlsx", "main_courante.ods"):
        sheet = tmp_path / name
        sheet.write_bytes(b"PK\x03\x04 not really a sheet")
        code, _, err = run(capsys, "geocode", sheet, "--address-column", "adresse", "--out", tmp_path / "o.csv")
        assert code == 2 and name in err and "save a sheet as CSV" in err and ".gpkg" in err
    empty = tmp_path / "vide.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}), encoding="utf-8")
    code, _, err = run(capsys, "geocode", empty, "--address-column", "adresse", "--out", tmp_path / "o.csv")
    assert code == 1 and "vide" in err
    path = _write(_frame(), tmp_path, "gpkg")
    code, _, err = run(capsys, "geocode", path, "--address-column", "rue", "--out", tmp_path / "o.csv")
    assert code == 2 and "no column 'rue'" in err and "adresse" in err
    code, _, err = run(capsys, "geocode", path, "--address-column", "adresse", "--layer", "nope",
                       "--out", tmp_path / "o.csv")
    assert code in (1, 2) and "nope" in err
    assert not (tmp_path / "o.csv").exists()
