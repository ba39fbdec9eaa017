"""Administration (admin role only): accounts and the audit log.

``GET /admin/`` lists the accounts with a form to add one; ``POST /admin/users`` creates an
account (fields ``name``, ``role``, ``zac``, ``password``); ``POST /admin/users/<name>/active``
(field ``active`` = 1 or 0) enables or disables it; ``GET /admin/audit`` shows the audit log
with filters ``action``, ``user``, ``from``, ``to`` (dates, UTC) and ``page``.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from geo_app import access
from geo_app.accounts import add_user, set_active, store_zac_names
from geo_app.auth import audit, get_db, get_workspace
from geo_app.db import AUDIT_ACTIONS
from geo_app.i18n import label
from layers.errors import ParameterError

__all__ = ["bp"]

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE = 200


@bp.get("/")
def index():
    """Accounts and the form to add one."""
    ws = get_workspace()
    return render_template("access/admin_users.html", users=get_db().users(), roles=access.ROLES,
                           zacs=store_zac_names(ws.home))


@bp.post("/users")
def add():
    ws = get_workspace()
    rec = add_user(ws.home, request.form.get("name", ""), role=access.check_role(request.form.get("role", "")),
                   password=request.form.get("password", ""), zacs=request.form.getlist("zac"))
    audit("user_add", target=rec.name, detail={"role": rec.role, "zacs": list(rec.zacs)})
    flash(_("Compte « %(name)s » créé (%(role)s).", name=rec.name, role=label("role", rec.role)), "success")
    return redirect(url_for("admin.index"))


@bp.post("/users/<name>/active")
def activate(name: str):
    value = request.form.get("active", "")
    if value not in ("0", "1"):
        raise ParameterError("active must be 1 or 0.", "active")
    set_active(get_workspace().home, name, value == "1")
    audit("user_change", target=name, detail={"active": value == "1"})
    return redirect(url_for("admin.index"))


def _date(name: str) -> str | None:
    v = (request.args.get(name) or "").strip()
    if not v:
        return None
    import datetime as dt

    try:
        day = dt.date.fromisoformat(v)
    except ValueError:
        raise ParameterError(f"{name} must be a date YYYY-MM-DD, got '{v}'.", name) from None
    if not 1900 <= day.year <= 2100:
        raise ParameterError(f"{name} must be a date between 1900 and 2100, got '{v}'.", name)
    return day.isoformat()


@bp.get("/audit")
def audit_log():
    """The audit log, newest first, with filters."""
    action = request.args.get("action") or None
    if action is not None and action not in AUDIT_ACTIONS:
        raise ParameterError(f"unknown action '{action}'; choose one of: {', '.join(AUDIT_ACTIONS)}.", "action")
    try:
        page = int(request.args.get("page") or 1)
    except ValueError:
        raise ParameterError("page must be a whole number.", "page") from None
    if not 1 <= page <= 1_000_000:
        raise ParameterError(f"page must be between 1 and 1000000, got {page}.", "page")
    start, end = _date("from"), _date("to")
    if end is not None:
        import datetime as dt

        end = (dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat()
    rows = get_db().audit_log(action=action, user=request.args.get("user") or None, since=start,
                              until=end, limit=PAGE + 1, offset=(page - 1) * PAGE)
    return render_template("access/admin_audit.html", rows=rows[:PAGE], more=len(rows) > PAGE, page=page,
                           actions=AUDIT_ACTIONS, args=request.args)
