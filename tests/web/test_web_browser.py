"""Browser tests: Playwright drives Debian's chromium against a real waitress server over the
demo city (blank basemap), and checks what a coordinator sees.

Screenshots go to tests/output/screenshots/ (git-ignored); docs/screenshot.png, the README's,
is a copy of the dashboard's made by hand (a test run never changes a tracked file).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "output" / "screenshots"
@pytest.fixture(scope="module")
def server(request, serve_app):
    import os

    from geo_app import create_app

    # VIGIE_TEST_DEMO_HOME: an already built demo deployment (saves the build while developing)
    home = os.environ.get("VIGIE_TEST_DEMO_HOME") or request.getfixturevalue("demo_home_path")
    return serve_app(create_app({"HOME": str(home), "TILE_URL": "", "SECRET_KEY": "browser-test"}))


@pytest.fixture
def page(chromium_browser, open_page, server):
    # bypass_csp: Playwright evaluates its wait predicates with eval, which the CSP forbids
    ctx, pg = open_page(chromium_browser, bypass_csp=True)
    # the demo city has one account per role (password given to build_demo in tests/conftest.py)
    pg.goto(server + "/login")
    pg.fill("input[name=username]", "coordinator")
    pg.fill("input[name=password]", "demo-password")
    pg.locator("form button[type=submit], form input[type=submit]").first.click()
    pg.wait_for_load_state("load")
    assert "/login" not in pg.url, "demo login failed"
    yield pg
    ctx.close()


def _shot(pg, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path))
    return path


_LAYERS_ON_MAP = ("(() => { const m = Object.values(window).find(v => v instanceof L.Map);"
                  " let n = 0; m.eachLayer(() => { n += 1; }); return n; })()")


def _wait_map(pg):
    pg.wait_for_selector(".leaflet-container", timeout=30000)
    pg.wait_for_selector(".leaflet-control-layers", timeout=30000)
    pg.wait_for_function(f"{_LAYERS_ON_MAP} > 10", timeout=30000)


def _drawn(pg) -> int:
    """Leaflet layers on the map (features are drawn on a canvas, so count layers, not nodes)."""
    return pg.evaluate(_LAYERS_ON_MAP)


def test_dashboard_renders_every_layer_and_stays_local(page, server):
    from geo_app.mapping import layer_names

    page.goto(server + "/")
    _wait_map(page)
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    labels = [t.strip() for t in labels]
    names = layer_names("fr")
    for key in ("incident_grid", "incidents", "zac", "areas", "schools", "shops", "lights", "cameras",
                "gistar", "kde", "hotspots"):
        assert names[key] in labels, (key, labels)
    assert page.locator("#simulated-banner").is_visible()
    page.wait_for_function("document.getElementById('kf-in-view').textContent !== '…'", timeout=30000)
    _shot(page, "dashboard")
    assert page.vigie_errors == []
    assert page.vigie_hosts == {"127.0.0.1"}


def test_camera_ranges_are_drawn_as_ground_circles_of_their_range(page, server, request):
    """One ``L.circle`` per camera (radius in metres: ``range_m``, 100 when unknown), drawn from
    the cameras' embedded GeoJSON; the camera markers themselves stay circle markers."""
    import pandas as pd

    from geo_app.config import Home

    import os

    home = os.environ.get("VIGIE_TEST_DEMO_HOME") or request.getfixturevalue("demo_home_path")
    cams = Home(Path(home)).store.read("cameras")
    expected = sorted(pd.to_numeric(cams["range_m"], errors="coerce").fillna(100.0).round(3).tolist())
    page.goto(server + "/")
    _wait_map(page)
    radii = page.evaluate("(() => { const m = Object.values(window).find(v => v instanceof L.Map); const r = [];"
                          " m.eachLayer(l => { if (l instanceof L.Circle) r.push(l.getRadius()); }); return r; })()")
    assert sorted(round(r, 3) for r in radii) == expected
    assert page.vigie_errors == []


