"""The application's own tables: users, hotspot reviews, comments, review history, login
attempts and the audit log.

The layers live in the store (``layers.store``); this file holds what belongs to the *service*:
who may log in, what partners decided about each hotspot area, and who saw or exported what.
Every function opens a short-lived connection, so the CLI, the web workers and the tests share
one database.

Where: SQLite (``home.app_db``, WAL mode) with the embedded GeoPackage store; the store's own
PostgreSQL database when ``GEO_APP_STORE_URL`` is a ``postgresql://`` URL (``AppDB.of(home)``),
so that several server processes on several machines share accounts, sessions' throttling and
reviews. The SQL below is written once, in the subset both understand (``?`` placeholders,
``ON CONFLICT … DO UPDATE``, ``RETURNING``, the column ``"user"`` quoted); the two differences
live in the dialect classes at the end of this module: PostgreSQL gets ``%s`` placeholders and
identity columns for ``INTEGER PRIMARY KEY AUTOINCREMENT``.

Tables
------
users(name, role, zacs, password_hash, active, created, last_login)
    ``zacs`` is a JSON list of ZAC names (for the ``zac_manager`` role).
reviews(hotspot_id, status, owner, updated, updated_by)
    The current state of each hotspot area's review; a missing row means status ``new``.
    ``status`` is a code of ``geo_app.i18n.STATUSES`` (``new``, ``in_review``,
    ``action_decided``, ``done``, ``dismissed``); databases written when the French words were
    the identifiers are migrated when opened.
review_history(hotspot_id, at, user, field, old, new)
    Every change of status or owner, never deleted.
comments(hotspot_id, at, author, body)
    The review thread of each hotspot area (plain text; templates escape it).
login_attempts(username, ip, at, ok)
    For the login rate limit (sliding window).
audit(at, user, role, action, target, detail, ip)
    Logins, imports, exports, views of point-level data, account and review changes.
places(place_id, name, owner, geometry, zacs, source, source_ref, start_date, created, created_by)
    Places followed (``PL-0001``…): GeoJSON geometry in EPSG:4326, the ZACs it touches, what it
    was created from (``hotspot``, ``segment``, ``drawn``). Its review thread is kept in
    ``reviews``/``review_history``/``comments`` under its place id.
actions(place_id, kind, technique, start_date, end_date, partner, cost, status, categories,
        night_only, notes, created, created_by)
    The actions taken on each place (``layers.places.ACTION_KINDS``).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from geo_app.i18n import DEFAULT_STATUS, LEGACY_STATUSES, STATUSES, normalize_status
from layers.errors import NotFound, ParameterError

__all__ = [
    "AUDIT_ACTIONS",
    "DEFAULT_STATUS",
    "STATUSES",
    "AppDB",
    "UserRecord",
    "audit_home",
]

#: actions written to the audit log
AUDIT_ACTIONS = (
    "login",
    "login_failed",
    "token_create",
    "token_revoke",
    "logout",
    "import",
    "rollback",
    "export",
    "view_points",
    "user_add",
    "user_change",
    "place_add",
    "action_add",
    "review",
    "comment",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    zacs TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL,
    last_login TEXT
);
CREATE TABLE IF NOT EXISTS reviews (
    hotspot_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hotspot_id TEXT NOT NULL,
    at TEXT NOT NULL,
    "user" TEXT NOT NULL,
    field TEXT NOT NULL,
    old TEXT,
    new TEXT
);
CREATE INDEX IF NOT EXISTS review_history_hotspot ON review_history(hotspot_id);
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hotspot_id TEXT NOT NULL,
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_hotspot ON comments(hotspot_id);
CREATE TABLE IF NOT EXISTS login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    at REAL NOT NULL,
    ok INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_key ON login_attempts(username, ip, at);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    "user" TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}',
    ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created TEXT NOT NULL,
    last_used TEXT,
    revoked TEXT
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens(user_id);
"""


