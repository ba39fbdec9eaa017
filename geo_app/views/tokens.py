"""Personal API tokens on the account page: create (shown once), list, revoke."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from geo_app.auth import current_account, get_db
from geo_app.tokens import create_token, revoke_token
from layers.errors import NotFound, ParameterError

__all__ = ["bp"]

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


def _page(new_token: str | None = None, status: int = 200):
    acc = current_account()
    return render_template("access/tokens.html", account=acc, tokens=get_db().tokens(acc.id),
                           new_token=new_token, ogc_url=request.host_url.rstrip("/") + "/ogc"), status


@bp.get("")
def index():
    return _page()


@bp.post("")
def create():
    acc = current_account()
    if acc.id <= 0:
        raise ParameterError("the local account of an open deployment cannot hold tokens: create accounts first.",
                             "name")
    token = create_token(get_db(), acc, request.form.get("name", ""))
    return _page(new_token=token, status=201)


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int):
    if not revoke_token(get_db(), current_account(), token_id):
        raise NotFound(f"you have no live token {token_id}.")
    return redirect(url_for("tokens.index"))
