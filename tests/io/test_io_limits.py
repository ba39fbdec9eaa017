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


def test_a_zip_inflating_past_the_limit_is_refused_by_its_directory(tmp_path, monkeypatch):
    import layers.io.readers as readers
    from layers.validate import ReadLimits

    monkeypatch.setattr(readers, "LIMITS", ReadLimits(max_uncompressed_bytes=1_000_000))
    p = tmp_path / "big.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("b.shp", b"\0" * 2_000_000)  # compresses to a few kB
    assert p.stat().st_size < 20_000
    with pytest.raises(InputError, match="uncompressed size"):
        read_layer(p, "incidents", settings=ST)


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