#: places followed and their actions (the review thread of a place lives in ``reviews``,
#: ``review_history`` and ``comments`` under its place id, ``PL-0001``…: place ids never clash
#: with hotspot ids, so the hotspot reviews written before places keep working)
_PLACES_SCHEMA = """
CREATE TABLE IF NOT EXISTS places (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    place_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    geometry TEXT NOT NULL,
    zacs TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL,
    source_ref TEXT NOT NULL DEFAULT '',
    start_date TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    place_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    technique TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT,
    partner TEXT NOT NULL DEFAULT '',
    cost REAL,
    status TEXT NOT NULL,
    categories TEXT NOT NULL DEFAULT '[]',
    night_only INTEGER NOT NULL DEFAULT 0,
    notes TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    location TEXT
);
CREATE INDEX IF NOT EXISTS actions_place ON actions(place_id);
"""
_SCHEMA += _PLACES_SCHEMA


def _place(row: sqlite3.Row) -> dict:
    d = dict(row)
    d.pop("id", None)
    d["geometry"] = json.loads(d["geometry"])
    d["zacs"] = json.loads(d["zacs"] or "[]")
    return d


def _action(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["categories"] = json.loads(d["categories"] or "[]")
    d["night_only"] = bool(d["night_only"])
    d["location"] = json.loads(d["location"]) if d.get("location") else None
    return d


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class UserRecord:
    """One account as stored (the password hash never leaves ``AppDB``)."""

    id: int
    name: str
    role: str
    zacs: tuple[str, ...] = ()
    active: bool = True
    created: str = ""
    last_login: str | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)


def _user(row) -> UserRecord:
    return UserRecord(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        zacs=tuple(json.loads(row["zacs"] or "[]")),
        active=bool(row["active"]),
        created=row["created"],
        last_login=row["last_login"],
    )


def _migrate_statuses(con) -> None:
    """Replace the French words once used as status identifiers by their codes (reviews and
    the status history); a no-op on a database holding codes only."""
    for word, code in LEGACY_STATUSES.items():
        con.execute("UPDATE reviews SET status = ? WHERE status = ?", (code, word))
        con.execute("UPDATE review_history SET old = ? WHERE field = 'status' AND old = ?", (code, word))
        con.execute("UPDATE review_history SET new = ? WHERE field = 'status' AND new = ?", (code, word))


