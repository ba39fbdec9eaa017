"""Real data: a month of Essex police.uk street crime (tests/data/hotspots/README.md).

The dense town centres of Southend-on-Sea, Chelmsford and Colchester must come out as
significant Gi* hot cells, inside hotspot areas, and a rural place must not.
"""

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from layers.hotspots import gistar, hotspot_areas, kde, lisa

DATA = Path(__file__).parents[1] / "data" / "hotspots" / "essex_2018-01_street.csv.gz"
TOWNS = {"Southend-on-Sea": (0.7110, 51.5380), "Chelmsford": (0.4700, 51.7345), "Colchester": (0.9020, 51.8895)}
RURAL = (0.33, 51.93)  # farmland between Great Dunmow and Braintree


def where(lon, lat):
    return gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(27700).iloc[0]


@pytest.fixture(scope="module")
def essex():
    df = pd.read_csv(DATA)
    assert len(df) == 14784
    inc = gpd.GeoDataFrame(df.rename(columns={"crime_type": "category"}),
                           geometry=gpd.points_from_xy(df["longitude"], df["latitude"]), crs=4326).to_crs(27700)
    # police.uk places some Essex Police records far outside the county: the study area clips them
    area = gpd.GeoSeries([shapely.box(-0.05, 51.45, 1.3, 52.1)], crs=4326).to_crs(27700)
    return inc, area


@pytest.mark.slow
def test_town_centres_are_significant_hot_cells(essex):
    inc, area = essex
    cells = gistar(inc, cell_size=500, study_area=area)
    assert cells.attrs["vigie"]["n_outside"] == 12  # the records outside the county
    for town, (lon, lat) in TOWNS.items():
        cell = cells.loc[cells.geometry.contains(where(lon, lat))].iloc[0]
        assert cell["bin"] == 3, town
        assert cell["p_adj"] < 0.01, town
    rural = cells.loc[cells.geometry.contains(where(*RURAL))].iloc[0]
    assert rural["bin"] <= 0
    areas = hotspot_areas(cells, inc)
    for town, (lon, lat) in TOWNS.items():
        assert areas.geometry.contains(where(lon, lat)).sum() == 1, town
    top = areas.head(5)
    assert any(top.geometry.contains(where(*TOWNS["Southend-on-Sea"])))
    assert areas["n"].sum() <= len(inc)


@pytest.mark.slow
def test_kde_and_lisa_peak_in_towns(essex):
    inc, area = essex
    dens = kde(inc, cell_size=500, study_area=area)
    top = dens.nlargest(30, "kde").geometry.union_all()
    assert sum(top.distance(where(lon, lat)) < 2000 for lon, lat in TOWNS.values()) >= 2
    lm = lisa(inc, cell_size=1000, study_area=area, permutations=199, seed=1)
    for town, (lon, lat) in TOWNS.items():
        assert lm.loc[lm.geometry.contains(where(lon, lat)), "cluster"].item() in ("HH", "HL"), town
