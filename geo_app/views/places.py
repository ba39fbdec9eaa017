"""Places followed (lieux suivis): the list with the hotspot areas not yet followed as
suggestions, one page per place (name, map, monthly trend, micro-places, actions, review
thread), and the API.

Pages: ``GET /places``, ``POST /places`` (fields ``source`` = hotspot | segment | drawn, ``ref``,
``geometry`` (GeoJSON), ``name``, ``owner``, ``start_date``), ``GET /places/<place_id>``,
``POST /places/<place_id>/status`` (``status``, ``owner``), ``POST /places/<place_id>/comments``
(``body``), ``POST /places/<place_id>/actions`` (the fields of ``layers.places.action_record``;
``location`` "lon,lat" or a GeoJSON Point within 500 m of the place, default the place).

API: ``GET /api/places`` (GeoJSON), ``POST /api/places`` (JSON, same fields; 201),
``GET /api/places/<place_id>`` (the feature with its actions), ``GET|POST
/api/places/<place_id>/actions``.

Rights (applied by the request's viewer): everyone who may read reviews sees the places (a ZAC
manager those touching their ZAC); coordinators, police, admins and ZAC managers in their ZAC
create places, review them and record actions; planners read.
"""

from __future__ import annotations

import pandas as pd
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from geo_app.auth import audit, get_db, get_viewer
from geo_app.i18n import evaluation_sentence, place_name
from geo_app.mapping import MapLayers, build_map, render_parts, script_json
from geo_app.views.api import geojson
from geo_app.views.hotspots import micro_place_rows
from geo_app.views.i18n import current_lang
from geo_app.views.maps import dynamic_layers, map_assets
from layers.errors import ParameterError
from layers.places import ACTION_KINDS, ACTION_STATUSES

__all__ = ["bp"]

bp = Blueprint("places", __name__)

_ACTION_FIELDS = ("kind", "start_date", "end_date", "status", "partner", "cost", "notes", "location")


def _place_fields(src) -> dict:
    return {"source": src.get("source") or "", "ref": src.get("ref") or None,
            "geometry": src.get("geometry") or None, "name": src.get("name") or None,
            "owner": src.get("owner") or "", "start_date": src.get("start_date") or None}


def _action_fields(src, *, categories=None) -> dict:
    out = {k: src.get(k) for k in _ACTION_FIELDS if src.get(k) not in (None, "")}
    if categories:
        out["categories"] = categories
    if "night_only" in src:
        out["night_only"] = str(src.get("night_only")).lower() in ("1", "true", "on", "yes")
    return out


@bp.get("/places")
def place_list():
    """Places followed, then the hotspot areas not yet followed (suggestions)."""
    viewer = get_viewer()
    lang = current_lang()
    places = viewer.places()
    areas = viewer.hotspot_areas(None)
    followed = viewer.hotspot_places(None)
    names = viewer.hotspot_names(None)
    suggestions = [{"hotspot_id": h, "n": int(n), "name": place_name(names.get(str(h)), lang)}
                   for h, n in zip(areas["hotspot_id"], areas["n"]) if str(h) not in followed]
    by_place: dict = {}
    for h, p in followed.items():
        by_place.setdefault(p, []).append(h)
    return render_template("places.html", places=places, suggestions=suggestions, by_place=by_place,
                           can_write=viewer.can("review.write"))


@bp.post("/places")
def place_create():
    """Create a place from a hotspot area, a street segment or a drawn polygon."""
    place = get_viewer().create_place(**_place_fields(request.form))
    return redirect(url_for("places.place_page", place_id=place["place_id"]))


@bp.get("/places/<place_id>")
def place_page(place_id: str):
    """One place: name, owner, review thread, actions and the form to record one."""
    viewer = get_viewer()
    lang = current_lang()
    place = viewer.place(place_id)
    evaluations = {k: evaluation_sentence(v, lang) for k, v in viewer.action_evaluations(place_id).items()}
    rv = viewer.place_review(place_id)
    rv["review"] = {**rv["review"], "owner": rv["review"]["owner"] or place.get("owner") or ""}
    rv["status_url"] = url_for("places.place_status", place_id=place_id)
    rv["comment_url"] = url_for("places.place_comment", place_id=place_id)
    micro = viewer.place_micro_places(place_id)
    micro_rows = micro_place_rows(micro, lang)
    if len(micro):
        micro = micro.assign(name=[r["name"] for r in micro_rows])
    trend = viewer.place_monthly(place_id)
    chart = {"monthly": {"labels": [str(p) for p in trend.index],
                         "values": [None if pd.isna(v) else int(v) for v in trend.to_numpy()]},
             "words": {"incidents": _("faits")}}
    return render_template(
        "place.html", place=place, rv=rv, actions=viewer.place_actions(place_id),
        kinds=list(ACTION_KINDS), action_statuses=ACTION_STATUSES, lang=lang, evaluations=evaluations,
        map_parts=render_parts(_place_map(viewer, place, micro, lang)), micro=micro_rows,
        chart_data=script_json(chart), trend_blanked=bool(trend.isna().any()), k=viewer.k,
    )