class AppDB:
    """The application database at ``path``: a SQLite file, or a ``postgresql://`` URL (tables
    created on first use)."""

    def __init__(self, path: str | Path, *, pool_size: int | None = None):
        self._dialect = (_PostgreSQL(str(path), pool_size) if _is_postgresql(path) else _SQLite(Path(path)))
        self.path = self._dialect.path
        self._ready = False

    @classmethod
    def of(cls, home) -> AppDB:
        """The app database of deployment ``home``: in the store's PostgreSQL database when
        the store is PostGIS, else ``home.app_db``."""
        if _is_postgresql(home.store_url):
            return cls(home.store_url, pool_size=home.pool_size)
        return cls(home.app_db)

    @property
    def exists(self) -> bool:
        """Whether the database may hold tables already (a SQLite file that exists, or a server)."""
        return self._dialect.exists()

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def connect(self):
        """A connection in a transaction (committed on success, rolled back on error)."""
        dialect = self._dialect
        con = dialect.open()
        try:
            if not self._ready:
                dialect.create(con, _SCHEMA)
                with dialect.transaction(con):
                    _migrate_statuses(con)
                    # databases made before actions had a location of their own
                    dialect.add_column(con, "actions", "location", "TEXT")
                self._ready = True
            with dialect.transaction(con):
                yield con
        finally:
            con.close()

    # -- users ----------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password_hash: str, zacs=()) -> UserRecord:
        """Create an account; ``ParameterError`` if the name is taken."""
        with self.connect() as con:
            try:
                con.execute(
                    "INSERT INTO users(name, role, zacs, password_hash, active, created) "
                    "VALUES (?, ?, ?, ?, 1, ?)",
                    (name, role, json.dumps(list(zacs)), password_hash, _now()),
                )
            except self._dialect.integrity_error:
                raise ParameterError(
                    f"user '{name}' already exists: choose another name, or change this "
                    f"account with 'geo-app user password {name}'.",
                    "name",
                ) from None
        return self.get_user(name)

    def upsert_user(self, name: str, role: str, password_hash: str, zacs=()) -> UserRecord:
        """Create the account or reset its role, ZACs and password and re-enable it."""
        with self.connect() as con:
            con.execute(
                "INSERT INTO users(name, role, zacs, password_hash, active, created) "
                "VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT(name) DO UPDATE SET role=excluded.role, "
                "zacs=excluded.zacs, password_hash=excluded.password_hash, active=1",
                (name, role, json.dumps(list(zacs)), password_hash, _now()),
            )
        return self.get_user(name)

    def find_user(self, name: str) -> UserRecord | None:
        with self.connect() as con:
            row = con.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def get_user(self, name: str) -> UserRecord:
        user = self.find_user(name)
        if user is None:
            raise NotFound(f"no user named '{name}' (see 'geo-app user list').")
        return user

    def user_by_id(self, user_id: int) -> UserRecord | None:
        with self.connect() as con:
            row = con.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def password_hash(self, name: str) -> str | None:
        with self.connect() as con:
            row = con.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
        return row["password_hash"] if row else None

    def users(self) -> list[UserRecord]:
        with self.connect() as con:
            rows = con.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [_user(r) for r in rows]

    def has_users(self) -> bool:
        with self.connect() as con:
            return con.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """A new password; every session of the account ends."""
        rec = self.get_user(name)
        with self.connect() as con:
            con.execute("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name))
            con.execute("DELETE FROM sessions WHERE user_id = ?", (rec.id,))

    def set_active(self, name: str, active: bool) -> None:
        """Enable or disable an account; disabling ends its sessions (enabling it again revives
        none of them: its user logs in anew)."""
        rec = self.get_user(name)
        with self.connect() as con:
            con.execute("UPDATE users SET active = ? WHERE name = ?", (int(active), name))
            if not active:
                con.execute("DELETE FROM sessions WHERE user_id = ?", (rec.id,))

    # -- sessions (server-side records: a cookie is worth nothing once its record is gone) --
    @staticmethod
    def _token_hash(token: str) -> str:
        import hashlib

        return hashlib.sha256(("vigie-session:" + token).encode()).hexdigest()

    def open_session(self, user_id: int, lifetime_s: float) -> str:
        """A new session of ``user_id`` valid ``lifetime_s`` seconds; returns its secret token
        (only its hash is stored)."""
        import secrets

        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.connect() as con:
            con.execute("INSERT INTO sessions(token_hash, user_id, created, expires) VALUES (?, ?, ?, ?)",
                        (self._token_hash(token), int(user_id), now, now + float(lifetime_s)))
            con.execute("DELETE FROM sessions WHERE expires < ?", (now,))
        return token

    def session_valid(self, user_id: int, token: str) -> bool:
        """Is ``token`` an open, unexpired session of ``user_id``?"""
        if not token:
            return False
        with self.connect() as con:
            row = con.execute("SELECT user_id, expires FROM sessions WHERE token_hash = ?",
                              (self._token_hash(token),)).fetchone()
        return row is not None and int(row["user_id"]) == int(user_id) and row["expires"] > time.time()

    def close_session(self, token: str) -> None:
        with self.connect() as con:
            con.execute("DELETE FROM sessions WHERE token_hash = ?", (self._token_hash(token),))

    def close_sessions(self, user_id: int) -> None:
        with self.connect() as con:
            con.execute("DELETE FROM sessions WHERE user_id = ?", (int(user_id),))

    def touch_login(self, name: str) -> None:
        with self.connect() as con:
            con.execute("UPDATE users SET last_login = ? WHERE name = ?", (_now(), name))

    # -- login attempts (rate limit) ------------------------------------------------------
    def record_attempt(self, username: str, ip: str, ok: bool, *, at: float | None = None) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT INTO login_attempts(username, ip, at, ok) VALUES (?, ?, ?, ?)",
                (username, ip, time.time() if at is None else at, int(ok)),
            )
            # forget attempts older than a day
            con.execute("DELETE FROM login_attempts WHERE at < ?", (time.time() - 86400,))

    def recent_failures(self, username: str, ip: str, window_s: float) -> int:
        """Failed attempts for ``(username, ip)`` in the last ``window_s`` seconds, since the
        last successful login of that pair."""
        since = time.time() - window_s
        with self.connect() as con:
            last_ok = con.execute(
                "SELECT MAX(at) AS last_ok FROM login_attempts WHERE username = ? AND ip = ? AND ok = 1",
                (username, ip),
            ).fetchone()["last_ok"]
            since = max(since, last_ok or 0)
            n = con.execute(
                "SELECT COUNT(*) AS n FROM login_attempts WHERE username = ? AND ip = ? AND ok = 0 "
                "AND at > ?",
                (username, ip, since),
            ).fetchone()["n"]
        return int(n)

    def failures_since_success(self, username: str, window_s: float, *, ip: str | None = None) -> tuple[int, float]:
        """Failed attempts on ``username`` (from ``ip`` only, if given) in the last
        ``window_s`` seconds and since its last successful login, and the time of the last one
        (0 when none)."""
        since = time.time() - window_s
        where, args = "username = ?", [username]
        if ip is not None:
            where, args = where + " AND ip = ?", args + [ip]
        with self.connect() as con:
            last_ok = con.execute(f"SELECT MAX(at) AS last FROM login_attempts WHERE {where} AND ok = 1",
                                  args).fetchone()["last"]
            row = con.execute(f"SELECT COUNT(*) AS n, MAX(at) AS last FROM login_attempts WHERE {where} AND ok = 0 "
                              "AND at > ?", [*args, max(since, last_ok or 0)]).fetchone()
        return int(row["n"]), float(row["last"] or 0.0)

    def recent_failures_ip(self, ip: str, window_s: float) -> int:
        """Failed attempts from ``ip`` (any user name) in the last ``window_s`` seconds."""
        with self.connect() as con:
            n = con.execute(
                "SELECT COUNT(*) AS n FROM login_attempts WHERE ip = ? AND ok = 0 AND at > ?",
                (ip, time.time() - window_s),
            ).fetchone()["n"]
        return int(n)

    # -- reviews --------------------------------------------------------------------------
    def review(self, hotspot_id: str) -> dict:
        """Current review of a hotspot area: ``{"hotspot_id", "status", "owner", "updated",
        "updated_by"}`` (status ``new`` and no owner when never reviewed)."""
        with self.connect() as con:
            row = con.execute("SELECT * FROM reviews WHERE hotspot_id = ?", (str(hotspot_id),)).fetchone()
        if row is None:
            return {"hotspot_id": str(hotspot_id), "status": DEFAULT_STATUS, "owner": "",
                    "updated": None, "updated_by": None}
        return dict(row)

    def reviews(self) -> dict[str, dict]:
        """Every stored review, by hotspot id."""
        with self.connect() as con:
            rows = con.execute("SELECT * FROM reviews").fetchall()
        return {r["hotspot_id"]: dict(r) for r in rows}

    def set_review(self, hotspot_id: str, *, user: str, status: str | None = None,
                   owner: str | None = None) -> dict:
        """Change the status and/or owner of a hotspot area; each change goes to the history.
        ``ParameterError`` for an unknown status (a code; the French words of older forms are
        accepted)."""
        status = normalize_status(status)
        if owner is not None and len(owner) > 200:
            raise ParameterError("owner: at most 200 characters.", "owner")
        hid = str(hotspot_id)
        current = self.review(hid)
        new_status = current["status"] if status is None else status
        new_owner = current["owner"] if owner is None else owner.strip()
        now = _now()
        with self.connect() as con:
            for fld, old, new in (("status", current["status"], new_status),
                                  ("owner", current["owner"], new_owner)):
                if old != new:
                    con.execute(
                        'INSERT INTO review_history(hotspot_id, at, "user", field, old, new) '
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (hid, now, user, fld, old, new),
                    )
            con.execute(
                "INSERT INTO reviews(hotspot_id, status, owner, updated, updated_by) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(hotspot_id) DO UPDATE SET "
                "status=excluded.status, owner=excluded.owner, updated=excluded.updated, "
                "updated_by=excluded.updated_by",
                (hid, new_status, new_owner, now, user),
            )
        return self.review(hid)

    def history(self, hotspot_id: str) -> list[dict]:
        with self.connect() as con:
            rows = con.execute(
                "SELECT * FROM review_history WHERE hotspot_id = ? ORDER BY id", (str(hotspot_id),)
            ).fetchall()
        return [dict(r) for r in rows]

    def add_comment(self, hotspot_id: str, *, author: str, body: str) -> dict:
        body = (body or "").strip()
        if not body:
            raise ParameterError("the comment is empty: write something before sending.", "body")
        if len(body) > 5000:
            raise ParameterError("a comment holds at most 5,000 characters.", "body")
        with self.connect() as con:
            row = con.execute(
                "INSERT INTO comments(hotspot_id, at, author, body) VALUES (?, ?, ?, ?) RETURNING *",
                (str(hotspot_id), _now(), author, body),
            ).fetchone()
        return dict(row)

    def comments(self, hotspot_id: str) -> list[dict]:
        with self.connect() as con:
            rows = con.execute(
                "SELECT * FROM comments WHERE hotspot_id = ? ORDER BY id", (str(hotspot_id),)
            ).fetchall()
        return [dict(r) for r in rows]

    # -- personal API tokens (only their SHA-256 is stored) -------------------------------
    def add_token(self, user_id: int, name: str, token_hash: str, prefix: str) -> int:
        """Store a new token of ``user_id``; returns its id."""
        with self.connect() as con:
            row = con.execute("INSERT INTO api_tokens(user_id, name, token_hash, prefix, created) "
                              "VALUES (?, ?, ?, ?, ?) RETURNING id",
                              (int(user_id), name, token_hash, prefix, _now())).fetchone()
            return int(row["id"])

    def tokens(self, user_id: int) -> list[dict]:
        """The tokens of ``user_id`` (no hash), newest first, revoked ones included."""
        with self.connect() as con:
            rows = con.execute("SELECT id, name, prefix, created, last_used, revoked FROM api_tokens "
                               "WHERE user_id = ? ORDER BY id DESC", (int(user_id),)).fetchall()
        return [dict(r) for r in rows]

    def token_owner(self, token_hash: str) -> tuple[int, int] | None:
        """``(token id, user id)`` of a live token with this hash, marked as used; else None."""
        with self.connect() as con:
            row = con.execute("SELECT id, user_id FROM api_tokens WHERE token_hash = ? AND revoked IS NULL",
                              (token_hash,)).fetchone()
            if row is None:
                return None
            con.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?", (_now(), row["id"]))
        return int(row["id"]), int(row["user_id"])

    def revoke_token(self, user_id: int, token_id: int) -> bool:
        """Revoke a token of ``user_id``; False when it has no such live token."""
        with self.connect() as con:
            cur = con.execute("UPDATE api_tokens SET revoked = ? WHERE id = ? AND user_id = ? AND revoked IS NULL",
                              (_now(), int(token_id), int(user_id)))
            return cur.rowcount == 1

    # -- audit ----------------------------------------------------------------------------
    def audit(self, action: str, *, user: str = "", role: str = "", target: str = "",
              detail: dict | None = None, ip: str = "") -> None:
        """Append one line to the audit log."""
        if action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        with self.connect() as con:
            con.execute(
                'INSERT INTO audit(at, "user", role, action, target, detail, ip) '
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_now(), user or "", role or "", action, str(target or ""),
                 json.dumps(detail or {}, ensure_ascii=False, default=str), ip or ""),
            )

    def audit_log(self, *, action: str | None = None, user: str | None = None,
                  since: str | None = None, until: str | None = None,
                  limit: int = 500, offset: int = 0) -> list[dict]:
        """Audit lines, newest first, filtered by action, user and ISO time bounds
        (``since`` inclusive, ``until`` exclusive)."""
        where, args = [], []
        if action:
            where.append("action = ?")
            args.append(action)
        if user:
            where.append('"user" = ?')
            args.append(user)
        if since:
            where.append("at >= ?")
            args.append(since)
        if until:
            where.append("at < ?")
            args.append(until)
        sql = "SELECT * FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        with self.connect() as con:
            rows = con.execute(sql, (*args, int(limit), int(offset))).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["detail"] = json.loads(d["detail"] or "{}")
            out.append(d)
        return out

    # -- places followed and their actions -------------------------------------------------
    def add_place(self, *, name: str, geometry: dict, source: str, created_by: str, owner: str = "",
                  zacs=(), source_ref: str = "", start_date: str | None = None) -> dict:
        """Create a place (``geometry``: a GeoJSON geometry in EPSG:4326); returns it with its
        new id ``PL-0001``…"""
        if not str(name).strip():
            raise ParameterError("a place needs a name.", "name")
        now = _now()
        with self.connect() as con:
            row = con.execute(
                "INSERT INTO places (place_id, name, owner, geometry, zacs, source, source_ref, start_date, "
                "created, created_by) VALUES ('', ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (str(name).strip()[:200], str(owner or "")[:200], json.dumps(geometry), json.dumps(list(zacs)),
                 source, str(source_ref or ""), start_date or now[:10], now, created_by)).fetchone()
            new_id = int(row["id"])
            pid = f"PL-{new_id:04d}"
            con.execute("UPDATE places SET place_id = ? WHERE id = ?", (pid, new_id))
        return self.place(pid)

    def place(self, place_id: str) -> dict:
        """One place; ``NotFound`` when there is none with this id."""
        with self.connect() as con:
            row = con.execute("SELECT * FROM places WHERE place_id = ?", (str(place_id),)).fetchone()
        if row is None:
            raise NotFound(f"no place '{place_id}' (see the list of places followed).")
        return _place(row)

    def places(self) -> list[dict]:
        """Every place, oldest first."""
        with self.connect() as con:
            return [_place(r) for r in con.execute("SELECT * FROM places ORDER BY id").fetchall()]

    def add_action(self, place_id: str, *, kind: str, technique: str, start_date: str, created_by: str,
                   end_date: str | None = None, partner: str = "", cost: float | None = None,
                   status: str = "planned", categories=(), night_only: bool = False, notes: str = "",
                   location: dict | None = None) -> dict:
        """Record an action on a place (fields checked by the caller: ``layers.places.action_record``);
        ``location``: a GeoJSON Point (lon/lat), or None for the place itself."""
        self.place(place_id)
        with self.connect() as con:
            row = con.execute(
                "INSERT INTO actions (place_id, kind, technique, start_date, end_date, partner, cost, status, "
                "categories, night_only, notes, created, created_by, location) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (str(place_id), kind, technique, start_date, end_date, str(partner or "")[:200], cost, status,
                 json.dumps(list(categories)), int(bool(night_only)), str(notes or "")[:4000], _now(),
                 created_by, json.dumps(location) if location else None)).fetchone()
        return _action(row)

    def actions(self, place_id: str | None = None) -> list[dict]:
        """The actions of a place (every action without ``place_id``), oldest first."""
        with self.connect() as con:
            if place_id is None:
                rows = con.execute("SELECT * FROM actions ORDER BY id").fetchall()
            else:
                rows = con.execute("SELECT * FROM actions WHERE place_id = ? ORDER BY id", (str(place_id),)).fetchall()
        return [_action(r) for r in rows]



