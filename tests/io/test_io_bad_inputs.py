"""A catalogue of bad or tricky inputs, each generated in tmp_path next to its assertion.

Whole-file problems raise ``InputError`` (before any row is looked at, so nothing can have
been stored); row problems come back in ``ReadResult.problems`` with their row numbers and
fields; tricky-but-valid files must read to the right values.
"""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from layers.errors import InputError, ParameterError
from layers.io import read_layer
from layers.settings import Settings

MTP = (3.70, 43.50, 4.05, 43.75)
ST = Settings(territory=MTP)
NOW = pd.Timestamp("2025-01-01T00:00Z")


def _csv(tmp_path, text, name="f.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _geojson(tmp_path, features, name="f.geojson", crs=None):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features]}
    if crs:
        fc["crs"] = {"type": "name", "properties": {"name": crs}}
    p = tmp_path / name
    p.write_text(json.dumps(fc), encoding="utf-8")
    return p


def _pt(x, y):
    return {"type": "Point", "coordinates": [x, y]}


def _square(x0, y0, d=0.001):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]]}


def _by_row(result):
    out = {}
    for p in result.problems:
        out.setdefault(p.row, []).append(p)
    return out


INC_HEADER = "lon,lat,date,category,description\n"


# ---------------------------------------------------------------------------- whole-file errors


def test_truncated_geojson(tmp_path):
    p = _geojson(tmp_path, [({"name": "a"}, _pt(3.88, 43.61))] * 3)
    text = p.read_text()
    p.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match=r"f\.geojson could not be read as GeoJSON"):
        read_layer(p, "schools", settings=ST)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.csv is empty \(0 bytes\)"):
        read_layer(p, "incidents", settings=ST)


def test_csv_with_header_and_no_rows(tmp_path):
    p = _csv(tmp_path, INC_HEADER)
    with pytest.raises(InputError, match=r"has a header but no data rows"):
        read_layer(p, "incidents", settings=ST)


def test_geojson_without_features(tmp_path):
    p = _geojson(tmp_path, [])
    with pytest.raises(InputError, match=r"holds no features"):
        read_layer(p, "schools", settings=ST)


def test_missing_required_column(tmp_path):
    p = _csv(tmp_path, "lon,lat,category\n3.88,43.61,theft\n")
    with pytest.raises(InputError) as exc:
        read_layer(p, "incidents", settings=ST)
    msg = exc.value.message
    assert "required field 'occurred_from'" in msg and "date_faits" in msg
    assert "columns are: lon, lat, category" in msg and "--map FIELD=COLUMN" in msg


def test_missing_coordinate_columns(tmp_path):
    p = _csv(tmp_path, "nom,ville\nÉcole A,Montpellier\n")
    with pytest.raises(InputError, match=r"no coordinate columns found.*--map x=COLUMN"):
        read_layer(p, "schools", settings=ST)


def test_unsupported_extension(tmp_path):
    p = tmp_path / "f.xlsx"
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match=r"unsupported file type '\.xlsx'"):
        read_layer(p, "schools", settings=ST)


def test_map_option_naming_a_missing_column(tmp_path):
    p = _csv(tmp_path, "lon,lat,nom\n3.88,43.61,A\n")
    with pytest.raises(ParameterError, match=r"--map name=LIBEL: f\.csv has no column 'LIBEL'"):
        read_layer(p, "schools", settings=ST, mapping={"name": "LIBEL"})


def test_crs_trap_in_csv_without_crs(tmp_path):
    rows = "".join(f"{770000 + i},{6279000 + i},École {i}\n" for i in range(5))
    p = _csv(tmp_path, "x,y,nom\n" + rows)
    with pytest.raises(InputError, match=r"look like projected metres \(Lambert-93\?\): pass --crs 2154"):
        read_layer(p, "schools", settings=ST)
    r = read_layer(p, "schools", settings=ST, crs=2154)
    assert len(r.data) == 5 and r.source_crs == "EPSG:2154"
    assert r.data.geometry.x.between(3.85, 3.95).all()


def test_crs_trap_in_geojson_declaring_wgs84(tmp_path):
    p = _geojson(tmp_path, [({"nom": "a"}, _pt(770000, 6279000))] * 2 + [({"nom": "b"}, _pt(3.9, 43.6))],
                 crs="urn:ogc:def:crs:OGC:1.3:CRS84")
    with pytest.raises(InputError, match=r"declares EPSG:4326.*2 of 3 rows"):
        read_layer(p, "schools", settings=ST)


# ---------------------------------------------------------------------------- zips


