"""The report page of the web app (``/reports``), per role, on a copy of the demo city's
application database (logging in writes to it) over the shared demo store."""

from __future__ import annotations

import re
import shutil

import pytest

pytestmark = pytest.mark.slow

PASSWORD = "demo-password"  # tests/conftest.py builds the demo with it


@pytest.fixture(scope="module")
def app(demo_home_path, tmp_path_factory):
    from geo_app import create_app

    path = tmp_path_factory.mktemp("report-web") / "home"
    path.mkdir()
    shutil.copy(demo_home_path / "config.toml", path / "config.toml")
    shutil.copy(demo_home_path / "app.db", path / "app.db")
    (path / "store.gpkg").symlink_to(demo_home_path / "store.gpkg")  # read only
    return create_app({"TESTING": True, "HOME": str(path), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False})


@pytest.fixture(scope="module")
def last_month(demo_home_path):
    from geo_app.config import Home
    from layers.report import local_months

    inc = Home(demo_home_path).store.read("incidents", columns=["category", "occurred_from"])
    return str(local_months(inc, tz="Europe/Paris").max())


def login(app, role):
    c = app.test_client()
    r = c.post("/login", data={"username": role, "password": PASSWORD})
    assert r.status_code == 302, r.data[:200]
    return c


def test_anonymous_is_sent_to_login(app):
    r = app.test_client().get("/reports")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_coordinator_gets_the_partners_version(app, last_month):
    c = login(app, "coordinator")
    r = c.get(f"/reports?month={last_month}&lang=fr&zac=ZAC des Grisettes")  # one ZAC page: quicker
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Cellule de veille" in page and "Version partenaires" in page and 'class="web"' in page
    j = c.get(f"/reports?month={last_month}&format=json&lang=fr&zac=ZAC des Grisettes").json
    assert j["meta"]["audience"] == "partners" and j["meta"]["k"] == 5
    assert not j["meta"]["sensitive_excluded"]  # the coordinator sees them as aggregates
    pdf = c.get(f"/reports?month={last_month}&lang=fr&zac=ZAC des Grisettes&format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "attachment" in pdf.headers["Content-Disposition"]
    import io

    import pypdf

    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "ZAC des Grisettes" in text and "Télécharger le PDF" not in text  # print version: no web bar
    assert "violence_women" in {g["group"] for g in j["figures"]["groups"]}


def test_police_gets_the_police_version(app, last_month):
    from geo_app.db import AppDB

    j = login(app, "police").get(f"/reports?month={last_month}&format=json&lang=en").json
    assert j["meta"]["audience"] == "police" and j["meta"]["k"] is None and j["meta"]["lang"] == "en"
    # a view of point-level data is audited
    lines = AppDB(app.extensions["vigie"].home.app_db).audit_log(action="view_points", user="police")
    assert any(line["target"] == f"report {last_month}" for line in lines)


def test_zac_manager_gets_own_zac_only(app, last_month):
    c = login(app, "zac_manager")
    j = c.get(f"/reports?month={last_month}&format=json").json
    own = j["meta"]["zac"]
    assert own and j["meta"]["audience"] == "partners"
    assert [z["name"] for z in j["zacs"]] == [own]
    # no right at all on sensitive categories: not even aggregated
    assert j["meta"]["sensitive_excluded"]
    assert "violence_women" not in {g["group"] for g in j["figures"]["groups"]}
    other = "ZAC Garosud" if own != "ZAC Garosud" else "ZAC Hermès"
    assert c.get(f"/reports?month={last_month}&zac={other}").status_code == 403
    page = c.get(f"/reports?month={last_month}").get_data(as_text=True)
    options = re.findall(r'<option value="([^"]*)"', page)
    assert [o for o in options if o not in ("fr", "en")] == [own]  # no "whole territory", no other ZAC


@pytest.mark.parametrize("query, param", [("month=2024-13", "month"), ("month=june", "month"),
                                          ("format=docx", "format"), ("lang=de", "lang"),
                                          ("zac=Nowhere", "zac")])
def test_bad_query_is_a_400_naming_the_field(app, query, param):
    r = login(app, "coordinator").get(f"/reports?{query}", headers={"Accept": "application/json"})
    assert r.status_code == 400
    assert param in r.get_data(as_text=True)


def test_month_without_data_is_a_4xx(app):
    r = login(app, "coordinator").get("/reports?month=2019-01", headers={"Accept": "application/json"})
    assert 400 <= r.status_code < 500 and "2019-01" in r.get_data(as_text=True)
