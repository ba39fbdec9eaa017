"""layers.geocode.geocode on a real sample of Montpellier's address register (tests/data/addresses)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from layers.address_text import normalize_suffix
from layers.errors import InputError, ParameterError
from layers.geocode import GEOCODE_COLUMNS, PRECISIONS, GeocodeParams, build_index, geocode

FOCH, LOGE, GUILHEM, TOULOUSE = "1043", "1393", "1940", "2057"


def _point(register, code, number, suffix=None):
    """The register's own point (EPSG:4326) of an address."""
    r = register[(register.street_code == code) & (register.number == number)]
    r = r[r.suffix.isna()] if suffix is None else r[r.suffix.str.lower() == suffix]
    assert len(r) >= 1, (code, number, suffix)
    return r.to_crs(4326).geometry.iloc[0]


def _one(index, text, **kw):
    return geocode([text], index, **kw).iloc[0]


def test_output_columns_and_order(index):
    out = geocode(["4 rue de la Loge", "nowhere", None], index)
    assert list(out.columns) == [*GEOCODE_COLUMNS, "geometry"]
    assert out.crs.to_epsg() == 4326 and len(out) == 3
    assert set(out["precision"]) <= set(PRECISIONS)
    assert out.geometry.iloc[1] is None and out["precision"].iloc[2] == "not_found"


@pytest.mark.parametrize("typed, code, number, suffix", [
    ("4 rue de la Loge", LOGE, 4, None),
    ("RUE DE LA LOGE 4", LOGE, 4, None),
    ("n° 4, r. de la loge, 34000 Montpellier", LOGE, 4, None),
    ("4 rue de la Loge Montpellier", LOGE, 4, None),
    ("4, Rue de la Lgoe", LOGE, 4, None),  # typo
    ("17 bis av. de Toulouse", TOULOUSE, 17, "bis"),
    ("17 BIS AVENUE DE TOULOUSE", TOULOUSE, 17, "bis"),
    ("Avenue de Toulouse 17bis", TOULOUSE, 17, "bis"),
    ("7, rue St-Guilhem", GUILHEM, 7, None),
    ("7 RUE SAINT GUILHEM 34000", GUILHEM, 7, None),
    ("12 rue Foch", FOCH, 12, None),
    ("12 r. foch", FOCH, 12, None),
])
def test_house_hits_are_the_registers_own_point(index, register, typed, code, number, suffix):
    got = _one(index, typed)
    assert got["precision"] == "house", got["note"]
    assert (got["street_code"], got["number"]) == (code, number)
    assert normalize_suffix(got["suffix"]) == (suffix or "")
    assert got.geometry.equals_exact(_point(register, code, number, suffix), 1e-9)


def test_accents_dropped_and_added(index, register):
    assert _one(index, "3 place de la Comedie")["precision"] in ("house", "street")
    a = _one(index, "1 rue de l'Ancien Courrier")
    b = _one(index, "1 RUE DE L ANCIEN COURRIER")
    assert a["label"] == b["label"] and a.geometry.equals(b.geometry)


def test_missing_suffix_is_placed_at_the_plain_number(index, register):
    got = _one(index, "12 bis av. de Toulouse")  # the register has 12, not 12 bis
    assert got["precision"] == "interpolated" and got["number"] == 12
    assert got.geometry.equals_exact(_point(register, TOULOUSE, 12), 1e-9)
    assert "12 bis is not in the register" in got["note"]


def test_a_missing_number_between_two_known_ones_is_interpolated(index, register):
    got = _one(index, "13 rue de la Loge")  # the register has 11 and 15, not 13
    assert got["precision"] == "interpolated" and got["note"] == "between 11 and 15"
    a, b = _point(register, LOGE, 11), _point(register, LOGE, 15)
    mid = shapely.Point((a.x + b.x) / 2, (a.y + b.y) / 2)
    assert got.geometry.distance(mid) < 1e-7


def test_a_number_beyond_the_known_ones_gives_the_middle_of_the_street(index):
    got = _one(index, "31 rue Foch")  # odd numbers stop at 29
    assert got["precision"] == "street" and pd.isna(got["number"])
    assert "not in the register" in got["note"]
    assert geocode(["rue Foch"], index).geometry.iloc[0].equals(got.geometry)


def test_the_middle_of_a_street_lies_on_it(index, streets):
    got = _one(index, "rue Foch").geometry
    line = streets[streets.street_code == FOCH].to_crs(4326).union_all()
    assert gpd.GeoSeries([got], crs=4326).to_crs(2154).distance(
        gpd.GeoSeries([line], crs=4326).to_crs(2154)).iloc[0] < 0.01


@pytest.mark.parametrize("typed", ["3 rue de la Paix des Braves", "12 avenue du Général Inexistant",
                                   "4 rue Zzyzx", "rue du Lorem Ipsum"])
def test_a_street_that_does_not_exist_is_not_found(index, typed):
    got = _one(index, typed)
    assert got["precision"] == "not_found" and got.geometry is None and got["note"]