def _shapefile_zip(tmp_path, name, layers, *, prj=True, extra=()):
    """Zip holding one shapefile per (stem, gdf) in ``layers``."""
    d = tmp_path / f"{name}_src"
    d.mkdir()
    for stem, gdf in layers:
        gdf.to_file(d / f"{stem}.shp")
    z = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(d.iterdir()):
            if f.suffix == ".prj" and not prj:
                continue
            zf.write(f, f.name)
        for arcname, data in extra:
            zf.writestr(arcname, data)
    return z


def _schools_l93():
    return gpd.GeoDataFrame({"nom": ["École A", "Collège B"]},
                            geometry=[Point(770000, 6279000), Point(771000, 6280000)], crs=2154)


def test_zip_without_prj(tmp_path):
    z = _shapefile_zip(tmp_path, "noprj", [("ecoles", _schools_l93())], prj=False)
    with pytest.raises(InputError, match=r"ecoles\.shp has no \.prj file.*--crs EPSG"):
        read_layer(z, "schools", settings=ST)
    r = read_layer(z, "schools", settings=ST, crs="2154")
    expected = _schools_l93().to_crs(4326)
    assert np.allclose(r.data.geometry.x, expected.geometry.x, atol=1e-9)
    assert r.data["name"].tolist() == ["École A", "Collège B"]


def test_zip_with_two_layers(tmp_path):
    other = _schools_l93().assign(nom=["X", "Y"])
    z = _shapefile_zip(tmp_path, "two", [("ecoles", _schools_l93()), ("lycees", other)])
    with pytest.raises(InputError, match=r"holds 2 shapefiles \(ecoles, lycees\): choose one with --layer"):
        read_layer(z, "schools", settings=ST)
    r = read_layer(z, "schools", settings=ST, layer="lycees")
    assert r.data["name"].tolist() == ["X", "Y"] and r.layer == "lycees"
    with pytest.raises(InputError, match=r"no shapefile 'colleges'; it holds: ecoles, lycees"):
        read_layer(z, "schools", settings=ST, layer="colleges")


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "sub/../../evil.txt"])
def test_zip_with_path_traversal_member(tmp_path, member):
    z = _shapefile_zip(tmp_path, "evil", [("ecoles", _schools_l93())], extra=[(member, b"x")])
    with pytest.raises(InputError, match=r"refused: its member '.*evil\.txt' has a path outside"):
        read_layer(z, "schools", settings=ST)
    assert not (tmp_path / "evil.txt").exists()


def test_zip_that_is_not_a_zip(tmp_path):
    p = tmp_path / "broken.zip"
    p.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputError, match=r"not a valid zip archive"):
        read_layer(p, "schools", settings=ST)


def test_geopackage_with_two_layers(tmp_path):
    p = tmp_path / "two.gpkg"
    _schools_l93().to_file(p, layer="ecoles")
    _schools_l93().assign(nom=["X", "Y"]).to_file(p, layer="lycees")
    with pytest.raises(InputError, match=r"holds 2 layers \(ecoles, lycees\): choose one with --layer NAME"):
        read_layer(p, "schools", settings=ST)
    r = read_layer(p, "schools", settings=ST, layer="lycees")
    assert r.data["name"].tolist() == ["X", "Y"] and r.source_crs == "EPSG:2154"


# ---------------------------------------------------------------------------- geometry rows


def test_wrong_geometry_type_for_kind(tmp_path):
    p = _geojson(tmp_path, [({"nom": "ZAC A"}, _pt(3.88, 43.61)), ({"nom": "ZAC B"}, _square(3.88, 43.61))])
    r = read_layer(p, "zac", settings=ST)
    assert [(e.row, e.field) for e in r.errors] == [(1, "geometry")]
    assert "geometry is a Point, expected Polygon or MultiPolygon for layer kind 'zac'" in r.errors[0].message
    assert r.data["name"].tolist() == ["ZAC B"]


def test_mixed_geometry_types(tmp_path):
    line = {"type": "LineString", "coordinates": [[3.88, 43.61], [3.89, 43.62]]}
    feats = [({"nom": f"s{i}"}, _pt(3.88 + i / 1000, 43.61)) for i in range(4)] + [({"nom": "l"}, line)]
    p = _geojson(tmp_path, feats)
    r = read_layer(p, "schools", settings=ST)
    assert [e.row for e in r.errors] == [5]
    assert "LineString, expected Point" in r.errors[0].message
    assert "mixes geometry types: Point 4, LineString 1" in r.errors[0].message
    assert len(r.data) == 4


@pytest.mark.filterwarnings("ignore:.*Invalid coord dimension:RuntimeWarning")
def test_missing_and_empty_geometry(tmp_path):
    p = _geojson(tmp_path, [({"nom": "a"}, None), ({"nom": "b"}, _pt(3.88, 43.61)),
                            ({"nom": "c"}, {"type": "Point", "coordinates": []})])
    r = read_layer(p, "schools", settings=ST)
    msgs = {e.row: e.message for e in r.errors}
    assert msgs[1] == "missing geometry"
    assert msgs[3] in ("empty geometry", "missing geometry")
    assert r.data["source_row"].tolist() == [2]


