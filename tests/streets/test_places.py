"""Places followed: matching hotspot areas to places, action records, and the pages and API for
each role on a writable copy of the demo city."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import mapping

from layers.errors import InputError, ParameterError
from layers.places import ACTION_KINDS, CLARKE_TECHNIQUES, action_record, match_places, ring

PASSWORD = "demo-password"


def polys(ids, geoms, col, crs=2154):
    return gpd.GeoDataFrame({col: ids}, geometry=geoms, crs=crs)


def test_match_places_by_overlap():
    areas = polys(["HS-a", "HS-b", "HS-c"], [shapely.box(0, 0, 100, 100), shapely.box(500, 0, 600, 100),
                                            shapely.box(1000, 0, 1100, 100)], "hotspot_id")
    places = polys(["PL-0001", "PL-0002", "PL-0003"],
                   # inside HS-a (the smaller is fully covered); PL-0002 covers 40 % of HS-b;
                   # PL-0003 touches HS-b on 1 % of it only
                   [shapely.box(10, 10, 40, 40), shapely.box(560, 0, 660, 100), shapely.box(590, 90, 700, 200)],
                   "place_id")
    m = match_places(areas, places)
    assert m["place_id"].tolist() == ["PL-0001", "PL-0002", None]
    assert m["overlap"].tolist() == pytest.approx([1.0, 0.4, 0.0])
    assert m["places"].iloc[1] == ["PL-0002"]


def test_match_places_threshold_and_ranking():
    areas = polys(["HS-b"], [shapely.box(500, 0, 600, 100)], "hotspot_id")
    places = polys(["PL-0002", "PL-0003"], [shapely.box(560, 0, 660, 100), shapely.box(520, 0, 620, 100)], "place_id")
    m = match_places(areas, places, min_overlap=0.3)
    # overlaps 40 % and 80 %: the larger first
    assert m["place_id"].iloc[0] == "PL-0003" and m["places"].iloc[0] == ["PL-0003", "PL-0002"]
    assert match_places(areas, places.iloc[:0])["place_id"].iloc[0] is None
    with pytest.raises(InputError, match="EPSG:2154"):
        match_places(areas, places.set_crs(3857, allow_override=True))


def test_ring_and_techniques():
    r = ring(shapely.box(0, 0, 100, 100), 50)
    # four sides of 100 m x 50 m and the four rounded corners: 20,000 + pi 50^2 m^2
    assert r.area == pytest.approx(20000 + 3.14159 * 2500, rel=2e-3)
    assert not r.intersects(shapely.box(1, 1, 99, 99))
    assert len(CLARKE_TECHNIQUES) == 25
    assert {t for t, _ in ACTION_KINDS.values()} <= set(CLARKE_TECHNIQUES)


def test_action_record_defaults_and_checks():
    rec = action_record(kind="lighting", start_date="2025-03-01", situational={"theft", "damage"})
    assert rec["technique"] == "natural_surveillance" and rec["night_only"] is True
    assert rec["categories"] == ["damage", "theft"] and rec["status"] == "planned"
    assert action_record(kind="cctv", start_date="2025-03-01")["night_only"] is False
    with pytest.raises(ParameterError, match="kind"):
        action_record(kind="dragons", start_date="2025-01-01")
    with pytest.raises(ParameterError, match="end_date"):
        action_record(kind="cctv", start_date="2025-03-01", end_date="2025-01-01")
    with pytest.raises(ParameterError, match="cost"):
        action_record(kind="cctv", start_date="2025-03-01", cost="-3")


# -- web, per role --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def writable_home(demo_copy):
    return demo_copy


@pytest.fixture(scope="module")
def app(demo_app):
    return demo_app


def login(app, role):
    c = app.test_client()
    r = c.post("/login", data={"username": role, "password": PASSWORD})
    assert r.status_code == 302
    return c


@pytest.fixture(scope="module")
def first_hotspot(app):
    ws = app.extensions["vigie"]
    return str(ws.hotspot_areas(ws.default_filters(None))["hotspot_id"].iloc[0])


@pytest.mark.slow
def test_coordinator_follows_a_hotspot_and_records_an_action(app, first_hotspot):
    c = login(app, "coordinator")
    # an earlier review of the hotspot area is taken over by the place
    assert c.post(f"/review/{first_hotspot}/status", data={"status": "in_review", "owner": "Police municipale"}).status_code == 302
    r = c.post("/places", data={"source": "hotspot", "ref": first_hotspot})
    assert r.status_code == 302
    pid = r.headers["Location"].rsplit("/", 1)[-1]
    assert pid.startswith("PL-")
    place = c.get(f"/api/places/{pid}").get_json()
    assert place["properties"]["status"] == "in_review"
    assert place["properties"]["name"]  # named from the streets
    page = c.get(f"/places/{pid}?lang=en").get_data(as_text=True)
    assert 'id="place-title"' in page and "Police municipale" in page
    # the hotspot list of the places page knows the area belongs to the place
    lst = c.get("/places?lang=en").get_data(as_text=True)
    assert pid in lst and f"#{first_hotspot}" in lst
    assert f"Place followed {pid}" in c.get("/hotspots?lang=en").get_data(as_text=True)
    r = c.post(f"/api/places/{pid}/actions", json={"kind": "lighting", "start_date": "2025-03-01",
                                                      "partner": "Éclairage public", "cost": 12000})
    assert r.status_code == 201
    a = r.get_json()
    assert a["technique"] == "natural_surveillance" and a["night_only"] and a["categories"]
    assert [x["kind"] for x in c.get(f"/api/places/{pid}/actions").get_json()] == ["lighting"]
    assert c.post(f"/places/{pid}/comments", data={"body": "Lampes réparées"}).status_code == 302
    assert c.post(f"/places/{pid}/status", data={"status": "action_decided"}).status_code == 302
    assert c.get(f"/api/places/{pid}").get_json()["properties"]["status"] == "action_decided"
    # old hotspot reviews keep working
    assert c.get(f"/review/{first_hotspot}").status_code == 200


@pytest.mark.slow
def test_police_draws_a_place(app):
    c = login(app, "police")
    geom = mapping(shapely.box(3.8790, 43.6080, 3.8810, 43.6095))
    r = c.post("/api/places", json={"source": "drawn", "geometry": geom, "owner": "Police nationale"})
    assert r.status_code == 201
    f = r.get_json()
    assert f["properties"]["place_id"].startswith("PL-") and f["geometry"]["type"] == "Polygon"
    assert c.post("/api/places", json={"source": "drawn", "geometry": {"type": "Point", "coordinates": [3.88, 43.61]}}).status_code == 400
    assert c.post("/api/places", json={"source": "nowhere"}).status_code == 400


@pytest.mark.slow
def test_planner_reads_but_may_not_create(app):
    c = login(app, "planner")
    assert c.get("/places").status_code == 200
    assert c.get("/api/places").status_code == 200
    geom = mapping(shapely.box(3.8790, 43.6080, 3.8810, 43.6095))
    assert c.post("/api/places", json={"source": "drawn", "geometry": geom}).status_code == 403
    pid = c.get("/api/places").get_json()["features"][0]["properties"]["place_id"]
    assert c.post(f"/api/places/{pid}/actions", json={"kind": "cctv", "start_date": "2025-01-01"}).status_code == 403
    assert c.post(f"/places/{pid}/status", data={"status": "done"}).status_code == 403


@pytest.mark.slow
def test_zac_manager_only_in_own_zac(app, own_zac):
    name, poly = own_zac
    c = login(app, "zac_manager")
    inside = poly.representative_point().buffer(0.0003)
    r = c.post("/api/places", json={"source": "drawn", "geometry": mapping(inside)})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert name in r.get_json()["properties"]["zacs"]
    far = shapely.box(3.80, 43.64, 3.801, 43.641)
    assert c.post("/api/places", json={"source": "drawn", "geometry": mapping(far)}).status_code == 403
    # the list shows only places touching the manager's ZAC
    seen = c.get("/api/places").get_json()["features"]
    assert seen and all(name in f["properties"]["zacs"] for f in seen)
    coordinator = login(app, "coordinator").get("/api/places").get_json()["features"]
    other = [f["properties"]["place_id"] for f in coordinator if name not in f["properties"]["zacs"]]
    if other:
        assert c.get(f"/api/places/{other[0]}").status_code == 403


@pytest.mark.slow
def test_place_from_a_street_segment(app):
    c = login(app, "coordinator")
    r = c.post("/api/places", json={"source": "segment", "ref": 10})
    assert r.status_code == 201
    assert r.get_json()["properties"]["source"] == "segment"
    assert c.post("/api/places", json={"source": "segment", "ref": 10 ** 6}).status_code == 404


@pytest.mark.slow
def test_done_actions_are_evaluated(app):
    c = login(app, "coordinator")
    geom = mapping(shapely.box(3.8770, 43.6085, 3.8800, 43.6105))
    pid = c.post("/api/places", json={"source": "drawn", "geometry": geom}).get_json()["properties"]["place_id"]
    assert c.post(f"/api/places/{pid}/actions", json={"kind": "presence", "start_date": "2025-02-01",
                                                      "end_date": "2025-02-28", "status": "done"}).status_code == 201
    assert c.post(f"/api/places/{pid}/actions", json={"kind": "cctv", "start_date": "2025-09-01"}).status_code == 201
    acts = c.get(f"/api/places/{pid}/actions?lang=en").get_json()
    done, planned = acts
    ev = done["evaluation"]
    assert ev["status"] == "evaluated" and ev["days"] >= 90 and ev["verdict"] in ("down", "up", "no_effect")
    assert set(ev["counts"]) == {"treated", "ring", "control", "control_ring"}
    assert done["effect"].endswith(".") and "comparison area" in done["effect"]
    assert planned["evaluation"] is None and planned["effect"] == ""
    page = c.get(f"/places/{pid}?lang=en").get_data(as_text=True)
    assert "comparison area" in page
    # a planner sees the verdict, not the counts
    ev_planner = login(app, "planner").get(f"/api/places/{pid}/actions").get_json()[0]["evaluation"]
    assert ev_planner["verdict"] == ev["verdict"] and "counts" not in ev_planner and "wdd" not in ev_planner
