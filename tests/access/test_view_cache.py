"""Serialized answers cached per store version (the dashboard's map, the hotspot API) are kept
per account *rights* (role and ZACs): a role never receives what was built for another, and a
review status set after the first visit shows at the next one.

The medium city of the attack tests (``access_city``) with k = 5: the police see exact cell
counts (some under k), a planner the lattice counts (none under k).
"""

from __future__ import annotations

import re

import pytest
from access_city import medium_city

K = 5
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return medium_city(tmp_path_factory.mktemp("cache-city") / "home", k=K, password=PASSWORD)


def _app(city):
    from geo_app import create_app

    return create_app({"TESTING": True, "HOME": str(city.path), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False})


def login(app, role):
    c = app.test_client()
    r = c.post("/login", data={"username": role, "password": PASSWORD})
    assert r.status_code == 302, r.data[:200]
    return c


def _grid_counts(html: str) -> list[int]:
    """The counts of the dashboard's incident grid (popups ``<b>N faits</b>``, escaped in the
    script's JSON)."""
    return [int(n) for n in re.findall(r"\\u003cb\\u003e(\d+) faits\\u003c/b\\u003e", html)]


def test_the_dashboard_built_for_the_police_is_never_served_to_a_planner(city):
    app = _app(city)
    police = login(app, "police").get("/").get_data(as_text=True)
    assert min(_grid_counts(police)) < K  # exact counts, some under k: cached now for the police
    planner = login(app, "planner").get("/").get_data(as_text=True)
    counts = _grid_counts(planner)
    assert counts and min(counts) >= K
    points = '"/api/layers/incidents"'  # the dynamic layer of incident points
    assert points in police and points not in planner
    # the planner's page is the one a server that never saw the police would build
    fresh = login(_app(city), "planner").get("/").get_data(as_text=True)
    assert sorted(_grid_counts(fresh)) == sorted(counts)
    assert "Gi* z" in police and "Gi* z" not in planner and "Gi* z" not in fresh


def test_a_second_account_of_the_same_rights_gets_the_cached_map(city):
    app = _app(city)
    ws = app.extensions["vigie"]
    first = login(app, "coordinator").get("/")
    keys = {k for k in ws._caches.results.keys() if k[1] == "viewer:dashboard_map"}
    again = login(app, "coordinator").get("/")
    assert {k for k in ws._caches.results.keys() if k[1] == "viewer:dashboard_map"} == keys and len(keys) == 1
    assert _grid_counts(first.get_data(as_text=True)) == _grid_counts(again.get_data(as_text=True))
    login(app, "planner").get("/")
    assert len({k for k in ws._caches.results.keys() if k[1] == "viewer:dashboard_map"}) == 2


def test_the_gistar_api_cached_for_the_police_gives_a_planner_classes_only(city):
    app = _app(city)
    police = login(app, "police").get("/api/hotspots?method=gistar").json["features"]
    assert "z" in police[0]["properties"]
    planner = login(app, "planner").get("/api/hotspots?method=gistar").json["features"]
    assert planner and not any({"z", "p", "n"} & set(f["properties"]) for f in planner)


def test_a_review_status_set_after_the_first_visit_shows_on_the_cached_dashboard(city):
    app = _app(city)
    c = login(app, "coordinator")
    assert "en examen" not in c.get("/").get_data(as_text=True)
    first = c.get("/api/hotspots/areas").json["features"][0]["properties"]["hotspot_id"]
    r = c.post(f"/review/{first}/status", data={"status": "in_review", "owner": "Police municipale"})
    assert r.status_code in (200, 302, 303)
    assert "en examen" in c.get("/").get_data(as_text=True)


def test_the_hotspot_page_map_is_cached_per_rights(city, monkeypatch):
    """A hotspot page's map is built once per rights and filters: a second coordinator gets
    it without a build, a planner gets their own, equal to what a fresh server builds."""
    import geo_app.views.hotspots as views

    builds = []
    real = views.build_map
    monkeypatch.setattr(views, "build_map", lambda *a, **kw: builds.append(1) or real(*a, **kw))
    app = _app(city)
    first = login(app, "coordinator").get("/api/hotspots/areas").json["features"][0]["properties"]["hotspot_id"]
    police = login(app, "police").get(f"/hotspots/{first}")
    assert police.status_code == 200 and len(builds) == 1
    login(app, "police").get(f"/hotspots/{first}")
    assert len(builds) == 1  # the same rights: served from the cache
    answer = login(app, "planner").get(f"/hotspots/{first}")
    assert answer.status_code == 200 and len(builds) == 2
    planner = answer.get_data(as_text=True)
    points = '"/api/layers/incidents"'  # the dynamic layer of incident points
    assert points in police.get_data(as_text=True) and points not in planner
    fresh = login(_app(city), "planner").get(f"/hotspots/{first}").get_data(as_text=True)
    assert (points in fresh) == (points in planner) and len(fresh) == len(planner)
