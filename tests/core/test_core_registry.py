"""The layer registry and the incident taxonomy."""

import pytest

from layers.errors import InputError, NotFound
from layers.registry import LAYERS, default_taxonomy, get_spec, load_label_mapping, load_taxonomy


def test_every_kind_of_design_is_registered():
    assert set(LAYERS) == {"incidents", "zac", "areas", "schools", "shops", "lights", "cameras", "addresses",
                           "streets"}
    assert get_spec("streets").is_line and get_spec("streets").large
    assert get_spec("incidents").required == ("category", "occurred_from")
    assert get_spec("zac").geometry_types == ("Polygon", "MultiPolygon")
    assert get_spec("shops").one_of == ("name", "kind")


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(NotFound, match="Known kinds: incidents, zac"):
        get_spec("potholes")


def test_default_taxonomy_covers_the_council_problems():
    t = default_taxonomy()
    # sensitive categories are never situational demand (DESIGN §3)
    assert {"domestic_violence", "sexual_violence", "minors"} <= t.sensitive
    assert not (t.sensitive & t.situational)
    for code in ("theft", "burglary", "vehicle_crime", "damage", "shop_robbery", "shoplifting",
                 "shop_breakin", "nuisance", "public_drinking", "youth_gathering",
                 "violence_public", "drugs", "other"):
        assert code in t
    groups = {g.code for g in t.groups}
    for g in ("youth_wandering", "alcohol", "property", "shops", "violence_women",
              "school_dropout", "parenting", "citizen_participation"):
        assert g in groups
    assert t.in_group("shops") == ("shop_robbery", "shoplifting", "shop_breakin")
    assert t["burglary"].label("en") == "Burglary" and t["burglary"].label() == "Cambriolage"


def test_police_uk_mapping_covers_all_fourteen_crime_types():
    m = load_label_mapping("police_uk")
    assert len(m) == 14
    assert m["Anti-social behaviour"] == "nuisance" and m["Shoplifting"] == "shoplifting"


def test_deployment_taxonomy_replaces_the_default(tmp_path):
    p = tmp_path / "tax.csv"
    p.write_text(
        "code,label_fr,label_en,group,sensitive,situational\n"
        "tags,Tags,Graffiti,property,false,true\nother,Autres,Other,other,false,false\n",
        encoding="utf-8",
    )
    t = load_taxonomy(p)
    assert t.codes == ("tags", "other") and t.situational == frozenset({"tags"})


@pytest.mark.parametrize(
    "body, message",
    [
        ("code,label_fr\nx,y\n", "must have the columns"),
        ("code,label_fr,label_en,group,sensitive,situational\nx,X,X,nowhere,false,true\n"
         "other,A,O,other,false,false\n", "row 1: group 'nowhere'"),
        ("code,label_fr,label_en,group,sensitive,situational\nx,X,X,other,maybe,true\n"
         "other,A,O,other,false,false\n", "field 'sensitive'"),
        ("code,label_fr,label_en,group,sensitive,situational\nx,X,X,other,false,true\n",
         "must contain the category 'other'"),
    ],
)
def test_bad_taxonomy_files_are_refused_with_the_row(tmp_path, body, message):
    p = tmp_path / "tax.csv"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_taxonomy(p)


def test_label_mapping_to_an_unknown_category_is_refused(tmp_path):
    p = tmp_path / "map.csv"
    p.write_text("source_label,category\nTags,graffiti\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 1: category 'graffiti'"):
        load_label_mapping(p)