def test_toggling_a_layer_changes_what_is_drawn(page, server):
    from geo_app.mapping import layer_names

    page.goto(server + "/")
    _wait_map(page)
    before = _drawn(page)
    name = layer_names("fr")["incident_grid"]
    page.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input").uncheck()
    page.wait_for_function(f"{_LAYERS_ON_MAP} < {before}")
    assert _drawn(page) < before
    # street lights: 30,000 features arrive as a grid aggregate, never whole
    lights = layer_names("fr")["lights"]
    with page.expect_response(lambda r: "/api/layers/lights" in r.url and "/grid" in r.url) as resp:
        page.locator(".leaflet-control-layers-overlays label", has_text=lights).locator("input").check()
    assert resp.value.ok
    assert page.vigie_errors == []


def test_changing_a_filter_changes_the_map_and_the_url(page, server):
    page.goto(server + "/")
    _wait_map(page)
    total = page.locator("#kf-total").inner_text()
    before = _drawn(page)
    page.locator("#filters details summary").first.click()
    page.locator("#filters input[name=category][value=alcohol]").check()
    page.locator("#f-apply").click()
    page.wait_for_load_state("load")
    _wait_map(page)
    assert "category=alcohol" in page.url
    assert page.locator("#kf-total").inner_text() != total
    after = _drawn(page)
    assert after != before
    _shot(page, "dashboard-filtered")
    assert page.vigie_errors == []
    assert page.vigie_hosts == {"127.0.0.1"}


def test_points_appear_when_zoomed_in(page, server):
    page.goto(server + "/")
    _wait_map(page)
    before = _drawn(page)
    with page.expect_response(lambda r: "/api/layers/incidents?" in r.url and "limit=2000" in r.url, timeout=30000):
        page.evaluate("(() => { const m = Object.values(window).find(v => v instanceof L.Map);"
                      " m.setView([43.615, 3.870], 18); })()")
    page.wait_for_function("Vigie.layers.incidents.getLayers().length > 0")
    assert page.evaluate("Vigie.layers.incidents.getLayers()[0].getLayers().length") > 0
    assert _drawn(page) > before
    _shot(page, "dashboard-zoomed")
    assert page.vigie_errors == []


def test_hotspot_page_opens_from_the_list(page, server):
    page.goto(server + "/hotspots")
    page.wait_for_selector("#hotspot-table")
    _shot(page, "hotspots")
    first = page.locator("a.hotspot-link").first
    hid = first.inner_text().strip().lstrip("#")
    first.click()
    page.wait_for_selector("#hotspot-title")
    assert hid in page.locator("#hotspot-title").inner_text()
    _wait_map(page)
    page.wait_for_function("window.VigieCharts && window.VigieCharts.monthly && window.VigieCharts.profile")
    _shot(page, "hotspot")
    assert page.vigie_errors == []
    assert page.vigie_hosts == {"127.0.0.1"}


def test_english_is_selectable(page, server):
    page.goto(server + "/?lang=en")
    _wait_map(page)
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Incidents in view" in page.content()
    page.goto(server + "/hotspots")  # remembered in the session
    assert "Hotspot areas" in page.content()


@pytest.mark.parametrize("key", ["kde", "emerging", "proposals"])
def test_hidden_analysis_layers_load_when_switched_on(page, server, key):
    """KDE, emerging hotspots and proposals are computed and fetched only when switched on."""
    from geo_app.mapping import layer_names

    page.goto(server + "/")
    _wait_map(page)
    before = _drawn(page)
    name = layer_names("fr")[key]
    with page.expect_response(lambda r: f"/api/map/{key}" in r.url, timeout=60000) as resp:
        page.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input").check()
    assert resp.value.ok
    assert resp.value.json()["features"], key
    page.wait_for_function(f"{_LAYERS_ON_MAP} > {before} + 1", timeout=30000)
    _shot(page, f"dashboard-{key}")
    assert page.vigie_errors == []
