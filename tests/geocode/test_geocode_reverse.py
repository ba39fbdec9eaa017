"""layers.geocode.reverse_geocode: the nearest register address and street of a point."""

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from layers.errors import ParameterError
from layers.geocode import REVERSE_COLUMNS, reverse_geocode


def test_a_register_point_gives_its_own_address(register, index):
    row = register[(register.street_code == "1393") & (register.number == 4)].iloc[[0]]
    out = reverse_geocode(row.geometry, index)
    assert list(out.columns) == [*REVERSE_COLUMNS, "geometry"]
    got = out.iloc[0]
    assert (got["label"], got["street"], got["distance"]) == ("4 Rue de la Loge", "Rue de la Loge", 0.0)
    assert got["street_distance"] < 20  # the centreline, a few metres from the facade


def test_a_point_near_a_street_and_one_far_away(register, index, index_no_network):
    foch = register[(register.street_code == "1043") & (register.number == 12)].to_crs(2154).geometry.iloc[0]
    pts = gpd.GeoSeries([shapely.Point(foch.x + 3, foch.y + 4), shapely.Point(0, 0), None], crs=2154)
    for idx in (index, index_no_network):
        out = reverse_geocode(pts, idx, max_distance=30)
        assert out.loc[0, "label"] == "12 Rue Foch" and out.loc[0, "distance"] == pytest.approx(5.0, abs=0.1)
        assert pd.isna(out.loc[1, "label"]) and pd.isna(out.loc[1, "street"]) and pd.isna(out.loc[1, "distance"])
        assert pd.isna(out.loc[2, "label"])
    assert out.crs.to_epsg() == 4326


def test_bad_parameters(index):
    with pytest.raises(ParameterError):
        reverse_geocode(gpd.GeoSeries([shapely.Point(3.87, 43.61)], crs=4326), index, max_distance=0)


def test_the_street_tree_is_built_once_per_index(index, register):
    tree = index.street_tree()
    assert tree is index.street_tree()
    lines, sids = tree
    assert len(lines) == len(sids) >= len(index.network)


def test_a_small_area_is_named_after_its_nearest_address(register, index, index_no_network):
    from layers.naming import address_name

    loge = register[(register.street_code == "1393") & (register.number == 4)].to_crs(2154).geometry.iloc[0]
    for idx in (index, index_no_network):
        parts = address_name(shapely.box(loge.x - 10, loge.y - 10, loge.x + 10, loge.y + 10), idx, crs=2154)
        assert parts == {"kind": "address", "street": "4 Rue de la Loge", "from": None, "to": None}
    # a block 200 m across is not a premise; a small area 1 km from any address has no address
    assert address_name(loge.buffer(100), index, crs=2154) is None
    assert address_name(shapely.box(0, 0, 20, 20), index, crs=2154) is None
    assert address_name(shapely.Polygon(), index, crs=2154) is None


def test_place_name_says_around_the_address():
    from geo_app.i18n import place_name

    parts = {"kind": "address", "street": "4 Rue de la Loge", "from": None, "to": None}
    assert place_name(parts, "fr") == "autour du 4 Rue de la Loge"
    assert place_name(parts, "en") == "around 4 Rue de la Loge"