def test_intersections_with_and_without_the_street_network(index, index_no_network, streets):
    foch = streets[streets.street_code == FOCH].to_crs(2154).union_all()
    guilhem = streets[streets.street_code == GUILHEM].to_crs(2154).union_all()
    p, q = shapely.shortest_line(foch, guilhem).coords
    truth = shapely.Point((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
    for idx, tolerance in ((index, 0.01), (index_no_network, 50)):
        for typed in ("angle rue Foch / rue Saint-Guilhem", "carrefour r. Foch r. St Guilhem",
                      "RUE FOCH X RUE SAINT GUILHEM"):
            got = _one(idx, typed)
            assert got["precision"] == "intersection", (typed, got["note"])
            d = gpd.GeoSeries([got.geometry], crs=4326).to_crs(2154).distance(truth).iloc[0]
            assert d <= tolerance, (typed, d)


def test_an_intersection_on_a_shared_node_of_the_network(index, streets):
    # two streets of the sample whose arcs end on a common node
    lines = streets.to_crs(2154)
    ends = {}
    for code, g in zip(lines.street_code, lines.geometry):
        for c in (g.coords[0], g.coords[-1]):
            ends.setdefault((round(c[0], 1), round(c[1], 1)), set()).add(code)
    node, codes = next((n, sorted(c)) for n, c in ends.items() if {FOCH} < c)
    other = next(c for c in codes if c != FOCH)
    name = index.streets[next(i for i, s in enumerate(index.streets) if s.code == other)].name
    got = _one(index, f"angle rue Foch et {name}")
    assert got["precision"] == "intersection" and got["note"] == "street network node"
    assert gpd.GeoSeries([got.geometry], crs=4326).to_crs(2154).distance(shapely.Point(node)).iloc[0] < 0.2


def test_streets_that_do_not_meet_are_not_found(index):
    got = _one(index, "angle rue Foch / avenue de Toulouse")
    assert got["precision"] == "not_found" and got["note"] == "the two streets do not meet"


def test_a_low_street_score_never_places_a_house(index):
    strict = GeocodeParams(threshold=80, house_threshold=99)
    got = _one(index, "4, Rue de la Lgoe", params=strict)  # scores about 93
    assert got["precision"] == "street" and "below 99" in got["note"]
    assert _one(index, "4, Rue de la Lgoe", params=GeocodeParams(threshold=97, house_threshold=99))[
        "precision"] == "not_found"


def test_two_streets_too_close_to_tell_apart_are_not_found(register):
    twin = register[register.street_code == LOGE].assign(street="Rue de la Loje", street_code="X")
    idx = build_index(pd.concat([register, twin], ignore_index=True))
    got = _one(idx, "4 rue de la Lofe")
    assert got["precision"] == "not_found" and got["note"].startswith("ambiguous")
    assert _one(idx, "4 rue de la Loge")["precision"] == "house"  # exact name: no doubt


def test_a_typed_commune_chooses_among_homonyms(register):
    other = register[register.street_code == LOGE].assign(commune="Lattes", street_code="L1")
    idx = build_index(pd.concat([register, other], ignore_index=True))
    assert _one(idx, "4 rue de la Loge")["precision"] == "not_found"
    assert "add the postcode or commune" in _one(idx, "4 rue de la Loge")["note"]
    got = _one(idx, "4 rue de la Loge, Lattes")
    assert got["precision"] == "house" and got["commune"] == "Lattes" and got["street_code"] == "L1"


def test_the_input_is_not_mutated_and_duplicates_agree(register, index):
    before = register.copy()
    build_index(register)
    pd.testing.assert_frame_equal(pd.DataFrame(register), pd.DataFrame(before))
    out = geocode(["4 rue de la loge"] * 3, index)
    assert out.geometry.iloc[0].equals(out.geometry.iloc[2])


def test_bad_inputs(register, index):
    with pytest.raises(InputError, match="empty"):
        build_index(register.iloc[:0])
    with pytest.raises(InputError, match="no CRS"):
        build_index(register.set_crs(None, allow_override=True))
    with pytest.raises(ParameterError, match="house_threshold"):
        GeocodeParams(threshold=90, house_threshold=80)
    with pytest.raises(ParameterError, match="AddressIndex"):
        geocode(["x"], register)


def test_perturbed_register_addresses_right_house_and_never_a_wrong_one(register, index):
    """600 real addresses typed messily (abbreviations, case, accents, one-letter typos, number
    after the street, postcode and commune, n°, punctuation): almost all at the right house, and
    not one at a wrong house."""
    from bench.messy_addresses import messy_addresses

    messy = messy_addresses(register, 600, seed=14)
    out = geocode(messy["text"], index)
    house = (out["precision"] == "house").to_numpy()
    same = ((out["street_code"] == messy["street_code"]) & (out["number"] == messy["number"])
            & (out["suffix"].fillna("").map(normalize_suffix) == messy["suffix"].map(normalize_suffix)))
    right = house & same.fillna(False).to_numpy()
    wrong_house = house & ~right
    assert wrong_house.sum() == 0, messy[wrong_house]
    # a fallback is never on another street either
    placed = out["precision"].isin(["interpolated", "street"]).to_numpy()
    assert (out["street_code"][placed] == messy["street_code"][placed]).all()
    assert right.mean() >= 0.97, out["precision"].value_counts()
    truth = gpd.GeoSeries(gpd.points_from_xy(messy.x, messy.y), crs=register.crs).to_crs(4326)
    assert out.geometry[right].geom_equals_exact(truth[right], 1e-9).all()
