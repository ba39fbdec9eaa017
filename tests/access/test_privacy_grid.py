"""layers.privacy against hand counts of the small city (see conftest)."""

from __future__ import annotations

import geopandas as gpd
import pytest
from access_city import small_incidents, small_zacs

from layers.errors import InputError, ParameterError
from layers.privacy import aggregate_to_areas, aggregate_to_grid, drop_sensitive, suppress_small
from layers.registry import default_taxonomy


def test_grid_counts_and_suppression_match_hand_computation():
    inc = small_incidents().to_crs(4326)
    out = aggregate_to_grid(inc, cell_size=250, crs=2154, k=5)
    # hand: cell 3080_25116 holds 7 theft + 2 domestic violence = 9; 3081_25117 holds 3;
    # 3084_25116 holds 6; 3088_25116 holds 1 -> with k = 5 only 9 and 6 remain.
    assert dict(zip(out["cell_id"], out["n"])) == {"3080_25116": 9, "3084_25116": 6}
    assert out.attrs == {"cell_size": 250.0, "crs": 2154, "k": 5, "suppressed": 2}
    assert out.crs.equals(inc.crs)
    assert list(out.columns) == ["cell_id", "n", "geometry"]
    # the cell square is where the hand computation puts it
    sq = out.to_crs(2154).set_index("cell_id").geometry["3080_25116"]
    assert sq.bounds == pytest.approx((770000, 6279000, 770250, 6279250), abs=1e-3)


def test_k_one_keeps_every_non_empty_cell_and_total():
    inc = small_incidents()
    out = aggregate_to_grid(inc, cell_size=250, crs=2154, k=1)
    assert out["n"].sum() == len(inc) == 19
    assert len(out) == 4


def test_grid_by_category_suppresses_each_count():
    out = aggregate_to_grid(small_incidents(), cell_size=250, crs=2154, k=5, by="category")
    got = {(c, cat): n for c, cat, n in zip(out["cell_id"], out["category"], out["n"])}
    assert got == {("3080_25116", "theft"): 7, ("3084_25116", "nuisance"): 6}
    assert out.attrs["suppressed"] == 3  # dv 2, burglary 3, theft 1


def test_grid_is_anchored_whatever_the_filter():
    inc = small_incidents()
    a = aggregate_to_grid(inc, k=1)
    b = aggregate_to_grid(inc[inc["category"] == "nuisance"], k=1)
    assert set(b["cell_id"]) <= set(a["cell_id"])
    ga = a.set_index("cell_id").geometry
    for cid, geom in zip(b["cell_id"], b.geometry):
        assert geom.equals(ga[cid])


def test_drop_sensitive_uses_taxonomy():
    inc = small_incidents()
    out = drop_sensitive(inc, taxonomy=default_taxonomy())
    assert len(out) == 17
    assert not out["category"].isin(default_taxonomy().sensitive).any()
    assert len(inc) == 19  # input untouched


def test_areas_counts_blank_small():
    out = aggregate_to_areas(small_incidents(), small_zacs(), k=5)
    d = dict(zip(out["name"], out["n"]))
    assert d["Alpha"] == 12 and d["Beta"] == 6
    out = aggregate_to_areas(small_incidents(), small_zacs(), k=7)
    assert out.set_index("name").loc["Beta", "suppressed"]
    assert out.set_index("name")["n"].isna().tolist() == [False, True]


def test_suppress_small_drops_zero_and_below_k():
    import pandas as pd

    t = pd.DataFrame({"n": [0, 4, 5, 12]})
    out = suppress_small(t, k=5)
    assert out["n"].tolist() == [5, 12] and out.attrs["suppressed"] == 2


@pytest.mark.parametrize("kwargs, param", [({"k": 0}, "k"), ({"k": "x"}, "k"),
                                            ({"cell_size": -1}, "cell_size"),
                                            ({"cell_size": "big"}, "cell_size")])
def test_bad_parameters(kwargs, param):
    with pytest.raises(ParameterError) as e:
        aggregate_to_grid(small_incidents(), **kwargs)
    assert e.value.param == param


def test_bad_inputs():
    inc = small_incidents()
    with pytest.raises(InputError, match="no CRS"):
        aggregate_to_grid(gpd.GeoDataFrame(inc.drop(columns="geometry"), geometry=list(inc.geometry)))
    with pytest.raises(InputError, match="points"):
        aggregate_to_grid(small_zacs())
    with pytest.raises(InputError, match="category"):
        drop_sensitive(inc.drop(columns="category"))


def test_empty_input_gives_empty_grid():
    out = aggregate_to_grid(small_incidents().iloc[0:0], k=5)
    assert len(out) == 0 and list(out.columns) == ["cell_id", "n", "geometry"]
