"""Proposals use sensitive categories only when a police user asks (DESIGN §8).

A hand-built city (Lambert-93, EPSG:2154) with two clusters 1 150 m apart, so that what feeds
the CCTV demand can be read off the proposals:

- A (770 100, 6 279 100), in ZAC Alpha: 6 thefts (situational, not sensitive);
- B (771 250, 6 279 250), in ZAC Beta: 12 domestic violence incidents (sensitive only).

Without the sensitive categories nothing at B is demand, so no camera site sees B and the
sites add 6 incidents at most; with them the first-ranked site is at B (12 > 6 incidents) and
the sites add all 18.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from access_city import small_zacs
from shapely.geometry import Point
from test_access_web import PASSWORD, login, make_app

A = (770100.0, 6279100.0)
B = (771250.0, 6279250.0)
N_A, N_B = 6, 12


def _incidents() -> gpd.GeoDataFrame:
    rows = []
    t0 = pd.Timestamp("2024-03-01 21:00", tz="UTC")
    for (x, y), cat, n in ((A, "theft", N_A), (B, "domestic_violence", N_B)):
        for i in range(n):
            rows.append({"category": cat, "source_label": cat, "occurred_from": t0 + pd.Timedelta(days=i),
                         "description": f"{cat} {i}", "source": "test", "simulated": True,
                         "geometry": Point(x + 2 * i, y + 1 * i)})
    return gpd.GeoDataFrame(rows, crs=2154)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from geo_app.accounts import create_demo_accounts
    from geo_app.config import Home, write_config
    from layers.store import Batch

    path = tmp_path_factory.mktemp("sensitive-proposals") / "home"
    write_config(path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris", "k_anonymity": 5})
    home = Home(path)
    for kind, gdf in (("zac", small_zacs()), ("incidents", _incidents())):
        gdf = gdf.to_crs(4326)
        batch = Batch(id=f"test-{kind}", kind=kind, file_name=f"{kind}.geojson", checksum="0" * 64,
                      user="test", created="2024-04-01T00:00:00+00:00", n_read=len(gdf),
                      n_stored=len(gdf), n_rejected=0, simulated=True)
        home.store.import_batch(kind, gdf, batch)
    create_demo_accounts(home, PASSWORD)
    return make_app(home)


def _sites(body) -> list[tuple[float, float]]:
    """Lambert-93 positions of the CCTV sites of a /api/map/proposals answer."""
    feats = [f for f in body["features"] if f["geometry"]["type"] == "Point"]
    pts = gpd.GeoSeries([Point(f["geometry"]["coordinates"]) for f in feats], crs=4326).to_crs(2154)
    return [(p.x, p.y) for p in pts]


def _near(sites, where, m=100.0) -> bool:
    return any((x - where[0]) ** 2 + (y - where[1]) ** 2 <= m * m for x, y in sites)


def _services_result(app, role, **kw):
    """A viewer's proposals for ``role`` (with their attrs)."""
    from types import SimpleNamespace

    from geo_app.access import Viewer

    u = SimpleNamespace(name=role, role=role, zacs=("Alpha",) if role == "zac_manager" else ())
    return Viewer(app.extensions["vigie"].pinned(), u).proposals(None, **kw)


def test_police_asking_gets_proposals_fed_by_sensitive_incidents(app):
    c = login(app, "police")
    r = c.get("/api/map/proposals?sensitive=1")
    assert r.status_code == 200, r.data[:300]
    sites = _sites(r.json)
    assert _near(sites, B)  # the sensitive-only cluster drew a site
    out = _services_result(app, "police", include_sensitive=True)
    cctv = out[out["kind"] == "cctv"]
    assert "domestic_violence" in out.attrs["categories"]
    assert int(cctv["covered"].sum()) == N_A + N_B
    # the first-ranked site is the larger, sensitive cluster
    first = gpd.GeoSeries([cctv.sort_values("rank").geometry.iloc[0]], crs=4326).to_crs(2154).iloc[0]
    assert first.distance(Point(B)) <= 100


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_sensitive_accepts_one_and_true(app, value):
    assert login(app, "police").get(f"/api/map/proposals?sensitive={value}").status_code == 200


