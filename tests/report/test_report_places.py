"""The monthly report's "places followed" section and the concentration of incidents on the
streets, on the demo city (its two places and their planted actions), checked against the store:
monthly counts by hand with geopandas, the trend against pymannkendall, the concentration
against geopandas ``sjoin_nearest``; HTML and PDF rendered and read back; the dashboard's card.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import shape

from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(demo_home_path):
    from geo_app.config import Home

    return Home(demo_home_path)


@pytest.fixture(scope="module")
def last_month(home):
    inc = home.store.read("incidents", columns=["occurred_from"])
    return str(inc["occurred_from"].dt.tz_convert("Europe/Paris").dt.tz_localize(None).dt.to_period("M").max())


@pytest.fixture(scope="module")
def reports(home, last_month):
    from geo_app.report import build_report

    ws = home.workspace()
    return {aud: build_report(ws, month=last_month, audience=aud, lang="en", images=False)
            for aud in ("partners", "police")}


@pytest.fixture(scope="module")
def places(home):
    from geo_app.db import AppDB

    db = AppDB.of(home)
    return [(p, db.actions(p["place_id"])) for p in db.places()]


def _hand_counts(home, place, month, *, sensitive: bool):
    inc = home.store.read("incidents")
    if not sensitive:
        inc = inc[~inc["category"].isin(sorted(home.taxonomy.sensitive))]
    geom = gpd.GeoSeries([shape(place["geometry"])], crs=4326).to_crs(2154).iloc[0]
    inc = inc[inc.to_crs(2154).within(geom).to_numpy()]
    months = inc["occurred_from"].dt.tz_convert("Europe/Paris").dt.tz_localize(None).dt.to_period("M")
    wanted = pd.period_range(end=pd.Period(month, "M"), periods=12, freq="M")
    return [int((months == m).sum()) for m in wanted]


def test_every_place_is_followed_with_its_monthly_counts(reports, places, home, last_month):
    police = reports["police"]["tables"]["places"]
    assert police["available"] and len(police["rows"]) == len(places) == 2
    assert police["months"][-1] == f"{last_month[5:]}/{last_month[2:4]}" and len(police["months"]) == 12
    for row, (place, _) in zip(police["rows"], places):
        assert (row["place_id"], row["name"]) == (place["place_id"], place["name"])
        # the police version counts every category, by hand with geopandas
        assert row["raw"] == _hand_counts(home, place, last_month, sensitive=True)
    statuses = [r["status"]["code"] for r in police["rows"]]
    assert statuses == ["done", "action_decided"]  # as the demo recorded them
    from geo_app.i18n import label

    assert police["rows"][0]["status"]["label"] == label("status", "done", "en")


def test_partners_get_ordinary_categories_and_no_count_under_k(reports, places, home, last_month):
    k = home.settings.k_anonymity
    rows = reports["partners"]["tables"]["places"]["rows"]
    for row, (place, _) in zip(rows, places):
        assert row["raw"] is None
        hand = _hand_counts(home, place, last_month, sensitive=False)
        assert row["counts"] == [f"< {k}" if 0 < v < k else f"{v:,}".replace(",", "\u202f") for v in hand]
        # the evaluation's sentence only: no counts handed to the template
        assert all(set(a) >= {"effect", "verdict"} and "counts" not in a for a in row["actions"])


def test_trend_is_mann_kendall_of_the_monthly_counts(reports):
    pymk = pytest.importorskip("pymannkendall")
    for row in reports["police"]["tables"]["places"]["rows"]:
        res = pymk.original_test(np.array(row["raw"], dtype=float), alpha=0.05)
        expected = {"increasing": "up", "decreasing": "down"}.get(res.trend, "stable")
        assert row["trend"]["code"] == expected


def test_actions_carry_their_measured_effect(reports, places):
    for aud in ("partners", "police"):
        rows = reports[aud]["tables"]["places"]["rows"]
        (light,), (placebo,) = rows[0]["actions"], rows[1]["actions"]
        assert light["kind"] == "Lighting repaired or added" and light["status_code"] == "done"
        assert light["verdict"] == "down" and light["effect"].startswith("Targeted incidents fell by")
        assert placebo["verdict"] == "no_effect" and placebo["effect"].startswith("No significant difference")
        assert (light["start_date"], light["end_date"]) == (places[0][1][0]["start_date"], places[0][1][0]["end_date"])


def test_concentration_against_sjoin_nearest(reports, home, last_month):
    c = reports["partners"]["tables"]["concentration"]
    assert c == reports["police"]["tables"]["concentration"]  # the ordinary categories for both
    inc = home.store.read("incidents")
    inc = inc[~inc["category"].isin(sorted(home.taxonomy.sensitive))]
    month = inc["occurred_from"].dt.tz_convert("Europe/Paris").dt.tz_localize(None).dt.to_period("M")
    pts = inc[(month == pd.Period(last_month, "M")).to_numpy()].to_crs(2154)
    streets = home.store.read("streets").to_crs(2154).reset_index(drop=True)
    j = gpd.sjoin_nearest(pts[["geometry"]], streets[["geometry"]], max_distance=30, how="left")
    j = j[~j.index.duplicated()]
    seg = j["index_right"].dropna().astype(int).to_numpy()
    n = np.sort(np.bincount(seg, minlength=len(streets)))[::-1]
    cum = np.cumsum(n) / n.sum()
    share50 = (np.searchsorted(cum, 0.5) + 1) / len(n)
    share100 = np.count_nonzero(n) / len(n)
    assert c["segments"] == len(streets)
    assert c["off_network"] == int(j["index_right"].isna().sum())
    assert c["share_places_50"] == pytest.approx(share50, abs=0.002)  # ties at nodes apart
    assert c["share_places_100"] == pytest.approx(share100, abs=0.002)
    top5 = next(p for p in c["curve"] if p["share_places"] == 0.05)
    assert top5["share_incidents"] == pytest.approx(n[: int(np.ceil(0.05 * len(n)))].sum() / n.sum(), abs=0.005)


def test_html_and_pdf_show_the_section(reports, places, tmp_path):
    import pypdf

    from geo_app.report import render_html, write_report

    rep = reports["partners"]
    html = render_html(rep)
    section = html[html.index('<section class="page" id="places">'):]
    section = section[: section.index("</section>")]
    assert "4a. Places followed and actions" in section
    for (place, _), row in zip(places, rep["tables"]["places"]["rows"]):
        assert f'data-place="{place["place_id"]}"' in section
        for a in row["actions"]:
            assert a["effect"] and a["effect"].replace("'", "&#39;") in section
    conc = html[html.index('<div id="concentration">'):]
    assert rep["tables"]["concentration"]["text"]["p50"] in conc[:2000]
    assert "Places followed: incidents per month" in html  # the method note
    out = tmp_path / "report.pdf"
    write_report(rep, out)
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(str(out)).pages)
    text = " ".join(text.split())
    assert "4a. Places followed and actions" in text and places[0][0]["place_id"] in text
    assert "Concentration of incidents on the streets" in text


def test_report_json_and_zac_scope(home, last_month, places):
    from geo_app.report import build_report
    from geo_app.report.build import to_json_summary

    import json

    j = json.loads(to_json_summary(build_report(home, month=last_month, lang="fr", images=False,
                                                zac_pages=False)))
    assert [r["place_id"] for r in j["places"]["rows"]] == [p["place_id"] for p, _ in places]
    assert j["concentration"]["segments"] > 8000
    # a ZAC's report follows the places touching it (the placebo's place is in ZAC La Fontaine)
    assert places[1][0]["zacs"] == ["ZAC La Fontaine"] and places[0][0]["zacs"] == []
    rep = build_report(home, month=last_month, lang="fr", images=False, zac="ZAC La Fontaine", zac_pages=False)
    assert [r["place_id"] for r in rep["tables"]["places"]["rows"]] == [places[1][0]["place_id"]]
    # a ZAC touched by no place: the section says so
    zacs = set(home.store.read("zac")["name"]) - {z for p, _ in places for z in p["zacs"]}
    rep = build_report(home, month=last_month, lang="fr", images=False, zac=sorted(zacs)[0], zac_pages=False)
    assert rep["tables"]["places"]["rows"] == []
    from geo_app.report import render_html

    assert "Aucun lieu suivi pour l'instant" in render_html(rep).replace("&#39;", "'")


@pytest.mark.parametrize("role", ["coordinator", "planner"])
def test_dashboard_concentration_card(demo_app, role):
    c = demo_app.test_client()
    assert c.post("/login", data={"username": role, "password": DEMO_PASSWORD}).status_code == 302
    page = c.get("/?lang=en").get_data(as_text=True)
    card = page[page.index('id="concentration-card"'):]
    card = card[: card.index("</section>")]
    assert "Segments holding half of the incidents" in card and "Incidents on the top 5 % of segments" in card
    # the same figures as the workspace's over the dashboard's default filters
    from pathlib import Path

    from geo_app.config import Home

    ws = Home(Path(demo_app.config["HOME"])).workspace()
    conc = ws.street_concentration(ws.default_filters(None))
    top5 = next(p["share_incidents"] for p in conc["curve"] if p["share_places"] == 0.05)

    def pct(v):  # one decimal under 10 %
        return f"{100 * v:.1f} %" if v < 0.1 else f"{100 * v:.0f} %"

    assert f'<strong id="kc-50">{pct(conc["share_places_50"])}</strong>' in card
    assert f'<strong id="kc-100">{pct(conc["share_places_100"])}</strong>' in card
    assert f'<strong id="kc-top5">{pct(top5)}</strong>' in card
