"""The monthly report of the demo city for its last month: figures against the store, the
planted emerging hotspot, the PDF's pages and text, the partners' privacy, offline PDF, CLI.

The report is built once per module (partners' version, French, with images) and its PDF
written once; the other variants are built without images.
"""

from __future__ import annotations

import re
import socket

import geopandas as gpd
import pandas as pd
import pytest

from layers.simulate import PLANTED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(demo_home_path):
    from geo_app.config import Home

    return Home(demo_home_path)


@pytest.fixture(scope="module")
def store_incidents(home):
    inc = home.store.read("incidents")
    local = inc["occurred_from"].dt.tz_convert("Europe/Paris")
    inc = inc.assign(ym=local.dt.year * 100 + local.dt.month)
    return inc


@pytest.fixture(scope="module")
def last_month(store_incidents):
    ym = int(store_incidents["ym"].max())
    return f"{ym // 100}-{ym % 100:02d}"


@pytest.fixture(scope="module")
def partners(home, last_month):
    from geo_app.report import build_report

    return build_report(home, month=last_month, audience="partners", lang="fr")


@pytest.fixture(scope="module")
def html(partners):
    from geo_app.report import render_html

    return render_html(partners)


def _no_network(*args, **kwargs):
    raise AssertionError("the report tried to open a network connection")


@pytest.fixture(scope="module")
def pdf_text(partners, tmp_path_factory):
    """The partners' PDF written with every socket connection forbidden; text per page."""
    import pypdf

    from geo_app.report import write_report

    out = tmp_path_factory.mktemp("report") / "report.pdf"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _no_network)
        mp.setattr(socket, "create_connection", _no_network)
        write_report(partners, out)
    reader = pypdf.PdfReader(str(out))
    return [p.extract_text() for p in reader.pages]


def _group_counts(inc, ym, tax):
    groups = inc.loc[inc["ym"] == ym, "category"].map(lambda c: tax[c].group)
    return groups.value_counts()


def _ym(month: str, back: int = 0) -> int:
    p = pd.Period(month, freq="M") - back
    return p.year * 100 + p.month


def test_figures_equal_the_counts_of_the_store(partners, store_incidents, last_month, home):
    tax = home.taxonomy
    fig = partners["figures"]
    g = fig["groups"].set_index("group")
    for col, back in (("n", 0), ("n_prev", 1), ("n_year", 12)):
        by_hand = _group_counts(store_incidents, _ym(last_month, back), tax)
        for grp in tax.groups:
            assert g.loc[grp.code, col] == int(by_hand.get(grp.code, 0)), (col, grp.code)
    assert fig["total"]["n"] == int((store_incidents["ym"] == _ym(last_month)).sum())
    assert fig["total"]["n_prev"] == int((store_incidents["ym"] == _ym(last_month, 1)).sum())
    assert fig["total"]["n_year"] == int((store_incidents["ym"] == _ym(last_month, 12)).sum())
    assert fig["total"]["n"] > 0


def test_planted_emerging_hotspot_appears(partners, html, home):
    from layers.report import EMERGING_NOW

    p = PLANTED["emerging"]
    centre = gpd.GeoSeries.from_xy([p["lon"]], [p["lat"]], crs=4326).to_crs(home.settings.analysis_crs).iloc[0]
    cells = partners["data"]["emerging"]
    hit = cells[cells.intersects(centre)]
    assert len(hit) == 1, "the planted emerging spot is not in the report's emerging cells"
    assert hit["category"].iloc[0] in EMERGING_NOW
    assert bool(hit["emerging"].iloc[0])
    # and it is listed in the shown table of emerging cells
    assert str(hit["cell_id"].iloc[0]) in {r["cell_id"] for r in partners["tables"]["emerging"]["rows"]}


def test_pdf_pages_and_text(pdf_text, partners):
    L, m = partners["L"], partners["meta"]
    text = "\n".join(pdf_text)
    flat = re.sub(r"\s+", " ", text)
    assert L["title"] in pdf_text[0]
    assert m["month_title"] in pdf_text[0]  # "octobre 2025"
    total = partners["tables"]["figures"]["total"]["n"]
    assert total.replace("\u202f", " ") in flat.replace("\u202f", " ")
    for key in ("s_figures", "s_hotspots", "s_emerging", "s_reviews", "s_time", "s_proposals", "s_zac", "s_methods"):
        assert L[key] in flat, key
    zacs = partners["tables"]["zacs"]
    assert zacs, "the demo city's last month has incidents in ZACs"
    # each ZAC page starts a page with its heading (the first one under the section heading)
    starts = [re.sub(r"\s+", " ", t).strip() for t in pdf_text]
    for i, z in enumerate(zacs):
        heading = L["zac_page"].format(name=z["name"]) + " — " + m["month_title"]
        prefix = (L["s_zac"] + " ") if i == 0 else ""
        assert sum(s.startswith(prefix + heading) for s in starts) == 1, heading
    assert starts[0].startswith(L["title"]) and starts[-1] != ""
    assert len(pdf_text) >= 8 + len(zacs)
    assert "SIMULÉ" in flat  # the demo's incidents are said to be simulated


