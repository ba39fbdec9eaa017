"""The place page (map, monthly trend, micro-places), places and actions as layers of the
dashboard map, and reviews posted on a hotspot area found only under the page's filters; per
role, on a writable copy of the demo city, with a real browser for the drawing."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import mapping, shape

PASSWORD = "demo-password"


@pytest.fixture(scope="module")
def app(demo_app):
    return demo_app


def login(app, role):
    c = app.test_client()
    assert c.post("/login", data={"username": role, "password": PASSWORD}).status_code == 302
    return c


def chart_values(html: str) -> dict:
    m = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert m, "the page has no chart data"
    return json.loads(m.group(1))["monthly"]


@pytest.fixture(scope="module")
def places(app, own_zac):
    """A place on the first hotspot area (with a lighting action) and a small one drawn in the
    ZAC manager's ZAC (with a CCTV action)."""
    c = login(app, "coordinator")
    ws = app.extensions["vigie"]
    hid = str(ws.hotspot_areas(ws.default_filters(None))["hotspot_id"].iloc[0])
    big = c.post("/api/places", json={"source": "hotspot", "ref": hid, "name": "Centre <b>test</b>"})
    assert big.status_code == 201
    big = big.get_json()["properties"]["place_id"]
    assert c.post(f"/api/places/{big}/actions", json={"kind": "lighting", "start_date": "2025-03-01",
                                                      "partner": "Éclairage public"}).status_code == 201
    name, poly = own_zac
    small_geom = poly.representative_point().buffer(0.0004)
    small = c.post("/api/places", json={"source": "drawn", "geometry": mapping(small_geom), "name": "Petit lieu ZAC"})
    assert small.status_code == 201
    small = small.get_json()["properties"]["place_id"]
    assert c.post(f"/api/places/{small}/actions", json={"kind": "cctv", "start_date": "2025-05-01"}).status_code == 201
    return {"big": big, "small": small, "small_geom": small_geom, "zac": name}


def _hand_monthly(home_path, geom, categories, tz) -> pd.Series:
    """Incidents per local month inside ``geom`` computed with GeoPandas on the store's
    incidents (the peer of ``Workspace.place_monthly``)."""
    from geo_app.config import Home

    inc = Home(home_path).store.read("incidents")
    inc = inc[inc["category"].isin(categories) & inc["occurred_from"].notna()]
    months = inc["occurred_from"].dt.tz_convert(tz).dt.tz_localize(None).dt.to_period("M")
    inside = inc.within(geom) | inc.touches(geom)
    counts = months[inside.to_numpy()].value_counts()
    full = pd.period_range(months.min(), months.max(), freq="M")
    return counts.reindex(full, fill_value=0)


@pytest.mark.slow
def test_place_page_trend_matches_a_hand_count(app, demo_copy, places):
    c = login(app, "coordinator")
    place = c.get(f"/api/places/{places['big']}").get_json()
    html = c.get(f"/places/{places['big']}?lang=en").get_data(as_text=True)
    got = chart_values(html)
    ws = app.extensions["vigie"]
    want = _hand_monthly(demo_copy, shape(place["geometry"]), ws.default_filters(None).categories, ws.tz)
    assert got["labels"] == [str(p) for p in want.index]
    assert got["values"] == [int(v) for v in want.to_numpy()]
    assert sum(got["values"]) > 100  # the city-centre area holds many incidents
    # the map: the place outline, its action and the micro-places, popups escaped
    for layer in ("Places followed", "Actions", "Street micro-places"):
        assert layer in html
    assert "Centre &lt;b&gt;test&lt;/b&gt;" in html and "Centre <b>test</b>" not in html
    assert 'id="hotspot-micro-places"' in html
    # incidents: on the grid for everyone, as points (loaded per bbox) for roles that see points
    assert "Incidents \\u2014 density (grid)" in html and "Incidents \\u2014 points (zoom in)" in html
    planner = login(app, "planner").get(f"/places/{places['big']}?lang=en").get_data(as_text=True)
    assert "Incidents \\u2014 density (grid)" in planner and "Incidents \\u2014 points (zoom in)" not in planner


@pytest.mark.slow
def test_place_trend_hides_small_months_for_aggregate_roles(app, places):
    """A planner sees aggregates only: no month under k on the small place's chart."""
    k = app.extensions["vigie"].k
    coord = chart_values(login(app, "coordinator").get(f"/places/{places['small']}").get_data(as_text=True))
    html = login(app, "planner").get(f"/places/{places['small']}").get_data(as_text=True)
    plan = chart_values(html)
    assert plan["labels"] == coord["labels"]
    assert all(v is None or v >= k for v in plan["values"])
    # the months at or above k are the same; those under k are blank, and the page says why
    assert [v if v is not None and v >= k else None for v in coord["values"]] == plan["values"]
    if any(v is not None and v < k for v in coord["values"]):
        assert 'id="trend-note"' in html
    # the planner's micro-places carry no counts
    assert not re.search(r'id="hotspot-micro-places".*?<td>\d+</td><td>[^<]+</td><td>\d', html, re.S)


