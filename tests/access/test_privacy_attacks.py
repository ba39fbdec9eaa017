"""The known inference attacks on aggregates, tried as an attacker would: each must fail.

The medium city (``access_city.medium_incidents``) is served by the web app; the police (who see
every point) give the ground truth, and a planner (aggregates only) or a coordinator asking for a
sensitive category (aggregates only for them) tries to recover counts under k or positions:

- rebuilding hidden counts from Gi* z (a linear function of the neighbourhood sums);
- bisection: shrinking a bbox or a time window around one incident until a count of 1 shows;
- differencing two bboxes that differ by 1e-6 degree.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
from access_city import medium_city
from pyproj import Transformer

K = 5
PASSWORD = "correct-horse-battery"
CELL = 250.0
CLASS_KEYS = {"cell_id", "col", "row", "bin", "quadrant", "cluster", "kde_class"}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return medium_city(tmp_path_factory.mktemp("attack-city") / "home", k=K, password=PASSWORD)


@pytest.fixture(scope="module")
def app(city):
    from geo_app import create_app

    return create_app({"TESTING": True, "HOME": str(city.path), "SECRET_KEY": "test",
                       "WTF_CSRF_ENABLED": False, "TILE_URL": "https://{s}.tile.example.org/{z}/{x}/{y}.png"})


def login(app, role):
    c = app.test_client()
    r = c.post("/login", data={"username": role, "password": PASSWORD})
    assert r.status_code == 302, r.data[:200]
    return c


@pytest.fixture(scope="module")
def truth(app):
    """Every incident as the police see it: lon, lat, category."""
    feats = login(app, "police").get("/api/layers/incidents?limit=10000").json["features"]
    return [(f["geometry"]["coordinates"][0], f["geometry"]["coordinates"][1],
             f["properties"]["category"], f["properties"]["occurred_from"]) for f in feats]


def _counts(features):
    return [f["properties"].get("n") for f in features]


def _no_small(features):
    return all(n is None or n >= K for n in _counts(features))


# ---------------------------------------------------------------------------------- (a) z


@pytest.mark.parametrize("role, query", [("planner", ""), ("coordinator", "&category=domestic_violence"),
                                         ("zac_manager", "")])
def test_gistar_gives_classes_only_so_no_linear_system_can_be_solved(app, role, query):
    c = login(app, role)
    body = c.get(f"/api/hotspots?method=gistar{query}").json
    feats = body["features"]
    assert feats
    keys = set().union(*(f["properties"] for f in feats))
    assert keys <= CLASS_KEYS, keys - CLASS_KEYS  # no z, p, p_adj, n
    # the answer for a cell is a function of its class alone: nothing left to solve a system with
    by_bin = {}
    for f in feats:
        props = {k: v for k, v in f["properties"].items() if k not in ("cell_id", "col", "row")}
        by_bin.setdefault(f["properties"]["bin"], set()).add(tuple(sorted(props.items())))
    assert all(len(v) == 1 for v in by_bin.values())
    assert "n_incidents" not in body["parameters"].get("vigie", {})


def test_the_z_attack_works_on_what_the_police_see_and_not_on_what_the_planner_sees(app):
    # the attack of the issue, run where it is allowed: z and the visible counts give the hidden ones
    police = login(app, "police").get("/api/hotspots?method=gistar").json["features"]
    assert all("z" in f["properties"] for f in police)
    planner = login(app, "planner").get("/api/hotspots?method=gistar").json["features"]
    assert not any("z" in f["properties"] or "p" in f["properties"] for f in planner)


@pytest.mark.parametrize("method, extra", [("kde", {"kde_class"}), ("lisa", set())])
def test_kde_and_lisa_are_classes_for_aggregate_roles(app, method, extra):
    feats = login(app, "planner").get(f"/api/hotspots?method={method}").json["features"]
    keys = set().union(*(f["properties"] for f in feats))
    assert keys <= CLASS_KEYS and extra <= keys and not {"kde", "I", "p", "n"} & keys
    if method == "kde":
        assert {f["properties"]["kde_class"] for f in feats} <= set(range(6))


def test_aggregate_roles_cannot_pick_another_grid_or_exact_cell_counts(app):
    c = login(app, "planner")
    r = c.get("/api/hotspots?method=gistar&cell_size=60")
    assert r.status_code == 400 and r.json["param"] == "cell_size"
    r = c.get("/api/hotspots?method=counts")
    assert r.status_code == 400 and r.json["param"] == "method"
    # the police still choose their grid
    assert login(app, "police").get("/api/hotspots?method=counts&cell_size=100").status_code == 200


# --------------------------------------------------------------------------- (b) bisection


def _isolated(truth, category=None):
    """An incident with no other within 300 m (a count of 1 in any cell around it)."""
    pts = [(x, y) for x, y, c, _t in truth if category is None or c == category]
    to_m = Transformer.from_crs(4326, 2154, always_xy=True)
    allx, ally = to_m.transform([p[0] for p in truth], [p[1] for p in truth])
    for lon, lat in pts:
        x, y = to_m.transform(lon, lat)
        d = np.hypot(np.asarray(allx) - x, np.asarray(ally) - y)
        if (d < 300).sum() == 1:
            return lon, lat
    pytest.skip("no isolated incident in the fixture")


@pytest.mark.parametrize("role, category", [("planner", None), ("coordinator", "domestic_violence")])
def test_bisection_of_the_bbox_never_isolates_an_incident(app, truth, role, category):
    c = login(app, role)
    if category is None:
        lon, lat = _isolated(truth)
    else:  # the domestic violence incidents sit in the Alpha cluster: bisect around one of them
        lon, lat = next((x, y) for x, y, cat, _t in truth if cat == category)
    q = f"&category={category}" if category else ""
    half = 0.02
    answers = []
    for _ in range(28):
        box = (lon - half, lat - half, lon + half, lat + half)
        body = c.get(f"/api/layers/incidents/grid?cells=200&bbox={','.join(map(str, box))}{q}").json
        assert _no_small(body["features"])
        assert body["total"] == 0 or body["total"] >= K
        assert "n_incidents" not in str(body)
        answers.append(body)
        half /= 2
    # below one lattice cell the answer stops changing: no finer position can be read
    last = [(f["properties"]["cell_id"], f["properties"]["n"]) for f in answers[-1]["features"]]
    assert all([(f["properties"]["cell_id"], f["properties"]["n"]) for f in a["features"]] == last
               for a in answers[-15:])
    assert len(last) <= 1  # at most the one whole lattice cell holding the point


def test_lattice_cells_are_fixed_whatever_bbox_and_cells_ask(app):
    c = login(app, "planner")
    a = c.get("/api/layers/incidents/grid?cells=10").json
    b = c.get("/api/layers/incidents/grid?cells=200&bbox=3.84,43.62,3.90,43.66").json
    assert a["cell_m"] == b["cell_m"] == CELL
    ga = {f["properties"]["cell_id"]: f["properties"]["n"] for f in a["features"]}
    gb = {f["properties"]["cell_id"]: f["properties"]["n"] for f in b["features"]}
    assert gb and all(ga[cid] == n for cid, n in gb.items())
    # a cell is a square of the lattice anchored at Lambert-93's origin
    to_m = Transformer.from_crs(4326, 2154, always_xy=True)
    ring = np.array(b["features"][0]["geometry"]["coordinates"][0])
    x, y = to_m.transform(ring[:, 0], ring[:, 1])
    assert np.allclose(np.asarray(x) / CELL, np.round(np.asarray(x) / CELL), atol=1e-3)
    assert np.allclose(np.asarray(y) / CELL, np.round(np.asarray(y) / CELL), atol=1e-3)


def test_time_windows_are_whole_days_for_aggregate_roles(app, truth):
    c = login(app, "planner")
    t = truth[0][3][:10]
    whole = c.get(f"/api/layers/incidents/grid?from={t}&to={t}").json
    for h0, h1 in (("00:00", "01:00"), ("10:00", "10:01"), ("23:59", "23:59:30")):
        part = c.get(f"/api/layers/incidents/grid?from={t}T{h0}&to={t}T{h1}").json
        assert part == whole


def test_key_figures_and_metadata_show_no_count_under_k(app, city):
    from geo_app.access import Viewer
    from geo_app.workspace import Workspace
    from layers.filters import Filters

    ws = Workspace(city)
    tiny = Filters(categories=("domestic_violence",))
    coord = Viewer(ws, SimpleNamespace(role="coordinator", zacs=(), name="c"))
    police = Viewer(ws, SimpleNamespace(role="police", zacs=(), name="p"))
    # few enough over 90 days to be under k for some windows: each figure is >= k or None
    for days in (1, 3, 7, 30, 90):
        end = ws.key_figures(None).end
        f = tiny.replace(start=end - np.timedelta64(days, "D"), end=end)
        kf, truth_kf = coord.key_figures(f), police.key_figures(f)
        for got, real in ((kf.total, truth_kf.total), (kf.previous, truth_kf.previous)):
            assert got is None or got >= K
            assert got == (real if real is not None and real >= K else None)
    for url in ("/api/hotspots?method=gistar", "/api/hotspots/areas", "/api/hotspots?method=kde"):
        body = login(app, "planner").get(url).json
        assert "n_incidents" not in body["parameters"].get("vigie", {}), url


# ----------------------------------------------------------------------- (c) differencing


def test_two_bboxes_differing_by_a_micro_degree_give_the_same_answer(app):
    c = login(app, "planner")
    rng = np.random.default_rng(3)
    for _ in range(12):
        x0, y0 = rng.uniform(3.84, 3.88), rng.uniform(43.61, 43.64)
        w, h = (float(v) for v in rng.uniform(0.002, 0.03, size=2))
        x0, y0 = float(x0), float(y0)
        for eps in ((1e-6, 0, 0, 0), (0, 0, -1e-6, 0), (0, 1e-6, 0, -1e-6)):
            a = (x0, y0, x0 + w, y0 + h)
            b = tuple(v + e for v, e in zip(a, eps))
            ra = c.get(f"/api/layers/incidents/grid?cells=200&bbox={','.join(map(repr, a))}").json
            rb = c.get(f"/api/layers/incidents/grid?cells=200&bbox={','.join(map(repr, b))}").json
            assert "total" in ra, ra
            assert ra["total"] == rb["total"] and ra["features"] == rb["features"]
            assert _no_small(ra["features"])


# ------------------------------------------------------------------ hotspot areas and list


def test_hotspot_areas_list_and_page_show_no_count_under_k(app):
    c = login(app, "planner")
    areas = c.get("/api/hotspots/areas").json["features"]
    assert areas and _no_small(areas)
    assert not any("z_max" in f["properties"] or "categories" in f["properties"] for f in areas)
    assert c.get("/hotspots").status_code == 200
    page = c.get(f"/hotspots/{areas[0]['properties']['hotspot_id']}")
    assert page.status_code == 200
    import json
    import re

    html = page.get_data(as_text=True)
    data = json.loads(re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert all(v is None or v >= K for v in data["monthly"]["values"])
    rows = (data["profile"] or {}).get("rows") or []
    assert all(v is None or v >= K for row in rows for v in row)


def test_police_keep_exact_cells(app):
    body = login(app, "police").get("/api/layers/incidents/grid?cells=80").json
    assert min(f["properties"]["n"] for f in body["features"]) < K
    assert "z" in login(app, "police").get("/api/hotspots?method=gistar").json["features"][0]["properties"]


# ------------------------------------------------------------------ resources before the work


def test_a_fine_cell_size_is_refused_by_the_cell_cap_of_the_study_area(city):
    from geo_app import create_app

    app = create_app({"TESTING": True, "HOME": str(city.path), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                      "ANALYSIS_MAX_CELLS": 2000})
    c = login(app, "police")
    r = c.get("/api/hotspots?method=counts&cell_size=10")
    assert r.status_code == 400 and r.json["param"] == "cell_size"
    assert "at least" in r.json["message"] and "2,000 cells" in r.json["message"]
    least = app.extensions["vigie"].min_cell_size()
    assert c.get(f"/api/hotspots?method=counts&cell_size={int(least) + 1}").status_code == 200


@pytest.mark.parametrize("role", ["police", "planner"])
@pytest.mark.parametrize("bbox", ["3.86,43.60,3.860001,43.64", "3.80,43.62,3.95,43.620001",
                                  "3.86,43.62,3.86,43.62", "-180,-85,180,85"])
def test_a_narrow_bbox_with_200_cells_never_allocates_a_huge_array(app, role, bbox):
    r = login(app, role).get(f"/api/layers/incidents/grid?cells=200&bbox={bbox}")
    assert r.status_code in (200, 400), r.data[:300]
    if r.status_code == 200 and role == "police":
        assert len(r.json["features"]) <= 201 * 201


def test_a_full_queue_of_heavy_analyses_answers_503_with_retry_after(city):
    from geo_app import create_app

    app = create_app({"TESTING": True, "HOME": str(city.path), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                      "HEAVY_ANALYSES": 1, "HEAVY_WAIT_SECONDS": 1})
    ws = app.extensions["vigie"]
    sem = ws.__dict__["_heavy"][0]
    c = login(app, "police")
    assert sem.acquire(timeout=1)  # another request is computing
    try:
        r = c.get("/api/hotspots?method=kde&cell_size=123")
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
        assert "try again" in r.json["message"]
    finally:
        sem.release()
    assert c.get("/api/hotspots?method=kde&cell_size=123").status_code == 200
    # cached answers need no turn
    assert sem.acquire(timeout=1)
    try:
        assert c.get("/api/hotspots?method=kde&cell_size=123").status_code == 200
    finally:
        sem.release()


# ------------------------------------------------- hotspot areas: night share and trend as classes

AREA_STATISTICS = {"z_max", "categories", "trend_z", "trend_p", "night_share"}


def _night_class(share):
    """The class by hand: under 1/3 of the incidents at night is day, over 2/3 night."""
    if share is None:
        return None
    return "day" if share < 1 / 3 else ("night" if share >= 2 / 3 else "mixed")


def test_the_night_share_attack_works_on_what_the_police_see(app):
    """With an area's count n and its exact night share, share × n is its night count, an
    integer: the ratio of two counts gives both back (and, differenced over two category
    sets, the night count of one category)."""
    areas = login(app, "police").get("/api/hotspots/areas").json["features"]
    known = [f["properties"] for f in areas if f["properties"].get("night_share") is not None]
    assert known
    for p in known:
        night = p["night_share"] * p["n"]
        assert abs(night - round(night)) < 1e-3  # the API rounds the share to 1e-6


@pytest.mark.parametrize("role, query", [("planner", ""), ("coordinator", "?category=domestic_violence"),
                                         ("zac_manager", "")])
def test_hotspot_areas_give_the_night_share_and_the_trend_as_classes_only(app, role, query):
    police = {f["properties"]["hotspot_id"]: f["properties"]
              for f in login(app, "police").get(f"/api/hotspots/areas{query}").json["features"]}
    c = login(app, role)
    areas = c.get(f"/api/hotspots/areas{query}").json["features"]
    assert areas
    for f in areas:
        p = f["properties"]
        assert not AREA_STATISTICS & set(p), sorted(AREA_STATISTICS & set(p))
        truth = police[p["hotspot_id"]]
        assert p["night_class"] == _night_class(truth["night_share"])  # the class of the police's share
        assert p.get("trend") == truth.get("trend")  # up / stable / down stays
    html = c.get(f"/hotspots{query}").get_data(as_text=True)
    assert "z = " not in html and "p = " not in html
    night_cells = re.findall(r'<td class="hotspot-night">(.*?)</td>', html)
    assert night_cells and not any("%" in cell for cell in night_cells)
    assert {"surtout la nuit", "jour et nuit", "surtout le jour"} & set(night_cells)
    page = c.get(f"/hotspots/{areas[0]['properties']['hotspot_id']}{query}").get_data(as_text=True)
    assert "part de nuit" not in page


def test_the_police_keep_the_exact_night_share_and_trend_statistic(app):
    areas = login(app, "police").get("/api/hotspots/areas").json["features"]
    assert all({"night_share", "trend_z", "trend_p"} <= set(f["properties"]) for f in areas)
    html = login(app, "police").get("/hotspots").get_data(as_text=True)
    assert "z = " in html and "%" in "".join(re.findall(r'<td class="hotspot-night">(.*?)</td>', html))


def test_the_exported_hotspot_areas_of_an_aggregate_role_hold_classes_only(app, tmp_path):
    import geopandas as gpd

    r = login(app, "planner").get("/exports/download?layer=hotspots&format=gpkg")
    assert r.status_code == 200, r.data[:300]
    path = tmp_path / "hotspots.gpkg"
    path.write_bytes(r.data)
    gdf = gpd.read_file(path, layer="hotspots")
    assert len(gdf) and not AREA_STATISTICS & set(gdf.columns)
    assert set(gdf["night_class"].dropna()) <= {"day", "mixed", "night"}


@pytest.mark.parametrize("sort, order", [("night_share", ["surtout le jour", "jour et nuit", "surtout la nuit"]),
                                         ("trend", ["↘", "→", "↗"])])
def test_the_hotspot_list_of_an_aggregate_role_sorts_by_the_classes(app, sort, order):
    html = login(app, "planner").get(f"/hotspots?sort={sort}&order=asc").get_data(as_text=True)
    col = "hotspot-night" if sort == "night_share" else "hotspot-trend"
    cells = re.findall(rf'<td class="{col}"[^>]*>(.*?)</td>', html, re.S)
    assert cells
    ranks = [next((i for i, word in enumerate(order) if word in cell), None) for cell in cells]
    known = [r for r in ranks if r is not None]
    assert known == sorted(known) and ranks[len(known):] == [None] * (len(ranks) - len(known))
