"""Accounts and sessions: password hashing (argon2id), Flask-Login, the login and logout views,
CSRF protection (Flask-WTF), the login rate limit, secure cookies, security headers and the
audit helper.

``init_app(app, db_path)`` binds all of it to an application; the route gate itself (which role
reaches which endpoint) is ``geo_app.access``.

Every page but ``/login`` and static files requires a login. A fresh deployment has no account
until an administrator creates one (``geo-app user add NAME --role admin``); the login page
says so. There is no implicit open access: a deployment behind a reverse proxy on the same host
sees every visitor as a loopback client, so the client address never grants anything. Only
``app.config["LOGIN_DISABLED"] = True`` (set explicitly, e.g. by tests or a single-user
notebook session) serves every request as a local ``admin`` called ``local``, and every page
says so.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from geo_app import access
from geo_app.db import AppDB
from layers.errors import ParameterError

__all__ = [
    "LOCAL_ACCOUNT",
    "MIN_PASSWORD_LENGTH",
    "Account",
    "audit",
    "bp",
    "check_password_strength",
    "content_security_policy",
    "current_account",
    "get_db",
    "hash_password",
    "init_app",
    "is_local_path",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def hash_password(password: str) -> str:
    """An argon2id hash (``$argon2id$…``) of ``password``."""
    check_password_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash`` (False for a missing or broken hash)."""
    if not password_hash:
        # spend the same time as a real check so that unknown names are not revealed by timing
        try:
            _hasher.verify(_DUMMY_HASH, password or "")
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> None:
    """``ParameterError`` for a password shorter than ``MIN_PASSWORD_LENGTH`` characters."""
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        raise ParameterError(
            f"the password must hold at least {MIN_PASSWORD_LENGTH} characters.", "password"
        )


_DUMMY_HASH = _hasher.hash("not-a-password-" + secrets.token_hex(8))


@dataclass(frozen=True)
class Account:
    """The logged-in user as Flask-Login sees it."""

    id: int
    name: str
    role: str
    zacs: tuple[str, ...] = ()
    active: bool = True
    session_key: str = ""  # the token of the server-side session record (geo_app.db sessions)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return self.role in access.ROLES

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return not self.is_authenticated

    def get_id(self) -> str:
        return f"{self.id}:{self.session_key}"

    @property
    def role_label(self) -> str:
        from geo_app.i18n import label

        return label("role", self.role)

    @classmethod
    def from_record(cls, rec, token: str = "") -> Account:
        return cls(id=rec.id, name=rec.name, role=rec.role, zacs=tuple(rec.zacs), active=rec.active,
                   session_key=token)


#: the account requests run as while the deployment has no account (open mode)
LOCAL_ACCOUNT = Account(id=0, name="local", role="admin")
#: nobody logged in
ANONYMOUS = Account(id=-1, name="", role="", active=False)


def get_db(app=None) -> AppDB:
    """The application database bound to ``app`` (default: the current app)."""
    app = app or current_app
    return app.extensions["vigie_db"]


def _open_mode(app=None) -> bool:
    """Is every request served as the local administrator? Only when LOGIN_DISABLED is set."""
    app = app or current_app
    return bool(app.config.get("LOGIN_DISABLED"))


def current_account() -> Account:
    """The account of the current request: the logged-in user, ``LOCAL_ACCOUNT`` in open mode,
    else an anonymous account holding no permission."""
    if "vigie_account" in g:
        return g.vigie_account
    user = current_user
    if getattr(user, "is_authenticated", False) and isinstance(user, Account):
        acc = user
    elif _open_mode():
        acc = LOCAL_ACCOUNT
    else:
        acc = ANONYMOUS
    g.vigie_account = acc
    return acc


def get_workspace():
    """The app's workspace (``geo_app.workspace.Workspace``, following the store's latest
    version): for the admin pages that write to the store."""
    return current_app.extensions["vigie"]


def get_viewer() -> access.Viewer:
    """The current request's viewer: the app's workspace pinned to the store version of the
    request's first read, seen by the current account (one per request)."""
    if "vigie_viewer" not in g:
        db = current_app.extensions.get("vigie_db")
        g.vigie_viewer = access.Viewer(current_app.extensions["vigie"].pinned(), current_account(),
                                       audit=audit if db is not None else None, reviews=db)
    return g.vigie_viewer


def forget_viewer() -> None:
    """Drop the request's viewer (the next ``get_viewer`` pins the store's new version)."""
    g.pop("vigie_viewer", None)