@pytest.mark.slow
def test_zac_manager_trend_counts_only_inside_own_zac(app, demo_copy, own_zac):
    """A place drawn across the ZAC's boundary: the coordinator's chart counts the whole place,
    the ZAC manager's only its part inside the ZAC (months under k blank), so two such places
    cannot be differenced into counts outside the ZAC."""
    name, poly = own_zac
    ws = app.extensions["vigie"]
    edge = poly.exterior.interpolate(0.3, normalized=True) if poly.geom_type == "Polygon" else \
        max(poly.geoms, key=lambda g: g.area).exterior.interpolate(0.3, normalized=True)
    across = edge.buffer(0.003)
    assert across.difference(poly).area > 0.2 * across.area and across.intersection(poly).area > 0.2 * across.area
    c = login(app, "coordinator")
    pid = c.post("/api/places", json={"source": "drawn", "geometry": mapping(across)}).get_json()["properties"]["place_id"]
    cats = ws.default_filters(None).categories
    whole = _hand_monthly(demo_copy, across, cats, ws.tz)
    inside = _hand_monthly(demo_copy, across.intersection(poly), cats, ws.tz)
    assert chart_values(c.get(f"/places/{pid}").get_data(as_text=True))["values"] == [int(v) for v in whole]
    zm = chart_values(login(app, "zac_manager").get(f"/places/{pid}").get_data(as_text=True))["values"]
    assert zm == [int(v) if v >= ws.k else None for v in inside]
    assert sum(v or 0 for v in zm) < sum(whole)


@pytest.mark.slow
def test_dashboard_layers_of_places_and_actions_per_role(app, places):
    html = login(app, "coordinator").get("/?lang=en").get_data(as_text=True)
    assert "Places followed" in html and "Actions" in html
    assert f"/places/{places['big']}" in html and f"/places/{places['small']}" in html
    assert "Lighting repaired or added" in html and "CCTV installed" in html
    # action markers take their kind's colour from the one palette
    from geo_app.style import ACTION

    assert f'"color":"{ACTION["lighting"]}"' in html and f'"color":"{ACTION["cctv"]}"' in html
    # a ZAC manager sees the places touching their ZAC only, and their actions only
    html = login(app, "zac_manager").get("/?lang=en").get_data(as_text=True)
    assert f"/places/{places['small']}" in html
    big = login(app, "coordinator").get(f"/api/places/{places['big']}").get_json()
    assert places["zac"] not in big["properties"]["zacs"]  # the city-centre place is outside that ZAC
    assert f"/places/{places['big']}" not in html and "Lighting repaired or added" not in html


@pytest.mark.slow
def test_dashboard_map_shows_a_place_created_after_it_was_cached(app, own_zac):
    """The dashboard map is cached per store version; a place (application database, not the
    store) drawn after a visit is on the map of the next visit, and so is its action."""
    c = login(app, "coordinator")
    name, poly = own_zac
    token = re.compile(r'name="csrf_token" value="[^"]*"')  # a form token, signed with the time
    before = token.sub("", c.get("/?lang=en").get_data(as_text=True))
    again = token.sub("", c.get("/?lang=en").get_data(as_text=True))
    assert before == again  # served from the cache
    geom = poly.representative_point().buffer(0.0003)
    r = c.post("/api/places", json={"source": "drawn", "geometry": mapping(geom), "name": "Lieu après cache"})
    assert r.status_code == 201
    pid = r.get_json()["properties"]["place_id"]
    assert f"/places/{pid}" not in before
    html = c.get("/?lang=en").get_data(as_text=True)
    assert f"/places/{pid}" in html and "Lieu après cache" in html
    assert c.post(f"/api/places/{pid}/actions", json={"kind": "presence", "start_date": "2025-06-01"}).status_code == 201
    assert token.sub("", html) != token.sub("", c.get("/?lang=en").get_data(as_text=True))  # the action's marker


def test_place_layers_without_places_is_empty(app):
    """No layer without places: the viewer's layers are empty frames, the map has no entry."""
    from geo_app.mapping import MapLayers, build_map

    m = build_map(MapLayers(places=gpd.GeoDataFrame({"place_id": []}, geometry=[], crs=4326)), lang="en")
    assert "Places followed" not in m.vigie_layers


