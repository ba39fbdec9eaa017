"""The demo city holds Montpellier's whole address register as its addresses layer."""

import pytest

pytestmark = pytest.mark.slow


def test_the_demo_imports_the_register_and_geocodes_on_it(demo_home):
    from geo_app.geocoding import register_index
    from layers.geocode import geocode

    assert demo_home.store.counts()["addresses"] == 36_395
    (batch,) = demo_home.store.batches("addresses")
    assert batch.file_name == "VilleMTP_MTP_PointAdresse.zip" and batch.n_rejected == 0
    out = geocode(["4 rue de la Loge", "angle rue Foch / rue Saint-Guilhem", "12 bis av. de Toulouse"],
                  register_index(demo_home))
    assert list(out["precision"]) == ["house", "intersection", "interpolated"]