def require(permission: str):
    """View decorator: the current user must hold ``permission`` (any scope but ``none``)."""

    def deco(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            access.check(current_account(), permission, what="this page")
            return view(*args, **kwargs)

        wrapper.required_permission = permission
        return wrapper

    return deco


def _client_ip() -> str:
    """The client's address: the peer, or, when the peer is one of the trusted proxies
    (``[web] trusted_proxies``), the right-most address of ``X-Forwarded-For`` that is not a
    trusted proxy (what a client writes there itself sits further left and is ignored)."""
    peer = request.remote_addr or ""
    trusted = current_app.config.get("TRUSTED_PROXIES") or ()
    if isinstance(trusted, str):
        trusted = [t.strip() for t in trusted.split(",") if t.strip()]
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer


def audit(action: str, *, target: str = "", detail: dict | None = None, account=None) -> None:
    """Write one audit line for the current request (user, role and address filled in)."""
    acc = account or current_account()
    get_db().audit(action, user=acc.name, role=acc.role, target=target, detail=detail, ip=_client_ip())


# ------------------------------------------------------------------------------------------
# Security headers

def _tile_origin(tile_url: str | None) -> str | None:
    if not tile_url:
        return None
    parts = urlsplit(tile_url.replace("{s}.", "SUBDOMAIN."))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.replace("SUBDOMAIN.", "*.")
    if "{" in host:  # a template in the host we cannot express: allow the scheme's host only
        return None
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_url: str | None = None) -> str:
    """The Content-Security-Policy: nothing from outside the service except basemap tiles.

    Scripts and styles allow ``'unsafe-inline'`` because Folium writes its map as an inline
    script; no outside origin is allowed for them.
    """
    img = ["'self'", "data:", "blob:"]
    origin = _tile_origin(tile_url)
    if origin:
        img.append(origin)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {' '.join(img)}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


def _tile_url(app) -> str | None:
    for key in ("TILE_URL", "GEO_APP_TILE_URL", "tile_url"):
        if app.config.get(key):
            return app.config[key]
    return None


def _security_headers(response):
    app = current_app
    response.headers.setdefault("Content-Security-Policy", content_security_policy(_tile_url(app)))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
    if app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


# ------------------------------------------------------------------------------------------
# Route gate


def _wants_json() -> bool:
    return request.path.startswith("/api") or request.accept_mimetypes.best == "application/json"


def _guard():
    """``before_request``: log in, then the permission of the endpoint (``access``)."""
    permission = access.permission_for_endpoint(request.endpoint)
    if permission is None:
        return None
    acc = current_account()
    if not acc.is_authenticated:
        if request.path.startswith("/ogc"):  # programs: HTTP Basic or a token (geo_app.tokens)
            return (jsonify({"code": "Unauthorized", "description": "log in with HTTP Basic or an API token."}),
                    401, {"WWW-Authenticate": 'Basic realm="Vigie", charset="UTF-8"'})
        if _wants_json():
            return jsonify({"error": "Unauthorized", "message": "log in first (POST /login)."}), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    access.check(acc, permission, what="this page")
    return None


# ------------------------------------------------------------------------------------------
# Login and logout

bp = Blueprint("auth", __name__)


def _wait(failures: int, last: float, *, free: int, base: float, cap: float, now: float) -> float:
    """Seconds still to wait after ``failures`` failed attempts, the last at ``last``: none
    for the first ``free`` ones, then ``base`` seconds doubling with each further failure, at
    most ``cap``."""
    if failures < free:
        return 0.0
    return max(0.0, min(cap, base * 2.0 ** min(failures - free, 30)) - (now - last))


def _throttle(db, username: str, ip: str) -> float:
    """Seconds before ``username`` may try again from ``ip`` (0: now).

    Back-off is kept per account and address (``LOGIN_MAX_FAILURES``, default 5) and per
    account over every address (``LOGIN_MAX_FAILURES_ACCOUNT``, default 20: guessing from many
    addresses), never per address alone: behind a reverse proxy every visitor may share one,
    and another user's right password is never refused for someone else's failures."""
    import time

    cfg = current_app.config
    window = float(cfg.get("LOGIN_WINDOW_SECONDS", 900))
    base = float(cfg.get("LOGIN_BACKOFF_SECONDS", 60))
    now = time.time()
    f_pair, last_pair = db.failures_since_success(username, window, ip=ip)
    f_acc, last_acc = db.failures_since_success(username, window)
    return max(_wait(f_pair, last_pair, free=int(cfg.get("LOGIN_MAX_FAILURES", 5)), base=base, cap=window, now=now),
               _wait(f_acc, last_acc, free=int(cfg.get("LOGIN_MAX_FAILURES_ACCOUNT", 20)), base=base, cap=window,
                     now=now))


def is_local_path(target: str | None) -> bool:
    """Is ``target`` a path of this site (``/…``), never another host? Browsers drop tabs and
    newlines and read a backslash as ``/``, so ``/<tab>/evil.org`` and ``/<backslash>evil.org``
    would lead away too: any control character or backslash is refused."""
    return (
        bool(target)
        and target.startswith("/")
        and not target.startswith("//")
        and not any(c < " " or c in "\\\x7f" for c in target)
        and not urlsplit(target).netloc
    )


