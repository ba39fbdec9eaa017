"""Reverse geocoding wired into the service: ``GET /api/reverse``, the nearest address in the
incident points' popups (API and browser), and small drawn places named after an address.

Runs on the demo city, whose store holds Montpellier's whole address register and its streets;
the expected addresses are worked out from the register file itself (data/).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import mapping

from geo_app.access import ROLES
from tests.conftest import DEMO_PASSWORD

REGISTER = Path(__file__).resolve().parents[2] / "data" / "VilleMTP_MTP_PointAdresse.zip"


@pytest.fixture(scope="module")
def register():
    """The demo's register file, Lambert-93, with the labels reverse geocoding gives."""
    reg = gpd.read_file(REGISTER)
    num = reg["NUM_VOI"].fillna(0).astype(int)
    suf = reg["SUF_VOI"].fillna("").astype(str).str.strip()
    reg["label"] = np.where(num > 0, num.astype(str) + np.where(suf != "", " " + suf, "") + " " + reg["LIB_OFF"],
                            reg["LIB_OFF"])
    reg["number"] = num
    return reg


def _lonlat(point, crs):
    p = gpd.GeoSeries([point], crs=crs).to_crs(4326).iloc[0]
    return p.x, p.y


def _loge4(register):
    return register[(register["LIB_OFF"] == "Rue de la Loge") & (register["number"] == 4)
                    & (register["SUF_VOI"].isna())].geometry.iloc[0]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_the_address_at_a_register_point(demo_app, login, register, role):
    lon, lat = _lonlat(_loge4(register), register.crs)
    r = login(demo_app, role, DEMO_PASSWORD).get("/api/reverse", query_string={"lat": lat, "lon": lon})
    assert r.status_code == 200, r.data[:300]
    (f,) = r.json["features"]
    p = f["properties"]
    assert (p["label"], p["number"], p["street"]) == ("4 Rue de la Loge", 4, "Rue de la Loge")
    assert p["distance"] == pytest.approx(0.0, abs=0.2)
    assert p["street_distance"] < 20  # the centreline, a few metres from the facade
    assert f["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    assert r.json["radius"] == 50


def test_a_point_ten_metres_away_and_one_beyond_the_radius(demo_app, login, register):
    loge = _loge4(register)
    c = login(demo_app, "coordinator", DEMO_PASSWORD)
    # 6 m east and 8 m north: 10 m from 4 Rue de la Loge, which must stay the nearest house
    lon, lat = _lonlat(shapely.Point(loge.x + 6, loge.y + 8), register.crs)
    numbered = register[register["number"] > 0]
    d = numbered.distance(shapely.Point(loge.x + 6, loge.y + 8))
    expected = numbered.loc[d.idxmin()]
    p = c.get("/api/reverse", query_string={"lat": lat, "lon": lon}).json["features"][0]["properties"]
    assert p["label"] == expected["label"] and p["distance"] == pytest.approx(d.min(), abs=0.2)
    # in the Mediterranean, 15 km from the nearest address
    p = c.get("/api/reverse", query_string={"lat": 43.45, "lon": 3.85, "radius": 500}).json["features"][0]
    assert p["properties"]["label"] is None and p["properties"]["street"] is None
    assert p["properties"]["distance"] is None


def _strict_json(response):
    """The body parsed as standard JSON: NaN and Infinity are not JSON and fail the test."""
    import json

    def refuse(name):
        raise AssertionError(f"{name} in the JSON answer")

    return json.loads(response.get_data(as_text=True), parse_constant=refuse)


@pytest.mark.parametrize("lat, lon", [(43.45, 3.85), (-90, -180), (90, 180)])
def test_nothing_within_reach_is_null_in_standard_json(demo_app, login, lat, lon):
    """Out of reach (the sea) and points the register's projection cannot hold (the poles):
    a 200 whose properties are null, never NaN (invalid JSON) nor a server error."""
    r = login(demo_app, "coordinator", DEMO_PASSWORD).get("/api/reverse",
                                                          query_string={"lat": lat, "lon": lon, "radius": 500})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    props = _strict_json(r)["features"][0]["properties"]
    assert props["number"] is None and props["label"] is None and props["distance"] is None


@pytest.mark.parametrize("query, field", [
    ({"lon": "3.87"}, "lat"),
    ({"lat": "43.61"}, "lon"),
    ({"lat": "abc", "lon": "3.87"}, "lat"),
    ({"lat": "91", "lon": "3.87"}, "lat"),
    ({"lat": "-90.5", "lon": "3.87"}, "lat"),
    ({"lat": "nan", "lon": "3.87"}, "lat"),
    ({"lat": "43.61", "lon": "181"}, "lon"),
    ({"lat": "43.61", "lon": "inf"}, "lon"),
    ({"lat": "43.61", "lon": "3,87"}, "lon"),
    ({"lat": "43.61", "lon": "3.87", "radius": "0"}, "radius"),
    ({"lat": "43.61", "lon": "3.87", "radius": "501"}, "radius"),
    ({"lat": "43.61", "lon": "3.87", "radius": "loin"}, "radius"),
])
def test_bad_parameters_are_400_naming_the_field(demo_app, login, query, field):
    r = login(demo_app, "police", DEMO_PASSWORD).get("/api/reverse", query_string=query)
    assert r.status_code == 400 and r.json["param"] == field, r.json
    assert field in r.json["message"]


def test_anonymous_is_401(demo_app):
    assert demo_app.test_client().get("/api/reverse?lat=43.61&lon=3.87").status_code == 401


def test_no_register_is_a_400_saying_how_to_get_one(home):
    from geo_app import create_app
    from geo_app.accounts import create_demo_accounts
    from tests.conftest import log_in

    create_demo_accounts(home, "long-password-1")
    app = create_app({"TESTING": True, "HOME": str(home.path), "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
    r = log_in(app, "police", "long-password-1").get("/api/reverse?lat=43.61&lon=3.87")
    assert r.status_code == 400 and "No address register" in r.json["message"]
    assert "geo-app import addresses" in r.json["message"]


def _centre_page(demo_app, login, role="police"):
    c = login(demo_app, role, DEMO_PASSWORD)
    r = c.get("/api/layers/incidents", query_string={"bbox": "3.872,43.606,3.882,43.613", "limit": 2000})
    assert r.status_code == 200, r.data[:300]
    return r.json


def test_incident_points_carry_their_nearest_address(demo_app, login, register):
    """Every point of the page gets the numbered register address nearest it within 50 m,
    checked by brute force over the whole register."""
    fc = _centre_page(demo_app, login)
    feats = fc["features"]
    assert len(feats) > 20
    pts = gpd.GeoSeries([shapely.Point(f["geometry"]["coordinates"]) for f in feats], crs=4326).to_crs(register.crs)
    numbered = register[register["number"] > 0]
    xy = np.column_stack([numbered.geometry.x, numbered.geometry.y])
    labelled = 0
    for f, p in zip(feats, pts):
        d = np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y)
        got = f["properties"]["near_address"]
        assert f["properties"]["near_street"], f["properties"]
        if d.min() > 50:
            assert got is None
            continue
        assert got is not None
        labelled += 1
        # the address named is (one of) the nearest: the same distance as the brute-force minimum,
        # to the precision of the GeoJSON coordinates (1e-6 degree, about 0.1 m)
        mine = numbered["label"].to_numpy() == got
        assert d[mine].min() == pytest.approx(d.min(), abs=0.3), (got, numbered["label"].to_numpy()[d.argmin()])
    assert labelled > 20


def test_the_planner_sees_no_points_and_so_no_addresses(demo_app, login):
    r = login(demo_app, "planner", DEMO_PASSWORD).get("/api/layers/incidents?bbox=3.872,43.606,3.882,43.613")
    assert r.status_code == 403


def _isolated(features, *, min_m: float = 12.0):
    """The features with no other feature within ``min_m`` metres (a click there hits them)."""
    xy = np.array([f["geometry"]["coordinates"] for f in features])
    metres = np.column_stack([xy[:, 0] * 111320 * np.cos(np.radians(43.6)), xy[:, 1] * 110540])
    d = np.hypot(*(metres[:, None, :] - metres[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    return [f for f, near in zip(features, d.min(axis=1)) if near > min_m]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang, near", [("fr", "près du "), ("en", "near ")])
def test_a_police_user_clicks_an_incident_and_reads_near_the_address(demo_copy, serve_app, chromium_browser,
                                                                       open_page, lang, near):
    """A police user on the demo city's dashboard clicks an incident point with the mouse: the
    popup gives its category, its date and "près du <nearest register address>" (English
    "near …"), the address the API computes for that incident."""
    from geo_app import create_app

    base = serve_app(create_app({"HOME": str(demo_copy), "TILE_URL": "", "SECRET_KEY": "browser-test"}))
    ctx, page = open_page(chromium_browser, bypass_csp=True)  # Playwright's waits use eval
    try:
        page.goto(base + "/login")
        page.fill("input[name=username]", "police")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.locator("form button[type=submit], form input[type=submit]").first.click()
        page.wait_for_load_state("load")
        fc = page.evaluate("""async () => (await (await fetch(
            '/api/layers/incidents?bbox=3.866,43.612,3.874,43.618&limit=2000')).json())""")
        alone = [f for f in _isolated(fc["features"])
                 if f["properties"].get("near_address") and not f["properties"].get("address")]
        assert alone, "no isolated incident with a nearest address in the district"
        f = alone[0]
        lon, lat = f["geometry"]["coordinates"]
        page.goto(base + f"/?lang={lang}")
        page.wait_for_selector(".leaflet-container", timeout=30000)
        page.wait_for_function("window.Vigie && Vigie.layers && Vigie.layers.incidents", timeout=30000)
        with page.expect_response(lambda r: "/api/layers/incidents?" in r.url and "limit=2000" in r.url,
                                  timeout=30000) as resp:
            page.evaluate("([lat, lon]) => { Object.values(window).find(v => v instanceof L.Map)"
                          ".setView([lat, lon], 19, {animate: false}); }", [lat, lon])
        assert resp.value.ok
        page.wait_for_function("Vigie.layers.incidents.getLayers().length > 0", timeout=30000)
        # where the incident is drawn, in page pixels, then a real mouse click there
        x, y = page.evaluate("""([lat, lon]) => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""", [lat, lon])
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10000)
        text = popup.inner_text()
        assert near + f["properties"]["near_address"] in text, text
        assert text.count(near) == 1
        assert f["properties"]["occurred_from"].replace("T", " ")[:16] in text
        assert page.vigie_errors == []
    finally:
        ctx.close()


def test_a_small_drawn_place_is_named_after_its_address(demo_app, login, register):
    loge = _loge4(register)
    square = gpd.GeoSeries([shapely.box(loge.x - 8, loge.y - 8, loge.x + 8, loge.y + 8)], crs=register.crs)
    c = login(demo_app, "coordinator", DEMO_PASSWORD)
    r = c.post("/api/places", json={"source": "drawn", "geometry": json.dumps(mapping(square.to_crs(4326).iloc[0]))})
    assert r.status_code == 201, r.data[:300]
    assert r.json["properties"]["name"] == "autour du 4 Rue de la Loge"
    # a block 300 m across keeps its street name
    big = gpd.GeoSeries([shapely.box(loge.x - 150, loge.y - 150, loge.x + 150, loge.y + 150)], crs=register.crs)
    r = c.post("/api/places", json={"source": "drawn", "geometry": json.dumps(mapping(big.to_crs(4326).iloc[0]))})
    assert r.status_code == 201 and not r.json["properties"]["name"].startswith("autour du")