@pytest.mark.parametrize("role", ["police", "coordinator", "planner", "zac_manager", "admin"])
def test_default_never_uses_sensitive_categories(app, role):
    c = login(app, role)
    for q in ("", "?sensitive=0", "?sensitive=false", "?category=theft,domestic_violence"):
        r = c.get(f"/api/map/proposals{q}")
        assert r.status_code == 200, (role, q, r.data[:300])
        assert not _near(_sites(r.json), B), (role, q)
    out = _services_result(app, role)
    assert not set(out.attrs["categories"]) & {"domestic_violence", "sexual_violence", "minors", "school_dropout"}
    if role != "zac_manager":  # a ZAC manager's output is clipped to Alpha, which holds A
        assert int(out.loc[out["kind"] == "cctv", "covered"].sum()) == N_A


@pytest.mark.parametrize("role", ["coordinator", "planner", "zac_manager", "admin"])
def test_other_roles_asking_are_refused(app, role):
    c = login(app, role)
    r = c.get("/api/map/proposals?sensitive=1")
    assert r.status_code == 403
    assert "police" in r.json["message"]
    r = c.get("/exports/download?layer=proposals&format=geojson&sensitive=1")
    assert r.status_code == 403
    assert "police" in r.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/api/map/proposals?sensitive=maybe", "/api/map/proposals?sensitive=yes",
                                 "/api/map/kde?sensitive=1",
                                 "/exports/download?layer=proposals&format=geojson&sensitive=maybe",
                                 "/exports/download?layer=hotspots&format=geojson&sensitive=1"])
def test_bad_sensitive_is_a_400_naming_it(app, url):
    r = login(app, "police").get(url)
    assert r.status_code == 400, r.data[:300]
    assert "sensitive" in r.get_data(as_text=True)
    if url.startswith("/api/"):
        assert r.json["param"] == "sensitive"


def test_police_export_with_sensitive_and_audit(app):
    import json

    from geo_app.auth import get_db

    c = login(app, "police")
    r = c.get("/exports/download?layer=proposals&format=geojson&sensitive=1")
    assert r.status_code == 200, r.data[:300]
    body = json.loads(r.data)
    pts = gpd.GeoSeries([Point(f["geometry"]["coordinates"]) for f in body["features"]
                         if f["properties"]["kind"] == "cctv"], crs=4326).to_crs(2154)
    assert any(p.distance(Point(B)) <= 100 for p in pts)
    plain = json.loads(c.get("/exports/download?layer=proposals&format=geojson").data)
    pts = gpd.GeoSeries([Point(f["geometry"]["coordinates"]) for f in plain["features"]
                         if f["properties"]["kind"] == "cctv"], crs=4326).to_crs(2154)
    assert not any(p.distance(Point(B)) <= 100 for p in pts)
    c.get("/api/map/proposals?sensitive=1")
    log = get_db(app).audit_log(action="view_points", user="police")
    seen = [a for a in log if a["target"] == "proposals (sensitive categories)"]
    assert len(seen) >= 2 and all(a["detail"]["include_sensitive"] is True for a in seen)
    assert all("domestic_violence" in a["detail"]["filters"]["categories"] for a in seen)
    # nothing is recorded for the default proposals, nor for a refused request
    before = len(get_db(app).audit_log(action="view_points"))
    c.get("/api/map/proposals")
    login(app, "planner").get("/api/map/proposals?sensitive=1")
    assert len(get_db(app).audit_log(action="view_points")) == before


def test_openapi_documents_sensitive(app):
    doc = login(app, "police").get("/api/openapi.json").json
    params = {p["name"]: p for p in doc["paths"]["/api/map/{key}"]["get"]["parameters"]}
    assert params["sensitive"]["schema"]["enum"] == ["0", "1", "false", "true"]