def _safe_next(target: str | None) -> str:
    if is_local_path(target):
        return target
    if any(r.rule == "/" for r in current_app.url_map.iter_rules()):
        return "/"
    return url_for("auth.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form (fields ``username``, ``password``); 429 after too many failures."""
    db = get_db()
    error = None
    status = 200
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:200]
        password = request.form.get("password") or ""
        ip = _client_ip()
        wait = _throttle(db, username, ip)
        if wait > 0:
            import math

            db.audit("login_failed", user=username, target="throttled", ip=ip)
            body = render_template(
                "access/login.html",
                error=_("Trop d'essais : réessayez dans %(n)s minutes.", n=max(1, math.ceil(wait / 60))),
                username=username,
            )
            return body, 429, {"Retry-After": str(max(1, math.ceil(wait)))}
        rec = db.find_user(username) if username else None
        ok = verify_password(db.password_hash(username) if rec else None, password)
        if ok and rec is not None and rec.active:
            db.record_attempt(username, ip, True)
            db.touch_login(username)
            session.clear()
            lifetime = float(current_app.config.get("SESSION_LIFETIME_HOURS", 12)) * 3600
            login_user(Account.from_record(rec, db.open_session(rec.id, lifetime)))
            g.pop("vigie_account", None)
            db.audit("login", user=rec.name, role=rec.role, ip=ip)
            return redirect(_safe_next(request.args.get("next") or request.form.get("next")))
        db.record_attempt(username, ip, False)
        reason = "disabled" if (ok and rec is not None and not rec.active) else "bad credentials"
        db.audit("login_failed", user=username, target=reason, ip=ip)
        error = _("Identifiant ou mot de passe incorrect, ou compte désactivé.")
        status = 401
    return render_template("access/login.html", error=error,
                           username=request.form.get("username", ""),
                           open_mode=not get_db().has_users()), status


@bp.route("/logout", methods=["POST"])
def logout():
    acc = current_account()
    if acc.is_authenticated and acc is not LOCAL_ACCOUNT:
        audit("logout", account=acc)
        if acc.session_key:  # the record goes: a copy of the cookie is worth nothing now
            get_db().close_session(acc.session_key)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account")
def home():
    """Who am I: name, role and what the role may do."""
    acc = current_account()
    return render_template("access/account.html", account=acc,
                           permissions={p: access.scope(acc, p).value for p in access.PERMISSIONS})


# ------------------------------------------------------------------------------------------


def init_app(app, db_path=None) -> None:
    """Bind accounts, CSRF, the route gate and security headers to ``app``.

    ``db_path``: the SQLite file or PostgreSQL URL; default ``app.config["APP_DB"]``, else the
    deployment's (``AppDB.of(home)``: the store's PostgreSQL database, else ``home.app_db``).
    Call it after ``geo_app.workspace.init_app``: requests read the workspace through
    ``get_viewer()``.
    """
    workspace = app.extensions.get("vigie")
    path = db_path or app.config.get("APP_DB")
    if path is not None:
        app.extensions["vigie_db"] = AppDB(path)
    else:
        from geo_app.config import Home

        app.extensions["vigie_db"] = AppDB.of(workspace.home if workspace is not None
                                              else Home.from_env(app.config.get("HOME")))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    # cookies: HttpOnly, SameSite=Lax always; Secure when served over HTTPS ([web]
    # secure_cookies = true or GEO_APP_SECURE_COOKIES=1: browsers drop Secure cookies on plain
    # http://, which the local demo uses)
    secure = app.config.get("SECURE_COOKIES", os.environ.get("GEO_APP_SECURE_COOKIES", ""))
    secure = str(secure).strip().lower() in ("1", "true", "yes", "on")
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    if secure:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # token lives as long as the session

    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.session_protection = "strong"

    @manager.user_loader
    def _load(user_id):
        ident, _, key = str(user_id).partition(":")
        try:
            rec = get_db(app).user_by_id(int(ident))
        except (TypeError, ValueError):
            return None
        if rec is None or not rec.active:
            return None
        if not get_db(app).session_valid(rec.id, key):
            return None  # logged out, expired, password changed or account disabled since
        return Account.from_record(rec, key)

    manager.init_app(app)
    CSRFProtect(app)
    app.register_blueprint(bp)
    app.before_request(_guard)
    app.after_request(_security_headers)

    @app.context_processor
    def _inject():
        return {"vigie_account": current_account(), "vigie_open_mode": _open_mode(),
                "vigie_can": lambda perm: access.can(current_account(), perm),
                "vigie_review": lambda hotspot_id, area=None: get_viewer().review(hotspot_id, area=area),
                "vigie_sees_points": lambda: get_viewer().sees_points}
