"""The monthly report page: ``GET /reports`` (HTML, ``?format=pdf`` or ``?format=json``).

Query: ``month=YYYY-MM`` (default: the last month holding incidents), ``zac=NAME``,
``lang=fr|en`` (default: the interface language), ``format=html|pdf|json``. The audience
follows the logged-in role (``geo_app.access``): the police version (points, every category) for
roles that may see sensitive points as points, the partners' version (aggregated, counts under k
hidden) for everyone else, without the sensitive categories at all for roles holding no right on
them (ZAC managers, planners); a ZAC manager gets the report of one of their own ZACs. The route
needs the ``hotspots`` permission (blueprint ``reports`` in ``access.BLUEPRINT_PERMISSIONS``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Blueprint, Response, request

from geo_app import access
from geo_app.services import get_services
from layers.errors import Forbidden, InputError, ParameterError
from layers.report import local_months, parse_month

__all__ = ["audience_for", "bp"]

bp = Blueprint("reports", __name__)

_CACHE: OrderedDict = OrderedDict()
_LOCK = threading.Lock()
_CACHE_SIZE = 6


def audience_for(user) -> str:
    """``police`` for roles seeing sensitive categories as points, else ``partners``."""
    return "police" if access.scope(user, "sensitive_points") is access.Scope.ALL else "partners"


def _last_month(svc):
    inc = svc.store.read("incidents", columns=["category", "occurred_from"])
    if not len(inc):
        raise InputError("there is no incident in the store: import incidents first.")
    return local_months(inc, tz=svc.tz).max()


def _zac_for(user, zac: str | None) -> str | None:
    if access.scope(user, "hotspots").own_zac:
        own = tuple(getattr(user, "zacs", ()) or ())
        if not own:
            raise Forbidden("your account is not attached to any ZAC: ask the administrator.")
        if zac is None:
            return own[0]
        if zac not in own:
            raise Forbidden(f"the ZAC '{zac}' is outside your ZACs ({', '.join(own)}).")
    return zac


def _report(svc, *, month, zac, lang, audience, images=True, include_sensitive=True):
    from geo_app.report import build_report

    key = (svc.version, str(month), zac, lang, audience, images, include_sensitive)
    keys = [key] if images else [key[:5] + (True,) + key[6:], key]  # a report with images serves JSON too
    with _LOCK:
        for k in keys:
            if k in _CACHE:
                _CACHE.move_to_end(k)
                return _CACHE[k]
    rep = build_report(svc.home, month=month, zac=zac, lang=lang, audience=audience, images=images,
                       include_sensitive=include_sensitive)
    with _LOCK:
        _CACHE[key] = rep
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return rep


@bp.get("/reports")
def report_page():
    """The monthly report of the month asked, for the user's role."""
    from geo_app.auth import audit, current_account
    from geo_app.report import check_zac, html_to_pdf, render_html, to_json_summary
    from geo_app.views.i18n import current_lang

    user = current_account()
    svc = get_services()
    fmt = request.args.get("format", "html")
    if fmt not in ("html", "pdf", "json"):
        raise ParameterError(f"format must be html, pdf or json, got '{fmt}'.", "format")
    lang = request.args.get("lang") or current_lang()
    if lang not in ("fr", "en"):
        raise ParameterError(f"lang must be fr or en, got '{lang}'.", "lang")
    raw_month = request.args.get("month")
    month = parse_month(raw_month, param="month") if raw_month else _last_month(svc)
    zac = _zac_for(user, request.args.get("zac") or None)
    check_zac(svc.home, zac, param="zac")
    audience = audience_for(user)
    # roles without any right on sensitive categories (ZAC managers, planners) do not get them
    # even aggregated (geo_app.access.incident_access)
    include_sensitive = access.scope(user, "sensitive_points") is not access.Scope.NONE
    rep = _report(svc, month=month, zac=zac, lang=lang, audience=audience, images=fmt != "json",
                  include_sensitive=include_sensitive)
    if audience == "police":
        audit("view_points", target=f"report {month}", detail={"zac": zac, "format": fmt})
    if fmt == "json":
        return Response(to_json_summary(rep), mimetype="application/json")
    if fmt == "pdf":
        pdf = html_to_pdf(render_html(rep))
        name = f"vigie-report-{month}{'-' + zac if zac else ''}-{audience}.pdf".replace(" ", "_")
        name = name.encode("ascii", "ignore").decode("ascii")
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    own_zac = access.scope(user, "hotspots").own_zac
    names = (list(getattr(user, "zacs", ()) or ()) if own_zac
             else sorted(set(svc.store.read("zac", columns=["name"])["name"].astype(str))))
    html = render_html(rep, web=True, zac_choices=names, allow_whole=not own_zac)
    return Response(html, mimetype="text/html")
