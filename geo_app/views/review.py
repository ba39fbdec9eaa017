"""The review workflow of hotspot areas: status (codes ``new``, ``in_review``, ``action_decided``,
``done``, ``dismissed``; their words in ``geo_app.i18n``), owner partner, a comment thread and
the history of every change.

Routes: ``GET /review/`` (hotspot areas with their status, ``?status=`` filter),
``GET /review/<hotspot_id>`` (status, owner, history, thread; also embeddable in the hotspot
page through ``access/_review_panel.html``), ``POST /review/<hotspot_id>/status`` (fields
``status``, ``owner``) and ``POST /review/<hotspot_id>/comments`` (field ``body``). The POSTs
take the page's filters in their query string (``category``, ``from``, ``night``…), so a
hotspot area found only under those filters can be reviewed. Rights:
``review.read`` / ``review.write`` of ``geo_app.access`` (a ZAC manager only for hotspots
touching their ZAC; planners read only), applied by the request's viewer.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from geo_app.auth import audit, get_db, get_viewer, is_local_path
from geo_app.db import STATUSES
from geo_app.i18n import normalize_status
from geo_app.views.common import request_filters

__all__ = ["bp"]

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.get("/")
def index():
    """Hotspot areas of the current results with their review status (``?status=`` filters)."""
    wanted = normalize_status(request.args.get("status") or None)
    rows = get_viewer().reviewed_areas()
    if wanted:
        rows = [r for r in rows if r["status"] == wanted]
    return render_template("access/review_list.html", rows=rows, statuses=STATUSES, wanted=wanted)


@bp.get("/<hotspot_id>")
def show(hotspot_id: str):
    """Status, owner, history and thread of one hotspot area."""
    return render_template("access/review.html", **get_viewer().review(hotspot_id))


def _back(hotspot_id: str):
    target = request.form.get("next") or ""
    if is_local_path(target):
        return redirect(target)
    return redirect(url_for("review.show", hotspot_id=hotspot_id))


@bp.post("/<hotspot_id>/status")
def set_status(hotspot_id: str):
    """Change the status and/or the owner partner (form fields ``status``, ``owner``)."""
    viewer = get_viewer()
    filters, night = request_filters(with_bbox=False)
    viewer.find_hotspot(hotspot_id, "review.write", filters, night=night)
    status = request.form.get("status") or None
    owner = request.form.get("owner")
    rev = get_db().set_review(hotspot_id, user=viewer.account.name, status=status, owner=owner)
    audit("review", target=str(hotspot_id), detail={"status": rev["status"], "owner": rev["owner"]})
    return _back(hotspot_id)


@bp.post("/<hotspot_id>/comments")
def add_comment(hotspot_id: str):
    """Add a comment to the thread (form field ``body``; plain text, shown escaped)."""
    viewer = get_viewer()
    filters, night = request_filters(with_bbox=False)
    viewer.find_hotspot(hotspot_id, "review.write", filters, night=night)
    c = get_db().add_comment(hotspot_id, author=viewer.account.name, body=request.form.get("body", ""))
    audit("comment", target=str(hotspot_id), detail={"comment_id": c["id"]})
    return _back(hotspot_id)
