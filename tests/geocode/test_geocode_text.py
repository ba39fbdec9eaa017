"""layers.address_text: what people type, split into comparable parts."""

import pytest

from layers.address_text import normalize, normalize_suffix, parse_address

COMMUNES = ("montpellier",)


@pytest.mark.parametrize("typed, number, suffix, street", [
    ("12 bis av. de Toulouse", 12, "bis", "avenue de toulouse"),
    ("12bis Avenue de Toulouse", 12, "bis", "avenue de toulouse"),
    ("RUE DE LA LOGE 4", 4, "", "rue de la loge"),
    ("rue de la Loge, n° 4 ter", 4, "ter", "rue de la loge"),
    ("N°4, Rue de la Loge 34000 Montpellier", 4, "", "rue de la loge"),
    ("4 r. de la loge, Montpellier", 4, "", "rue de la loge"),
    ("12 r foch", 12, "", "rue foch"),  # "r" is the street type, not a suffix
    ("12 B rue Foch", 12, "b", "rue foch"),
    ("12-14 bd du Jeu de Paume", 12, "", "boulevard du jeu de paume"),
    ("3 pl. St-Côme", 3, "", "place saint come"),
    ("7 imp. des Écoles", 7, "", "impasse des ecoles"),
    ("2 qu. du Verdanson", 2, "", "quai du verdanson"),
    ("5 fbg Boutonnet", 5, "", "faubourg boutonnet"),
    ("rue des Trésoriers de France", None, "", "rue des tresoriers de france"),  # not the country
    ("Avenue de Toulouse", None, "", "avenue de toulouse"),
])
def test_parse_typed_variants(typed, number, suffix, street):
    p = parse_address(typed, COMMUNES)
    assert (p.number, p.suffix, p.street) == (number, suffix, street)
    assert not p.is_intersection


def test_postcode_and_commune_are_taken_off():
    p = parse_address("4 rue de la Loge, 34000 Montpellier Cedex, France", COMMUNES)
    assert (p.street, p.postcode, p.commune) == ("rue de la loge", "34000", "montpellier cedex france")
    p = parse_address("4 rue de la loge montpellier", COMMUNES)
    assert (p.street, p.postcode, p.commune) == ("rue de la loge", None, "montpellier")


def test_a_street_named_after_the_commune_keeps_its_name_as_an_alternative():
    p = parse_address("120 allée des Hauts de Montpellier", COMMUNES)
    assert p.street_alt == "allee des hauts de montpellier"


@pytest.mark.parametrize("typed", [
    "angle rue Foch / rue Saint-Guilhem",
    "angle de la rue Foch et de la rue St Guilhem",
    "à l'angle rue Foch et rue Saint Guilhem",
    "rue Foch / rue Saint-Guilhem",
    "carrefour rue Foch rue Saint-Guilhem",
    "RUE FOCH X RUE SAINT GUILHEM",
    "croisement r. Foch & r. St-Guilhem",
])
def test_intersections(typed):
    assert parse_address(typed, COMMUNES).streets == ("rue foch", "rue saint guilhem")


def test_et_inside_a_street_name_is_not_an_intersection():
    assert not parse_address("3 rue Pierre et Marie Curie", COMMUNES).is_intersection
    p = parse_address("angle de la rue Pierre et Marie Curie et de l'avenue de Toulouse", COMMUNES)
    assert p.streets == ("rue pierre et marie curie", "avenue de toulouse")


@pytest.mark.parametrize("raw, code", [("BIS", "bis"), ("bis", "bis"), ("qua", "quater"), ("qte", "quinquies"),
                                       ("A", "a"), (None, ""), ("", "")])
def test_suffixes(raw, code):
    assert normalize_suffix(raw) == code


def test_normalize_accents_case_punctuation():
    assert normalize("Av. de l'Hôpital") == "avenue de l hopital"
    assert normalize("BD ST-JEAN") == "boulevard saint jean"
    assert normalize("Rue Saint Guilhem") == normalize("RUE ST-GUILHEM")