def test_polygon_repaired_or_rejected(tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[3.88, 43.61], [3.89, 43.62], [3.89, 43.61], [3.88, 43.62], [3.88, 43.61]]]}
    flat = {"type": "Polygon", "coordinates": [[[3.88, 43.61], [3.89, 43.61], [3.90, 43.61], [3.88, 43.61]]]}
    p = _geojson(tmp_path, [({"nom": "bowtie"}, bowtie), ({"nom": "flat"}, flat), ({"nom": "ok"}, _square(3.9, 43.6))])
    r = read_layer(p, "zac", settings=ST)
    w = {x.row: x.message for x in r.warnings}
    e = {x.row: x.message for x in r.errors}
    assert "Self-intersection" in w[1] and "repaired with make_valid" in w[1]
    assert "could not be repaired" in e[2]
    fixed = r.data.geometry.iloc[0]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon"
    assert fixed.area == pytest.approx(shapely.make_valid(shapely.geometry.shape(bowtie)).area)
    assert r.data["name"].tolist() == ["bowtie", "ok"]


def test_swapped_coordinates(tmp_path):
    p = _csv(tmp_path, "lon,lat,nom\n3.8777,43.6119,ok\n43.6119,3.8777,inverse\n")
    r = read_layer(p, "schools", settings=ST)
    (e,) = r.errors
    assert e.row == 2 and e.field == "lon/lat"
    assert "falls inside it once swapped: longitude and latitude look swapped" in e.message
    # without a territory: a latitude beyond 90° whose longitude would be a valid latitude
    p2 = _csv(tmp_path, "lon,lat,nom\n-22.27,166.45,Nouméa inversée\n166.45,-22.27,ok\n", name="g.csv")
    r2 = read_layer(p2, "schools", settings=Settings())
    assert [(x.row, "look swapped" in x.message) for x in r2.errors] == [(1, True)]


def test_null_island(tmp_path):
    p = _csv(tmp_path, "lon,lat,nom\n0,0,nulle\n3.88,43.61,ok\n0.0,0.0,nulle2\n")
    r = read_layer(p, "schools", settings=Settings())
    assert [x.row for x in r.errors] == [1, 3]
    assert all("null island" in x.message for x in r.errors)


def test_single_projected_row_in_wgs84_csv(tmp_path):
    p = _csv(tmp_path, "lon,lat,nom\n3.88,43.61,a\n770000,6279000,b\n3.89,43.62,c\n")
    r = read_layer(p, "schools", settings=ST)
    (e,) = r.errors
    assert e.row == 2 and "pass --crs 2154" in e.message


def test_non_numeric_and_missing_coordinates(tmp_path):
    p = _csv(tmp_path, "lon,lat,nom\n3.88,abc,a\n,,b\n3.88,43.61,c\n")
    r = read_layer(p, "schools", settings=ST)
    e = {x.row: x.message for x in r.errors}
    assert e[1] == "coordinates '3.88', 'abc' are not numbers"
    assert e[2].startswith("missing coordinates")


def test_outside_territory(tmp_path):
    p = _csv(tmp_path, "lon,lat,nom\n2.35,48.86,Paris\n3.88,43.61,Montpellier\n")
    r = read_layer(p, "schools", settings=ST)
    (e,) = r.errors
    assert e.row == 1 and "outside the territory (3.7, 43.5, 4.05, 43.75)" in e.message


# ---------------------------------------------------------------------------- attributes


def test_missing_required_values_and_one_of(tmp_path):
    p = _csv(tmp_path, "lon,lat,name,kind\n3.88,43.61,,\n3.88,43.62,Tabac,\n3.88,43.63,,bar\n")
    r = read_layer(p, "shops", settings=ST)
    (e,) = r.errors
    assert e.row == 1 and e.field == "name/kind" and "at least one of the fields name, kind" in e.message
    p2 = _csv(tmp_path, INC_HEADER + "3.88,43.61,2024-01-05,,x\n", name="g.csv")
    r2 = read_layer(p2, "incidents", settings=ST, now=NOW)
    assert [(x.row, x.field, x.message) for x in r2.errors] == [(1, "category", "required field 'category' is empty")]


def test_latin1_csv_with_accents(tmp_path):
    text = "nom;type;longitude;latitude\nBoulangerie Léa;Boulangeries;3,8777;43,6119\nCafé de l'Œuf;Bars;3,88;43,61\n"
    p = _csv(tmp_path, text, encoding="cp1252")
    r = read_layer(p, "shops", settings=ST)
    assert r.ok
    assert r.data["name"].tolist() == ["Boulangerie Léa", "Café de l'Œuf"]
    assert r.data.geometry.x.tolist() == [3.8777, 3.88]
    # strict ISO-8859-1 (no Œ in it) reads the same way
    p2 = _csv(tmp_path, text.replace("Œ", "O"), name="l1.csv", encoding="latin-1")
    assert read_layer(p2, "shops", settings=ST).data["name"].tolist() == ["Boulangerie Léa", "Café de l'Ouf"]


