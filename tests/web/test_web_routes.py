"""Flask test client over a small in-memory city: every route, and bad query strings (4xx with a
message naming the parameter, never a 500)."""

from __future__ import annotations

import json
import re

import pytest
from web_fakes import XSS


def test_create_app_reads_config_tiers(home, store, monkeypatch):
    from geo_app import create_app
    from geo_app.config import write_config

    write_config(home.config_path, {"analysis_crs": 2154}, {"tile_url": "http://tiles.local/{z}/{x}/{y}.png",
                                                           "points_limit": 500, "tile_attribution": "file"})
    app = create_app({"STORE": store})
    assert app.config["TILE_URL"] == "http://tiles.local/{z}/{x}/{y}.png"
    assert app.config["POINTS_LIMIT"] == 500
    monkeypatch.setenv("GEO_APP_TILE_ATTRIBUTION", "env")
    monkeypatch.setenv("GEO_APP_POINTS_LIMIT", "700")
    app = create_app({"STORE": store})
    assert app.config["TILE_ATTRIBUTION"] == "env" and app.config["POINTS_LIMIT"] == 700
    app = create_app({"STORE": store, "POINTS_LIMIT": 9})
    assert app.config["POINTS_LIMIT"] == 9


def test_dashboard_has_every_layer_escaped_and_no_cdn(client):
    from geo_app.mapping import layer_names

    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    names = layer_names("fr")
    for key in ("incident_grid", "incidents", "zac", "areas", "schools", "shops", "cameras", "lights",
                "gistar", "kde"):
        assert json.dumps(names[key])[1:-1] in html or names[key] in html, key
    assert "<script>alert" not in html and "onerror=alert(1)>" not in html
    assert not re.findall(r"(?:src|href)=\"(?:https?:)?//", html), "a page must not load anything from outside"
    assert "cdn" not in html.lower()
    assert "Données simulées" in html


def test_dashboard_reflects_filters_and_languages(client):
    r = client.get("/?category=alcohol&from=2024-01-01&to=2024-06-30&hours=22-5&weekdays=5&weekdays=6")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'value="alcohol" checked' in html
    assert "category=alcohol" in html and "hours=22-5" in html  # share link and API query
    en = client.get("/?lang=en").get_data(as_text=True)
    assert "Incidents in view" in en and 'lang="en"' in en
    assert "Incidents in view" in client.get("/").get_data(as_text=True)  # remembered


def test_key_figures_compare_with_previous_period(app, store, city):
    from layers.filters import parse_filters

    with app.app_context():
        from geo_app.auth import get_workspace

        f = parse_filters(start="2024-07-01", end="2024-09-30", tz="Europe/Paris")
        kf = get_workspace().key_figures(f)
    t = city["incidents"]["occurred_from"]
    cur = ((t >= f.start) & (t < f.end)).sum()
    prev = ((t >= f.start - (f.end - f.start)) & (t < f.start)).sum()
    assert kf.total == cur and kf.previous == prev
    assert kf.change_pct == pytest.approx(100 * (cur - prev) / prev)


@pytest.mark.parametrize("url, param", [
    ("/api/layers/incidents?bbox=1,2,3", "bbox"),
    ("/api/layers/incidents?bbox=a,b,c,d", "bbox"),
    ("/api/layers/incidents?bbox=10,10,0,0", "bbox"),
    ("/api/layers/incidents?from=2024-13-45", "from"),
    ("/api/layers/incidents?from=2024-06-01&to=2024-01-01", "to"),
    ("/api/layers/incidents?category=unicorns", "category"),
    ("/api/layers/incidents?hours=25", "hours"),
    ("/api/layers/incidents?weekdays=mon", "weekdays"),
    ("/api/layers/incidents?zac=Atlantis", "zac"),
    ("/api/layers/incidents?limit=-1", "limit"),
    ("/api/layers/incidents?limit=abc", "limit"),
    ("/api/layers/incidents?limit=1000000", "limit"),
    ("/api/layers/incidents?offset=x", "offset"),
    ("/api/layers/incidents?night=maybe", "night"),
    ("/api/layers/lights/grid?cells=1", "cells"),
    ("/api/layers/zac/grid", "kind"),
    ("/api/hotspots?method=magic", "method"),
])
def test_api_bad_parameters_are_400_json_naming_the_parameter(client, url, param):
    r = client.get(url)
    assert r.status_code == 400, r.get_data(as_text=True)
    body = r.get_json()
    assert body["error"] == "ParameterError" and body["param"] == param and body["message"]


@pytest.mark.parametrize("url, param", [
    ("/?from=yesterday", "from"), ("/?category=unicorns", "category"), ("/?zac=Atlantis", "zac"),
    ("/hotspots?sort=colour", "sort"), ("/hotspots?order=up", "order"), ("/?hours=7-99", "hours"),
])
def test_pages_bad_parameters_are_400_html_with_the_message(client, url, param):
    r = client.get(url)
    assert r.status_code == 400
    assert r.mimetype == "text/html"
    assert f"<strong>{param}</strong>" in r.get_data(as_text=True)


