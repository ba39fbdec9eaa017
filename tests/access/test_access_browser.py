"""In a real browser (Debian's chromium through Playwright, CSP enforced): log in, review a
hotspot (status, owner, a comment holding markup shown as text), and a planner's dashboard
that never asks for points. Screenshots go to tests/output/screenshots/access-*.png."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "output" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
PASSWORD = "demo-password"  # given to build_demo by tests/conftest.py


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    import waitress

    from geo_app import create_app

    src = request.getfixturevalue("demo_home_path")
    home = tmp_path_factory.mktemp("access-browser") / "home"
    shutil.copytree(src, home)  # the shared demo is read-only: reviews go to a copy
    app = create_app({"HOME": str(home), "TILE_URL": "", "SECRET_KEY": "access-browser-test"})
    srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:  # the same rule as tests/conftest.py's require_chromium
        import os

        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is required under CI=true (.ci/run installs it).")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); browser test skipped")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        yield b
        b.close()


def _page(browser, server, role):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})  # CSP enforced
    pg = ctx.new_page()
    pg.vigie_errors, pg.vigie_hosts = [], set()
    pg.on("console", lambda m: pg.vigie_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.vigie_errors.append(str(e)))
    pg.on("request", lambda r: pg.vigie_hosts.add(urlsplit(r.url).hostname))
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


def test_police_reviews_a_hotspot(browser, server):
    ctx, pg = _page(browser, server, "police")
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


def test_planner_dashboard_asks_for_no_points(browser, server):
    ctx, pg = _page(browser, server, "planner")
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


def test_admin_reads_the_audit_log(browser, server):
    ctx, pg = _page(browser, server, "admin")
    try:
        pg.goto(server + "/admin/audit?action=login")
        rows = pg.locator("#audit tbody tr")
        assert rows.count() >= 1 and "login" in rows.first.inner_text()
        _shot(pg, "audit")
        assert pg.vigie_errors == []
    finally:
        ctx.close()
