"""``GET /api/geocode?q=`` for every role, and the admin import page's address column."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from geo_app.access import ROLES

PASSWORD = "long-password-1"
ADDR = Path(__file__).resolve().parents[1] / "data" / "addresses"


@pytest.fixture(scope="module")
def address_home(tmp_path_factory):
    """One deployment with the sample register and an account per role, for the whole module."""
    from geo_app.accounts import create_demo_accounts
    from geo_app.config import Home, write_config
    from geo_app.imports import import_file

    path = tmp_path_factory.mktemp("geocode-web") / "home"
    write_config(path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris"})
    home = Home(path)
    import_file(home, "addresses", ADDR / "mtp_adresses_centre.zip",
                mapping={"street": "LIB_OFF", "number": "NUM_VOI", "suffix": "SUF_VOI", "street_code": "CODE_VOIE"})
    create_demo_accounts(home, PASSWORD)
    return home


@pytest.fixture(scope="module")
def web(address_home):
    from geo_app import create_app

    return create_app({"TESTING": True, "HOME": str(address_home.path), "SECRET_KEY": "t",
                       "WTF_CSRF_ENABLED": False})


def _login(app, role):
    c = app.test_client()
    r = c.post("/login", data={"username": role, "password": PASSWORD})
    assert r.status_code == 302
    return c


@pytest.mark.parametrize("role", ROLES)
def test_every_role_that_sees_the_map_may_geocode(web, role):
    r = _login(web, role).get("/api/geocode", query_string={"q": "RUE DE LA LOGE 4"})
    assert r.status_code == 200, r.data[:300]
    (f,) = r.json["features"]
    assert f["properties"]["precision"] == "house" and f["properties"]["label"] == "4 Rue de la Loge"
    lon, lat = f["geometry"]["coordinates"]
    assert 3.87 < lon < 3.88 and 43.60 < lat < 43.62


def test_anonymous_gets_401_and_bad_queries_400(web):
    assert web.test_client().get("/api/geocode?q=x").status_code == 401
    c = _login(web, "coordinator")
    r = c.get("/api/geocode")
    assert r.status_code == 400 and r.json["param"] == "q"
    assert c.get("/api/geocode", query_string={"q": "x" * 201}).status_code == 400
    r = c.get("/api/geocode", query_string={"q": "3 rue qui n'existe pas"})
    assert r.status_code == 200 and r.json["features"][0]["properties"]["precision"] == "not_found"
    assert r.json["features"][0]["geometry"] is None


def test_no_register_is_a_400_saying_how_to_get_one(home):
    from geo_app import create_app
    from geo_app.accounts import create_demo_accounts

    create_demo_accounts(home, PASSWORD)
    app = create_app({"TESTING": True, "HOME": str(home.path), "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
    r = _login(app, "police").get("/api/geocode?q=4 rue de la loge")
    assert r.status_code == 400 and "No address register" in r.json["message"]


def _upload(client, text, **fields):
    data = {"kind": "incidents", "file": (io.BytesIO(text.encode()), "main_courante.csv"), **fields}
    return client.post("/admin/imports", data=data, content_type="multipart/form-data")


def test_admin_import_page_geocodes(web, address_home):
    admin = _login(web, "admin")
    page = admin.get("/admin/imports").get_data(as_text=True)
    assert 'name="geocode"' in page
    text = "date,category,adresse\n2024-03-01,theft,4 rue de la loge\n2024-03-02,theft,rue inventée 3\n"
    r = _upload(admin, text, geocode="adresse")
    assert r.status_code == 400 and "rue inventée 3" in r.get_data(as_text=True)
    assert address_home.store.counts()["incidents"] == 0
    r = _upload(admin, text, geocode="nope")
    assert r.status_code == 400 and "no column" in r.get_data(as_text=True)
    r = _upload(admin, text, geocode="adresse", skip_invalid="1")
    assert r.status_code == 200 and 'id="geocoded"' in r.get_data(as_text=True)
    got = address_home.store.read("incidents")
    assert list(got["geocode_precision"]) == ["house"]
