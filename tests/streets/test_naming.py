"""Names of segments and areas from the streets: hand-built network and the real Montpellier centre."""

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo_app.i18n import place_name
from layers.errors import InputError
from layers.naming import area_name, segment_names

DATA = Path(__file__).resolve().parents[1] / "data"


def net(rows, crs=2154):
    return gpd.GeoDataFrame({"name": [r[0] for r in rows], "type": [r[1] for r in rows]},
                            geometry=[shapely.LineString(r[2]) for r in rows], crs=crs)


@pytest.fixture
def town():
    # Rue A runs west-east in two segments, crossed by Rue B at x=0 and Avenue C at x=200 (C is
    # longer: it is the cross street named at (200, 0) over the short Impasse D); Place P at x=100
    return net([
        ("Rue A", "RUE", [(0, 0), (100, 0)]),
        ("Rue A", "RUE", [(100, 0), (200, 0)]),
        ("Rue B", "RUE", [(0, -100), (0, 0)]),
        ("Rue B", "RUE", [(0, 0), (0, 100)]),
        ("Avenue C", "AV", [(200, -300), (200, 0)]),
        ("Impasse D", "IMP", [(200, 0), (250, 50)]),
        ("Place P", "PL", [(100, 0), (100, 40)]),
        ("Rue E", "RUE", [(1000, 1000), (1100, 1000)]),
        ("Rue F", "RUE", [(0, 100), (-80, 160)]),
    ])


def test_segment_names_by_hand(town):
    names = segment_names(town)
    # first segment of Rue A: Rue B at (0, 0), Place P at (100, 0)
    assert names[0] == {"kind": "between", "street": "Rue A", "from": "Place P", "to": "Rue B"}
    # second: Place P at (100, 0); at (200, 0) Avenue C (300 m) beats Impasse D (71 m)
    assert names[1] == {"kind": "between", "street": "Rue A", "from": "Avenue C", "to": "Place P"}
    assert names[2] == {"kind": "near", "street": "Rue B", "from": "Rue A", "to": None}
    assert names[6] == {"kind": "around", "street": "Place P", "from": None, "to": None}
    assert names[7] == {"kind": "along", "street": "Rue E", "from": None, "to": None}


def test_area_name_by_hand(town):
    # a strip along Rue A: between its cross streets at both ends of its part in the strip
    strip = shapely.box(-10, -10, 210, 10)
    assert area_name(strip, town) == {"kind": "between", "street": "Rue A", "from": "Avenue C", "to": "Rue B"}
    # around the square when it weighs enough
    assert area_name(shapely.Point(100, 20).buffer(30), town)["kind"] == "around"
    # weights decide the street: incidents on Rue B only
    w = [0, 0, 5, 5, 0, 0, 0, 0, 0]
    assert area_name(strip.union(shapely.box(-10, -100, 10, 100)), town, weights=w)["street"] == "Rue B"
    with pytest.raises(InputError):
        area_name(shapely.Polygon(), town)
    assert area_name(shapely.box(5000, 5000, 5010, 5010), town)["kind"] == "unnamed"


def test_place_name_words():
    parts = {"kind": "between", "street": "Rue de la Loge", "from": "Place de la Comédie",
             "to": "Rue Jacques Cœur"}
    assert place_name(parts, "en") == "Rue de la Loge, between Place de la Comédie and Rue Jacques Cœur"
    assert place_name(parts, "fr") == "Rue de la Loge, entre la place de la Comédie et la rue Jacques Cœur"
    odd = {"kind": "between", "street": "Rue Foch", "from": "Les Trois Passages", "to": "Odysseum"}
    assert place_name(odd, "fr") == "Rue Foch, entre les Trois Passages et Odysseum"
    around = {"kind": "around", "street": "Place Jean Jaurès", "from": None, "to": None}
    assert place_name(around, "en") == "around Place Jean Jaurès"
    assert place_name(around, "fr") == "Place Jean Jaurès et abords"
    assert place_name({"kind": "near", "street": "Rue B", "from": "Rue A", "to": None}, "en") == "Rue B, near Rue A"
    near = {"kind": "near", "street": "Impasse Tandon", "from": "Rue des Etuves", "to": None}
    assert place_name(near, "fr") == "Impasse Tandon, près de la rue des Etuves"
    assert place_name({**near, "from": "Avenue Chancel"}, "fr") == "Impasse Tandon, près de l'avenue Chancel"
    assert place_name({**near, "from": "Boulevard Pasteur"}, "fr") == "Impasse Tandon, près du boulevard Pasteur"
    assert place_name({**near, "from": "Antigone"}, "fr") == "Impasse Tandon, près d'Antigone"
    assert place_name({"kind": "unnamed"}, "fr") == "lieu sans nom de voie"
    assert place_name(None, "en") == ""


@pytest.fixture(scope="module")
def centre():
    return (gpd.read_file(DATA / "addresses" / "mtp_voies_centre.zip").to_crs(2154)
            .rename(columns={"LIB_OFF": "name", "TYPVOI": "type"}))


def test_real_names_of_rue_de_la_loge(centre):
    names = segment_names(centre)
    loge = [names[i] for i in centre.index[centre["name"] == "Rue de la Loge"]]
    assert all(n["kind"] == "between" and n["street"] == "Rue de la Loge" for n in loge)
    crossings = {n["from"] for n in loge} | {n["to"] for n in loge}
    assert {"Place de la Comédie", "Place Jean Jaurès", "Grand-Rue Jean Moulin"} <= crossings
    whole = centre[centre["name"] == "Rue de la Loge"].geometry.union_all().buffer(15)
    assert area_name(whole, centre) == {"kind": "between", "street": "Rue de la Loge",
                                        "from": "Place de la Comédie", "to": "Rue de l'Aiguillerie"}


def test_real_names_of_squares(centre):
    comedie = centre[centre["name"] == "Place de la Comédie"].geometry.union_all().centroid
    assert area_name(comedie.buffer(150), centre)["street"] == "Place de la Comédie"
    jaures = centre[centre["name"] == "Place Jean Jaurès"].geometry.union_all().centroid
    assert place_name(area_name(jaures.buffer(60), centre), "en") == "around Place Jean Jaurès"