def audit_home(home, action: str, **kwargs) -> None:
    """Write one audit line in the app database of deployment ``home`` (CLI and library
    callers outside a web request: imports, rollbacks). Never fails the caller's action."""
    try:
        AppDB.of(home).audit(action, **kwargs)
    except (*_DB_ERRORS, OSError):  # pragma: no cover - a read-only folder, a server down
        pass


# -- dialects ---------------------------------------------------------------------------------
# What differs between SQLite and PostgreSQL, in one place: opening a connection, creating the
# tables, transactions, placeholders, the duplicate-key error.

def _is_postgresql(url) -> bool:
    return str(url).startswith(("postgresql://", "postgres://"))


class _SQLite:
    integrity_error = sqlite3.IntegrityError

    def __init__(self, path: Path):
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def open(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=15)
        con.row_factory = sqlite3.Row
        return con

    def create(self, con, schema: str) -> None:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(schema)

    @staticmethod
    def add_column(con, table: str, column: str, decl: str) -> None:
        """Add ``column`` to ``table`` unless it is there (SQLite has no ``IF NOT EXISTS`` here)."""
        if column not in {r["name"] for r in con.execute(f"PRAGMA table_info({table})").fetchall()}:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    @staticmethod
    def transaction(con):
        return con  # sqlite3's connection context: commit on success, roll back on error


