"""The column cache of ``geo_app.workspace`` (filters as masks, analyses on binned counts) agrees
with the reference paths (``layers.filters.apply_filters``, ``layers.hotspots`` on
GeoDataFrames, pymannkendall); the lazy layers (KDE, emerging hotspots, proposals) are in the
layer control and answered by ``/api/map/<key>``; the trend column and the proposals of a
hotspot page."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pymannkendall
import pytest

from geo_app.mapping import LazyLayer, MapLayers, build_map, layer_names, render_parts
from layers.crs import to_analysis
from layers.filters import Filters, apply_filters, parse_filters
from layers.registry import default_taxonomy


def _services(app):
    return app.extensions["vigie"]


FILTERS = [
    {},
    {"categories": "theft,burglary"},
    {"start": "2024-03-01", "end": "2024-06-30"},
    {"hours": "22-5"},
    {"weekdays": "5,6"},
    {"zac": "ZAC Centre"},
    {"bbox": "3.875,43.603,3.884,43.610", "categories": "violence_public,drugs,theft", "hours": "8-20"},
]


@pytest.mark.parametrize("kw", FILTERS)
def test_masks_select_the_rows_apply_filters_selects(app, city, kw):
    svc = _services(app)
    with app.app_context():
        f = parse_filters(tz="Europe/Paris", taxonomy=default_taxonomy(), **kw)
        got = svc.read("incidents", f)
        want = apply_filters(svc.frame("incidents"), f, tz="Europe/Paris", zac_layer=city["zac"])
    assert len(want) > 0
    assert sorted(got["fid"]) == sorted(want["fid"])


@pytest.mark.parametrize("cats", [None, ("theft",)])  # whole cached column / the selection's own
def test_night_mask_is_the_darkness_of_layers_temporal(app, cats):
    from layers import temporal

    svc = _services(app)
    with app.app_context():
        full = svc.frame("incidents")
        night = svc.read("incidents", Filters(categories=cats), night=True)
    is_night = (temporal.darkness(full, tz="Europe/Paris") == "night").to_numpy()
    want = full[is_night & (full["category"].isin(cats).to_numpy() if cats else True)]
    assert 0 < len(night) < len(full)
    assert sorted(night["fid"]) == sorted(want["fid"])


@pytest.mark.parametrize("kw", [{}, {"categories": "theft,drugs,robbery,violence_public"}])
def test_fast_gistar_and_kde_equal_the_geodataframe_path(app, kw):
    """Gi* and KDE of the cached columns == layers.hotspots on the reprojected frame."""
    from layers import hotspots

    svc = _services(app)
    f = parse_filters(tz="Europe/Paris", taxonomy=default_taxonomy(), **kw)
    with app.app_context():
        gi = svc.analysis("gistar", f)
        kd = svc.analysis("kde", f)
        area = to_analysis(svc.study_area(), 2154)
        inc = to_analysis(apply_filters(svc.frame("incidents"), f, tz="Europe/Paris"), 2154)
    ref_gi = hotspots.gistar(inc, study_area=area)
    ref_kd = hotspots.kde(inc, study_area=area)
    assert gi["n"].tolist() == ref_gi["n"].tolist()
    np.testing.assert_allclose(gi["z"], ref_gi["z"], rtol=1e-12, atol=1e-12)
    assert gi["bin"].tolist() == ref_gi["bin"].tolist()
    assert gi.attrs["vigie"]["cell_size"] == ref_gi.attrs["vigie"]["cell_size"]
    np.testing.assert_allclose(kd["kde"], ref_kd["kde"], rtol=1e-9, atol=1e-12)
    assert kd.attrs["vigie"]["bandwidth"] == pytest.approx(ref_kd.attrs["vigie"]["bandwidth"])


def test_key_figures_count_by_hand(app, city):
    svc = _services(app)
    f = parse_filters(start="2024-04-01", end="2024-07-01", categories="theft", tz="Europe/Paris",
                      taxonomy=default_taxonomy())
    with app.app_context():
        k = svc.key_figures(f)
    inc = city["incidents"]
    t = inc["occurred_from"]
    theft = inc["category"] == "theft"
    cur = theft & (t >= f.start) & (t < f.end)
    prev = theft & (t >= f.start - (f.end - f.start)) & (t < f.start)
    assert k.total == int(cur.sum())
    assert k.previous == int(prev.sum())
    assert k.change_pct == pytest.approx(100 * (cur.sum() - prev.sum()) / prev.sum())


def test_new_store_version_rebuilds_the_columns(app, store):
    svc = _services(app)
    with app.app_context():
        n0 = len(svc.columns())
        store._layers["incidents"] = store._layers["incidents"].iloc[:100]
        store._version = str(store._version) + "-b"
        assert len(svc.columns()) == 100 != n0
        assert len(svc.read("incidents", Filters())) == 100


# ---------------------------------------------------------------------------------- trend


def test_hotspot_trend_is_mann_kendall_of_monthly_counts(app):
    svc = _services(app)
    with app.app_context():
        areas = svc.hotspot_areas(Filters())
        full = svc.frame("incidents")
        assert len(areas) >= 1 and {"trend", "trend_z", "trend_p"} <= set(areas.columns)
        row = areas.iloc[0]
        # incidents of the area: those of its cells (the cells' union is the area)
        inside = to_analysis(full, 2154).geometry.intersects(to_analysis(areas.iloc[[0]], 2154).geometry.iloc[0])
        local = full["occurred_from"].dt.tz_convert("Europe/Paris").dt.tz_localize(None).dt.to_period("M")
        months = pd.period_range(local.min(), local.max(), freq="M")
        series = local[inside.to_numpy()].value_counts().reindex(months, fill_value=0).to_numpy()
    assert row["trend_months"] == len(months)
    ref = pymannkendall.original_test(series)
    assert row["trend_z"] == pytest.approx(ref.z, abs=1e-9)
    assert row["trend_p"] == pytest.approx(ref.p, abs=1e-9)
    want = "stable" if ref.p >= 0.05 else ("up" if ref.z > 0 else "down")
    assert row["trend"] == want


def test_hotspot_list_shows_and_sorts_the_trend(client, app):
    r = client.get("/hotspots?sort=trend&order=asc&lang=en")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    cells = html.split('class="hotspot-trend"')[1:]
    assert cells, "trend column present"
    assert any(w in cells[0] for w in ("rising", "falling", "stable"))
    assert "Mann-Kendall" in cells[0]
    with app.app_context():
        z = sorted(_services(app).hotspot_areas(Filters())["trend_z"])
    shown = [float(c.split("z = ")[1].split(",")[0]) for c in cells if "z = " in c]
    assert shown == pytest.approx([round(v, 2) for v in z], abs=0.006)


# ---------------------------------------------------------------------------- lazy layers


def test_dashboard_lists_the_lazy_layers_in_the_layer_control(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    names = layer_names("en")
    for key in ("kde", "emerging", "proposals"):
        assert json.dumps(names[key])[1:-1] in html, key
        assert f"/api/map/{key}" in html
    assert html.count("Vigie.lazyLayer(") == 3


def test_build_map_draws_lazy_and_embedded_emerging_and_proposals(city):
    import geopandas as gpd
    from shapely.geometry import Point, box

    em = gpd.GeoDataFrame({"category": ["intensifying hot spot", "no pattern", "persistent cold spot"], "n": [9, 0, 1]},
                          geometry=[box(3.87, 43.60, 3.871, 43.601), box(3.871, 43.60, 3.872, 43.601),
                                    box(3.872, 43.60, 3.873, 43.601)], crs=4326)
    pr = gpd.GeoDataFrame({"kind": ["cctv", "lighting"], "rank": [1, 1], "covered": [12, 4],
                           "reason_fr": ["<b>raison</b>", "nuit"], "reason_en": ["reason", "night"],
                           "technique_fr": ["surveillance formelle", "éclairage"],
                           "technique_en": ["formal surveillance", "lighting"]},
                          geometry=[Point(3.88, 43.608), Point(3.881, 43.605)], crs=4326)
    names = layer_names("fr")
    m = build_map(MapLayers(emerging=em, proposals=pr),
                  lazy=[LazyLayer(names["kde"], key="kde", url="/api/map/kde")], lang="fr")
    assert m.vigie_layers == [names["emerging"], names["proposals"], names["kde"]]
    script = render_parts(m)["script"]
    assert "point chaud en intensification" in script  # one French name per emerging category
    assert "no pattern" not in script  # cells without a pattern are not drawn
    assert "\\u0026lt;b\\u0026gt;raison" in script  # reasons escaped
    assert "Vigie.lazyLayer" in script and "/api/map/kde" in script


@pytest.mark.parametrize("key", ["kde", "emerging", "proposals"])
def test_map_api_answers_each_lazy_layer(client, key):
    r = client.get(f"/api/map/{key}?lang=en")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["type"] == "FeatureCollection" and body["legend"]
    if key in ("kde", "proposals"):
        assert body["features"]
        assert all("_popup" in f["properties"] and "_style" in f["properties"] for f in body["features"])
    if key == "proposals":
        kinds = {f["properties"]["_style"]["color"] for f in body["features"]}
        assert len(kinds) == 2  # cameras and lamps


def test_map_api_bad_key_and_filter_are_400(client):
    r = client.get("/api/map/nothing")
    assert r.status_code == 400 and r.get_json()["param"] == "layer"
    r = client.get("/api/map/kde?hours=25")
    assert r.status_code == 400 and r.get_json()["param"] == "hours"


def test_emerging_layer_has_categories_of_the_last_months(app):
    svc = _services(app)
    with app.app_context():
        em = svc.emerging(Filters(), months=12)
    assert len(em) and (em["category_code"] != 0).all()
    assert em.crs.to_epsg() == 4326


def test_hotspot_page_lists_nearby_proposals_with_reasons(client, app):
    with app.app_context():
        areas = _services(app).hotspot_areas(Filters())
        props = _services(app).proposals(Filters())
    hid = areas["hotspot_id"].iloc[0]
    html = client.get(f"/hotspots/{hid}?lang=en").get_data(as_text=True)
    assert 'class="hotspot-proposal"' in html
    first = props[props["kind"] == "cctv"].iloc[0]
    assert first["reason_en"][:40] in html.replace("&#39;", "'")
    html_fr = client.get(f"/hotspots/{hid}?lang=fr").get_data(as_text=True)
    assert first["reason_fr"][:30] in html_fr.replace("&#39;", "'")


def test_night_share_of_hotspots_same_with_partial_or_whole_darkness(app):
    """Darkness computed for the hot cells' incidents only == taken from the whole column."""
    svc = _services(app)
    with app.app_context():
        partial = svc.hotspot_areas(Filters())["night_share"].to_numpy()
        svc.clear()
        svc.darkness_codes()
        whole = svc.hotspot_areas(Filters())["night_share"].to_numpy()
    assert np.isfinite(partial).all() and (partial > 0).any()
    np.testing.assert_array_equal(partial, whole)


