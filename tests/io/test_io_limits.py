"""Import limits checked before the work: a bomb is refused by what it declares, fast."""

from __future__ import annotations

import json
import struct
import time
import zipfile

import numpy as np
import pytest

from layers.errors import InputError
from layers.io import read_layer
from layers.settings import Settings
from layers.validate import LIMITS

MTP = (3.80, 43.56, 3.95, 43.66)
ST = Settings(territory=MTP)
PRJ = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
       'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]')


def _shp_headers(n_records: int) -> tuple[bytes, bytes, bytes]:
    """Headers of a point shapefile declaring ``n_records`` records, with no record body."""
    shp = struct.pack(">7i", 9994, 0, 0, 0, 0, 0, 50) + struct.pack("<2i4d4d", 1000, 1, *MTP, 0, 0, 0, 0)
    shx = shp
    fields = b"NAME".ljust(11, b"\0") + b"C" + b"\0" * 4 + bytes([10, 0]) + b"\0" * 14
    dbf = struct.pack("<B3BIHH20x", 3, 124, 1, 1, n_records, 32 + 32 + 1, 11) + fields + b"\r"
    return shp, shx, dbf


def test_a_small_zip_declaring_millions_of_records_is_refused_before_reading(tmp_path):
    shp, shx, dbf = _shp_headers(12_000_000)
    p = tmp_path / "bomb.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (("b.shp", shp), ("b.shx", shx), ("b.dbf", dbf), ("b.prj", PRJ.encode())):
            zf.writestr(name, data)
    assert p.stat().st_size < 5000
    t0 = time.perf_counter()
    with pytest.raises(InputError) as e:
        read_layer(p, "incidents", settings=ST)
    assert time.perf_counter() - t0 < 2
    assert "12,000,000 records" in str(e.value) and "feature count" in str(e.value)
    assert str(tmp_path) not in str(e.value)


def test_a_zip_inflating_past_the_setting_is_refused_by_its_directory(tmp_path):
    p = tmp_path / "big.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("b.shp", b"\0" * 2_000_000)  # compresses to a few kB
    assert p.stat().st_size < 20_000
    with pytest.raises(InputError) as e:
        read_layer(p, "incidents", settings=Settings(territory=MTP, max_uncompressed_mb=1))
    assert "1.9 MB" in str(e.value) and "1.0 MB allowed" in str(e.value)
    assert "uncompressed size, setting max_uncompressed_mb" in str(e.value)
    # the default (1 GB) lets the same archive be opened (it then fails as the shapefile it is not)
    with pytest.raises(InputError) as e:
        read_layer(p, "incidents", settings=ST)
    assert "max_uncompressed_mb" not in str(e.value)


def _points_geojson(path, n: int):
    feats = [{"type": "Feature", "properties": {"name": f"école {i}", "level": "primaire"},
              "geometry": {"type": "Point", "coordinates": [3.87 + i * 1e-3, 43.61]}} for i in range(n)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def test_a_file_holding_more_features_than_the_setting_is_refused_naming_it(tmp_path):
    p = _points_geojson(tmp_path / "schools.geojson", 12)
    assert len(read_layer(p, "schools", settings=Settings(territory=MTP, max_features=12)).data) == 12
    with pytest.raises(InputError) as e:
        read_layer(p, "schools", settings=Settings(territory=MTP, max_features=11))
    assert "12 features, more than the 11 allowed (feature count, setting max_features)" in str(e.value)


def test_a_geopackage_declaring_more_features_than_the_setting_is_refused_before_reading(tmp_path):
    import geopandas as gpd

    gdf = gpd.read_file(_points_geojson(tmp_path / "s.geojson", 8))
    p = tmp_path / "schools.gpkg"
    gdf.to_file(p, layer="schools", driver="GPKG")
    with pytest.raises(InputError) as e:
        read_layer(p, "schools", settings=Settings(territory=MTP, max_features=7))
    assert "declares 8 features, more than the 7 allowed" in str(e.value) and "max_features" in str(e.value)


def test_a_polygon_over_the_vertex_setting_is_refused_on_its_row(tmp_path):
    ring = [[3.87 + 0.01 * np.cos(a), 43.61 + 0.01 * np.sin(a)] for a in np.linspace(0, 2 * np.pi, 20)[:-1]]
    ring.append(ring[0])  # 20 vertices
    feats = [{"type": "Feature", "properties": {"name": name},
              "geometry": {"type": "Polygon", "coordinates": [r]}}
             for name, r in (("round", ring), ("square", [[3.9, 43.6], [3.91, 43.6], [3.91, 43.61], [3.9, 43.6]]))]
    p = tmp_path / "zac.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    r = read_layer(p, "zac", settings=Settings(territory=MTP, max_vertices=19))
    assert r.data["name"].tolist() == ["square"]
    (err,) = r.errors
    assert err.row == 1 and err.field == "geometry"
    assert "20 vertices, more than the 19 allowed per geometry (setting max_vertices)" in err.message
    assert len(read_layer(p, "zac", settings=Settings(territory=MTP, max_vertices=20)).data) == 2


@pytest.mark.parametrize("name, value", [("max_features", 0), ("max_features", "2,000"), ("max_features", True),
                                         ("max_vertices", 2.5), ("max_vertices", 3),
                                         ("max_uncompressed_mb", -1), ("max_uncompressed_mb", "lots")])
def test_a_bad_limit_setting_is_refused_naming_it(name, value):
    from layers.errors import ParameterError

    with pytest.raises(ParameterError) as e:
        Settings(**{name: value})
    assert e.value.param == name and name in str(e.value)


def test_a_polygon_of_a_million_vertices_is_rejected_fast_before_make_valid(tmp_path):
    n = 1_000_000
    a = np.linspace(0, 2 * np.pi, n)
    # a self-intersecting star: make_valid on it would take minutes
    r = 0.01 * (1 + 0.5 * np.sin(37 * a))
    ring = np.c_[3.87 + r * np.cos(a) * (1 + (np.arange(n) % 2) * 0.3), 43.61 + r * np.sin(a)].round(7)
    ring = np.vstack([ring, ring[:1]])
    feat = {"type": "Feature", "properties": {"name": "huge"},
            "geometry": {"type": "Polygon", "coordinates": [ring.tolist()]}}
    p = tmp_path / "huge.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}))
    t0 = time.perf_counter()
    r = read_layer(p, "zac", settings=ST)
    assert time.perf_counter() - t0 < 10
    assert not r.ok and len(r.data) == 0
    err = r.errors[0]
    assert err.field == "geometry" and f"{LIMITS.max_vertices:,} allowed" in err.message
