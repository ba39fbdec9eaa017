"""The app database (``geo_app.db.AppDB``) on both backends: SQLite beside a GeoPackage store,
and the store's PostgreSQL database when the store is PostGIS (the throw-away cluster of
``tests/conftest.py``). Same calls, same answers.
"""

from __future__ import annotations

import time

import pytest

from geo_app.db import AppDB
from layers.errors import NotFound, ParameterError


def test_users(db):
    assert not db.has_users() and db.users() == []
    u = db.add_user("a.martin", "coordinator", "hash-1", zacs=("Port Marianne",))
    assert (u.name, u.role, u.zacs, u.active) == ("a.martin", "coordinator", ("Port Marianne",), True)
    with pytest.raises(ParameterError, match="already exists"):
        db.add_user("a.martin", "admin", "hash-2")
    assert db.password_hash("a.martin") == "hash-1"
    db.set_password_hash("a.martin", "hash-3")
    db.set_active("a.martin", False)
    db.touch_login("a.martin")
    got = db.get_user("a.martin")
    assert not got.active and got.last_login and db.password_hash("a.martin") == "hash-3"
    assert db.user_by_id(got.id) == got
    db.upsert_user("a.martin", "admin", "hash-4")
    assert db.get_user("a.martin").role == "admin" and db.get_user("a.martin").active
    db.upsert_user("b.durand", "partner", "hash-5")
    assert [u.name for u in db.users()] == ["a.martin", "b.durand"] and db.has_users()
    assert db.find_user("nobody") is None
    with pytest.raises(NotFound):
        db.get_user("nobody")


def test_login_attempts(db):
    now = time.time()
    for _ in range(3):
        db.record_attempt("a", "10.0.0.1", False, at=now - 10)
    db.record_attempt("b", "10.0.0.1", False, at=now - 10)
    db.record_attempt("a", "10.0.0.2", False, at=now - 5000)  # outside the window
    assert db.recent_failures("a", "10.0.0.1", 900) == 3
    assert db.recent_failures_ip("10.0.0.1", 900) == 4
    assert db.recent_failures("a", "10.0.0.2", 900) == 0
    db.record_attempt("a", "10.0.0.1", True, at=now - 1)  # a success resets the pair
    assert db.recent_failures("a", "10.0.0.1", 900) == 0


def test_reviews_history_and_comments(db):
    assert db.review("h1")["status"] == "new" and db.reviews() == {}
    db.set_review("h1", user="a", status="in_review", owner="Police municipale")
    db.set_review("h1", user="b", status="action_decided")
    r = db.review("h1")
    assert (r["status"], r["owner"], r["updated_by"]) == ("action_decided", "Police municipale", "b")
    assert [(h["field"], h["old"], h["new"], h["user"]) for h in db.history("h1")] == [
        ("status", "new", "in_review", "a"), ("owner", "", "Police municipale", "a"),
        ("status", "in_review", "action_decided", "b")]
    c = db.add_comment("h1", author="a", body="Éclairage en panne rue de la Loge ; 50 % des faits la nuit.")
    assert c["body"].startswith("Éclairage") and c["id"] >= 1
    db.add_comment("h1", author="b", body="second")
    assert [x["author"] for x in db.comments("h1")] == ["a", "b"]
    with pytest.raises(ParameterError):
        db.add_comment("h1", author="a", body="  ")
    assert set(db.reviews()) == {"h1"}


def test_audit(db):
    db.audit("login", user="a", role="admin", ip="10.0.0.1")
    db.audit("export", user="b", target="incidents", detail={"rows": 12, "format": "csv"})
    log = db.audit_log()
    assert [x["action"] for x in log] == ["export", "login"]
    assert log[0]["detail"] == {"rows": 12, "format": "csv"} and log[0]["user"] == "b"
    assert [x["action"] for x in db.audit_log(user="a")] == ["login"]
    assert [x["action"] for x in db.audit_log(action="export", limit=1)] == ["export"]
    with pytest.raises(ValueError):
        db.audit("not-an-action")


def test_a_postgis_deployment_keeps_its_app_tables_in_the_store_database(home, postgis, monkeypatch):
    from geo_app.accounts import add_user

    url = postgis.fresh_url()
    monkeypatch.setenv("GEO_APP_STORE_URL", url)
    add_user(home, "c.roux", role="coordinator", password="a-long-password-1")
    assert not home.app_db.exists()  # no SQLite file beside a PostGIS store
    assert AppDB(url).get_user("c.roux").role == "coordinator"
    assert AppDB.of(home).path is None
    postgis.drop(url)


def test_places_and_actions(db):
    square = {"type": "Polygon", "coordinates": [[[3.87, 43.61], [3.88, 43.61], [3.88, 43.62], [3.87, 43.61]]]}
    a = db.add_place(name="Rue de la Loge", geometry=square, source="drawn", created_by="coord", zacs=("Centre",))
    b = db.add_place(name="Place Jean Jaurès", geometry=square, source="hotspot", source_ref="HS-1", created_by="coord")
    assert (a["place_id"], b["place_id"]) == ("PL-0001", "PL-0002")
    assert db.place("PL-0001")["geometry"] == square and db.place("PL-0001")["zacs"] == ["Centre"]
    assert [p["name"] for p in db.places()] == ["Rue de la Loge", "Place Jean Jaurès"]
    act = db.add_action("PL-0002", kind="lighting", technique="improve_surveillance", start_date="2024-03-01",
                        created_by="coord", cost=1200.5, categories=("theft",), night_only=True)
    assert act["place_id"] == "PL-0002" and act["categories"] == ["theft"] and act["night_only"] is True
    assert act["cost"] == pytest.approx(1200.5)
    assert [x["id"] for x in db.actions("PL-0002")] == [act["id"]] and db.actions("PL-0001") == []
    with pytest.raises(NotFound):
        db.add_action("PL-0099", kind="lighting", technique="x", start_date="2024-03-01", created_by="coord")


def test_sessions_and_api_tokens(db):
    u = db.add_user("a.martin", "coordinator", "hash-1")
    token = db.open_session(u.id, 3600)
    assert db.session_valid(u.id, token) and not db.session_valid(u.id, token + "x")
    db.close_session(token)
    assert not db.session_valid(u.id, token)
    t2 = db.open_session(u.id, 3600)
    db.close_sessions(u.id)
    assert not db.session_valid(u.id, t2)
    tid = db.add_token(u.id, "qgis", "f" * 64, "vgt_ffff")
    assert [t["name"] for t in db.tokens(u.id)] == ["qgis"]
    assert db.token_owner("f" * 64) == (tid, u.id)
    assert db.revoke_token(u.id, tid) and db.token_owner("f" * 64) is None
    assert not db.revoke_token(u.id, tid)


def test_failures_since_the_last_success(db):
    now = time.time()
    db.record_attempt("a", "10.0.0.1", False, at=now - 30)
    db.record_attempt("a", "10.0.0.2", False, at=now - 20)
    assert db.failures_since_success("a", 900) == (2, pytest.approx(now - 20))
    assert db.failures_since_success("a", 900, ip="10.0.0.1")[0] == 1
    db.record_attempt("a", "10.0.0.1", True, at=now - 10)
    assert db.failures_since_success("a", 900)[0] == 0
