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

from flask import Blueprint, Response, request

from geo_app.auth import get_viewer
from layers.errors import InputError, ParameterError
from layers.report import parse_month

__all__ = ["bp"]

bp = Blueprint("reports", __name__)


def _last_month(viewer):
    """The last local month holding incidents."""
    import pandas as pd

    cols = viewer.workspace.columns()
    months = cols.month[cols.month >= 0]
    if not len(months):
        raise InputError("there is no incident in the store: import incidents first.")
    year, month = divmod(int(months.max()), 12)
    return pd.Period(year=year, month=month + 1, freq="M")


@bp.get("/reports")
def report_page():
    """The monthly report of the month asked, for the user's role."""
    from geo_app.report import check_zac, html_to_pdf, render_html, to_json_summary
    from geo_app.views.i18n import current_lang

    viewer = get_viewer()
    fmt = request.args.get("format", "html")
    if fmt not in ("html", "pdf", "json"):
        raise ParameterError(f"format must be html, pdf or json, got '{fmt}'.", "format")
    lang = request.args.get("lang") or current_lang()
    if lang not in ("fr", "en"):
        raise ParameterError(f"lang must be fr or en, got '{lang}'.", "lang")
    raw_month = request.args.get("month")
    month = parse_month(raw_month, param="month") if raw_month else _last_month(viewer)
    zac = viewer.report_zac(request.args.get("zac") or None)
    check_zac(viewer.workspace, zac, param="zac")
    rep = viewer.report(month=month, zac=zac, lang=lang, images=fmt != "json")
    if fmt == "json":
        return Response(to_json_summary(rep), mimetype="application/json")
    audience = viewer.report_audience
    if fmt == "pdf":
        pdf = html_to_pdf(render_html(rep))
        name = f"vigie-report-{month}{'-' + zac if zac else ''}-{audience}.pdf".replace(" ", "_")
        name = name.encode("ascii", "ignore").decode("ascii")
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    names, allow_whole = viewer.report_zac_choices()
    html = render_html(rep, web=True, zac_choices=names, allow_whole=allow_whole)
    return Response(html, mimetype="text/html")
