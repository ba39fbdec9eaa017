"""Real clients against a real waitress server: GDAL's OAPIF driver (Debian's gdal-bin:
``ogrinfo`` / ``ogr2ogr``) and OWSLib's ``Features`` client.

The GDAL tests skip with a visible reason when gdal-bin is missing, except under CI=true
where its absence fails (.ci/run installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from ogc_helpers import PASSWORD

OGRINFO = shutil.which("ogrinfo")
OGR2OGR = shutil.which("ogr2ogr")


@pytest.fixture
def gdal():
    if OGRINFO is None or OGR2OGR is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's gdal-bin is required under CI=true (.ci/run installs it).")
        pytest.skip("Debian's gdal-bin is not installed (apt-get install gdal-bin); GDAL OAPIF test skipped")
    return OGRINFO


@pytest.fixture(scope="module")
def base_url(ogc_app, serve_app):
    return serve_app(ogc_app) + "/ogc"


def _ogrinfo(url, userpwd, *layers):
    out = subprocess.run([OGRINFO, "-ro", "-so", "-al" if layers else "-q", f"OAPIF:{url}", "-oo",
                          f"USERPWD={userpwd}", *layers], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "GDAL_HTTP_TIMEOUT": "60"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def _layers(url, userpwd) -> list[str]:
    out = subprocess.run([OGRINFO, "-ro", "-q", f"OAPIF:{url}", "-oo", f"USERPWD={userpwd}"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return re.findall(r"^\d+: (\S+)", out.stdout, flags=re.M)


def _api_count(client, cid):
    return client.get(f"/ogc/collections/{cid}/items?limit=1").json["numberMatched"]


def test_gdal_police_and_planner_see_different_collections(gdal, base_url):
    police = _layers(base_url, f"police:{PASSWORD}")
    planner = _layers(base_url, f"planner:{PASSWORD}")
    assert "incidents" in police and "incidents" not in planner
    assert "incidents_grid" in planner and {"hotspots", "zac", "lights"} <= set(planner) & set(police)


@pytest.mark.parametrize("role", ["police", "planner"])
def test_gdal_reads_every_collection_with_its_count(gdal, base_url, as_role, ogc_app, role, tmp_path):
    """Every collection read whole by ogr2ogr (GDAL follows the next links) holds the feature
    count of the store (stored kinds) or of the role's analysis (grid, hotspots, proposals)."""
    import pyogrio

    counts = ogc_app.extensions["vigie"].pinned().counts()
    client = as_role(role)
    names = _layers(base_url, f"{role}:{PASSWORD}")
    out = tmp_path / f"{role}.gpkg"
    run = subprocess.run([OGR2OGR, "-f", "GPKG", str(out), f"OAPIF:{base_url}", "-oo", f"USERPWD={role}:{PASSWORD}",
                          "-oo", "PAGE_SIZE=150"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    got = {name: n for name, n in
           ((name, pyogrio.read_info(out, layer=name)["features"]) for name, _ in pyogrio.list_layers(out))}
    for name in names:
        expected = counts[name] if name in counts else _api_count(client, name)
        assert got.get(name, 0) == expected, (role, name, got.get(name), expected)
    if role == "police":
        assert got["incidents"] == counts["incidents"] > 150  # several pages


def test_gdal_with_an_api_token(gdal, base_url, ogc_app):
    from geo_app.auth import get_db
    from geo_app.tokens import token_hash

    db = get_db(ogc_app)
    user = db.find_user("planner")
    token = "vigie_gdal-test-token-" + "x" * 20
    db.add_token(user.id, "gdal", token_hash(token), token[:10])
    assert "incidents_grid" in _layers(base_url, f"planner:{token}")
    bad = subprocess.run([OGRINFO, "-ro", "-q", f"OAPIF:{base_url}", "-oo", "USERPWD=planner:vigie_wrong"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0


def test_owslib_lists_filters_and_pages(base_url, as_role):
    from owslib.ogcapi.features import Features

    auth_client = as_role("police")
    from owslib.util import Authentication

    api = Features(base_url, auth=Authentication("police", PASSWORD))
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {"incidents", "hotspots", "zac"} <= ids
    assert "limit" in str(api.api()["paths"]["/collections/{collectionId}/items"])
    page1 = api.collection_items("incidents", limit=100)
    assert page1["numberReturned"] == 100 and page1["numberMatched"] == _api_count(auth_client, "incidents")
    nxt = next(link for link in page1["links"] if link["rel"] == "next")
    from urllib.parse import parse_qs, urlsplit

    cursor = parse_qs(urlsplit(nxt["href"]).query)["cursor"][0]
    page2 = api.collection_items("incidents", limit=100, cursor=cursor)
    assert not {f["id"] for f in page1["features"]} & {f["id"] for f in page2["features"]}
    thefts = api.collection_items("incidents", limit=1000, filter="category = 'theft'")
    assert thefts["features"] and {f["properties"]["category"] for f in thefts["features"]} == {"theft"}
    assert api.collection_queryables("incidents")["properties"]["category"]["type"] == "string"
