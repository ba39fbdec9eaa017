"""Intersections as micro-places: which nodes are intersections, how an incident is counted
once (at an intersection within the radius, else at its segment), their names, and the top
micro-places of the demo city's hotspot areas per role.

Hand-built networks with counts worked out by hand, and the real Montpellier centre sample of
tests/data/addresses/mtp_voies_centre.zip (see tests/data/README.md).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo_app.i18n import french_article, french_de, place_name
from layers.errors import ParameterError
from layers.naming import intersection_name
from layers.settings import Settings
from layers.streets import INTERSECTION_RADIUS_M, intersections, micro_counts_xy

DATA = Path(__file__).resolve().parents[1] / "data"
PASSWORD = "demo-password"


@pytest.fixture
def tee():
    # A runs along y=0 in two segments; B leaves it at (100, 0) northwards (a T: 3 ends);
    # C continues A at (200, 0) (a street changing name: 2 ends, 2 streets);
    # D is one street in two segments meeting at (100, 500): not an intersection
    coords = [[(0, 0), (100, 0)], [(100, 0), (200, 0)], [(100, 0), (100, 100)], [(200, 0), (300, 0)],
              [(0, 500), (100, 500)], [(100, 500), (200, 500)]]
    return gpd.GeoDataFrame({"name": ["A", "A", "B", "C", "D", "D"]},
                            geometry=[shapely.LineString(c) for c in coords], crs=2154)


def test_intersections_by_hand(tee):
    x = intersections(tee)
    assert [tuple(p.coords[0]) for p in x.geometry] == [(100.0, 0.0), (200.0, 0.0)]
    assert x["degree"].tolist() == [3, 2]
    # A (200 m) is longer than B and C (100 m each): named first
    assert x["streets"].tolist() == [["A", "B"], ["A", "C"]]
    assert x["segments"].tolist() == [[0, 1, 2], [1, 3]]
    assert x.crs.equals(tee.crs)


def test_a_fork_of_one_street_is_an_intersection():
    fork = gpd.GeoDataFrame({"name": ["A", "A", "A"]}, geometry=[
        shapely.LineString([(0, 0), (50, 0)]), shapely.LineString([(50, 0), (100, 30)]),
        shapely.LineString([(50, 0), (100, -30)])], crs=2154)
    x = intersections(fork)
    assert len(x) == 1 and x["degree"].iloc[0] == 3 and x["streets"].iloc[0] == ["A"]
    assert place_name(intersection_name(x["streets"].iloc[0]), "en") == "A (fork)"


def test_each_incident_counted_once_by_hand(tee):
    nodes = intersections(tee)
    xy = np.array([
        (105, 5),    # 7.1 m from the T at (100, 0): the intersection A/B
        (50, 5),     # 50 m from any intersection: segment 0 (A)
        (100, 14),   # 14 m from the T: the intersection
        (100, 16),   # 16 m from the T: segment 2 (B), 0 m away
        (195, -3),   # 5.8 m from (200, 0): the intersection A/C
        (100, 503),  # 3 m from D's middle node, not an intersection: D1 and D2 tie, the first wins
        (50, 300),   # 50 m from B, 200 m from D: off-network
    ], dtype=float)
    seg_n, node_n, meta = micro_counts_xy(xy[:, 0], xy[:, 1], tee, nodes)
    assert seg_n.tolist() == [1, 0, 1, 0, 1, 0]
    assert node_n.tolist() == [2, 1]
    assert meta == {"n_incidents": 7, "n_segments": 3, "n_intersections": 3, "n_off_network": 1,
                    "tolerance_m": 30.0, "radius_m": INTERSECTION_RADIUS_M}
    # a 20 m radius also takes (100, 16); radius 0: every incident at a segment
    _, node20, _ = micro_counts_xy(xy[:, 0], xy[:, 1], tee, nodes, radius_m=20)
    assert node20.tolist() == [3, 1]
    seg0, node0, meta0 = micro_counts_xy(xy[:, 0], xy[:, 1], tee, nodes, radius_m=0)
    assert node0.tolist() == [0, 0] and seg0.sum() == 6 and meta0["n_off_network"] == 1
    # weights: one per incident
    w = np.arange(1, 8, dtype=float)
    seg_w, node_w, _ = micro_counts_xy(xy[:, 0], xy[:, 1], tee, nodes, weights=w)
    assert node_w.tolist() == [1 + 3, 5] and seg_w.tolist() == [2, 0, 4, 0, 6, 0]


def test_bad_radius_and_settings_name_the_field(tee):
    nodes = intersections(tee)
    for bad in (-1, float("nan"), "15", True):
        with pytest.raises(ParameterError, match="radius_m"):
            micro_counts_xy([0.0], [0.0], tee, nodes, radius_m=bad)
    with pytest.raises(ParameterError, match="weights|length"):
        micro_counts_xy([0.0, 1.0], [0.0, 1.0], tee, nodes, weights=[1.0])
    assert Settings().intersection_radius_m == 15.0
    with pytest.raises(ParameterError, match="intersection_radius_m"):
        Settings(intersection_radius_m=150)


def test_intersection_names_fr_en():
    parts = intersection_name(["Rue de la Loge", "Rue de l'Argenterie"])
    assert place_name(parts, "en") == "Intersection of Rue de la Loge and Rue de l'Argenterie"
    assert place_name(parts, "fr") == "Carrefour de la rue de la Loge et de la rue de l'Argenterie"
    three = intersection_name(["A", "B", "C", "D"])
    assert place_name(three, "en") == "Intersection of A, B and C"
    assert place_name(three, "fr") == "Carrefour d'A, de B et de C"
    assert intersection_name(["", None])["kind"] == "unnamed"


@pytest.fixture(scope="module")
def centre():
    return (gpd.read_file(DATA / "addresses" / "mtp_voies_centre.zip").to_crs(2154)
            .rename(columns={"LIB_OFF": "name", "TYPVOI": "type"}))


def test_real_centre_intersections(centre):
    x = intersections(centre)
    # every intersection joins two streets or three ends; most nodes of a centre are corners
    assert ((x["streets"].map(len) >= 2) | (x["degree"] >= 3)).all()
    assert 600 < len(x) < 982
    loge = x[x["streets"].map(lambda s: s[:2] == ["Rue de la Loge", "Rue de l'Argenterie"])]
    assert len(loge) == 1 and loge["degree"].iloc[0] == 3


def test_real_centre_corner_counts_by_hand(centre):
    """Incidents placed 10 m and 25 m from the crossing of Rue de la République and Rue
    Pagézy along Rue Pagézy: the first counts at the crossing, the second at the segment of
    Rue Pagézy."""
    x = intersections(centre)
    row = x[x["streets"].map(lambda s: s == ["Rue de la République", "Rue Pagézy"])].iloc[0]
    assert row["degree"] == 4
    assert place_name(intersection_name(row["streets"]), "en") == "Intersection of Rue de la République and Rue Pagézy"
    corner = row.geometry
    others = x.drop(index=row.name).distance(corner)
    assert others.min() > 60  # no other corner within reach of the two points
    arg = [i for i in row["segments"] if centre.loc[i, "name"] == "Rue Pagézy"]
    line = centre.geometry.iloc[arg[0]]
    assert line.length > 30
    from_end = line.project(corner)  # 0 or the whole length: the corner is one of its ends
    step = 1 if from_end < 1 else -1
    p10 = line.interpolate(from_end + step * 10)
    p25 = line.interpolate(from_end + step * 25)
    seg_n, node_n, meta = micro_counts_xy([p10.x, p25.x], [p10.y, p25.y], centre, x)
    assert node_n[x.index.get_loc(row.name)] == 1 and node_n.sum() == 1
    assert seg_n[arg[0]] == 1 and seg_n.sum() == 1
    assert meta["n_off_network"] == 0


# -- the demo city, per role ---------------------------------------------------------------


@pytest.fixture(scope="module")
def ws(demo_home_path):
    from geo_app.config import Home
    from geo_app.workspace import Workspace

    return Workspace(Home(demo_home_path))


@pytest.mark.slow
def test_demo_micro_places_include_intersections(ws):
    f = ws.default_filters(None)
    mp = ws.micro_place_counts(f)
    meta = mp.attrs["vigie"]
    seg = ws.street_segments(f)
    # each incident once: at an intersection, at a segment or off-network
    assert meta["n_segments"] + meta["n_intersections"] + meta["n_off_network"] == meta["n_incidents"]
    assert int(mp["n"].sum()) == meta["n_segments"] + meta["n_intersections"]
    # the same incidents are on the network as in the segment layer (radius < tolerance)
    assert meta["n_off_network"] == seg.attrs["vigie"]["n_off_network"]
    inter = mp[mp["micro_kind"] == "intersection"]
    assert len(inter) > 1000 and (inter["n"] > 0).any()
    assert inter["length_m"].isna().all() and (inter.geometry.geom_type == "Point").all()
    # the top micro-places of the hotspot areas: segments and intersections, ranked by count
    kinds = set()
    for i in range(len(ws.hotspot_areas(f))):
        top = ws.micro_places(ws.hotspot_areas(f).iloc[[i]], f)
        assert top["n"].is_monotonic_decreasing and top["rank"].tolist() == list(range(1, len(top) + 1))
        kinds |= set(top["micro_kind"])
    assert kinds == {"segment", "intersection"}


@pytest.mark.slow
def test_demo_hotspot_page_ranks_intersections_and_hides_counts_from_planners(demo_home_path, ws):
    from geo_app import create_app

    app = create_app({"TESTING": True, "HOME": str(demo_home_path), "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
    f = ws.default_filters(None)
    areas = ws.hotspot_areas(f)
    hid = next(str(h) for i, h in enumerate(areas["hotspot_id"])
               if (ws.micro_places(areas.iloc[[i]], f)["micro_kind"] == "intersection").any())
    top = ws.micro_places(areas[areas["hotspot_id"].astype(str) == hid], f)
    corner = top[top["micro_kind"] == "intersection"].iloc[0]
    name = place_name({k: corner[f"name_{k}"] for k in ("kind", "street", "from", "to")}, "en")
    assert name.startswith("Intersection of ")

    def page(role):
        c = app.test_client()
        assert c.post("/login", data={"username": role, "password": PASSWORD}).status_code == 302
        return c.get(f"/hotspots/{hid}?lang=en").get_data(as_text=True)

    import html as h
    import re

    def table(text):
        start = text.index('id="hotspot-micro-places"')
        body = text[start:text.index("</table>", start)]
        # (kind, name, count cell) of each row
        return re.findall(r'<tr data-kind="(\w+)"><td>\d+</td><td>([^<]*)</td><td>([^<]*)</td>', body)

    text = page("coordinator")
    assert "Street micro-places (segments and intersections)" in text  # the map layer
    coord = table(text)
    assert ("intersection", h.escape(name), str(int(corner["n"]))) in coord
    assert [int(n) for _k, _n, n in coord] == sorted((int(n) for _k, _n, n in coord), reverse=True)
    planner = table(page("planner"))
    # the planner sees the same ranking, not the counts
    assert [(k, n) for k, n, _c in planner] == [(k, n) for k, n, _c in coord]
    assert {c for _k, _n, c in planner} == {"—"}


@pytest.mark.slow
def test_viewer_micro_place_counts_per_role(ws, demo_home_path):
    from geo_app.access import Viewer
    from geo_app.accounts import _demo_zac
    from geo_app.auth import Account
    from geo_app.config import Home

    def view(role, zacs=()):
        return Viewer(ws.pinned(), Account(1, role, role, tuple(zacs))).micro_place_counts(None)

    police = view("police")
    assert {"n", "per_100m"} <= set(police.columns) and len(police) == len(ws.micro_place_counts(ws.default_filters(None)))
    planner = view("planner")
    assert not {"n", "per_100m"} & set(planner.columns) and set(planner["micro_kind"]) == {"segment", "intersection"}
    own = view("zac_manager", [_demo_zac(Home(demo_home_path))])
    assert 0 < len(own) < len(police) and "n" not in own.columns


@pytest.mark.parametrize("name, expected", [
    # every street type of the centre sample, as Montpellier's register spells it
    ("Rue Foch", "de la rue Foch"),
    ("Avenue Frédéric Mistral", "de l'avenue Frédéric Mistral"),
    ("Boulevard Henri IV", "du boulevard Henri IV"),
    ("Place de la Comédie", "de la place de la Comédie"),
    ("Allée Jules Milhau", "de l'allée Jules Milhau"),
    ("Impasse Tandon", "de l'impasse Tandon"),
    ("Quai du Verdanson", "du quai du Verdanson"),
    ("Cours Gambetta", "du cours Gambetta"),
    ("Esplanade Charles de Gaulle", "de l'esplanade Charles de Gaulle"),
    ("Square de la Babote", "du square de la Babote"),
    ("Plan Cabanes", "du plan Cabanes"),
    ("Passage Lonjon", "du passage Lonjon"),
    ("Cour de la Mosaïque", "de la cour de la Mosaïque"),
    ("Tunnel de la Comédie", "du tunnel de la Comédie"),
    ("Promenade du Peyrou", "de la promenade du Peyrou"),
    ("Descente En Barrat", "de la descente En Barrat"),
    ("Grand-Rue Jean Moulin", "de la Grand-Rue Jean Moulin"),
    ("Les Trois Passages", "des Trois Passages"),
    # types of the whole city's register
    ("Allées Paul Boulet", "des allées Paul Boulet"),
    ("Chemin de Moularès", "du chemin de Moularès"),
    ("Route de Mende", "de la route de Mende"),
    ("Rond-Point Ernest Granier", "du rond-point Ernest Granier"),
    ("Espace Philippe VI de Valois rue de la Loge", "de l'espace Philippe VI de Valois rue de la Loge"),
    ("Le Triangle", "du Triangle"),
    ("La Paillade", "de la Paillade"),
    ("L'Esplanade", "de l'Esplanade"),
    # no known type: the name keeps its capitals, "d'" before a vowel
    ("Odysseum", "d'Odysseum"),
    ("Antigone", "d'Antigone"),
    ("Hameau de la Pompignane", "du hameau de la Pompignane"),  # h aspiré: no elision
    ("  Rue   Foch ", "de la rue Foch"),
    ("", ""),
])
def test_french_de_articles_and_elision(name, expected):
    assert french_de(name) == expected


def test_real_centre_intersection_names_fr_en(centre):
    """The names of real corners of the centre sample, read in both languages."""
    x = intersections(centre)

    def named(streets):
        row = x[x["streets"].map(lambda s: s[:len(streets)] == streets)].iloc[0]
        parts = intersection_name(row["streets"])
        return place_name(parts, "fr"), place_name(parts, "en")

    assert named(["Rue de la République", "Rue Pagézy"]) == (
        "Carrefour de la rue de la République et de la rue Pagézy",
        "Intersection of Rue de la République and Rue Pagézy")
    assert named(["Place de la Comédie", "Allée Jules Milhau", "Avenue Frédéric Mistral"]) == (
        "Carrefour de la place de la Comédie, de l'allée Jules Milhau et de l'avenue Frédéric Mistral",
        "Intersection of Place de la Comédie, Allée Jules Milhau and Avenue Frédéric Mistral")
    assert named(["Boulevard Victor Hugo", "Square de la Babote"]) == (
        "Carrefour du boulevard Victor Hugo et du square de la Babote",
        "Intersection of Boulevard Victor Hugo and Square de la Babote")
    assert named(["Avenue de Lodève", "Cours Gambetta", "Rue Auguste Comte"])[0] == (
        "Carrefour de l'avenue de Lodève, du cours Gambetta et de la rue Auguste Comte")
    assert named(["Rue de l'Aiguillerie", "Les Trois Passages"])[0] == (
        "Carrefour de la rue de l'Aiguillerie et des Trois Passages")
    # a fork of one street keeps its own form
    fork = x[x["streets"].map(lambda s: s == ["Rue Rebuffy"])].iloc[0]
    assert place_name(intersection_name(fork["streets"]), "fr") == "Rue Rebuffy (embranchement)"


@pytest.mark.parametrize("name, expected", [
    ("Rue Foch", "la rue Foch"), ("Avenue Chancel", "l'avenue Chancel"), ("Cours Gambetta", "le cours Gambetta"),
    ("Allées Paul Boulet", "les allées Paul Boulet"), ("Impasse Tandon", "l'impasse Tandon"),
    ("Hameau de la Pompignane", "le hameau de la Pompignane"), ("Grand-Rue Jean Moulin", "la Grand-Rue Jean Moulin"),
    ("Le Triangle", "le Triangle"), ("L'Esplanade", "l'Esplanade"), ("Odysseum", "Odysseum"), ("", ""),
])
def test_french_article(name, expected):
    assert french_article(name) == expected