class _PostgreSQL:
    #: the app tables' DDL differs in two words
    _DDL = (("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
            (" REAL ", " DOUBLE PRECISION "))

    def __init__(self, url: str, pool_size: int | None = None):
        import psycopg

        self.url = url
        self.pool_size = pool_size
        self.path = None
        self.integrity_error = psycopg.IntegrityError

    def exists(self) -> bool:
        return True

    def open(self):
        """A connection of the process's pool for the URL, shared with the PostGIS store
        (``layers.store.postgis.connection_pool``: checked before use, reopened after a fork)."""
        from layers.store.postgis import connection_pool

        pool = connection_pool(self.url, size=self.pool_size)
        return _PGConnection(pool, pool.getconn())

    def create(self, con, schema: str) -> None:
        for old, new in self._DDL:
            schema = schema.replace(old, new)
        with con.transaction():
            # two processes creating the tables at once would collide on the catalogue
            con.execute("SELECT pg_advisory_xact_lock(hashtext('vigie app tables'))")
            for statement in filter(str.strip, schema.split(";")):
                con.execute(statement)

    @staticmethod
    def transaction(con):
        return con.transaction()

    @staticmethod
    def add_column(con, table: str, column: str, decl: str) -> None:
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {decl}")


class _PGConnection:
    """A pooled psycopg connection that takes the module's ``?`` placeholders and gives rows
    as dicts; ``close`` gives it back to its pool."""

    def __init__(self, pool, con):
        self._pool, self._con = pool, con

    def execute(self, query: str, args=()):
        from psycopg.rows import dict_row

        return self._con.cursor(row_factory=dict_row).execute(
            re.sub(r"\?", "%s", query.replace("%", "%%")), tuple(args))

    def transaction(self):
        return self._con.transaction()

    def close(self) -> None:
        self._pool.putconn(self._con)


def _db_errors() -> tuple:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


_DB_ERRORS = _db_errors()
