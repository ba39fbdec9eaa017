"""OGC API – Features Parts 1 and 2 through the Flask test client, with assertions mirroring
the OGC test suite (ets-ogcapi-features10: landing links, conformance, collection links,
``limit`` declared, ``self``/``alternate`` links, ``timeStamp``, ``numberMatched`` equal to
what the ``next`` links yield), and the role rules (a collection a role may not read is
absent and 404)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from ogc_helpers import ROLES

OAS = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
L93 = "http://www.opengis.net/def/crs/EPSG/0/2154"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


def _rels(doc):
    return {(link["rel"], link.get("type")) for link in doc["links"]}


def _path(href):
    parts = urlsplit(href)
    return parts.path + ("?" + parts.query if parts.query else "")


def test_landing_page_links(as_role):
    r = as_role("planner").get("/ogc")
    assert r.status_code == 200 and r.mimetype == "application/json"
    rels = _rels(r.json)
    assert ("service-desc", OAS) in rels
    assert ("self", "application/json") in rels and ("alternate", "text/html") in rels
    assert {"conformance", "data", "service-doc"} <= {rel for rel, _ in rels}
    for link in r.json["links"]:
        assert as_role("planner").get(_path(link["href"])).status_code == 200, link


def test_conformance_declares_the_classes(as_role):
    body = as_role("planner").get("/ogc/conformance").json
    for part in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                 "ogcapi-features-1/1.0/conf/oas30", "ogcapi-features-1/1.0/conf/html",
                 "ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/filter",
                 "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json"):
        assert any(c.endswith(part) for c in body["conformsTo"]), part


def test_openapi_document_declares_limit_and_paths(as_role):
    r = as_role("police").get("/ogc/api")
    assert r.status_code == 200 and r.headers["Content-Type"] == OAS
    doc = r.json
    assert doc["openapi"].startswith("3.0")
    items = doc["paths"]["/collections/{collectionId}/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    assert limit["in"] == "query" and limit["schema"]["type"] == "integer"
    assert limit["schema"]["minimum"] == 1 and limit["schema"]["default"] <= limit["schema"]["maximum"]
    for path in ("/", "/conformance", "/collections", "/collections/{collectionId}",
                 "/collections/{collectionId}/items/{featureId}", "/collections/{collectionId}/queryables"):
        assert path in doc["paths"], path


def test_collections_per_role(as_role):
    ids = {role: {c["id"] for c in as_role(role).get("/ogc/collections").json["collections"]} for role in ROLES}
    assert "incidents" in ids["police"] and "incidents" not in ids["planner"]
    assert "incidents_grid" in ids["planner"]
    assert {"hotspots", "proposals", "zac", "lights", "cameras"} <= ids["planner"]
    assert ids["police"] != ids["planner"]
    for role in ROLES:
        assert ids[role] == {c for c in ids["police"] | ids["planner"]
                             if as_role(role).get(f"/ogc/collections/{c}").status_code == 200}


@pytest.mark.parametrize("url", ["/ogc/collections/incidents", "/ogc/collections/incidents/items",
                                 "/ogc/collections/incidents/items/1", "/ogc/collections/incidents/queryables"])
def test_unreadable_collection_is_404_for_planner(as_role, url):
    r = as_role("planner").get(url)
    assert r.status_code == 404 and r.json["code"] == "NotFound"


def test_collection_document(as_role):
    doc = as_role("police").get("/ogc/collections/incidents").json
    assert doc["id"] == "incidents" and doc["itemType"] == "feature"
    rels = _rels(doc)
    assert ("items", "application/geo+json") in rels and ("self", "application/json") in rels
    assert ("alternate", "text/html") in rels and ("describedby", "application/schema+json") in rels
    assert {CRS84, EPSG4326, L93} <= set(doc["crs"]) and doc["storageCrs"] == CRS84
    minx, miny, maxx, maxy = doc["extent"]["spatial"]["bbox"][0]
    assert 3.8 < minx < maxx < 3.95 and 43.5 < miny < maxy < 43.7


def _walk(client, url):
    """Every page from ``url`` following typed next links: (features, pages)."""
    feats, pages = [], []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.json
        body = r.json
        pages.append(body)
        feats += body["features"]
        nxt = [link for link in body["links"] if link["rel"] == "next"]
        assert all(link["type"] == "application/geo+json" for link in nxt)
        url = _path(nxt[0]["href"]) if nxt else None
    return feats, pages


def test_paging_yields_number_matched(as_role, ogc_app):
    police = as_role("police")
    feats, pages = _walk(police, "/ogc/collections/incidents/items?limit=37")
    matched = pages[0]["numberMatched"]
    assert len(feats) == matched == len({f["id"] for f in feats})
    assert all(p["numberReturned"] == len(p["features"]) for p in pages)
    assert all(p["timeStamp"].endswith("Z") for p in pages)
    ids = [f["id"] for f in feats]
    assert ids == sorted(ids)
    # the police sees every stored incident, sensitive ones too
    assert matched == ogc_app.extensions["vigie"].pinned().counts()["incidents"]
    coord = _walk(as_role("coordinator"), "/ogc/collections/incidents/items?limit=100")[0]
    assert "domestic_violence" not in {f["properties"]["category"] for f in coord}
    assert len(coord) == matched - sum(f["properties"]["category"] == "domestic_violence" for f in feats)


def test_items_self_and_alternate_links(as_role):
    body = as_role("police").get("/ogc/collections/zac/items?limit=1").json
    rels = _rels(body)
    assert ("self", "application/geo+json") in rels and ("alternate", "text/html") in rels
    html = as_role("police").get("/ogc/collections/zac/items?f=html")
    assert html.status_code == 200 and "Alpha" in html.get_data(as_text=True)


def test_zac_manager_sees_own_zac_points(as_role):
    feats, _ = _walk(as_role("zac_manager"), "/ogc/collections/incidents/items?limit=500")
    from shapely.geometry import shape

    alpha = shape(as_role("police").get("/ogc/collections/zac/items?filter=name%3D%27Alpha%27").json["features"][0]["geometry"])
    assert feats and all(alpha.intersects(shape(f["geometry"])) for f in feats)


def test_bbox_and_crs(as_role):
    c = as_role("police")
    whole = c.get("/ogc/collections/incidents/items?limit=1").json["numberMatched"]
    # Alpha's box in Lambert-93 (bbox-crs) and in lon/lat
    r = c.get(f"/ogc/collections/incidents/items?bbox=770000,6279000,770500,6279500&bbox-crs={L93}&crs={L93}&limit=1000")
    assert r.status_code == 200 and r.headers["Content-Crs"] == f"<{L93}>"
    inside = r.json["numberMatched"]
    assert 0 < inside < whole
    for f in r.json["features"]:
        x, y = f["geometry"]["coordinates"]
        assert 770000 <= x <= 770500 and 6279000 <= y <= 6279500
    r4326 = c.get(f"/ogc/collections/incidents/items?crs={EPSG4326}&limit=1").json["features"][0]
    r84 = c.get("/ogc/collections/incidents/items?limit=1")
    assert r84.headers["Content-Crs"] == f"<{CRS84}>"
    lon, lat = r84.json["features"][0]["geometry"]["coordinates"]
    assert r4326["geometry"]["coordinates"] == [lat, lon]  # EPSG:4326 is latitude first


def test_datetime(as_role):
    c = as_role("police")
    whole = c.get("/ogc/collections/incidents/items?limit=1").json["numberMatched"]
    a = c.get("/ogc/collections/incidents/items?datetime=../2024-03-31T23:59:59Z&limit=1").json["numberMatched"]
    b = c.get("/ogc/collections/incidents/items?datetime=2024-04-01T00:00:00Z/..&limit=1").json["numberMatched"]
    assert 0 < a < whole and a + b == whole


@pytest.mark.parametrize("filt,lang", [
    ("category = 'theft'", None),
    ('{"op": "=", "args": [{"property": "category"}, "theft"]}', "cql2-json"),
])
def test_filter_text_and_json(as_role, filt, lang):
    c = as_role("police")
    q = {"filter": filt, "limit": 1000}
    if lang:
        q["filter-lang"] = lang
    r = c.client.get("/ogc/collections/incidents/items", query_string=q, headers=c.headers)
    assert r.status_code == 200, r.json
    every = _walk(c, "/ogc/collections/incidents/items?limit=1000")[0]
    assert r.json["numberMatched"] == sum(f["properties"]["category"] == "theft" for f in every) >= 70
    assert {f["properties"]["category"] for f in r.json["features"]} == {"theft"}


def test_spatial_and_combined_filters(as_role):
    c = as_role("police")
    poly = "POLYGON((3.86 43.60, 3.875 43.60, 3.875 43.615, 3.86 43.615, 3.86 43.60))"
    q = {"filter": f"S_INTERSECTS(geometry, {poly}) AND category IN ('theft', 'burglary') AND NOT "
                   "description LIKE 'x%'", "limit": 1000}
    r = c.client.get("/ogc/collections/incidents/items", query_string=q, headers=c.headers)
    assert r.status_code == 200, r.json
    from shapely import wkt
    from shapely.geometry import shape

    p = wkt.loads(poly)
    assert r.json["features"]
    assert all(p.intersects(shape(f["geometry"])) and f["properties"]["category"] in ("theft", "burglary")
               for f in r.json["features"])


def test_sortby_pages(as_role):
    c = as_role("police")
    feats, pages = _walk(c, "/ogc/collections/incidents/items?limit=50&sortby=-occurred_from")
    times = [f["properties"]["occurred_from"] for f in feats]
    assert times == sorted(times, reverse=True) and len(feats) == pages[0]["numberMatched"]


def test_property_query_parameter(as_role):
    body = as_role("police").get("/ogc/collections/zac/items?name=Beta").json
    assert [f["properties"]["name"] for f in body["features"]] == ["Beta"]


@pytest.mark.parametrize("query,param", [
    ("limit=0", "limit"), ("limit=x", "limit"), ("limit=100000", "limit"),
    ("bbox=1,2,3", "bbox"), ("bbox=a,b,c,d", "bbox"), ("bbox=1,50,2,40", "bbox"),
    ("bbox-crs=EPSG:9999&bbox=1,2,3,4", "bbox-crs"), ("crs=urn:nope", "crs"),
    ("datetime=yesterday", "datetime"), ("datetime=2024-05-01/2024-01-01", "datetime"),
    ("filter=category%20%3D%3D%3D", "filter"), ("filter=nosuchprop%20%3D%201", "filter"),
    ("filter=T_AFTER(occurred_from,%20TIMESTAMP('2024-01-01T00:00:00Z'))", "filter"),
    ("filter-lang=sql&filter=a", "filter-lang"), ("filter={bad&filter-lang=cql2-json", "filter"),
    ("sortby=nosuch", "sortby"), ("cursor=%%%", "cursor"), ("cursor=eyJhIjpbMV19", "cursor"),
    ("f=xml", "f"), ("unknown=1", "unknown"),
])
def test_bad_input_is_400_naming_the_parameter(as_role, query, param):
    r = as_role("police").get(f"/ogc/collections/incidents/items?{query}")
    assert r.status_code == 400, (query, r.status_code, r.data[:200])
    assert r.json["param"] == param and r.json["description"]


def test_feature_by_id(as_role):
    c = as_role("police")
    first = c.get("/ogc/collections/incidents/items?limit=1").json["features"][0]
    r = c.get(f"/ogc/collections/incidents/items/{first['id']}")
    assert r.status_code == 200 and r.json["id"] == first["id"]
    assert {link["rel"] for link in r.json["links"]} >= {"self", "alternate", "collection"}
    assert c.get("/ogc/collections/incidents/items/999999").status_code == 404
    hs = c.get("/ogc/collections/hotspots/items?limit=1").json["features"][0]
    assert c.get(f"/ogc/collections/hotspots/items/{hs['id']}").json["id"] == hs["id"]


def test_coordinator_cannot_fetch_a_sensitive_incident_by_id(as_role):
    police = as_role("police")
    dv = police.get("/ogc/collections/incidents/items?category=domestic_violence&limit=1").json["features"][0]
    assert as_role("coordinator").get(f"/ogc/collections/incidents/items/{dv['id']}").status_code == 404


def test_planner_grid_has_no_small_counts(as_role, ogc_app):
    k = ogc_app.extensions["vigie"].pinned().k
    feats, pages = _walk(as_role("planner"), "/ogc/collections/incidents_grid/items?limit=1000")
    assert feats and all(f["properties"]["n"] >= k for f in feats)


def test_queryables(as_role):
    q = as_role("police").get("/ogc/collections/incidents/queryables")
    assert q.status_code == 200 and q.mimetype == "application/schema+json"
    props = q.json["properties"]
    assert props["category"]["type"] == "string" and props["occurred_from"]["format"] == "date-time"
    assert props["geometry"]["format"] == "geometry-point"


def test_point_reads_are_audited(as_role, ogc_app):
    from geo_app.auth import get_db

    with ogc_app.app_context():
        before = len(get_db(ogc_app).audit_log(action="view_points", user="police", limit=10000))
    as_role("police").get("/ogc/collections/incidents/items?limit=3")
    with ogc_app.app_context():
        log = get_db(ogc_app).audit_log(action="view_points", user="police", limit=10000)
    assert len(log) == before + 1 and log[0]["detail"]["n"] == 3


def test_ogc_core_knows_no_flask():
    """``geo_app.ogc`` runs without Flask (the web shell is ``geo_app.views.ogc``)."""
    import ast
    from pathlib import Path

    import geo_app.ogc as pkg

    for path in Path(pkg.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in names if m.split(".")[0] == "flask"}, path.name


def test_places_and_actions_collections_follow_the_place_rules(as_role, ogc_app, ogc_city):
    """Places followed and their actions are collections; a ZAC manager reads those of their
    ZAC only, as on the places pages."""
    db = ogc_app.extensions["vigie_db"]
    square = {"type": "Polygon", "coordinates": [[[3.87, 43.60], [3.871, 43.60], [3.871, 43.601], [3.87, 43.60]]]}
    a = db.add_place(name="OGC place Alpha", geometry=square, source="drawn", created_by="coordinator",
                     zacs=("Alpha",))
    b = db.add_place(name="OGC place Beta", geometry=square, source="drawn", created_by="coordinator",
                     zacs=("Beta",))
    act = db.add_action(a["place_id"], kind="lighting", technique="improve_surveillance",
                        start_date="2024-03-01", created_by="coordinator")

    def ids(role, cid, key):
        body = as_role(role).get(f"/ogc/collections/{cid}/items?limit=1000").json
        return {f["properties"][key] for f in body["features"]}

    assert {a["place_id"], b["place_id"]} <= ids("coordinator", "places", "place_id")
    mine = ids("zac_manager", "places", "place_id")
    assert a["place_id"] in mine and b["place_id"] not in mine
    assert act["id"] in ids("coordinator", "actions", "id") and act["id"] in ids("zac_manager", "actions", "id")
    item = as_role("coordinator").get(f"/ogc/collections/places/items/{a['place_id']}")
    assert item.status_code == 200 and item.json["geometry"]["type"] == "Polygon"
    assert as_role("zac_manager").get(f"/ogc/collections/places/items/{b['place_id']}").status_code == 404