def test_utf8_bom_semicolon_and_decimal_comma(tmp_path):
    text = "Nom;X;Y\nÉcole Jules Ferry;3,8777;43,6119\n"
    p = _csv(tmp_path, text, encoding="utf-8-sig")
    r = read_layer(p, "schools", settings=ST)
    assert r.column_mapping == {"name": "Nom", "x": "X", "y": "Y"}
    assert r.data["name"].iloc[0] == "École Jules Ferry"
    assert (r.data.geometry.x.iloc[0], r.data.geometry.y.iloc[0]) == (3.8777, 43.6119)


def test_geo_point_2d_column(tmp_path):
    text = ('id_dmr,type,datedecl,geo_point_2d\n'
            'A1,Graffitis,2024-03-02,"{\'lon\': 2.3488, \'lat\': 48.8534}"\n'
            'A2,Propreté,2024-03-03,"48.86, 2.35"\n')
    p = _csv(tmp_path, text)
    r = read_layer(p, "incidents", settings=Settings(), now=NOW)
    assert r.column_mapping["point"] == "geo_point_2d"
    assert r.data.geometry.x.tolist() == [2.3488, 2.35]
    assert r.data.geometry.y.tolist() == [48.8534, 48.86]
    assert r.data["category"].tolist() == ["other", "other"]
    assert r.unmapped_labels == {"Graffitis": 1, "Propreté": 1}
    assert r.data["external_id"].tolist() == ["A1", "A2"]


def test_labels_mapping_and_unmapped(tmp_path):
    p = _csv(tmp_path, "lon,lat,date,nature\n" + "".join(
        f"3.88,43.61,2024-01-0{i},{lab}\n" for i, lab in enumerate(["Vol à l'étalage", "VOL À L'ÉTALAGE", "Tapage", "Tapage", "theft"], 1)))
    r = read_layer(p, "incidents", settings=ST, labels={"vol à l'étalage": "shoplifting"}, now=NOW)
    assert r.data["category"].tolist() == ["shoplifting", "shoplifting", "other", "other", "theft"]
    assert r.data["source_label"].tolist() == ["Vol à l'étalage", "VOL À L'ÉTALAGE", "Tapage", "Tapage", "theft"]
    assert r.unmapped_labels == {"Tapage": 2}
    with pytest.raises(ParameterError, match=r"'burglaryy' is not a category"):
        read_layer(p, "incidents", settings=ST, labels={"Tapage": "burglaryy"})


def test_category_column_of_codes_used_as_is(tmp_path):
    p = _csv(tmp_path, INC_HEADER + "3.88,43.61,2024-01-05T10:00:00Z,burglary,x\n3.88,43.61,2024-01-05T11:00:00Z,drugs,y\n")
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    assert r.data["category"].tolist() == ["burglary", "drugs"] and r.unmapped_labels == {}
    assert r.data["occurred_from"].tolist() == [pd.Timestamp("2024-01-05T10:00Z"), pd.Timestamp("2024-01-05T11:00Z")]
    assert r.data["occurred_to"].isna().all()


# ---------------------------------------------------------------------------- dates


def test_bad_dates(tmp_path):
    p = _csv(tmp_path, INC_HEADER + "3.88,43.61,31/02/2024,theft,a\n3.88,43.61,hier soir,theft,b\n"
             "3.88,43.61,15/01/2024,theft,c\n")
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    e = {x.row: (x.field, x.message) for x in r.errors}
    assert set(e) == {1, 2}
    assert e[2][0] == "occurred_from" and e[2][1].startswith("'hier soir' is not a date")
    assert "'31/02/2024' is not a date" in e[1][1]
    assert r.data["occurred_from"].iloc[0] == pd.Timestamp("2024-01-14T23:00Z")  # Paris midnight


def test_end_before_start_and_future(tmp_path):
    text = ("lon,lat,date_debut,date_fin,category\n"
            "3.88,43.61,2024-03-10 22:00,2024-03-10 08:00,burglary\n"
            "3.88,43.61,2031-01-01,,theft\n"
            "3.88,43.61,2024-03-10 22:00,2024-03-11 07:30,burglary\n")
    r = read_layer(_csv(tmp_path, text), "incidents", settings=ST, now=NOW)
    e = {x.row: (x.field, x.message) for x in r.errors}
    assert e[1][0] == "occurred_to" and "is before the start" in e[1][1]
    assert e[2][0] == "occurred_from" and "is in the future" in e[2][1]
    ok = r.data.iloc[0]
    assert ok["source_row"] == 3
    assert ok["occurred_from"] == pd.Timestamp("2024-03-10T21:00Z")
    assert ok["occurred_to"] == pd.Timestamp("2024-03-11T06:30Z")


