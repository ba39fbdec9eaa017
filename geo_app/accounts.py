"""Account management shared by the CLI (``geo-app user …``) and the demo builder.

Outside the demo city no account exists until an administrator creates one with
``geo-app user add``; the demo builder calls ``create_demo_accounts`` to give each role one
account named after it.
"""

from __future__ import annotations

import re
import secrets

from geo_app import access
from geo_app.auth import hash_password
from geo_app.db import AppDB, UserRecord
from layers.errors import InputError, ParameterError

__all__ = [
    "add_user",
    "check_zacs",
    "create_demo_accounts",
    "list_users",
    "set_active",
    "set_password",
    "store_zac_names",
]


def store_zac_names(home) -> list[str]:
    """Names of the ZACs in the deployment's store (empty if none is imported)."""
    try:
        zac = home.store.read("zac", columns=["name"])
    except Exception:  # no store yet, or no zac layer  # noqa: BLE001
        return []
    return sorted(str(n) for n in zac["name"].dropna().unique())


def check_zacs(home, role: str, zacs) -> tuple[str, ...]:
    """Validate the ZACs of an account: a ``zac_manager`` needs at least one ZAC of the store;
    other roles take none."""
    zacs = tuple(dict.fromkeys(z.strip() for z in (zacs or ()) if z and z.strip()))
    if role != "zac_manager":
        if zacs:
            raise ParameterError(f"--zac is only for the zac_manager role, not '{role}'.", "zac")
        return ()
    if not zacs:
        raise ParameterError("a zac_manager account needs at least one --zac NAME.", "zac")
    known = store_zac_names(home)
    if not known:
        raise InputError(
            "the store holds no ZAC: import the ZAC layer first ('geo-app import zac FILE')."
        )
    unknown = [z for z in zacs if z not in known]
    if unknown:
        raise ParameterError(
            f"unknown ZAC {', '.join(map(repr, unknown))}; ZACs of the store: {', '.join(known[:40])}"
            + (" …" if len(known) > 40 else "") + ".",
            "zac",
        )
    return zacs


def _check_name(name: str) -> str:
    name = (name or "").strip()
    # letters, digits, '.', '_', '-', '@'; starts with a letter or digit (the name is a URL
    # segment of the admin pages: no '/', '..' or markup)
    if not re.fullmatch(r"[^\W_][\w.@-]{0,63}", name):
        raise ParameterError(
            "a user name holds 1 to 64 characters and no spaces: letters, digits, '.', '_', '-' or "
            "'@', starting with a letter or digit (e.g. 'j.martin').", "name"
        )
    return name


def add_user(home, name: str, *, role: str, password: str, zacs=()) -> UserRecord:
    """Create an account (argon2id hash of ``password``); the action is audited."""
    name = _check_name(name)
    access.check_role(role)
    zacs = check_zacs(home, role, zacs)
    db = AppDB.of(home)
    rec = db.add_user(name, role, hash_password(password), zacs)
    db.audit("user_add", user="cli", role="admin", target=name, detail={"role": role, "zacs": list(zacs)})
    return rec


def set_password(home, name: str, password: str) -> None:
    db = AppDB.of(home)
    db.set_password_hash(name, hash_password(password))
    db.audit("user_change", user="cli", role="admin", target=name, detail={"password": "changed"})


def set_active(home, name: str, active: bool) -> None:
    db = AppDB.of(home)
    db.set_active(name, active)
    db.audit("user_change", user="cli", role="admin", target=name, detail={"active": active})


def list_users(home) -> list[UserRecord]:
    return AppDB.of(home).users()


def _demo_zac(home) -> str | None:
    """The demo ZAC manager's ZAC: the ZAC holding most incidents (ties: first by name)."""
    names = store_zac_names(home)
    if not names:
        return None
    try:
        import geopandas as gpd

        zac = home.store.read("zac", columns=["name"])
        inc = home.store.read("incidents", columns=["category"])
        if len(inc) == 0:
            return names[0]
        joined = gpd.sjoin(inc[["geometry"]], zac[["name", "geometry"]], predicate="within")
        counts = joined.groupby("name").size()
        if len(counts) == 0:
            return names[0]
        best = counts[counts == counts.max()].index
        return min(str(n) for n in best)
    except Exception:  # noqa: BLE001 — a demo nicety, never a failure
        return names[0]


def create_demo_accounts(home, password: str | None = None) -> dict[str, str]:
    """One account per role, named after the role (``coordinator``, ``police``,
    ``zac_manager``, ``planner``, ``admin``), with ``password`` or a random one each.

    Existing demo accounts are reset (role, ZAC, password, enabled). The ZAC manager gets the
    demo ZAC holding most incidents. Returns ``{name: password}``.
    """
    db = AppDB.of(home)
    zac = _demo_zac(home)
    out = {}
    for role in access.ROLES:
        pw = password or secrets.token_urlsafe(9)
        zacs = (zac,) if (role == "zac_manager" and zac) else ()
        db.upsert_user(role, role, hash_password(pw), zacs)
        db.audit("user_add", user="demo", role="admin", target=role, detail={"role": role, "zacs": list(zacs)})
        out[role] = pw
    return out
