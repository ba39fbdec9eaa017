"""Every route of the web service against bad input: no parameter, garbage in every known query
parameter, path ids that do not exist or climb out (``../``), bad POST forms (missing fields,
no CSRF token, oversized values).

The routes come from ``app.url_map``, so a new page is swept without editing this file. Rules
checked for each answer (DESIGN.md, "bad input anywhere"):

- the status is below 500;
- a 4xx answer names the parameter (JSON ``param`` or message under /api, the HTML error page
  elsewhere) and holds no Python traceback;
- /api 4xx answers are JSON ``{"error", "message"}``;
- the store (``Store.version``) and the application database are unchanged by a rejected request.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

PASSWORD = "demo-password"  # the small demo's accounts (tests/hardening/conftest.py)

#: garbage for every query parameter a route reads (name, value)
GARBAGE = [
    ("bbox", "abc"),
    ("bbox", "1,2,3"),
    ("bbox", "nan,nan,nan,nan"),
    ("bbox", "inf,0,1,1"),
    ("bbox", "-500,0,500,1"),
    ("from", "31/02/2024"),
    ("from", "2024-02-31"),
    ("from", "0001-01-01"),  # outside datetime64[ns]: was a 500 everywhere
    ("from", "2024-01-01\x00"),
    ("to", "yesterday"),
    ("to", "99999-01-01"),
    ("to", "9999-12-31"),
    ("to", "2262-04-12"),
    ("category", "<script>alert(1)</script>"),
    ("zac", "nowhere"),
    ("zac", "\x00"),
    ("hours", "99"),
    ("hours", "3-x"),
    ("weekdays", "x"),
    ("weekdays", "9"),
    ("night", "maybe"),
    ("limit", "-1"),
    ("limit", "1000000000"),
    ("limit", "10^9"),
    ("offset", "abc"),
    ("offset", "-4"),
    ("cells", "abc"),
    ("cells", "100000"),
    ("method", "magic"),
    ("cell_size", "0"),
    ("cell_size", "-5"),
    ("cell_size", "1e12"),
    ("cell_size", "nan"),
    ("format", "exe"),
    ("lang", "xx"),
    ("month", "2024-13"),
    ("month", "garbage"),
    ("month", "9999-12"),
    ("sort", "__class__"),
    ("order", "sideways"),
    ("status", "<b>nope</b>"),
    ("layer", "nowhere"),
    ("layer", "../../etc/passwd"),
    ("action", "nothing"),
    ("page", "abc"),
    ("page", "99999999999999999999999"),
]

#: routes that must refuse a parameter (not silently ignore it): endpoint -> parameters
MUST_REFUSE = {
    # OGC API – Features: a bad value, and any parameter it does not declare, is a 400 naming it
    # (category is a queryable there: category=<anything> is a filter matching nothing)
    "ogc.items": {"action", "bbox", "cell_size", "cells", "format", "from", "hours", "lang", "layer",
                  "limit", "method", "month", "night", "offset", "order", "page", "sort", "status", "to",
                  "weekdays", "zac"},
    "api.layer": {"bbox", "from", "to", "category", "zac", "hours", "weekdays", "night", "limit", "offset"},
    "api.layer_grid": {"bbox", "from", "to", "category", "zac", "hours", "weekdays", "night", "cells"},
    "api.hotspots": {"bbox", "from", "to", "category", "zac", "hours", "weekdays", "night", "method",
                     "cell_size"},
    "api.hotspot_areas": {"from", "to", "category", "zac", "hours", "weekdays", "night"},
    "hotspots.hotspot_list": {"from", "to", "category", "zac", "hours", "weekdays", "night", "sort", "order",
                              "status"},
    "reports.report_page": {"format", "lang", "month", "zac"},
    "exports.download": {"format", "layer", "bbox", "from", "to", "category", "zac", "hours", "weekdays"},
    "admin.audit_log": {"action", "page", "from", "to"},
}

#: values that are fine for some parameters (e.g. a bbox far away is only empty) -> not required
LENIENT = {("bbox", "-500,0,500,1"), ("to", "99999-01-01"), ("page", "99999999999999999999999")}

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")


def _make_app(home, **extra):
    from geo_app import create_app

    cfg = {"TESTING": True, "HOME": str(home.path), "SECRET_KEY": "test", "TILE_URL": "",
           "WTF_CSRF_ENABLED": False}
    cfg.update(extra)
    return create_app(cfg)


def _login(app, name="admin"):
    client = app.test_client()
    r = client.post("/login", data={"username": name, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return client


@pytest.fixture(scope="module")
def app(small_demo):
    return _make_app(small_demo)


@pytest.fixture(scope="module")
def client(app):
    return _login(app)


@pytest.fixture(scope="module")
def hotspot_id(client):
    feats = client.get("/api/hotspots/areas").json["features"]
    assert feats, "the small demo must have at least one hotspot area"
    return feats[0]["properties"]["hotspot_id"]


def _db_state(home) -> dict:
    """Row counts of the tables a request may change (the audit log excepted)."""
    con = sqlite3.connect(home.app_db)
    try:
        out = {}
        for t in ("users", "reviews", "review_history", "comments"):
            out[t] = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        out["users_state"] = con.execute("SELECT group_concat(name || role || active, ';') FROM users").fetchone()[0]
        return out
    finally:
        con.close()


def _check_answer(r, *, url: str, param: str | None = None, must_refuse: bool = False):
    body = r.get_data().decode("utf-8", "replace")
    assert r.status_code < 500, f"{url}: {r.status_code}\n{body[:2000]}"
    assert not TRACEBACK.search(body), f"{url}: traceback in the body\n{body[:2000]}"
    if must_refuse:
        assert 400 <= r.status_code < 500, f"{url}: bad {param} accepted ({r.status_code})"
    if 400 <= r.status_code < 500 and r.status_code not in (401, 403, 405):
        if url.startswith("/api"):
            assert r.is_json, f"{url}: 4xx answer is not JSON: {body[:300]}"
            j = r.json
            assert j.get("error") and j.get("message"), f"{url}: JSON error without error/message: {j}"
            if param is not None and r.status_code == 400:
                assert j.get("param") == param or param in j["message"], f"{url}: the answer does not name {param}: {j}"
        elif param is not None and r.status_code == 400:
            assert param in body, f"{url}: the error page does not name {param}: {body[:1500]}"


def _url_for(app, rule, **args) -> str:
    from flask import url_for

    with app.test_request_context():
        return url_for(rule.endpoint, **args)


#: valid path arguments, so that query parameters reach the view
def _good_args(rule, hotspot_id) -> dict:
    values = {"kind": "incidents", "hotspot_id": hotspot_id, "name": "planner", "filename": "css/vigie.css",
              "key": "kde", "batch_id": "no-such-batch", "place_id": "PL-9999", "cid": "incidents", "fid": "1", "token_id": 1}
    return {a: values[a] for a in rule.arguments}


def _get_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if "GET" in r.methods), key=lambda r: r.rule)


def _post_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if "POST" in r.methods), key=lambda r: r.rule)


# ------------------------------------------------------------------------------------------
# GET: no parameter, and garbage in each known parameter


def test_every_get_route_without_parameters(app, client, hotspot_id, small_demo):
    version = small_demo.store.version
    seen = []
    for rule in _get_rules(app):
        url = _url_for(app, rule, **_good_args(rule, hotspot_id))
        if rule.endpoint == "vendor.vendor":
            url = url.replace("css/vigie.css", "leaflet/dist/leaflet.css")
        r = client.get(url)
        _check_answer(r, url=url)
        seen.append(rule.endpoint)
    # every layer kind and every lazy map layer, not just the ones above
    from layers.registry import LAYERS

    for kind in LAYERS:
        for url in (f"/api/layers/{kind}?limit=3", f"/api/layers/{kind}/grid"):
            _check_answer(client.get(url), url=url)
    for key in ("kde", "emerging", "proposals"):
        _check_answer(client.get(f"/api/map/{key}?from=2024-01-01"), url=f"/api/map/{key}")
    assert small_demo.store.version == version
    assert len(seen) >= 20


@pytest.mark.parametrize("param, value", GARBAGE, ids=[f"{p}={v}" for p, v in GARBAGE])
def test_every_get_route_with_garbage(app, client, hotspot_id, small_demo, param, value):
    version = small_demo.store.version
    db = _db_state(small_demo)
    failures = []
    for rule in _get_rules(app):
        if rule.endpoint in ("static", "vendor.vendor"):
            continue
        base = _url_for(app, rule, **_good_args(rule, hotspot_id))
        args = {param: value}
        if rule.endpoint == "exports.download" and param != "layer":
            args["layer"] = "incidents_grid"
        if rule.endpoint == "reports.report_page" and param != "format":
            args["format"] = "json"
        if rule.endpoint == "api.geocode_address" and param != "q":
            args["q"] = "4 rue de la Loge"
        if rule.endpoint == "api.reverse_address" and param not in ("lat", "lon"):
            args.update(lat="43.6085", lon="3.8795")  # so that the garbage is what is judged
        from urllib.parse import urlencode

        url = f"{base}?{urlencode(args)}"
        must = param in MUST_REFUSE.get(rule.endpoint, ()) and (param, value) not in LENIENT
        try:
            _check_answer(client.get(url), url=url, param=param, must_refuse=must)
        except AssertionError as e:
            failures.append(str(e))
        except Exception as e:  # noqa: BLE001 -- TESTING propagates the exception of a 500
            failures.append(f"{url}: 500 {type(e).__name__}: {e}")
    assert not failures, "\n\n".join(failures)
    assert small_demo.store.version == version
    assert _db_state(small_demo) == db


BAD_PATHS = [
    ("api.layer", {"kind": "nowhere"}),
    ("api.layer", {"kind": "../../etc/passwd"}),
    ("api.layer_grid", {"kind": "nowhere"}),
    ("api.layer_grid", {"kind": "zac"}),  # not a point kind
    ("api.map_layer", {"key": "nowhere"}),
    ("api.map_layer", {"key": "../x"}),
    ("hotspots.hotspot_page", {"hotspot_id": "HS-nowhere"}),
    ("hotspots.hotspot_page", {"hotspot_id": "../../etc/passwd"}),
    ("review.show", {"hotspot_id": "HS-nowhere"}),
    ("review.show", {"hotspot_id": "..%2F..%2Fetc"}),
    ("static", {"filename": "../../pyproject.toml"}),
    ("static", {"filename": "nothing.js"}),
    ("vendor.vendor", {"filename": "../../pyproject.toml"}),
    ("vendor.vendor", {"filename": "../package.json"}),
    ("vendor.vendor", {"filename": "nothing/at/all.js"}),
]


@pytest.mark.parametrize("endpoint, args", BAD_PATHS, ids=[f"{e}-{next(iter(a.values()))}" for e, a in BAD_PATHS])
def test_bad_path_ids(app, client, endpoint, args):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    url = _url_for(app, rule, **args)
    # also the raw form, which url_for would have quoted
    raw = rule.rule
    for name, v in args.items():
        raw = re.sub(rf"<(?:[a-z]+:)?{name}>", v, raw)
    for u in {url, raw}:
        r = client.get(u)
        _check_answer(r, url=u)
        assert r.status_code in (400, 404), f"{u}: {r.status_code}"
        body = r.get_data(as_text=True)
        assert "[project]" not in body and "\"name\": \"vigie" not in body, f"{u}: served a file outside its folder"


def test_api_unknown_route_and_method_are_json(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and r.is_json and r.json["error"] and r.json["message"]
    r = client.post("/api/layers")
    assert r.status_code == 405 and r.is_json and r.json["error"] and r.json["message"]


# ------------------------------------------------------------------------------------------
# POST forms

BIG = "x" * 200_000


def _post_cases(hotspot_id):
    hs = hotspot_id
    return [
        ("/login", {}, None),
        ("/login", {"username": "admin"}, None),
        ("/login", {"username": BIG, "password": BIG}, None),
        ("/admin/users", {}, "name"),
        ("/admin/users", {"name": "someone"}, "role"),
        ("/admin/users", {"name": "someone", "role": "emperor", "password": "long-password"}, "role"),
        ("/admin/users", {"name": "someone", "role": "planner"}, "password"),
        ("/admin/users", {"name": "someone", "role": "planner", "password": "short"}, "password"),
        ("/admin/users", {"name": BIG, "role": "planner", "password": "long-password"}, "name"),
        ("/admin/users", {"name": "../x", "role": "planner", "password": "long-password"}, "name"),
        ("/admin/users", {"name": "<script>", "role": "planner", "password": "long-password"}, "name"),
        ("/admin/users", {"name": "someone", "role": "zac_manager", "password": "long-password",
                          "zac": "nowhere"}, "zac"),
        ("/admin/users", {"name": "admin", "role": "planner", "password": "long-password"}, "name"),
        ("/admin/users/planner/active", {}, "active"),
        ("/admin/users/planner/active", {"active": "maybe"}, "active"),
        ("/admin/users/nobody/active", {"active": "0"}, None),
        ("/admin/users/..%2F..%2Fx/active", {"active": "0"}, None),
        (f"/review/{hs}/comments", {}, "body"),
        (f"/review/{hs}/comments", {"body": "   "}, "body"),
        (f"/review/{hs}/comments", {"body": BIG}, "body"),
        ("/review/HS-nowhere/comments", {"body": "hello"}, None),
        (f"/review/{hs}/status", {"status": "<b>nope</b>"}, "status"),
        (f"/review/{hs}/status", {"owner": BIG}, "owner"),
        ("/review/HS-nowhere/status", {"status": "en examen"}, None),
    ]


def test_post_forms_with_bad_fields(app, client, hotspot_id, small_demo):
    version = small_demo.store.version
    failures = []
    for url, data, param in _post_cases(hotspot_id):
        db = _db_state(small_demo)
        c = app.test_client() if url == "/login" else client
        try:
            r = c.post(url, data=data)
            _check_answer(r, url=url, param=param)
            assert 400 <= r.status_code < 500, f"POST {url} {sorted(data)}: accepted ({r.status_code})"
            assert _db_state(small_demo) == db, f"POST {url} {sorted(data)}: the database changed"
        except AssertionError as e:
            failures.append(str(e)[:1500])
        except Exception as e:  # noqa: BLE001 -- TESTING propagates the exception of a 500
            failures.append(f"POST {url} {sorted(data)}: 500 {type(e).__name__}: {e}"[:1500])
    assert not failures, "\n\n".join(failures)
    assert small_demo.store.version == version


def test_every_post_route_refuses_a_missing_csrf_token(small_demo, hotspot_id):
    app = _make_app(small_demo, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": "admin", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    db = _db_state(small_demo)
    rules = _post_rules(app)
    assert len(rules) >= 5
    for rule in rules:
        url = _url_for(app, rule, **_good_args(rule, hotspot_id))
        r = client.post(url, data={"body": "no token", "status": "en examen", "active": "0", "name": "x",
                                   "role": "planner", "password": "long-password"})
        _check_answer(r, url=url)
        assert r.status_code == 400, f"POST {url} without a CSRF token: {r.status_code}"
        assert "CSRF" in r.get_data(as_text=True) or "csrf" in r.get_data(as_text=True).lower(), url
    assert _db_state(small_demo) == db


def test_oversized_request_body_is_refused(app, client, hotspot_id, small_demo):
    db = _db_state(small_demo)
    r = client.post(f"/review/{hotspot_id}/comments", data={"body": "y" * (20 * 1024 * 1024)})
    _check_answer(r, url="/review/comments (20 MB)")
    assert 400 <= r.status_code < 500
    assert _db_state(small_demo) == db


# ------------------------------------------------------------------------------------------
# Redirect targets (``next``): never another host

EVIL_NEXT = ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)",
             "/\t/evil.example", "/\n/evil.example", " //evil.example", "/%09/evil.example"]


def _leaves_site(location: str | None) -> bool:
    from urllib.parse import urlsplit

    if not location:
        return False
    cleaned = "".join(c for c in location if c >= " ").replace("\\", "/")
    parts = urlsplit(cleaned)
    return bool(parts.netloc and parts.netloc != "localhost") or cleaned.startswith("//") or parts.scheme not in ("", "http")


@pytest.mark.parametrize("target", EVIL_NEXT, ids=[repr(t) for t in EVIL_NEXT])
def test_login_and_review_never_redirect_to_another_host(app, small_demo, hotspot_id, target):
    from urllib.parse import quote

    c = app.test_client()
    r = c.post("/login?next=" + quote(target, safe=""), data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 302
    assert not _leaves_site(r.headers.get("Location")), (target, r.headers.get("Location"))
    r = c.post(f"/review/{hotspot_id}/comments", data={"body": "vu", "next": target})
    assert r.status_code == 302
    assert not _leaves_site(r.headers.get("Location")), (target, r.headers.get("Location"))
    r = c.post(f"/review/{hotspot_id}/status", data={"status": "en examen", "next": target})
    assert r.status_code == 302
    assert not _leaves_site(r.headers.get("Location")), (target, r.headers.get("Location"))


def test_anonymous_requests_get_a_json_401_under_api_and_the_login_page_elsewhere(app, hotspot_id):
    anon = app.test_client()
    n_api = 0
    for rule in _get_rules(app):
        if rule.endpoint in ("static", "vendor.vendor", "auth.login"):
            continue
        url = _url_for(app, rule, **_good_args(rule, hotspot_id)) + "?bbox=abc&from=yesterday"
        r = anon.get(url)
        _check_answer(r, url=url)
        if url.startswith("/api") and rule.endpoint != "api.openapi":
            n_api += 1
            assert r.status_code == 401 and r.is_json, (url, r.status_code)
            assert r.json["error"] and "log in" in r.json["message"], r.json
        elif url.startswith("/ogc"):  # programs: a Basic challenge, no login page
            assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic"), (url, r.status_code)
        elif not url.startswith("/api"):
            assert r.status_code == 302 and "/login" in r.headers["Location"], (url, r.status_code)
    assert n_api >= 6
