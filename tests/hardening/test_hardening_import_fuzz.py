"""Malformed files through ``geo-app import``: each is rejected with exit 1 and a message, no
traceback, and the store unchanged (``Store.version``, batches, counts)."""

from __future__ import annotations

import json
import re

import pytest

from geo_app.cli import main

TRACEBACK = re.compile(r"Traceback \(most recent call last\)")

POINT = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [3.87, 43.61]},
         "properties": {"category": "theft", "date": "2024-01-15"}}


def _fc(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def _feature(lon, lat):
    return {**POINT, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


#: (file name, content (str or bytes), kind, words of which the message must hold one)
FILES = [
    ("garbage.csv", bytes(range(256)) * 8, "incidents", ["not a text file"]),
    ("list.geojson", json.dumps([POINT, POINT]), "incidents", ["featurecollection", "geojson", "feature"]),
    ("nullgeom.geojson", _fc({**POINT, "geometry": None}, {**POINT, "geometry": None}), "incidents",
     ["geometry", "row 1"]),
    ("bom.csv", "\ufeff".encode("utf-8"), "incidents", ["empty", "no row", "column", "header"]),
    ("notzip.zip", b"PK this is not a zip at all", "zac", ["zip"]),
    ("text.gpkg", "just some text, not a GeoPackage\n", "incidents", ["geopackage", "gpkg", "read"]),
    ("broken.kml", "<kml><Document><Placemark><Point><coordinates>3.8,43.6", "incidents",
     ["kml", "xml", "read"]),
    ("onecol.csv", "category\ntheft\nburglary\n", "incidents", ["coordinate", "lon", "lat", "x", "geometry"]),
    ("huge.csv", "lon,lat,date,category\n1e300,1e300,2024-01-15,theft\n-1e308,4e307,2024-01-16,theft\n",
     "incidents", ["row 1", "lon", "lat", "range", "coordinate"]),
    ("nan.csv", "lon,lat,date,category\nnan,43.6,2024-01-15,theft\ninf,-inf,2024-01-16,theft\n", "incidents",
     ["row 1", "lon", "lat", "coordinate"]),
    ("nan.geojson", ('{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point",'
                     '"coordinates":[NaN,Infinity]},"properties":{"category":"theft","date":"2024-01-15"}}]}'),
     "incidents",
     ["row 1", "geometry", "coordinate", "json", "nan"]),
    ("huge.geojson", _fc(_feature(1e300, 1e300), _feature(-1e308, 43.6)), "incidents",
     ["row 1", "coordinate", "range", "lon"]),
    ("empty.geojson", "", "incidents", ["empty", "json", "geojson"]),
    ("empty.csv", "", "incidents", ["empty", "no row", "column"]),
    ("header_only.csv", "lon,lat,date,category\n", "incidents", ["no data row", "no row", "empty", "no feature"]),
    ("point_as_zac.geojson", _fc(POINT), "zac", ["polygon", "geometry", "point"]),
    ("deep.geojson", '{"type":"FeatureCollection","features":' + "[" * 5000 + "]" * 5000 + "}", "incidents",
     ["json", "geojson", "feature", "read"]),
    ("noext", "lon,lat\n3.8,43.6\n", "incidents", ["extension", "format", "file type"]),
    ("exe.exe", b"MZ\x90\x00", "incidents", ["extension", "format", ".exe"]),
]


@pytest.fixture(scope="module")
def loaded_home(small_demo):
    return small_demo


@pytest.mark.parametrize("name, content, kind, words", FILES, ids=[f[0] for f in FILES])
def test_malformed_file_is_rejected(loaded_home, tmp_path, capsys, name, content, kind, words):
    home = loaded_home
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    version = home.store.version
    batches = [b.id for b in home.store.batches()]
    try:
        code = main(["--home", str(home.path), "import", kind, str(path)])
    except Exception as e:  # noqa: BLE001 -- an escaped exception is the failure being tested
        pytest.fail(f"import {name}: uncaught {type(e).__name__}: {e}")
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 1, f"import {name}: exit {code}\n{text[-1500:]}"
    assert not TRACEBACK.search(text), text
    assert "Rejected" in text or "Error" in text, text
    assert any(w.lower() in text.lower() for w in words), f"import {name}: message names none of {words}:\n{text}"
    assert home.store.version == version
    assert [b.id for b in home.store.batches()] == batches


def test_utf16_spreadsheet_export_is_read(loaded_home, tmp_path, capsys):
    """Excel's "Unicode text" export (UTF-16 with a BOM, tab-separated) used to be read as
    cp1252 and rejected with garbled column names; it is decoded now (dry run: nothing stored)."""
    home = loaded_home
    path = tmp_path / "excel-unicode.txt"
    path.write_bytes("lon\tlat\tdate\tcategory\n3,87\t43,61\t15/01/2024\ttheft\n3.88\t43.62\t2024-01-16\ttheft\n"
                     .encode("utf-16"))
    version = home.store.version
    code = main(["--home", str(home.path), "import", "incidents", str(path), "--dry-run"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "Read 2 row(s): 2 valid, 0 rejected." in text
    assert home.store.version == version
