"""The review workflow of hotspot areas: status (codes ``new``, ``in_review``, ``action_decided``,
``done``, ``dismissed``; their words in ``geo_app.i18n``), owner partner, a comment thread and
the history of every change.

Routes: ``GET /review/`` (hotspot areas with their status, ``?status=`` filter),
``GET /review/<hotspot_id>`` (status, owner, history, thread; also embeddable in the hotspot
page through ``access/_review_panel.html``), ``POST /review/<hotspot_id>/status`` (fields
``status``, ``owner``) and ``POST /review/<hotspot_id>/comments`` (field ``body``). Rights:
``review.read`` / ``review.write`` of ``geo_app.access`` (a ZAC manager only for hotspots
touching their ZAC; planners read only).
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from geo_app import access
from geo_app.auth import audit, current_account, get_db, is_local_path
from geo_app.db import STATUSES
from geo_app.i18n import normalize_status
from geo_app.services import get_services
from layers.errors import NotFound, VigieError

__all__ = ["bp", "find_hotspot", "review_context"]

bp = Blueprint("review", __name__, url_prefix="/review")


def _areas(user):
    """The hotspot areas ``user`` may see (empty when no analysis can run)."""
    try:
        return get_services().hotspot_areas(None, user=user)
    except (ImportError, VigieError):
        return None


def find_hotspot(user, hotspot_id: str, permission: str = "review.read") -> dict | None:
    """The hotspot area ``hotspot_id`` as a dict (None if it is not in the current results but
    has a review record). ``Forbidden`` when the user may not see it, ``NotFound`` when it is
    unknown."""
    access.check(user, permission, what="reviews")
    svc = get_services()
    hid = str(hotspot_id)
    areas = _areas(user)
    if areas is not None and hid in set(areas["hotspot_id"].astype(str)):
        row = areas[areas["hotspot_id"].astype(str) == hid].iloc[0]
        area = {k: row[k] for k in areas.columns if k != "geometry"}
        access.check_hotspot(user, area, permission)
        return area
    # not visible: does it exist for someone else (another ZAC), or only as a review record?
    try:
        everyone = svc._inner(svc.hotspot_areas, svc._analysis_filters(user, None))
    except (ImportError, VigieError, AttributeError):
        everyone = None
    if everyone is not None and hid in set(everyone["hotspot_id"].astype(str)):
        row = everyone[everyone["hotspot_id"].astype(str) == hid].iloc[0]
        access.check_hotspot(user, {"zac": row.get("zac")}, permission)
        return {k: row[k] for k in everyone.columns if k != "geometry"}
    db = get_db()
    if db.review(hid)["updated"] is None and not db.comments(hid):
        raise NotFound(f"no hotspot area '{hid}' (see the hotspot list).")
    if access.scope(user, permission).own_zac:
        raise access.Forbidden("this hotspot is no longer in the results: its ZAC cannot be checked.")
    return None


def review_context(user, hotspot_id: str) -> dict:
    """What the review panel shows for one hotspot area."""
    db = get_db()
    area = find_hotspot(user, hotspot_id)
    return {
        "hotspot_id": str(hotspot_id),
        "area": area,
        "review": db.review(hotspot_id),
        "history": db.history(hotspot_id),
        "comments": db.comments(hotspot_id),
        "statuses": STATUSES,
        "can_write": access.can(user, "review.write") and _can_write(user, area),
    }


def _can_write(user, area) -> bool:
    try:
        access.check_hotspot(user, area or {"zac": None}, "review.write")
        return True
    except access.Forbidden:
        return False


@bp.get("/")
def index():
    """Hotspot areas of the current results with their review status (``?status=`` filters)."""
    user = current_account()
    wanted = normalize_status(request.args.get("status") or None)
    db = get_db()
    stored = db.reviews()
    areas = _areas(user)
    rows = []
    if areas is not None:
        for _, r in areas.iterrows():
            rev = stored.get(str(r["hotspot_id"]), {})
            rows.append({"hotspot_id": str(r["hotspot_id"]), "n": r.get("n"), "zac": r.get("zac") or "",
                         "status": rev.get("status", STATUSES[0]), "owner": rev.get("owner", ""),
                         "updated": rev.get("updated")})
    if wanted:
        rows = [r for r in rows if r["status"] == wanted]
    return render_template("access/review_list.html", rows=rows, statuses=STATUSES, wanted=wanted)


@bp.get("/<hotspot_id>")
def show(hotspot_id: str):
    """Status, owner, history and thread of one hotspot area."""
    return render_template("access/review.html", **review_context(current_account(), hotspot_id))


def _back(hotspot_id: str):
    target = request.form.get("next") or ""
    if is_local_path(target):
        return redirect(target)
    return redirect(url_for("review.show", hotspot_id=hotspot_id))


@bp.post("/<hotspot_id>/status")
def set_status(hotspot_id: str):
    """Change the status and/or the owner partner (form fields ``status``, ``owner``)."""
    user = current_account()
    find_hotspot(user, hotspot_id, "review.write")
    status = request.form.get("status") or None
    owner = request.form.get("owner")
    rev = get_db().set_review(hotspot_id, user=user.name, status=status, owner=owner)
    audit("review", target=str(hotspot_id), detail={"status": rev["status"], "owner": rev["owner"]})
    return _back(hotspot_id)


@bp.post("/<hotspot_id>/comments")
def add_comment(hotspot_id: str):
    """Add a comment to the thread (form field ``body``; plain text, shown escaped)."""
    user = current_account()
    find_hotspot(user, hotspot_id, "review.write")
    c = get_db().add_comment(hotspot_id, author=user.name, body=request.form.get("body", ""))
    audit("comment", target=str(hotspot_id), detail={"comment_id": c["id"]})
    return _back(hotspot_id)