def test_unknown_kind_route_and_method(client):
    r = client.get("/api/layers/dragons")
    assert r.status_code == 404 and "incidents" in r.get_json()["message"]
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/nothing").get_json()["error"] == "NotFound"
    assert client.post("/api/layers").status_code == 405
    assert client.get("/nowhere").status_code == 404
    assert client.get("/hotspots/HS-doesnotexist").status_code == 404
    assert client.get("/vendor/../pyproject.toml").status_code == 404
    assert client.get("/vendor/evil/x.js").status_code == 404


def test_layers_api_counts_and_paging(client, city):
    body = client.get("/api/layers").get_json()
    counts = {layer["kind"]: layer["count"] for layer in body["layers"]}
    assert counts["incidents"] == len(city["incidents"]) and counts["lights"] == len(city["lights"])
    r = client.get("/api/layers/incidents?limit=100&category=property")
    assert r.mimetype == "application/geo+json"
    fc = r.get_json()
    n_prop = city["incidents"]["category"].isin(["theft", "burglary", "vehicle_crime", "bicycle_theft", "damage"]).sum()
    assert fc["numberMatched"] == n_prop and fc["numberReturned"] == min(100, n_prop)
    seen = [f["properties"]["fid"] for f in fc["features"]]
    while fc["next"]:
        fc = client.get(fc["next"]).get_json()
        seen += [f["properties"]["fid"] for f in fc["features"]]
    assert len(seen) == len(set(seen)) == n_prop
    assert all(isinstance(v, str) for v in [fc["features"][0]["properties"]["occurred_from"]])


def test_layer_bbox_matches_a_hand_count(client, city, store):
    bbox = (3.875, 43.605, 3.885, 43.612)
    inc = city["incidents"]
    x, y = inc.geometry.x, inc.geometry.y
    expected = int(((x >= bbox[0]) & (x <= bbox[2]) & (y >= bbox[1]) & (y <= bbox[3])).sum())
    fc = client.get("/api/layers/incidents?limit=0&bbox=" + ",".join(map(str, bbox))).get_json()
    assert fc["numberMatched"] == expected and fc["features"] == []
    grid = client.get("/api/layers/incidents/grid?cells=10&bbox=" + ",".join(map(str, bbox))).get_json()
    # the API may suppress small cells (the aggregate rules of DESIGN §8): never more than the hand count
    assert 0 < sum(f["properties"]["n"] for f in grid["features"]) <= expected
    from geo_app.workspace import Workspace
    from layers.filters import Filters

    svc = Workspace(None, store=store)
    svc.home = type("H", (), {"settings": __import__("layers.settings").settings.Settings(), "taxonomy": None})()
    cells = svc.grid("incidents", Filters(bbox=bbox), cells=10)
    assert cells["n"].sum() == expected


def test_hotspot_api_list_and_page(client):
    gi = client.get("/api/hotspots?method=gistar").get_json()
    assert {"z", "p", "bin", "n"} <= set(gi["features"][0]["properties"])
    assert client.get("/api/hotspots?method=kde").status_code == 200
    assert client.get("/api/hotspots?method=counts").status_code == 200
    areas = client.get("/api/hotspots/areas").get_json()["features"]
    assert areas, "the two planted clusters must make at least one hotspot area"
    assert all(a["properties"]["status"] for a in areas)
    page = client.get("/hotspots?sort=n&order=asc").get_data(as_text=True)
    ids = re.findall(r'class="hotspot-link" href="/hotspots/([^"?]+)', page)
    assert set(ids) == {a["properties"]["hotspot_id"] for a in areas}
    r = client.get(f"/hotspots/{ids[0]}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "chart-monthly" in html and "chart-profile" in html and "hotspot-schools" in html
    assert "<script>alert" not in html


def test_openapi_documents_every_api_route(app, client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and doc["info"]["title"] and doc["paths"]
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert "responses" in op and "200" in op["responses"]
            for p in op.get("parameters", []):
                assert {"name", "in", "schema"} <= set(p)
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule) for r in app.url_map.iter_rules()
              if r.rule.startswith("/api")}
    missing = routes - set(doc["paths"])
    assert not missing, f"routes missing from the OpenAPI document: {missing}"


def test_vendor_assets_are_served(client):
    r = client.get("/vendor/leaflet/dist/leaflet.js")
    assert r.status_code == 200 and b"Leaflet" in r.data[:2000]


def test_xss_in_data_is_escaped_in_api_as_data(client):
    fc = client.get("/api/layers/schools").get_json()
    assert XSS in [f["properties"]["name"] for f in fc["features"]]  # JSON keeps the text; the page escapes it