def test_ambiguous_day_month_column(tmp_path):
    p = _csv(tmp_path, INC_HEADER + "3.88,43.61,03/04/2024,theft,a\n3.88,43.61,05/06/2024,theft,b\n")
    with pytest.raises(InputError) as exc:
        read_layer(p, "incidents", settings=ST, now=NOW)
    msg = exc.value.message
    assert "column 'date' are ambiguous between day/month and month/day" in msg
    assert "row 1 '03/04/2024'" in msg and "row 2 '05/06/2024'" in msg
    assert "--date-format '%d/%m/%Y'" in msg
    r = read_layer(p, "incidents", settings=ST, date_format="%d/%m/%Y", now=NOW)
    assert r.data["occurred_from"].dt.tz_convert("Europe/Paris").dt.month.tolist() == [4, 6]


def test_us_dates_need_and_honour_date_format(tmp_path):
    p = _csv(tmp_path, INC_HEADER + "3.88,43.61,12/25/2023 11:30 PM,theft,a\n3.88,43.61,01/02/2024 06:05 AM,theft,b\n")
    r0 = read_layer(p, "incidents", settings=ST, now=NOW)
    assert [x.row for x in r0.errors] == [1, 2]
    assert "'12/25/2023 11:30 PM' is not a date" in r0.errors[0].message
    p2 = _csv(tmp_path, INC_HEADER + "3.88,43.61,12/25/2023,theft,a\n3.88,43.61,01/02/2024,theft,b\n", name="g.csv")
    with pytest.raises(InputError, match=r"look like month/day \(US order\)\. Pass --date-format '%m/%d/%Y'"):
        read_layer(p2, "incidents", settings=ST, now=NOW)
    r = read_layer(p, "incidents", settings=Settings(timezone="America/New_York"),
                   date_format="%m/%d/%Y %I:%M %p", now=NOW)
    assert r.data["occurred_from"].tolist() == [pd.Timestamp("2023-12-26T04:30Z"), pd.Timestamp("2024-01-02T11:05Z")]
    assert r.data["occurred_to"].isna().all()
    r2 = read_layer(p2, "incidents", settings=ST, date_format="%m/%d/%Y", now=NOW)
    assert (r2.data["occurred_to"] - r2.data["occurred_from"]).tolist() == [pd.Timedelta(days=1)] * 2


def test_date_not_matching_date_format(tmp_path):
    p = _csv(tmp_path, INC_HEADER + "3.88,43.61,2024-01-05,theft,a\n")
    r = read_layer(p, "incidents", settings=ST, date_format="%d/%m/%Y", now=NOW)
    assert r.errors[0].message == "'2024-01-05' does not match --date-format '%d/%m/%Y'"


def test_excel_serial_dd_mm_yy_and_time(tmp_path):
    p = _csv(tmp_path, INC_HEADER + "3.88,43.61,45292,theft,a\n3.88,43.61,45292.75,theft,b\n"
             "3.88,43.61,21/12/11,theft,c\n3.88,43.61,21/12/2011 18h30,theft,d\n3.88,43.61,2018-07,theft,e\n")
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    assert r.ok
    local = r.data["occurred_from"].dt.tz_convert("Europe/Paris").dt.tz_localize(None)
    assert local.tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01T18:00"),
                              pd.Timestamp("2011-12-21"), pd.Timestamp("2011-12-21T18:30"),
                              pd.Timestamp("2018-07-01")]
    span = (r.data["occurred_to"] - r.data["occurred_from"]).tolist()
    assert span[0] == pd.Timedelta(days=1) and pd.isna(span[1]) and pd.isna(span[3])
    assert span[4] == pd.Timedelta(days=31)


def test_month_window_across_dst(tmp_path):
    p = _csv(tmp_path, "longitude,latitude,month,crime_type,falls_within\n3.88,43.61,2024-03,Burglary,X\n")
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    row = r.data.iloc[0]
    assert r.labels == "police_uk" and row["category"] == "burglary"
    assert row["occurred_from"] == pd.Timestamp("2024-02-29T23:00Z")  # 1 March 00:00 CET
    assert row["occurred_to"] == pd.Timestamp("2024-03-31T22:00Z")  # 1 April 00:00 CEST


# ---------------------------------------------------------------------------- duplicates