@pytest.mark.slow
def test_review_of_a_hotspot_found_only_under_filters(app):
    ws = app.extensions["vigie"]
    from layers.filters import Filters

    default = set(ws.hotspot_areas(ws.default_filters(None))["hotspot_id"].astype(str))
    burglary = ws.hotspot_areas(ws.default_filters(Filters(categories=("burglary",))))
    only = [h for h in burglary["hotspot_id"].astype(str) if h not in default]
    assert only, "the demo city should have a burglary hotspot that is not a default one"
    hid = only[0]
    c = login(app, "coordinator")
    # its page posts the review with its filters
    page = c.get(f"/hotspots/{hid}?category=burglary").get_data(as_text=True)
    assert f'action="/review/{hid}/status?category=burglary"' in page
    # without the filters the area is unknown; with them the review is stored
    assert c.post(f"/review/{hid}/status", data={"status": "in_review"}).status_code == 404
    r = c.post(f"/review/{hid}/status?category=burglary", data={"status": "in_review", "owner": "Police"})
    assert r.status_code == 302
    assert c.post(f"/review/{hid}/comments?category=burglary", data={"body": "Cambriolages en série"}).status_code == 302
    shown = c.get(f"/hotspots/{hid}?category=burglary").get_data(as_text=True)
    assert 'data-status="in_review"' in shown and "Cambriolages en série" in shown
    # a bad filter is a 400 naming the field, and nothing is stored
    db = app.extensions.get("vigie_db")
    r = c.post(f"/review/{hid}/comments?category=dragons", data={"body": "never"})
    assert r.status_code == 400 and "category" in r.get_data(as_text=True)
    assert "never" not in c.get(f"/hotspots/{hid}?category=burglary").get_data(as_text=True)
    # a planner reads only, filters or not
    assert login(app, "planner").post(f"/review/{hid}/status?category=burglary",
                                      data={"status": "done"}).status_code == 403
    del db


@pytest.mark.slow
@pytest.mark.browser
def test_browser_place_map_chart_and_layer_control(app, places, chromium_browser, serve_app, open_page):
    base = serve_app(app)
    ctx, page = open_page(chromium_browser)
    try:
        page.goto(base + "/login")
        page.fill("input[name=username]", "coordinator")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(base + f"/places/{places['big']}?lang=en")
        page.wait_for_selector("#place-map .leaflet-container")
        # the place outline and the micro-places are drawn as SVG/canvas paths in the map pane
        page.wait_for_function("document.querySelectorAll('#place-map .leaflet-interactive').length > 0"
                               " || document.querySelectorAll('#place-map canvas').length > 0")
        overlays = page.locator("#place-map .leaflet-control-layers-overlays label").all_inner_texts()
        assert any("Places followed" in t for t in overlays) and any("Actions" in t for t in overlays)
        page.wait_for_function("window.VigieCharts && window.VigieCharts.monthly")
        n = page.evaluate("window.VigieCharts.monthly.data.datasets[0].data.reduce((a, b) => a + (b || 0), 0)")
        assert n > 100
        assert page.locator("#chart-monthly").bounding_box()["height"] > 50
        page.goto(base + "/?lang=en")
        page.wait_for_selector(".leaflet-control-layers-overlays")
        overlays = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        assert any("Places followed" in t for t in overlays) and any("Actions" in t for t in overlays)
    finally:
        ctx.close()


def _export(client, tmp_path, query):
    import zipfile

    import pyogrio

    r = client.get(f"/exports/download?{query}")
    assert r.status_code == 200, r.data[:300]
    name = r.headers["Content-Disposition"].split("filename=")[1].strip('"')
    path = tmp_path / name
    path.write_bytes(r.data)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            target = next(n for n in zf.namelist() if n.endswith(".csv"))
        return {"csv": pyogrio.read_dataframe(f"/vsizip/{path}/{target}")}
    if path.suffix == ".csv":
        return {"csv": pyogrio.read_dataframe(str(path))}
    return {layer: pyogrio.read_dataframe(str(path), layer=layer) for layer, _ in pyogrio.list_layers(str(path))}


@pytest.mark.slow
def test_places_and_actions_export_as_geopackage_and_csv(app, places, tmp_path):
    """Places and actions are exportable layers: re-read from the GeoPackage they carry the
    recorded fields; a ZAC manager's export holds the places touching their ZAC only."""
    c = login(app, "coordinator")
    assert {"places", "actions"} <= set(re.findall(r'value="(\w+)"', c.get("/exports/").get_data(as_text=True)))
    got = _export(c, tmp_path, "layer=places,actions&format=gpkg")
    api = {f["properties"]["place_id"]: f for f in c.get("/api/places").get_json()["features"]}
    assert set(got["places"]["place_id"]) == set(api)
    big = got["places"].set_index("place_id").loc[places["big"]]
    assert big["name"] == api[places["big"]]["properties"]["name"]
    assert big.geometry.hausdorff_distance(shape(api[places["big"]]["geometry"])) < 1e-5  # the API rounds to 1e-6°
    acts = got["actions"]
    light = acts[(acts["place_id"] == places["big"]) & (acts["kind"] == "lighting")].iloc[0]
    assert light["partner"] == "Éclairage public" and light["start_date"].startswith("2025-03-01")
    assert (acts[acts["place_id"] == places["small"]]["kind"] == "cctv").any()
    csv = _export(c, tmp_path, "layer=actions&format=csv")["csv"]
    assert sorted(csv["id"].astype(int)) == sorted(acts["id"].astype(int))
    zm = _export(login(app, "zac_manager"), tmp_path, "layer=places&format=gpkg")["places"]
    assert places["small"] in set(zm["place_id"]) and places["big"] not in set(zm["place_id"])
