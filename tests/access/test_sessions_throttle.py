"""Sessions that end, and a login throttle that slows guessing without locking anyone else out.

Attacks tried: replaying a cookie saved before logout, before a password change and before an
account was disabled then enabled again; 30 failed logins with random names from the address
every visitor shares behind a same-host reverse proxy; a client writing its own
``X-Forwarded-For``.
"""

from __future__ import annotations

import secrets
import shutil

import pytest

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    from access_city import fill_store

    from geo_app.accounts import create_demo_accounts
    from geo_app.config import Home, write_config

    path = tmp_path_factory.mktemp("sessions") / "home"
    write_config(path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris"})
    fill_store(Home(path))
    create_demo_accounts(Home(path), PASSWORD)
    return path


@pytest.fixture
def home(template, tmp_path):
    from geo_app.config import Home

    shutil.copytree(template, tmp_path / "home")
    return Home(tmp_path / "home")


def make_app(home, **extra):
    from geo_app import create_app

    return create_app({"TESTING": True, "HOME": str(home.path), "SECRET_KEY": "test",
                       "WTF_CSRF_ENABLED": False, **extra})


def login(app, name, *, ip="127.0.0.1", password=PASSWORD, headers=None):
    c = app.test_client()
    r = c.post("/login", data={"username": name, "password": password},
               environ_base={"REMOTE_ADDR": ip}, headers=headers or {})
    return c, r


def _replay(app, cookie):
    c = app.test_client()
    c.set_cookie("session", cookie)
    return c


POINTS = "/api/layers/incidents?limit=5"


def test_a_cookie_saved_before_logout_no_longer_works(home):
    app = make_app(home)
    c, r = login(app, "police")
    assert r.status_code == 302 and c.get(POINTS).status_code == 200
    saved = c.get_cookie("session").value
    assert _replay(app, saved).get(POINTS).status_code == 200  # a copy works while logged in
    assert c.post("/logout").status_code == 302
    assert _replay(app, saved).get(POINTS).status_code == 401
    assert _replay(app, saved).get("/hotspots").status_code == 302


def test_logout_ends_only_that_session(home):
    app = make_app(home)
    a, _ = login(app, "police")
    b, _ = login(app, "police")
    a.post("/logout")
    assert b.get(POINTS).status_code == 200


def test_password_change_and_disabling_end_every_session(home):
    from geo_app.accounts import set_active, set_password

    app = make_app(home)
    c, _ = login(app, "police")
    saved = c.get_cookie("session").value
    set_password(home, "police", "another-long-password")
    assert _replay(app, saved).get(POINTS).status_code == 401
    c, _ = login(app, "police", password="another-long-password")
    saved = c.get_cookie("session").value
    set_active(home, "police", False)
    set_active(home, "police", True)  # enabling again revives no old session
    assert _replay(app, saved).get(POINTS).status_code == 401
    assert login(app, "police", password="another-long-password")[1].status_code == 302


def test_sessions_expire(home):
    app = make_app(home, SESSION_LIFETIME_HOURS=-1)  # already expired when opened
    c, r = login(app, "police")
    assert r.status_code == 302
    assert c.get(POINTS).status_code == 401


def test_thirty_failed_random_names_do_not_block_a_legitimate_user(home):
    app = make_app(home)
    for _ in range(30):
        _, r = login(app, secrets.token_hex(6), password="wrong-password")
        assert r.status_code == 401
    _, r = login(app, "police")
    assert r.status_code == 302


def test_back_off_is_per_account_and_doubles(home):
    import time

    app = make_app(home, LOGIN_BACKOFF_SECONDS=2)
    for _ in range(5):
        assert login(app, "planner", password="wrong-password")[1].status_code == 401
    _, r = login(app, "planner")
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 2
    # the right password of another user, from the same address, is never refused
    assert login(app, "police")[1].status_code == 302
    time.sleep(2.1)  # the back-off has passed: one more failure doubles it
    assert login(app, "planner", password="wrong-password")[1].status_code == 401
    _, r = login(app, "planner")
    assert r.status_code == 429 and 3 <= int(r.headers["Retry-After"]) <= 4


def test_guessing_one_account_from_many_addresses_is_slowed_too(home):
    app = make_app(home)
    for i in range(20):
        login(app, "coordinator", ip=f"10.0.{i}.1", password="wrong-password")
    assert login(app, "coordinator", ip="10.9.9.9")[1].status_code == 429
    assert login(app, "police", ip="10.9.9.9")[1].status_code == 302


def test_trusted_proxy_gives_the_real_client_address(home):
    app = make_app(home, TRUSTED_PROXIES=["127.0.0.1"])
    for _ in range(5):
        login(app, "planner", password="wrong-password", headers={"X-Forwarded-For": "203.0.113.7"})
    blocked = login(app, "planner", headers={"X-Forwarded-For": "203.0.113.7"})[1]
    assert blocked.status_code == 429
    # another client behind the same proxy is not that client
    assert login(app, "planner", headers={"X-Forwarded-For": "198.51.100.2"})[1].status_code == 302
    # a client cannot pick its address by writing the header itself: the proxy appends the real one
    spoof = {"X-Forwarded-For": "198.51.100.99, 203.0.113.7"}
    assert login(app, "planner", password="wrong-password", headers=spoof)[1].status_code == 429


def test_forwarded_for_is_ignored_without_a_trusted_proxy(home):
    app = make_app(home)
    for i in range(5):
        login(app, "planner", password="wrong-password", headers={"X-Forwarded-For": f"203.0.113.{i}"})
    assert login(app, "planner", headers={"X-Forwarded-For": "198.51.100.2"})[1].status_code == 429
