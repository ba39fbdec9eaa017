"""Street micro-places and names on the demo city, through the workspace, the viewer and the pages."""

from __future__ import annotations

import pytest

from geo_app.access import Viewer
from geo_app.auth import Account
from geo_app.i18n import place_name
from geo_app.workspace import Workspace

pytestmark = pytest.mark.slow

PASSWORD = "demo-password"


@pytest.fixture(scope="module")
def ws(demo_home_path):
    from geo_app.config import Home

    return Workspace(Home(demo_home_path))


@pytest.fixture(scope="module")
def app(demo_home_path):
    from geo_app import create_app

    return create_app({"TESTING": True, "HOME": str(demo_home_path), "SECRET_KEY": "test",
                       "WTF_CSRF_ENABLED": False})


def login(app, role):
    c = app.test_client()
    r = c.post("/login", data={"username": role, "password": PASSWORD})
    assert r.status_code == 302
    return c


def test_demo_segments_concentration_and_names(ws):
    f = ws.default_filters(None)
    seg = ws.street_segments(f)
    assert len(seg) == 8011 and seg.crs.to_epsg() == 4326
    meta = seg.attrs["vigie"]
    assert meta["n_assigned"] + meta["n_off_network"] == meta["n_incidents"]
    assert meta["n_off_network"] < 0.2 * meta["n_incidents"]
    c = ws.street_concentration(f)
    # crime concentrates: half of the incidents on a small share of the segments
    assert c["share_places_50"] < 0.2 and c["share_places_100"] < 0.9
    names = ws.hotspot_names(f)
    areas = ws.hotspot_areas(f)
    assert set(names) == set(areas["hotspot_id"].astype(str))
    assert all(place_name(p, "en") for p in names.values())
    top = ws.micro_places(areas.iloc[:1], f)
    assert 0 < len(top) <= 10 and top["n"].is_monotonic_decreasing


def _viewer(ws, role, zacs=()):
    return Viewer(ws.pinned(), Account(1, role, role, tuple(zacs)))


def test_aggregate_roles_get_classes_not_statistics(ws):
    planner = _viewer(ws, "planner").street_segments(None)
    assert "bin" in planner and "name" in planner  # the class and the street stay
    assert not {"z", "p", "n", "per_100m"} & set(planner.columns)  # no count, no statistic of counts
    police = _viewer(ws, "police").street_segments(None)
    assert "z" in police and (police["n"] < ws.k).any()


def test_zac_manager_sees_own_zac_segments(ws, demo_home_path):
    from geo_app.accounts import _demo_zac
    from geo_app.config import Home

    own = _viewer(ws, "zac_manager", [_demo_zac(Home(demo_home_path))]).street_segments(None)
    assert 0 < len(own) < 8011


def test_hotspot_pages_show_names_and_micro_places(app, ws):
    c = login(app, "coordinator")
    html = c.get("/hotspots?lang=en").get_data(as_text=True)
    assert "hotspot-name" in html and (", between " in html or "around " in html)
    hid = ws.hotspot_areas(ws.default_filters(None))["hotspot_id"].iloc[0]
    page = c.get(f"/hotspots/{hid}?lang=en").get_data(as_text=True)
    assert 'id="hotspot-name"' in page and 'id="hotspot-micro-places"' in page