def _shown_counts(partners):
    """Every incident count the partners' report shows, as text."""
    t = partners["tables"]
    out = []

    def figs(f):
        out.extend([f["total"]["n"], f["total"]["n_prev"], f["total"]["n_year"]])
        for g in f["groups"]:
            out.extend([g["n"], g["n_prev"], g["n_year"]])
        for c in f["categories"]:
            out.extend([c["n"], c["n_prev"]])

    figs(t["figures"])
    for z in t["zacs"]:
        figs(z["figures"])
        out.extend(h["n"] for h in z["hotspots"])
    out.extend(h["n"] for h in t["hotspots"])
    out.extend(d["n"] for d in t["time"]["darkness"])
    if t["emerging"]:
        for r in t["emerging"]["rows"]:
            out.extend([r["n"], r["n_last"]])
    return out


def test_partners_version_holds_no_point_and_no_count_below_k(partners, html, store_incidents, last_month, home):
    k = home.settings.k_anonymity
    assert partners["meta"]["k"] == k
    for name, frame in partners["data"].items():
        if isinstance(frame, gpd.GeoDataFrame) and len(frame):
            assert not frame.geometry.geom_type.isin(["Point", "MultiPoint"]).any(), name
    assert "points" not in partners["data"]
    assert (partners["data"]["grid"]["n"] >= k).all()
    # Gi* as classes only: no count and no z to solve the hidden counts from
    assert not {"n", "z", "p", "p_adj"} & set(partners["data"]["gistar"].columns)
    assert "bin" in partners["data"]["gistar"]
    assert (partners["data"]["emerging"]["n"] >= k).all()
    shown = _shown_counts(partners)
    assert any(s == f"< {k}" for s in shown), "the demo's ZAC pages have small counts to hide"
    for s in shown:
        if s != f"< {k}":
            n = int(s.replace("\u202f", ""))
            assert n == 0 or n >= k, s
    # no incident coordinate anywhere in the HTML
    month = store_incidents[store_incidents["ym"] == _ym(last_month)]
    for x, y in list(zip(month.geometry.x, month.geometry.y))[:300]:
        assert f"{x:.4f}" not in html and f"{y:.4f}" not in html
    # sensitive categories appear only aggregated
    for code in home.taxonomy.sensitive:
        label = home.taxonomy[code].label("fr")
        assert f"<td>{label}</td>" not in html
    assert partners["L"]["sensitive_aggregated"] in html


def test_police_version_shows_points(home, last_month, store_incidents):
    from geo_app.report import build_report

    rep = build_report(home, month=last_month, audience="police", lang="en", images=False, zac_pages=False)
    assert rep["meta"]["k"] is None
    assert len(rep["data"]["points"]) == int((store_incidents["ym"] == _ym(last_month)).sum())
    assert rep["L"]["title"] == "Monitoring cell — monthly report"
    # the police see the reasons with their counts per category
    assert any(re.search(r"\(\d+\)", p["reason"]) for p in rep["tables"]["proposals"])
    # English throughout: no French heading left
    from geo_app.i18n import label
    from geo_app.report import render_html
    from geo_app.report.labels import labels

    html = render_html(rep)
    french = labels("fr")
    for key in ("s_figures", "s_hotspots", "s_methods", "total", "previous", "rule"):
        assert french[key].split("{")[0][:25] not in html, key
    assert labels("en")["s_figures"] in html and label("audience", "police", "en") in html


def test_proposals_of_the_month(partners, html, home):
    k = home.settings.k_anonymity
    rows = partners["tables"]["proposals"]
    from geo_app.i18n import label

    kinds = {r["kind"] for r in rows}
    assert {r["code"] for r in rows} == {"cctv", "lighting"}, partners["tables"]["proposals_reason"]
    assert kinds == {label("proposal", "cctv", "fr"), label("proposal", "lighting", "fr")}
    for r in rows:
        assert int(r["n"].replace("\u202f", "")) >= k
        assert not re.search(r"\(\d+\)", r["reason"]), r["reason"]  # no per-category counts for partners
    assert (partners["proposals"]["cctv"]["covered_incidents"] >= k).all()
    assert (partners["proposals"]["lighting"]["night_incidents"] >= k).all()
    assert 'class="proposals"' in html


def test_pdf_refuses_outside_urls():
    from geo_app.report import html_to_pdf, offline_url_fetcher

    fetcher = offline_url_fetcher()
    html = ('<html><head><link rel="stylesheet" href="https://cdn.example.org/x.css"></head>'
            '<body><p>hors ligne</p><img src="http://tiles.example.org/1/2/3.png"></body></html>')
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _no_network)
        pdf = html_to_pdf(html, fetcher=fetcher)
    assert pdf.startswith(b"%PDF")
    assert set(fetcher.refused) == {"https://cdn.example.org/x.css", "http://tiles.example.org/1/2/3.png"}
    with pytest.raises(Exception, match="without network"):
        fetcher.fetch("https://example.org/")