def test_exact_duplicates_dropped_with_warning(tmp_path):
    # rows sharing their external id (and everything else) are one incident written twice
    head = "lon,lat,date,category,description,external_id\n"
    line = "3.88,43.61,2024-01-05T10:00:00Z,theft,same,A1\n"
    p = _csv(tmp_path, head + line + "3.88,43.61,2024-01-05T10:00:00Z,theft,other,A2\n" + line + line)
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    assert r.ok
    assert [(w.row, w.message) for w in r.warnings] == [
        (3, "exact duplicate of row 1 (same geometry and attributes): dropped"),
        (4, "exact duplicate of row 1 (same geometry and attributes): dropped"),
    ]
    assert r.data["source_row"].tolist() == [1, 2]


def test_identical_rows_without_an_id_are_all_kept(tmp_path):
    # Chicago-like: two thefts at one block-level point in the same minute, no case number
    # mapped; they are two crimes, never merged into one, but reported as possible duplicates
    line = "-87.6298,41.8781,2024-01-05T10:00:00Z,theft,THEFT FROM BUILDING\n"
    other = "-87.6298,41.8781,2024-01-05T10:00:00Z,theft,THEFT FROM PERSON\n"
    st = Settings(timezone="America/Chicago", territory=(-88.0, 41.6, -87.5, 42.1))
    p = _csv(tmp_path, INC_HEADER + line + other + line + line)
    r = read_layer(p, "incidents", settings=st, now=NOW)
    assert r.ok and len(r.data) == 4 and r.data["source_row"].tolist() == [1, 2, 3, 4]
    hint = "kept as two incidents; pass --drop-duplicates if they are the same incident recorded twice"
    assert [(w.row, w.message) for w in r.warnings] == [
        (None, "2 row(s) are identical to an earlier row in every field and have no external id: kept as "
               "distinct incidents; pass --drop-duplicates if they are the same incident recorded twice."),
        (3, f"rows 1 and 3 are identical: {hint}"),
        (4, f"rows 1 and 4 are identical: {hint}"),
    ]
    assert all(w.severity == "warning" for w in r.problems)


def test_identical_rows_without_an_id_dropped_on_request(tmp_path):
    line = "3.88,43.61,2024-01-05T10:00:00Z,theft,same\n"
    p = _csv(tmp_path, INC_HEADER + line + "3.88,43.61,2024-01-05T10:00:00Z,theft,other\n" + line + line)
    r = read_layer(p, "incidents", settings=ST, now=NOW, drop_duplicates=True)
    assert r.ok and r.data["source_row"].tolist() == [1, 2]
    assert [(w.row, w.message) for w in r.warnings] == [
        (None, "2 row(s) identical to an earlier row in every field were dropped (--drop-duplicates); "
               "the first copy of each was kept."),
        (3, "identical to row 1 (no external id): dropped (--drop-duplicates)"),
        (4, "identical to row 1 (no external id): dropped (--drop-duplicates)"),
    ]


def test_identical_rows_report_is_capped(tmp_path):
    from layers.validate import IDENTICAL_ROWS_LISTED

    n = IDENTICAL_ROWS_LISTED + 30
    p = _csv(tmp_path, INC_HEADER + "3.88,43.61,2024-01-05T10:00:00Z,theft,x\n" * (n + 1))
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    assert r.ok and len(r.data) == n + 1
    assert len(r.warnings) == IDENTICAL_ROWS_LISTED + 1
    assert r.warnings[0].row is None and r.warnings[0].message.startswith(f"{n} row(s) are identical")
    assert f"(the first {IDENTICAL_ROWS_LISTED} are listed)" in r.warnings[0].message
    r = read_layer(p, "incidents", settings=ST, now=NOW, drop_duplicates=True)
    assert len(r.data) == 1 and len(r.warnings) == IDENTICAL_ROWS_LISTED + 1
    assert r.warnings[0].message.startswith(f"{n} row(s) identical to an earlier row in every field were dropped")


def test_rows_sharing_an_id_are_unaffected_by_drop_duplicates(tmp_path):
    # an id-less row equal to a row with an id is not identical; shared ids keep their rule
    head = "lon,lat,date,category,description,external_id\n"
    line = "3.88,43.61,2024-01-05T10:00:00Z,theft,same,A1\n"
    p = _csv(tmp_path, head + line + line + "3.88,43.61,2024-01-05T10:00:00Z,theft,same,\n")
    for drop in (False, True):
        r = read_layer(p, "incidents", settings=ST, now=NOW, drop_duplicates=drop)
        assert r.data["source_row"].tolist() == [1, 3]
        assert [(w.row, w.message) for w in r.warnings] == [
            (2, "exact duplicate of row 1 (same geometry and attributes): dropped")]


def test_problems_are_sorted_and_summarised(tmp_path):
    p = _csv(tmp_path, INC_HEADER + "0,0,2024-01-05,theft,a\n3.88,43.61,nope,theft,b\n3.88,43.61,2024-01-05,theft,c\n")
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    assert [x.row for x in r.problems] == [1, 2]
    assert not r.ok and r.n_rejected == 2 and r.n_valid == 1
    assert r.summary().startswith("3 rows read, 1 valid, 2 rejected")
    err = InputError("rejected", r.problems)
    assert err.to_dict()["problems"][0]["row"] == 1


