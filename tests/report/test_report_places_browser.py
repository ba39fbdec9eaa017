"""In a real browser (Playwright + Debian's chromium, waitress over the demo city): the
dashboard's concentration card and the monthly report's "places followed" section as a
coordinator sees them."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(demo_home_path, serve_app):
    from geo_app import create_app

    return serve_app(create_app({"HOME": str(demo_home_path), "TILE_URL": "", "SECRET_KEY": "browser-test"}))


@pytest.fixture
def page(chromium_browser, open_page, server):
    ctx, pg = open_page(chromium_browser)
    pg.goto(server + "/login")
    pg.fill("input[name=username]", "coordinator")
    pg.fill("input[name=password]", DEMO_PASSWORD)
    pg.locator("form button[type=submit], form input[type=submit]").first.click()
    pg.wait_for_load_state("load")
    assert "/login" not in pg.url
    yield pg
    ctx.close()


def test_dashboard_shows_the_concentration_card(page, server):
    page.goto(server + "/?lang=en")
    card = page.locator("#concentration-card")
    card.wait_for(state="visible", timeout=30000)
    assert "Concentration on the streets" in card.inner_text()
    for sel in ("#kc-50", "#kc-100", "#kc-top5"):
        value = page.locator(sel).inner_text()
        assert value.endswith(" %") and 0 < float(value[:-2]) <= 100


def test_report_shows_the_places_followed(page, server):
    page.goto(server + "/reports?month=2025-10&lang=en")
    section = page.locator("section#places")
    section.wait_for(state="attached", timeout=60000)
    text = section.inner_text()
    assert "4a. Places followed and actions" in text
    assert "PL-0001" in text and "PL-0002" in text
    assert "Targeted incidents fell by 24 % more than in the comparison area" in text
    assert "No significant difference with the comparison area" in text
    assert page.locator("section#places tr[data-place]").count() == 2
