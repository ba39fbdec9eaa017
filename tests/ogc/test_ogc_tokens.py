"""Personal API tokens and HTTP Basic for programs: created, listed and revoked on the account
page, stored hashed, audited, acting with the owner's role only."""

from __future__ import annotations

import re
import sqlite3

from ogc_helpers import PASSWORD, basic


def _new_token(client, name="QGIS"):
    r = client.post("/account/tokens", data={"name": name})
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    return re.search(r'id="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)


def test_token_life_cycle(ogc_app, login):
    client = login(ogc_app, "planner", PASSWORD)
    token = _new_token(client)
    assert token.startswith("vigie_") and len(token) > 40
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "QGIS" in page and token not in page  # shown once, then only its first characters
    # stored hashed
    from geo_app.auth import get_db

    db = get_db(ogc_app)
    con = sqlite3.connect(db.path)
    stored = [r[0] for r in con.execute("SELECT token_hash FROM api_tokens")]
    con.close()
    assert token not in stored and all(len(h) == 64 for h in stored)
    # usable as Bearer and as the Basic password, with the planner's role only
    anon = ogc_app.test_client()
    for headers in ({"Authorization": f"Bearer {token}"}, basic("planner", token)):
        ids = {c["id"] for c in anon.get("/ogc/collections", headers=headers).json["collections"]}
        assert "incidents_grid" in ids and "incidents" not in ids
        assert anon.get("/ogc/collections/incidents/items", headers=headers).status_code == 404
    # another user's name with this token is refused
    assert anon.get("/ogc/collections", headers=basic("police", token)).status_code == 401
    # audited, then revoked
    log = db.audit_log(action="token_create", user="planner")
    assert log and log[0]["detail"]["name"] == "QGIS"
    tid = db.tokens(db.find_user("planner").id)[0]["id"]
    assert client.post(f"/account/tokens/{tid}/revoke").status_code == 302
    assert db.audit_log(action="token_revoke", user="planner")
    r = anon.get("/ogc/collections", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    # one user cannot revoke another's token
    other = login(ogc_app, "police", PASSWORD)
    t2 = _new_token(other, "script")
    tid2 = db.tokens(db.find_user("police").id)[0]["id"]
    assert client.post(f"/account/tokens/{tid2}/revoke").status_code == 404
    assert anon.get("/ogc", headers={"Authorization": f"Bearer {t2}"}).status_code == 200


def test_token_needs_a_name(ogc_app, login):
    client = login(ogc_app, "coordinator", PASSWORD)
    r = client.post("/account/tokens", data={"name": "  "})
    assert r.status_code == 400 and "name" in r.get_data(as_text=True)


def test_bad_basic_credentials_are_refused_and_audited(ogc_app):
    from geo_app.auth import get_db

    c = ogc_app.test_client()
    r = c.get("/ogc/collections", headers=basic("police", "wrong-password"),
              environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert r.status_code == 401
    assert any(e["target"].startswith("bad basic") for e in get_db(ogc_app).audit_log(action="login_failed", user="police"))
    assert c.get("/ogc", headers={"Authorization": "Basic !!!"}).status_code == 401


def test_basic_failures_are_throttled(ogc_app):
    c = ogc_app.test_client()
    ip = {"REMOTE_ADDR": "10.8.8.8"}
    for _ in range(5):
        assert c.get("/ogc", headers=basic("zac_manager", "nope-nope"), environ_base=ip).status_code == 401
    # the right password is refused too while the window lasts
    assert c.get("/ogc", headers=basic("zac_manager"), environ_base=ip).status_code == 401
    assert c.get("/ogc", headers=basic("zac_manager"), environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code == 200


def test_disabled_account_token_stops_working(ogc_city, login, tmp_path):
    from ogc_helpers import make_app

    from geo_app.accounts import set_active

    app = make_app(ogc_city)
    client = login(app, "admin", PASSWORD)
    token = _new_token(client, "admin script")
    anon = app.test_client()
    assert anon.get("/ogc", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    set_active(ogc_city, "admin", False)
    try:
        assert anon.get("/ogc", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    finally:
        set_active(ogc_city, "admin", True)