def test_degrees_in_a_file_declaring_a_projected_crs(tmp_path):
    g = gpd.GeoDataFrame({"nom": ["a", "b"]}, geometry=[Point(3.88, 43.61), Point(3.89, 43.62)], crs=2154)
    p = tmp_path / "wrong_prj.gpkg"
    g.to_file(p)
    with pytest.raises(InputError, match=r"declares EPSG:2154 .* look like longitude/latitude degrees: if they are, pass --crs 4326"):
        read_layer(p, "schools", settings=ST)
    r = read_layer(p, "schools", settings=ST, crs=4326)
    assert r.data.geometry.x.tolist() == [3.88, 3.89]
    assert "declares EPSG:2154; --crs EPSG:4326 was used instead" in r.warnings[0].message


def test_kml_input_with_folders(tmp_path):
    p = tmp_path / "cameras.kml"
    a = gpd.GeoDataFrame({"Name": ["C1", "C2"], "adresse": ["Place de la Comédie", "Gare"]},
                         geometry=[Point(3.8797, 43.6086, 40.0), Point(3.8807, 43.6047, 38.0)], crs=4326)
    a.to_file(p, layer="Centre", driver="LIBKML")
    a.iloc[:1].assign(Name=["C9"]).to_file(p, layer="Nord", driver="LIBKML", mode="a")
    with pytest.raises(InputError, match=r"holds 2 layers \(Centre, Nord\): choose one with --layer NAME"):
        read_layer(p, "cameras", settings=ST)
    r = read_layer(p, "cameras", settings=ST, layer="Centre")
    assert r.source_crs == "EPSG:4326" and r.ok
    assert r.data["name"].tolist() == ["C1", "C2"]
    assert r.data["address"].tolist() == ["Place de la Comédie", "Gare"]
    assert not r.data.geometry.has_z.any()
    assert r.data.geometry.x.tolist() == [3.8797, 3.8807]


def test_year_month_day_with_slashes_and_float_years(tmp_path):
    p = _csv(tmp_path, INC_HEADER + "3.88,43.61,2024/01/05,theft,a\n3.88,43.61,2024/01/05 10:30,theft,b\n")
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    local = r.data["occurred_from"].dt.tz_convert("Europe/Paris").dt.tz_localize(None).tolist()
    assert local == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-05T10:30")]
    assert r.data["occurred_to"].notna().tolist() == [True, False]
    # a year stored as a float (DBF numeric) is a year, not 2004.0
    g = gpd.GeoDataFrame({"nom": ["C1", "C2"], "annee": [2004.0, np.nan]},
                         geometry=[Point(3.88, 43.61), Point(3.89, 43.62)], crs=4326)
    g.to_file(tmp_path / "cams.geojson")
    r2 = read_layer(tmp_path / "cams.geojson", "cameras", settings=ST)
    assert r2.ok and r2.data["installed"].iloc[0] == pd.Timestamp("2004-01-01")
    assert pd.isna(r2.data["installed"].iloc[1])


def test_local_times_around_dst_changes(tmp_path):
    # 2024-10-27 02:30 happens twice in Paris: the first (summer-time) one is taken;
    # 2024-03-31 02:30 does not exist: moved forward to 03:00 CEST
    p = _csv(tmp_path, INC_HEADER + "3.88,43.61,27/10/2024 02:30,theft,a\n3.88,43.61,31/03/2024 02:30,theft,b\n")
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    assert r.data["occurred_from"].tolist() == [pd.Timestamp("2024-10-27T00:30Z"), pd.Timestamp("2024-03-31T01:00Z")]


def test_many_rows_fast_path_matches_slow_path(tmp_path):
    """The Arrow fast paths (numbers, d/m/y dates) agree with Python's own parsing."""
    rng = np.random.default_rng(7)
    n = 5000
    lon = np.round(3.8 + rng.random(n) * 0.1, 6)
    lat = np.round(43.55 + rng.random(n) * 0.1, 6)
    t0 = pd.Timestamp("2023-01-01")
    ts = [t0 + pd.Timedelta(minutes=int(m)) for m in rng.integers(0, 600_000, n)]
    lines = [f"{str(x).replace('.', ',')};{str(y).replace('.', ',')};{t.strftime('%d/%m/%Y %H:%M')};theft"
             for x, y, t in zip(lon, lat, ts)]
    lines[10] = "3,9;abc;01/01/2023 10:00;theft"  # one bad cell forces the slow number path
    p = _csv(tmp_path, "longitude;latitude;date;category\n" + "\n".join(lines) + "\n")
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    assert [(e.row, e.field) for e in r.errors] == [(11, "longitude/latitude")]
    keep = np.ones(n, dtype=bool)
    keep[10] = False
    assert r.data.geometry.x.tolist() == lon[keep].tolist()
    expected = pd.Series(ts)[keep].dt.tz_localize("Europe/Paris", ambiguous=True, nonexistent="shift_forward")
    assert (r.data["occurred_from"].to_numpy() == expected.dt.tz_convert("UTC").to_numpy()).all()