def _place_map(viewer, place: dict, micro, lang: str):
    """The place's map: its outline, its micro-places, its actions, the incidents around it
    (on the role's grid, and as points for the roles that see points)."""
    frame = viewer.place_frame([place])
    minx, miny, maxx, maxy = frame.total_bounds
    pad = 0.002
    bounds = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    layers = viewer.place_layers()
    actions = layers["actions"]
    actions = actions[actions["place_id"] == place["place_id"]] if len(actions) else actions
    grid = viewer.grid("incidents", None, bbox=bounds, cells=40)
    return build_map(
        MapLayers(incident_grid=grid, places=frame.assign(status=viewer.place_review(place["place_id"])["review"]["status"]),
                  actions=actions, micro_places=micro),
        dynamic=dynamic_layers(["incidents"], "", lang),
        bounds=bounds,
        tile_url=current_app.config["TILE_URL"],
        tile_attribution=current_app.config["TILE_ATTRIBUTION"],
        assets=map_assets(), lang=lang,
        place_url=url_for("places.place_page", place_id="ID").replace("ID", "{id}"),
        category_labels={c.code: c.label(lang) for c in viewer.taxonomy.categories},
        script_url=url_for("static", filename="js/vigie-map.js"),
    )


@bp.post("/places/<place_id>/status")
def place_status(place_id: str):
    viewer = get_viewer()
    viewer.place(place_id, "review.write")
    rev = get_db().set_review(place_id, user=viewer.account.name, status=request.form.get("status") or None,
                              owner=request.form.get("owner"))
    audit("review", target=place_id, detail={"status": rev["status"], "owner": rev["owner"]})
    return redirect(url_for("places.place_page", place_id=place_id))


@bp.post("/places/<place_id>/comments")
def place_comment(place_id: str):
    viewer = get_viewer()
    viewer.place(place_id, "review.write")
    c = get_db().add_comment(place_id, author=viewer.account.name, body=request.form.get("body", ""))
    audit("comment", target=place_id, detail={"comment_id": c["id"]})
    return redirect(url_for("places.place_page", place_id=place_id))


@bp.post("/places/<place_id>/actions")
def place_action(place_id: str):
    get_viewer().add_action(place_id, **_action_fields(request.form,
                                                       categories=request.form.getlist("categories")))
    return redirect(url_for("places.place_page", place_id=place_id))


# -- API ----------------------------------------------------------------------------------------
def _feature(viewer, place: dict, **extra) -> dict:
    fc = geojson(viewer.place_frame([place]))
    feat = fc["features"][0]
    feat["properties"].update(zacs=place.get("zacs", []), created_by=place.get("created_by"), **extra)
    return feat


@bp.get("/api/places")
def api_places():
    viewer = get_viewer()
    return jsonify({"type": "FeatureCollection", "features": [_feature(viewer, p) for p in viewer.places()]})


@bp.post("/api/places")
def api_place_create():
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(body, dict):
        raise ParameterError("send the place as a JSON object.", "body")
    viewer = get_viewer()
    place = viewer.create_place(**_place_fields(body))
    return jsonify(_feature(viewer, place)), 201


@bp.get("/api/places/<place_id>")
def api_place(place_id: str):
    viewer = get_viewer()
    place = viewer.place(place_id)
    rev = viewer.place_review(place_id)["review"]
    return jsonify(_feature(viewer, {**place, "status": rev["status"]}, actions=viewer.place_actions(place_id)))


@bp.get("/api/places/<place_id>/actions")
def api_actions(place_id: str):
    """The actions of a place, each done one with its ``evaluation`` (WDD) and ``effect`` sentence."""
    viewer = get_viewer()
    lang = current_lang()
    evals = viewer.action_evaluations(place_id)
    return jsonify([{**a, "evaluation": evals.get(a["id"]), "effect": evaluation_sentence(evals.get(a["id"]), lang)}
                    for a in viewer.place_actions(place_id)])


@bp.post("/api/places/<place_id>/actions")
def api_action_create(place_id: str):
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ParameterError("send the action as a JSON object.", "body")
        cats = body.get("categories")
    else:
        body, cats = request.form.to_dict(), request.form.getlist("categories")
    return jsonify(get_viewer().add_action(place_id, **_action_fields(body, categories=cats))), 201
