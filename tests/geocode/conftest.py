"""Fixtures of the geocoding tests: the real Montpellier sample of tests/data/addresses."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

ADDR = Path(__file__).resolve().parents[1] / "data" / "addresses"
REGISTER_ZIP = ADDR / "mtp_adresses_centre.zip"
STREETS_ZIP = ADDR / "mtp_voies_centre.zip"
#: the Montpellier shapefile's columns -> the addresses layer's fields (what the demo maps)
MAP = {"street": "LIB_OFF", "number": "NUM_VOI", "suffix": "SUF_VOI", "street_code": "CODE_VOIE"}


@pytest.fixture(scope="session")
def register() -> gpd.GeoDataFrame:
    """The sample register with the addresses layer's columns, Lambert-93."""
    raw = gpd.read_file(REGISTER_ZIP)
    return raw.rename(columns={v: k for k, v in MAP.items()}).assign(commune="Montpellier")


@pytest.fixture(scope="session")
def streets() -> gpd.GeoDataFrame:
    return gpd.read_file(STREETS_ZIP).rename(columns={"CODE_VOIE": "street_code", "LIB_OFF": "street"})


@pytest.fixture(scope="session")
def index(register, streets):
    from layers.geocode import build_index

    return build_index(register, streets=streets)


@pytest.fixture(scope="session")
def index_no_network(register):
    from layers.geocode import build_index

    return build_index(register)


@pytest.fixture
def address_home(home):
    """A deployment whose store holds the sample register as its addresses layer."""
    from geo_app.imports import import_file

    import_file(home, "addresses", REGISTER_ZIP, mapping=MAP, constants={"commune": "Montpellier"})
    return home