def test_optional_numbers_and_booleans(tmp_path):
    p = _csv(tmp_path, "lon;lat;nom;portee;azimut;alcool_nuit\n3,88;43,61;C1;120,5;90;oui\n"
             "3,88;43,62;C2;loin;;non\n")
    r = read_layer(p, "cameras", settings=ST)
    assert r.data["range_m"].tolist()[0] == 120.5 and np.isnan(r.data["range_m"].iloc[1])
    assert r.data["bearing"].iloc[0] == 90.0 and np.isnan(r.data["bearing"].iloc[1])
    assert [(w.row, w.field, w.message) for w in r.warnings] == [(2, "range_m", "'loin' is not a number; left empty")]
    p2 = _csv(tmp_path, "lon,lat,nom,alcool_nuit\n3.88,43.61,Bar A,oui\n3.88,43.62,Bar B,peut-être\n3.88,43.63,Bar C,\n",
              name="g.csv")
    r2 = read_layer(p2, "shops", settings=ST)
    assert r2.data["late_alcohol"].tolist() == [True, False, False]
    assert [(w.row, w.field) for w in r2.warnings] == [(2, "late_alcohol")]
    assert "'peut-être' is not true/false" in r2.warnings[0].message


def test_every_problem_of_a_row_is_reported(tmp_path):
    p = _csv(tmp_path, INC_HEADER + "0,0,demain,,x\n")
    r = read_layer(p, "incidents", settings=ST, now=NOW)
    assert [(e.row, e.field) for e in r.errors] == [(1, "lon/lat"), (1, "occurred_from"), (1, "category")]


def test_original_police_uk_header_and_crs_member(tmp_path):
    text = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
            "Crime type,Last outcome category,Context\n"
            "abc,2018-01,Essex Police,Essex Police,0.738080,52.042187,On or near Banham Drive,E1,B 007B,"
            "Vehicle crime,Under investigation,\n")
    r = read_layer(_csv(tmp_path, text), "incidents", settings=Settings(), now=NOW)
    assert r.labels == "police_uk" and r.data["category"].tolist() == ["vehicle_crime"]
    assert r.data["external_id"].tolist() == ["abc"] and r.column_mapping["occurred_from"] == "Month"
    # a GeoJSON that names its CRS in a crs member needs no --crs
    p = _geojson(tmp_path, [({"nom": "ZAC A"}, _square(770000, 6279000, 100))], crs="urn:ogc:def:crs:EPSG::2154")
    z = read_layer(p, "zac", settings=ST)
    assert z.source_crs == "EPSG:2154" and z.ok
    assert z.data.geometry.iloc[0].bounds[0] == pytest.approx(3.87, abs=0.02)


def test_plain_shapefile_with_and_without_prj(tmp_path):
    _schools_l93().to_file(tmp_path / "ecoles.shp")
    r = read_layer(tmp_path / "ecoles.shp", "schools", settings=ST)
    assert r.source_crs == "EPSG:2154" and r.data["name"].tolist() == ["École A", "Collège B"]
    (tmp_path / "ecoles.prj").unlink()
    with pytest.raises(InputError, match=r"ecoles\.shp has no \.prj file.*--crs EPSG"):
        read_layer(tmp_path / "ecoles.shp", "schools", settings=ST)
    assert len(read_layer(tmp_path / "ecoles.shp", "schools", settings=ST, crs=2154).data) == 2
    (tmp_path / "ecoles.dbf").unlink()
    with pytest.raises(InputError, match=r"the shapefile's \.dbf file is missing"):
        read_layer(tmp_path / "ecoles.shp", "schools", settings=ST, crs=2154)


def test_bad_crs_option_and_unknown_kind(tmp_path):
    from layers.errors import NotFound

    p = _csv(tmp_path, "lon,lat,nom\n3.88,43.61,a\n")
    with pytest.raises(ParameterError, match=r"--crs 'EPSG:99999' is not a known coordinate system"):
        read_layer(p, "schools", settings=ST, crs="EPSG:99999")
    with pytest.raises(NotFound, match=r"Unknown layer kind 'ecoles'"):
        read_layer(p, "ecoles", settings=ST)
    with pytest.raises(ParameterError, match=r"'nom' is not a field of layer kind 'schools'"):
        read_layer(p, "schools", settings=ST, mapping={"nom": "nom"})
