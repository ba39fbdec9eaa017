"""Filters: parsing user strings and applying them, checked by hand."""

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from layers.errors import ParameterError
from layers.filters import Filters, apply_filters, parse_filters
from layers.registry import default_taxonomy
from layers.settings import Settings, parse_bbox


@pytest.fixture
def incidents():
    # local Paris times; converted to UTC as the store keeps them
    local = pd.to_datetime(
        ["2024-03-01 23:30", "2024-03-02 10:00", "2024-03-04 02:15", "2024-04-01 12:00"]
    ).tz_localize("Europe/Paris")
    return gpd.GeoDataFrame(
        {
            "category": ["theft", "burglary", "public_drinking", "theft"],
            "occurred_from": local.tz_convert("UTC"),
        },
        geometry=[Point(3.87, 43.61), Point(3.88, 43.60), Point(3.90, 43.62), Point(3.95, 43.70)],
        crs=4326,
    )


def test_period_end_date_is_inclusive_and_local(incidents):
    f = parse_filters(start="2024-03-01", end="2024-03-02", tz="Europe/Paris")
    assert list(apply_filters(incidents, f).index) == [0, 1]


def test_hours_wrap_around_midnight_in_local_time(incidents):
    f = parse_filters(hours="22-3", tz="Europe/Paris")
    assert f.hours == (0, 1, 2, 3, 22, 23)
    assert list(apply_filters(incidents, f, tz="Europe/Paris").index) == [0, 2]


def test_weekdays_bbox_and_group_categories(incidents):
    t = default_taxonomy()
    f = parse_filters(weekdays="5,6", categories="property", taxonomy=t)  # Sat, Sun
    assert list(apply_filters(incidents, f).index) == [1]  # 2024-03-02 is a Saturday
    f = parse_filters(bbox="3.86,43.59,3.89,43.615")
    assert list(apply_filters(incidents, f).index) == [0, 1]


def test_bbox_applies_to_projected_frames_too(incidents):
    f = parse_filters(bbox="3.86,43.59,3.89,43.615")
    assert list(apply_filters(incidents.to_crs(2154), f).index) == [0, 1]


def test_zac_filter_and_unknown_zac(incidents):
    zac = gpd.GeoDataFrame({"name": ["Centre"]}, geometry=[box(3.86, 43.59, 3.885, 43.615)], crs=4326)
    f = Filters(zac=("Centre",))
    assert list(apply_filters(incidents, f, zac_layer=zac).index) == [0, 1]
    with pytest.raises(ParameterError, match="unknown ZAC 'Nord'") as e:
        apply_filters(incidents, Filters(zac=("Nord",)), zac_layer=zac)
    assert e.value.param == "zac"


def test_input_frame_is_not_mutated(incidents):
    before = incidents.copy()
    apply_filters(incidents, parse_filters(hours="0-5"))
    pd.testing.assert_frame_equal(incidents, before)


@pytest.mark.parametrize(
    "kwargs, param, message",
    [
        ({"start": "01/02/2024"}, "from", "YYYY-MM-DD"),
        ({"start": "2024-03-05", "end": "2024-03-01"}, "to", "before it starts"),
        ({"hours": "25"}, "hours", "between 0 and 23"),
        ({"hours": "night"}, "hours", "whole numbers"),
        ({"weekdays": "7"}, "weekdays", "between 0 and 6"),
        ({"bbox": "1,2,3"}, "bbox", "got 3"),
        ({"bbox": "a,b,c,d"}, "bbox", "four numbers"),
        ({"bbox": "10,50,5,40"}, "bbox", "min must not exceed max"),
        ({"bbox": "0,0,200,10"}, "bbox", "longitudes"),
        ({"categories": "potholes"}, "category", "neither a category nor a group"),
    ],
)
def test_bad_filter_strings_name_the_field(kwargs, param, message):
    with pytest.raises(ParameterError, match=message) as e:
        parse_filters(tz="Europe/Paris", taxonomy=default_taxonomy(), **kwargs)
    assert e.value.param == param


def test_settings_validate_crs_timezone_and_territory():
    s = Settings(analysis_crs=3163, timezone="Pacific/Noumea", territory="166.3,-22.4,166.6,-22.1")
    assert s.territory == (166.3, -22.4, 166.6, -22.1)
    with pytest.raises(ParameterError, match="not projected"):
        Settings(analysis_crs=4326)
    with pytest.raises(ParameterError, match="not a known EPSG"):
        Settings(analysis_crs=999999)
    with pytest.raises(ParameterError, match="IANA"):
        Settings(timezone="Paris")
    assert parse_bbox(None) is None
