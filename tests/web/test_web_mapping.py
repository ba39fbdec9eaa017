"""``build_map`` on its own (no Flask): layers, bounds, escaped popups, self-hosted assets."""

from __future__ import annotations

import json
import re

import folium
import folium.plugins
import pytest
from web_fakes import small_city

from geo_app.assets import FOLIUM_ASSETS, self_hosted
from geo_app.mapping import (
    DynamicLayer,
    MapLayers,
    build_map,
    layer_names,
    render_parts,
    use_assets,
)


@pytest.fixture(scope="module")
def city():
    return small_city(n=200, lights=100)


def test_layers_bounds_and_escaping(city):
    ctx = {k: city[k] for k in ("zac", "areas", "schools", "shops", "cameras")}
    m = build_map(MapLayers(context=ctx), dynamic=[DynamicLayer("dyn", kind="incidents", url="/api/layers/incidents")],
                  assets=self_hosted(), tile_url="")
    names = layer_names("fr")
    assert m.vigie_layers == [names["areas"], names["zac"], names["schools"], names["shops"], names["cameras"], "dyn"]
    minx, miny, maxx, maxy = city["areas"].total_bounds
    assert m.vigie_bounds == pytest.approx((minx, miny, maxx, maxy))
    html = m.get_root().render()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "\\u0026lt;script\\u0026gt;alert(" in html  # shown as text in the popup
    assert not re.findall(r"https?://", html), "no outside URL when the basemap is blank"
    assert "L.control.layers" in html


def test_english_names_and_tiles():
    m = build_map(MapLayers(), lang="en", tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png", tile_attribution="local",
                  assets=self_hosted())
    html = m.get_root().render()
    assert "http://127.0.0.1:9/{z}/{x}/{y}.png" in html
    assert set(re.findall(r"https?://[^\"' ]+", html)) == {"http://127.0.0.1:9/{z}/{x}/{y}.png"}


def test_use_assets_replaces_every_folium_cdn_and_refuses_unknown_ones():
    m = folium.Map()
    folium.plugins.MarkerCluster().add_to(m)
    use_assets(m, self_hosted("/v/"))
    html = m.get_root().render()
    assert "cdn" not in html and "/v/leaflet/dist/leaflet.js" in html
    # the class lists are untouched (instances got their own)
    assert folium.Map.default_js[0][1].startswith("https://")
    m2 = folium.Map()
    folium.plugins.HeatMap([[43.6, 3.87]]).add_to(m2)
    with pytest.raises(KeyError, match="leaflet-heat|heat"):
        use_assets(m2, self_hosted("/v/"))
    for name, path in FOLIUM_ASSETS.items():
        assert path is None or path.split("/")[0] in {"leaflet", "jquery", "bootstrap", "bootstrap-icons",
                                                      "leaflet.awesome-markers", "leaflet.markercluster", "@fortawesome"}


def test_aggregates_are_drawn_with_legends(city):
    from layers.columns import display_grid as grid_counts

    inc = city["incidents"]
    g = grid_counts(inc.geometry.x.to_numpy(), inc.geometry.y.to_numpy(), tuple(inc.total_bounds), cells=20)
    assert g["n"].sum() == len(inc)
    m = build_map(MapLayers(incident_grid=g), assets=self_hosted())
    parts = render_parts(m)
    assert "Vigie.legend" in parts["script"] and "vigie-map.js" in parts["header"]
    assert m.vigie_layers == [layer_names("fr")["incident_grid"]]
    assert json.dumps(layer_names("fr")["incident_grid"])[1:-1] in parts["script"]


def test_data_is_never_evaluated_as_a_template():
    """Branca compiles rendered macros as Jinja templates: Vigie's elements add them as text,
    and Jinja delimiters in data are escaped (a school named "{{ 7*7 }}" stays as typed)."""
    import geopandas as gpd
    from shapely.geometry import Point

    name = "{{ 7*7 }}x{% if true %}IF{% endif %}{# c #}"
    s = gpd.GeoDataFrame({"name": [name], "level": ["a"]}, geometry=[Point(3.88, 43.6)], crs=4326)
    script = render_parts(build_map(MapLayers(context={"schools": s})))["script"]
    assert "49x" not in script  # {{ 7*7 }} not evaluated; the if-block kept whole below
    assert "{\\u007b 7*7 }}x{\\u0025 if true %}IF{\\u0025 endif %}{\\u0023 c #}" in script
    assert json.loads('"' + "{\\u007b 7*7 }}" + '"') == "{{ 7*7 }}"