def test_labels_complete_in_both_languages():
    from geo_app.report.labels import WORDS, labels

    fr, en = labels("fr"), labels("en")
    assert set(fr) == set(en) == set(WORDS)
    assert all(v.strip() for v in (*fr.values(), *en.values()))
    # every sentence is translated (the catalogue falls back to the French source otherwise),
    # some words are the same in both languages
    assert [k for k in WORDS if fr[k] == en[k] and k not in ("page", "zac", "incidents", "when")] == []


# ---------------------------------------------------------------------------------- CLI


def _run(home, args, capsys):
    from geo_app.cli import main

    code = main(["--home", str(home.path), "report", *args])
    return code, capsys.readouterr()


@pytest.mark.parametrize("month", ["2024-13", "june", "2025-1-1"])
def test_cli_bad_month_exit_2(home, month, capsys, tmp_path):
    code, out = _run(home, ["--month", month, "--out", str(tmp_path / "r.html")], capsys)
    assert code == 2 and "--month" in out.err
    assert not (tmp_path / "r.html").exists()


def test_cli_bad_options_exit_2(home, last_month, capsys, tmp_path):
    code, out = _run(home, ["--month", last_month, "--zac", "ZAC Nulle Part", "--out", str(tmp_path / "r.html")], capsys)
    assert code == 2 and "--zac" in out.err and "ZAC des Grisettes" in out.err
    code, out = _run(home, ["--month", last_month, "--out", str(tmp_path / "r.docx")], capsys)
    assert code == 2 and "--out" in out.err
    code, out = _run(home, ["--month", last_month, "--audience", "press", "--out", str(tmp_path / "r.html")], capsys)
    assert code == 2


def test_cli_month_without_data_exit_1(home, capsys, tmp_path):
    code, out = _run(home, ["--month", "2019-01", "--out", str(tmp_path / "r.html")], capsys)
    assert code == 1 and "2019-01" in out.err and "2023-11" in out.err
    assert not (tmp_path / "r.html").exists()


def test_cli_writes_one_zac_report(home, last_month, capsys, tmp_path):
    out_file = tmp_path / "grisettes.html"
    code, out = _run(home, ["--month", last_month, "--zac", "ZAC des Grisettes", "--lang", "en",
                            "--out", str(out_file)], capsys)
    assert code == 0, out.err
    text = out_file.read_text("utf-8")
    assert "ZAC: ZAC des Grisettes" in text and text.count('class="page zac"') == 1
    assert "Gi* cell" in out.out  # automatic choices printed


def test_a_zac_without_incident_gets_an_honest_empty_report(home, last_month, store_incidents):
    from geo_app.report import build_report, render_html

    zac = home.store.read("zac")
    month = store_incidents[store_incidents["ym"] == _ym(last_month)]
    hit = set(gpd.sjoin(month[["geometry"]], zac[["name", "geometry"]])["name"])
    empty = sorted(set(zac["name"]) - hit)
    assert empty, "every demo ZAC has incidents this month"
    rep = build_report(home, month=last_month, zac=empty[0], images=False)
    assert rep["figures"]["total"]["n"] == 0
    assert [z["name"] for z in rep["tables"]["zacs"]] == [empty[0]]
    from geo_app.i18n import label

    assert rep["tables"]["figures"]["total"]["verdict_prev"] == label("verdict", "too_few", "fr")
    html = render_html(rep)
    assert rep["L"]["zac_scope"].format(zac=empty[0]) in html


def test_hotspot_changes_agree_with_the_hotspot_counts(partners, store_incidents, last_month, home):
    ha = partners["data"]["hotspots"]
    assert len(ha) >= 1
    # layers.hotspots counts by cell, layers.report.area_changes by polygon: same month counts
    assert (ha["n_month"] == ha["n"]).all()
    # the previous month by hand: the store's incidents (sensitive left out) inside each area
    prev = store_incidents[(store_incidents["ym"] == _ym(last_month, 1))
                           & ~store_incidents["category"].isin(home.taxonomy.sensitive)]
    prev = prev.to_crs(ha.crs)
    for geom, n_prev in zip(ha.geometry, ha["n_prev"]):
        assert int(prev.intersects(geom).sum()) == n_prev


def test_version_without_sensitive_categories(home, last_month, store_incidents):
    from geo_app.report import build_report

    tax = home.taxonomy
    rep = build_report(home, month=last_month, images=False, include_sensitive=False)
    ordinary = store_incidents[~store_incidents["category"].isin(tax.sensitive)]
    assert rep["figures"]["total"]["n"] == int((ordinary["ym"] == _ym(last_month)).sum())
    groups = set(rep["figures"]["groups"]["group"])
    assert "violence_women" not in groups and "property" in groups
    for z in rep["tables"]["zacs"]:
        assert "violence_women" not in {g["group"] for g in z["figures"]["groups"]}
        assert rep["L"]["sensitive_aggregated"] not in {c["label"] for c in z["figures"]["categories"]}
    assert rep["meta"]["sensitive_excluded"] and rep["L"]["sensitive_excluded"] in rep["methods"]["privacy"]
