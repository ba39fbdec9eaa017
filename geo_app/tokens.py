"""How programs log in: HTTP Basic and personal API tokens.

QGIS, GDAL and scripts cannot fill a login form. Each request may instead carry

- ``Authorization: Basic base64(name:password)`` with the account's password, or with one of
  its API tokens as the password;
- ``Authorization: Bearer <token>``.

A token is created on the account page, shown once, and stored as its SHA-256 only (it holds
256 random bits, so a slow hash adds nothing); it acts as its owner with the owner's current
role and ZACs, stops working when revoked or when the owner is disabled, and its creation and
revocation are audited. Bad credentials count against the login rate limit of
``geo_app.auth`` and are audited like failed logins. Send credentials over HTTPS only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time

from flask import current_app, g, request

from geo_app.auth import Account, get_db, verify_password
from layers.errors import ParameterError

__all__ = ["TOKEN_PREFIX", "create_token", "init_app", "revoke_token", "token_hash"]

TOKEN_PREFIX = "vigie_"
_NAME_MAX = 80
#: a verified Basic password is remembered this long (argon2 costs ~50 ms a request otherwise)
_REMEMBER_S = 60.0
_remembered: dict[str, float] = {}
_lock = threading.Lock()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db, account, name: str) -> str:
    """A new token for ``account`` named ``name`` (returned once, stored hashed), audited."""
    name = (name or "").strip()
    if not name or len(name) > _NAME_MAX:
        raise ParameterError(f"name: give the token a name of 1 to {_NAME_MAX} characters (e.g. QGIS).", "name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tid = db.add_token(account.id, name, token_hash(token), token[: len(TOKEN_PREFIX) + 4])
    db.audit("token_create", user=account.name, role=account.role, target=f"token {tid}",
             detail={"name": name}, ip=request.remote_addr or "")
    return token


def revoke_token(db, account, token_id: int) -> bool:
    ok = db.revoke_token(account.id, token_id)
    if ok:
        db.audit("token_revoke", user=account.name, role=account.role, target=f"token {token_id}",
                 ip=request.remote_addr or "")
    return ok


def _account_of(db, user_id: int) -> Account | None:
    rec = db.user_by_id(user_id)
    if rec is None or not rec.active:
        return None
    return Account.from_record(rec, db.password_hash(rec.name))


def _by_token(db, token: str, name: str | None = None) -> Account | None:
    found = db.token_owner(token_hash(token))
    if found is None:
        return None
    acc = _account_of(db, found[1])
    if acc is None or (name is not None and not hmac.compare_digest(acc.name, name)):
        return None
    return acc


def _by_password(db, name: str, password: str) -> Account | None:
    rec = db.find_user(name)
    pw_hash = db.password_hash(name) if rec else None
    key = hashlib.sha256(f"{name}\0{password}\0{pw_hash}".encode()).hexdigest()
    now = time.monotonic()
    with _lock:
        fresh = _remembered.get(key, 0) > now
    if not fresh:
        if not verify_password(pw_hash, password):
            return None
        with _lock:
            if len(_remembered) > 1000:
                _remembered.clear()
            _remembered[key] = now + _REMEMBER_S
    if rec is None or not rec.active:
        return None
    return Account.from_record(rec, pw_hash)


def _credentials() -> tuple[str, str | None, str] | None:
    """``(scheme, name, secret)`` from the Authorization header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return "bearer", None, value.strip()
    if scheme == "basic" and value.strip():
        try:
            name, sep, secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return "basic", "", ""
        return ("basic", name[:200], secret) if sep else ("basic", "", "")
    return None


def _load_from_request(req) -> Account | None:
    """The account named by the Authorization header of ``req``, or None."""
    creds = _credentials()
    if creds is None:
        return None
    scheme, name, secret = creds
    db = get_db()
    ip = req.remote_addr or ""
    cfg = current_app.config
    window = float(cfg.get("LOGIN_WINDOW_SECONDS", 900))
    who = name or "(token)"
    if (db.recent_failures(who, ip, window) >= int(cfg.get("LOGIN_MAX_FAILURES", 5))
            or db.recent_failures_ip(ip, window) >= int(cfg.get("LOGIN_MAX_FAILURES_IP", 30))):
        db.audit("login_failed", user=who, target="throttled", ip=ip)
        return None
    if secret.startswith(TOKEN_PREFIX):
        acc = _by_token(db, secret, name if scheme == "basic" else None)
    elif scheme == "basic" and name:
        acc = _by_password(db, name, secret)
    else:
        acc = None
    if acc is None:
        db.record_attempt(who, ip, False)
        db.audit("login_failed", user=who, target=f"bad {scheme} credentials", ip=ip)
    return acc


def _login_from_header() -> None:
    """``before_request``: a request carrying an Authorization header is served as the account
    it names (anonymous when the credentials are bad), whatever its session cookie says."""
    if "Authorization" not in request.headers:
        return
    acc = _load_from_request(request)
    g._login_user = acc if acc is not None else current_app.login_manager.anonymous_user()
    g.pop("vigie_account", None)


def init_app(app) -> None:
    """Let requests log in with an Authorization header (after ``geo_app.auth.init_app``): run
    before the route gate, which then sees the header's account."""
    app.before_request_funcs.setdefault(None, []).insert(0, _login_from_header)
