"""In a real browser (Debian's chromium through Playwright, CSP enforced): log in, review a
hotspot (status, owner, a comment holding markup shown as text), and a planner's dashboard
that never asks for points. Screenshots go to tests/output/screenshots/access-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "output" / "screenshots"
PASSWORD = "demo-password"  # given to build_demo by tests/conftest.py


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, serve_app, copy_deployment):
    from geo_app import create_app

    src = request.getfixturevalue("demo_home_path")
    home = tmp_path_factory.mktemp("access-browser") / "home"
    copy_deployment(src, home)  # the shared demo is read-only: reviews go to a copy
    return serve_app(create_app({"HOME": str(home), "TILE_URL": "", "SECRET_KEY": "access-browser-test"}))


@pytest.fixture(scope="module")
def browser(chromium_browser):
    return chromium_browser


def _page(open_page, browser, server, role):
    ctx, pg = open_page(browser)  # CSP enforced
    pg.goto(server + "/hotspots")
    assert "/login" in pg.url  # anonymous visitors are sent to the login page
    pg.fill("#username", role)
    pg.fill("#password", PASSWORD)
    pg.click("#login-form button[type=submit]")
    pg.wait_for_load_state("load")
    assert "/login" not in pg.url and "/hotspots" in pg.url, pg.url
    return ctx, pg


def _shot(pg, name, selector=None):
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = pg.locator(selector).first if selector else pg
    target.screenshot(path=str(SHOTS / f"access-{name}.png"))


def test_police_reviews_a_hotspot(browser, server, open_page):
    ctx, pg = _page(open_page, browser, server, "police")
    try:
        pg.locator("a.hotspot-link").first.click()
        pg.wait_for_load_state("load")
        hid = pg.url.split("/hotspots/")[1].split("?")[0]
        pg.select_option("#status", "en examen")
        pg.fill("#owner", "Police municipale")
        pg.click("#status-form button[type=submit]")
        pg.wait_for_load_state("load")
        markup = "<script>document.title='pwned'</script><b>lampadaire éteint</b>"
        pg.fill("#comment-form textarea", markup)
        pg.click("#comment-form button[type=submit]")
        pg.wait_for_load_state("load")
        assert pg.locator("#review-status").inner_text() == "en examen"
        assert pg.locator("#review-owner").inner_text() == "Police municipale"
        comment = pg.locator("#comments .vigie-comment").last
        assert comment.inner_text() == markup  # shown as text
        assert pg.locator("#comments script, #comments b").count() == 0
        assert pg.title() != "pwned"
        assert pg.locator("#history tr").count() == 2  # status and owner changes
        _shot(pg, "review", "#review")
        pg.goto(server + "/hotspots?status=en+examen")
        assert pg.locator(f"a.hotspot-link[href*='{hid}']").count() == 1
        assert pg.vigie_errors == []
        assert pg.vigie_hosts == {"127.0.0.1"}
    finally:
        ctx.close()


def test_planner_dashboard_asks_for_no_points(browser, server, open_page):
    ctx, pg = _page(open_page, browser, server, "planner")
    try:
        statuses = []
        pg.on("response", lambda r: statuses.append((r.status, r.url)))
        pg.goto(server + "/")
        pg.wait_for_load_state("networkidle")
        _shot(pg, "planner-dashboard")
        assert not [u for s, u in statuses if s >= 400], statuses
        assert not [u for _, u in statuses if "/api/layers/incidents?" in u]
        assert pg.vigie_errors == []
    finally:
        ctx.close()


def test_admin_reads_the_audit_log(browser, server, open_page):
    ctx, pg = _page(open_page, browser, server, "admin")
    try:
        pg.goto(server + "/admin/audit?action=login")
        rows = pg.locator("#audit tbody tr")
        assert rows.count() >= 1 and "connexion" in rows.first.inner_text()
        _shot(pg, "audit")
        assert pg.vigie_errors == []
    finally:
        ctx.close()