def test_hotspot_areas_from_counts_equal_the_per_incident_summary(app):
    """The workspace summarises hot cells from counts (``count=``); layers.hotspots.hotspot_areas on
    every incident gives the same areas, counts, category shares and night shares."""
    from layers import hotspots, temporal

    svc = _services(app)
    with app.app_context():
        got = svc.hotspot_areas(Filters())
        gi = svc.analysis("gistar", Filters())
        full = svc.frame("incidents")
        inc = to_analysis(full, 2154)
        inc["darkness"] = temporal.darkness(full, tz="Europe/Paris").to_numpy()
        want = hotspots.hotspot_areas(gi, inc, zac=svc.frame("zac"), areas=svc.context("areas"),
                                      schools=svc.frame("schools"), shops=svc.frame("shops"))
    assert len(got) == len(want) >= 1
    for c in ("hotspot_id", "n", "n_cells", "categories", "top_category", "zac", "areas", "n_schools", "n_shops"):
        assert list(got[c]) == list(want[c]), c
    np.testing.assert_allclose(got["night_share"].to_numpy(), want["night_share"].to_numpy())


def test_panning_the_map_never_evicts_the_dashboard_analyses(client, monkeypatch):
    """Per-view results (one bbox per pan) have their own cache: 100 pans later the dashboard
    is still served from the cache, Gi* not recomputed."""
    from layers import hotspots

    calls = []
    real = hotspots.gistar_counts
    monkeypatch.setattr(hotspots, "gistar_counts", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert client.get("/").status_code == 200
    n = len(calls)
    assert n >= 1
    for i in range(100):
        x = 3.85 + i * 0.0005
        bbox = f"{x:.4f},43.59,{x + 0.01:.4f},43.62"
        assert client.get(f"/api/layers/incidents/grid?bbox={bbox}").status_code == 200
        assert client.get(f"/api/layers/incidents?bbox={bbox}&limit=5").status_code == 200
    assert client.get("/").status_code == 200
    assert len(calls) == n


def test_cache_computes_a_key_once_when_threads_ask_together():
    import threading
    import time

    from geo_app.workspace import ByteCache

    cache, calls, out = ByteCache(2**20), [], []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return 42

    threads = [threading.Thread(target=lambda: out.append(cache.get("k", slow))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [42] * 5 and len(calls) == 1

    def boom():
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get("e", boom)
    assert cache.get("e", lambda: 7) == 7  # a failure is not cached
