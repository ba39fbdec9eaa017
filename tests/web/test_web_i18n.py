"""The one catalogue (geo_app.i18n) and the one palette (geo_app.style): every msgid translated,
codes with one word per language, the same colour for a code on the map, in the report and in
the QGIS styles, the methods panel's sentences, and the status codes of older databases."""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo_app import style
from geo_app.i18n import (
    EMERGING_CODES,
    STATUSES,
    VOCABULARIES,
    describe_methods,
    emerging_code,
    gettext_for,
    label,
    normalize_status,
)

TRANSLATIONS = Path(__file__).parents[2] / "geo_app" / "translations"


# ---------------------------------------------------------------------------------------------
# the catalogue


def _extracted_msgids() -> set[str]:
    """Every msgid the sources hold, extracted as ``make messages`` does."""
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).parents[2]
    method_map = [("geo_app/**.py", "python"), ("geo_app/**/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    ids = set()
    for _file, _line, msg, _comments, _ctx in extract_from_dir(root, method_map, keywords=keywords):
        ids.add(msg if isinstance(msg, str) else msg[0])
    return ids


def test_every_msgid_of_the_sources_has_an_english_translation():
    from babel.messages.pofile import read_po

    with open(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po", "rb") as f:
        en = {m.id: m.string for m in read_po(f) if m.id}
    ids = _extracted_msgids()
    assert ids - set(en) == set(), "msgids missing from the catalogue: run make messages"
    assert sorted(i for i in ids if not en[i]) == [], "msgids without an English translation"


def test_every_code_has_a_word_in_both_languages_and_one_word_per_code():
    for vocab, words in VOCABULARIES.items():
        for lang in ("fr", "en"):
            got = [label(vocab, code, lang) for code in words]
            assert all(w.strip() for w in got), (vocab, lang)
            assert len(set(got)) == len(got), (vocab, lang, got)  # no two codes share a word
        if vocab not in ("yes_no",):
            assert [label(vocab, c, "en") for c in words] != [label(vocab, c, "fr") for c in words], vocab


def test_emerging_categories_have_one_name_whatever_the_spelling():
    from layers.spacetime import EMERGING_CATEGORIES

    assert len(EMERGING_CODES) == 17 == len(VOCABULARIES["emerging"])
    for k, arcgis in EMERGING_CATEGORIES.items():
        code = EMERGING_CODES[k]
        assert emerging_code(arcgis) == emerging_code(k) == emerging_code(code) == code
        assert label("emerging", arcgis, "fr") == label("emerging", code, "fr") == label("emerging", k, "fr")
    assert label("emerging", "intensifying hot spot", "fr") == "point chaud en intensification"
    assert label("emerging", "intensifying_hot", "en") == "intensifying hot spot"


def test_statuses_are_codes_and_the_old_french_words_are_accepted():
    from layers.errors import ParameterError

    assert STATUSES == ("new", "in_review", "action_decided", "done", "dismissed")
    assert normalize_status("en examen") == "in_review" and normalize_status("done") == "done"
    with pytest.raises(ParameterError, match="in_review"):
        normalize_status("fini")
    assert label("status", "in_review", "en") == "in review" and label("status", "in_review", "fr") == "en examen"


def test_the_catalogue_works_outside_a_request_with_an_explicit_language():
    assert gettext_for("en")("Légende") == "Legend" and gettext_for("fr")("Légende") == "Légende"
    assert gettext_for("en")("Votre rôle exporte des agrégats : les cellules de moins de %(k)s faits sont "
                             "supprimées.", k=5).startswith("Your role exports aggregates")


def test_an_old_app_database_is_migrated_to_status_codes(tmp_path):
    from geo_app.db import AppDB

    path = tmp_path / "app.db"
    AppDB(path).set_review("HS-1", user="x", status="in_review")
    con = sqlite3.connect(path)  # as written before the codes
    con.execute("UPDATE reviews SET status = 'action décidée'")
    con.execute("UPDATE review_history SET old = 'nouveau', new = 'action décidée'")
    con.commit()
    con.close()
    db = AppDB(path)
    assert db.review("HS-1")["status"] == "action_decided"
    assert [(h["old"], h["new"]) for h in db.history("HS-1")] == [("new", "action_decided")]
    db.set_review("HS-1", user="x", status="traité")  # an old form's word
    assert db.review("HS-1")["status"] == "done"


# ---------------------------------------------------------------------------------------------
# the methods panel

VIGIE = {"cell_size": 200.0, "cell_size_auto": True, "shape": "square", "n_cells": 4800,
         "neighbourhood": "queen", "distance_auto": False, "fdr": True, "correction": "Benjamini-Hochberg",
         "min_bin": 2, "n_outside": 0, "trend": "Mann-Kendall on monthly counts, 12 months, alpha 0.05"}


def test_methods_panel_reads_as_sentences_in_english():
    assert describe_methods(VIGIE, "en") == [
        "Cells of 200 m, chosen automatically (about 50 cells across the study area’s shorter side).",
        "Neighbours: the 8 adjacent cells and the cell itself.",
        "Significance: Benjamini–Hochberg false discovery rate at 5 %.",
        "Areas: adjacent hot cells at 95 % confidence merged into numbered areas.",
        ("Trend: Mann-Kendall test on the monthly incident counts (12 months); rising or falling when "
         "p < 5 %, otherwise stable."),
    ]


def test_methods_panel_reads_as_sentences_in_french():
    fr = describe_methods(VIGIE, "fr")
    assert fr[0] == ("Cellules de 200 m, choisies automatiquement (environ 50 cellules sur le plus petit côté "
                     "de la zone d’étude).")
    assert fr[1] == "Voisins : les 8 cellules adjacentes et la cellule elle-même."
    assert fr[2] == "Significativité : taux de fausses découvertes de Benjamini–Hochberg à 5 %."
    assert len(fr) == 5 and not any("=" in s for s in fr)


def test_methods_panel_variants():
    got = describe_methods({"cell_size": 150, "cell_size_auto": False, "shape": "hex", "neighbourhood": 450.0,
                            "distance_auto": True, "fdr": False, "n_outside": 3}, "en")
    assert got == [
        "Hexagons of 150 m, size chosen by the user.",
        ("Neighbours: the cells within 450 m and the cell itself, distance chosen automatically (peak of "
         "spatial autocorrelation)."),
        "Significance: 5 % level per cell, without correction for multiple tests.",
        "3 incidents outside the study area are not counted.",
    ]
    assert describe_methods({}, "en") == [] and describe_methods(None, "fr") == []


def test_hotspot_list_shows_the_methods_as_sentences(client):
    page = client.get("/hotspots?lang=en").get_data(as_text=True)
    panel = page.split('id="hotspot-methods"')[1].split("</ul>")[0]
    assert "Cells of" in panel and "chosen automatically" in panel and "Neighbours:" in panel
    assert "cell_size" not in page and " = " not in panel


# ---------------------------------------------------------------------------------------------
# the palette


def _map_legend(m) -> dict[str, str]:
    """label -> colour of every legend entry of a Folium map built by ``build_map``."""
    from geo_app.mapping import Legend

    out = {}
    for child in m._children.values():
        if isinstance(child, Legend):
            for entry in child.entries:
                out.update({item["label"]: item["color"] for item in entry["items"]})
    return out


def _qml_colours(qml: str) -> dict[str, str]:
    """value -> ``#rrggbb`` of a categorised QGIS style."""
    root = ET.fromstring(qml.split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    symbols = {s.get("name"): s for s in renderer.find("symbols")}
    out = {}
    for cat in renderer.find("categories"):
        colour = symbols[cat.get("symbol")].find(".//Option[@name='color']").get("value")
        r, g, b = (int(v) for v in colour.split(",")[:3])
        out[cat.get("value")] = f"#{r:02x}{g:02x}{b:02x}"
    return out


def _report_legend(monkeypatch, draw, report) -> dict[str, str]:
    """label -> colour of the legend of a report map (the figure is caught before it is encoded)."""
    from matplotlib.colors import to_hex

    from geo_app.report import maps

    caught = {}
    monkeypatch.setattr(maps, "png_uri", lambda fig, **kw: caught.setdefault("fig", fig) and "data:")
    draw(report)
    legend = caught["fig"].axes[0].get_legend()
    handles = legend.legend_handles if hasattr(legend, "legend_handles") else legend.legendHandles
    out = {}
    for h, t in zip(handles, legend.get_texts()):
        colour = h.get_facecolor() if hasattr(h, "get_facecolor") and not hasattr(h, "get_markerfacecolor") \
            else h.get_markerfacecolor()
        out[t.get_text()] = to_hex(colour)
    return out


def test_a_code_has_the_same_colour_on_the_map_in_the_report_and_in_qgis(monkeypatch):
    from geo_app.mapping import MapLayers, build_map
    from geo_app.report import maps as report_maps
    from geo_app.report.build import _status
    from geo_app.views.exports import _qml
    from layers.spacetime import EMERGING_CATEGORIES

    lang = "en"
    cells = [box(3.87 + 0.001 * i, 43.60, 3.871 + 0.001 * i, 43.601) for i in range(3)]
    em = gpd.GeoDataFrame({"category": ["new hot spot", "intensifying hot spot", "persistent cold spot"],
                           "n": [5, 9, 1]}, geometry=cells, crs=4326)
    pr = gpd.GeoDataFrame({"kind": ["cctv", "lighting"], "rank": [1, 1]},
                          geometry=[Point(3.88, 43.608), Point(3.881, 43.605)], crs=4326)
    hs = gpd.GeoDataFrame({"hotspot_id": ["a", "b"], "n": [3, 4], "area_km2": [0.1, 0.1],
                           "status": ["new", "in_review"]}, geometry=cells[:2], crs=4326)
    on_map = _map_legend(build_map(MapLayers(emerging=em, proposals=pr, hotspots=hs), lang=lang))

    em_l93 = em.to_crs(2154)
    report = {"meta": {"lang": lang}, "data": {"emerging": em_l93, "hotspots": None}, "study_area": None,
              "zac_layer": None, "zac_geometry": None, "scope_bounds": tuple(em_l93.total_bounds),
              "proposals": {k: pr[pr["kind"] == k].to_crs(2154) for k in ("cctv", "lighting")}}
    in_report = _report_legend(monkeypatch, report_maps.emerging_map, report)
    in_report.update(_report_legend(monkeypatch, report_maps.proposals_map, report))

    qgis_emerging = _qml_colours(_qml("polygon", "#000000", style.qgis_categories("emerging", ["category"])))
    qgis_kinds = _qml_colours(_qml("point", "#000000", style.qgis_categories("proposals", ["kind"])))
    qgis_status = _qml_colours(_qml("polygon", "#000000", style.qgis_categories("hotspots", ["status"])))

    for code in ("new_hot", "intensifying_hot", "persistent_cold"):
        name = label("emerging", code, lang)
        arcgis = next(v for k, v in EMERGING_CATEGORIES.items() if EMERGING_CODES[k] == code)
        assert on_map[name] == in_report[name] == qgis_emerging[arcgis] == style.EMERGING[code], code
    assert style.EMERGING["new_hot"] in {"#fb6a4a"} and "new hot spot" in on_map  # red, not green
    for kind in ("cctv", "lighting"):
        assert in_report[label("proposal", kind, lang)] == qgis_kinds[kind] == style.PROPOSAL[kind]
        assert on_map[label("proposal_title", kind, lang)] == style.PROPOSAL[kind]
    names = gettext_for(lang)("Zones de points chauds")
    for status in ("new", "in_review"):
        assert on_map[f"{names} — {label('status', status, lang)}"] == qgis_status[status] == style.STATUS[status]
        assert _status(status, lang)["colour"] == style.STATUS[status]


def test_exported_geopackage_styles_categorise_by_code(tmp_path):
    import pyogrio

    from geo_app.views.exports import write_styles

    path = tmp_path / "x.gpkg"
    gi = gpd.GeoDataFrame({"bin": [3, -2]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=2154)
    pr = gpd.GeoDataFrame({"kind": ["cctv", "lighting"]}, geometry=[Point(0, 0), Point(1, 1)], crs=2154)
    z = gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(0, 0, 1, 1)], crs=2154)
    for name, gdf in (("gistar", gi), ("proposals", pr), ("zac", z)):
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG")
    assert write_styles(path) == 3
    con = sqlite3.connect(path)
    styles = dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles"))
    con.close()
    assert _qml_colours(styles["gistar"])["3"] == style.GI_BIN[3]
    assert _qml_colours(styles["proposals"]) == style.PROPOSAL
    assert 'type="singleSymbol"' in styles["zac"] and style.rgb(style.LAYER["zac"]) in styles["zac"]


def test_no_colour_literal_outside_the_palette_for_codes():
    """Codes' colours are looked up in geo_app.style: the map and report modules hold none of
    the palette's status / emerging / proposal colours as literals."""
    root = Path(__file__).parents[2] / "geo_app"
    coded = set(style.STATUS.values()) | set(style.EMERGING.values()) | set(style.PROPOSAL.values())
    for rel in ("mapping.py", "report/maps.py", "report/build.py", "views/exports.py"):
        text = (root / rel).read_text(encoding="utf-8").lower()
        found = {c for c in re.findall(r"#[0-9a-f]{6}", text)} & coded
        assert not found, (rel, found)
