"""The maximal covering core: hand-solved instances, spopt's MCLP as the peer, greedy's bound."""

from __future__ import annotations

import math

import numpy as np
import pulp
import pytest
from scipy import sparse
from scipy.spatial import cKDTree

from layers.errors import ParameterError
from layers.recommend.covering import solve_max_cover

# spopt builds its PuLP variables the PuLP-3 way
pytestmark = pytest.mark.filterwarnings("ignore:Constructing LpVariable:DeprecationWarning")

# 5 demand points, 3 candidates: A covers {0,1}, B covers {1,2,3}, C covers {3,4}
HAND_A = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1]])
HAND_W = np.array([5.0, 1.0, 4.0, 1.0, 5.0])


def spopt_covered(cover, w, p, predefined=None):
    """Covered weight of spopt's MCLP (predefined sites count in p and in the objective)."""
    from spopt.locate import MCLP

    dense = np.asarray(sparse.csr_matrix(cover).todense())
    cost = np.where(dense > 0, 1.0, 10.0)
    kwargs = {}
    if predefined is not None:
        kwargs["predefined_facilities_arr"] = predefined
    m = MCLP.from_cost_matrix(cost, w, service_radius=2.0, p_facilities=p, **kwargs)
    m = m.solve(pulp.HiGHS(msg=False))
    return pulp.value(m.problem.objective)


def lp_bound(cover, w, k):
    """LP relaxation of the MCLP with PuLP, for the gap check."""
    cover = sparse.csr_matrix(cover)
    n_d, n_c = cover.shape
    prob = pulp.LpProblem("lp", pulp.LpMaximize)
    x = [prob.add_variable(f"x{j}", 0, 1) for j in range(n_c)]
    y = [prob.add_variable(f"y{i}", 0, 1) for i in range(n_d)]
    prob += pulp.lpSum(w[i] * y[i] for i in range(n_d))
    prob += pulp.lpSum(x) <= k
    for i in range(n_d):
        cols = cover.indices[cover.indptr[i]:cover.indptr[i + 1]]
        prob += y[i] <= pulp.lpSum(x[j] for j in cols)
    prob.solve(pulp.HiGHS(msg=False))
    return pulp.value(prob.objective)


@pytest.mark.parametrize("method", ["exact", "greedy", "auto"])
def test_hand_instance_k2(method):
    # by hand: A+C cover {0,1,3,4} = 12; B+A or B+C cover 11; so the optimum is A+C = 12
    r = solve_max_cover(HAND_W, HAND_A, k=2, method=method)
    assert sorted(r.chosen.tolist()) == [0, 2]
    assert r.objective == pytest.approx(12.0)
    assert r.marginal_gain.tolist() == pytest.approx([6.0, 6.0])
    assert r.gap == pytest.approx(0.0, abs=1e-9)
    assert spopt_covered(HAND_A, HAND_W, 2) == pytest.approx(12.0)


def test_hand_instance_k1():
    # single site: A = 6, B = 6, C = 6 -> any; value 6
    r = solve_max_cover(HAND_W, HAND_A, k=1, method="exact")
    assert r.objective == pytest.approx(6.0)
    assert spopt_covered(HAND_A, HAND_W, 1) == pytest.approx(6.0)


def test_locked_site_counts_as_covered_before():
    # B is an existing camera: demand 1,2,3 covered before (6); one new site: A or C adds 5
    locked = HAND_A[:, 1] > 0
    r = solve_max_cover(HAND_W, HAND_A[:, [0, 2]], k=1, locked=locked, method="exact")
    assert r.covered_before == pytest.approx(6.0)
    assert r.objective == pytest.approx(5.0)
    assert r.covered_after == pytest.approx(11.0)
    # spopt with B predefined and p = 2 (B + one new) reaches the same covered weight
    assert spopt_covered(HAND_A, HAND_W, 2, np.array([False, True, False])) == pytest.approx(11.0)


def test_greedy_trap_exact_finds_optimum():
    # C covers {1,2} (7), A covers {0,1} (6.5), B covers {2,3} (6.5): greedy takes C then A (10),
    # the optimum is A+B (13)
    a = np.array([[1, 0, 0], [1, 0, 1], [0, 1, 1], [0, 1, 0]])
    w = np.array([3.0, 3.5, 3.5, 3.0])
    g = solve_max_cover(w, a, k=2, method="greedy")
    e = solve_max_cover(w, a, k=2, method="exact")
    assert g.objective == pytest.approx(10.0)
    assert e.objective == pytest.approx(13.0) and e.status == "optimal"
    assert sorted(e.chosen.tolist()) == [0, 1]
    assert g.objective >= (1 - 1 / math.e) * e.objective
    # greedy's reported gap is measured against a valid upper bound (>= LP bound >= optimum)
    lp = lp_bound(a, w, 2)
    assert g.bound >= lp - 1e-6 >= e.objective - 1e-6
    assert g.gap == pytest.approx((g.bound - g.objective) / g.bound)
    assert spopt_covered(a, w, 2) == pytest.approx(13.0)


def random_instance(seed, n_d=300, n_c=80, radius=120.0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1000, (6, 2))
    dem = centres[rng.integers(0, 6, n_d)] + rng.normal(0, 120, (n_d, 2))
    cand = rng.uniform(0, 1000, (n_c, 2))
    cover = cKDTree(dem).sparse_distance_matrix(cKDTree(cand), radius, output_type="coo_matrix")
    cover = cover.tocsr()
    cover.data[:] = 1.0
    w = rng.exponential(1.0, n_d)
    return w, cover


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_medium_same_as_spopt(seed):
    w, cover = random_instance(seed)
    e = solve_max_cover(w, cover, k=5, method="exact")
    assert e.status == "optimal"
    assert e.objective == pytest.approx(spopt_covered(cover, w, 5), rel=1e-7)
    g = solve_max_cover(w, cover, k=5, method="greedy")
    assert e.objective * (1 - 1 / math.e) <= g.objective <= e.objective + 1e-9
    lp = lp_bound(cover, w, 5)
    assert lp >= e.objective - 1e-6
    assert g.bound >= lp - 1e-6  # the Lagrangian bound is never below the LP bound
    assert g.gap == pytest.approx((g.bound - g.objective) / g.bound)
    # marginal gains add up to the objective and decrease
    assert g.marginal_gain.sum() == pytest.approx(g.objective)
    assert np.all(np.diff(g.marginal_gain) <= 1e-9)


def test_random_with_predefined_same_as_spopt():
    w, cover = random_instance(7)
    cover = cover.tocsc()
    pre = np.zeros(cover.shape[1], dtype=bool)
    pre[[3, 17]] = True
    locked = np.asarray(cover[:, pre].sum(axis=1)).ravel() > 0
    r = solve_max_cover(w, cover[:, ~pre], k=4, locked=locked, method="exact")
    assert r.covered_after == pytest.approx(spopt_covered(cover, w, 6, pre), rel=1e-7)


def test_coverage_target_fewest_sites():
    # target 0.9 of 16: needs 14.4; A+C = 12 < 14.4, all three = 16 -> 3 sites
    r = solve_max_cover(HAND_W, HAND_A, coverage_target=0.9, method="exact")
    assert len(r.chosen) == 3
    # target 0.7 (11.2): two sites (A+C = 12) suffice
    r = solve_max_cover(HAND_W, HAND_A, coverage_target=0.7, method="exact")
    assert len(r.chosen) == 2 and r.objective >= 11.2
    r = solve_max_cover(HAND_W, HAND_A, coverage_target=0.7, method="greedy")
    assert len(r.chosen) == 2


def test_uncoverable_demand_reported():
    a = np.array([[1, 0], [0, 0], [0, 1]])
    r = solve_max_cover(np.array([1.0, 9.0, 2.0]), a, k=1, method="exact")
    assert r.uncoverable == pytest.approx(9.0)
    assert r.objective == pytest.approx(2.0)


@pytest.mark.parametrize("kwargs,param", [
    ({"k": 0}, "k"),
    ({"k": 2, "coverage_target": 0.5}, "k"),
    ({}, "k"),
    ({"coverage_target": 1.5}, "coverage_target"),
    ({"k": 1, "method": "magic"}, "method"),
])
def test_bad_parameters(kwargs, param):
    with pytest.raises(ParameterError) as e:
        solve_max_cover(HAND_W, HAND_A, **kwargs)
    assert e.value.param == param


def test_negative_weight_rejected():
    with pytest.raises(ParameterError):
        solve_max_cover(-HAND_W, HAND_A, k=1)


def test_fractional_lp_goes_through_the_mip_with_lagrangian_fixing():
    # an instance whose LP bound (72.5) is above the integer optimum (72): the incumbent cannot
    # be proven by the bound, candidates are fixed by their Lagrangian costs and HiGHS closes it
    rng = np.random.default_rng(2)
    dem = rng.uniform(0, 1000, (40, 2))
    cand = rng.uniform(0, 1000, (25, 2))
    cover = cKDTree(dem).sparse_distance_matrix(cKDTree(cand), 330, output_type="coo_matrix").tocsr()
    cover.data[:] = 1.0
    w = rng.integers(1, 5, 40).astype(float)
    assert lp_bound(cover, w, 2) == pytest.approx(72.5)
    r = solve_max_cover(w, cover, k=2, method="exact")
    assert r.status == "optimal" and "HiGHS" in r.solver
    assert r.model["fixed_by_lagrangian"] > 0
    assert r.objective == pytest.approx(72.0)
    assert r.objective == pytest.approx(spopt_covered(cover, w, 2))
    assert r.gap == 0.0
    g = solve_max_cover(w, cover, k=2, method="greedy")
    assert g.bound >= 72.5 - 1e-6 and g.objective <= 72.0 + 1e-9


def test_group_identical_equals_the_row_by_row_grouping():
    from scipy import sparse

    from layers.recommend.covering import _group_identical, _group_identical_exact

    rng = np.random.default_rng(3)
    base = sparse.random(40, 30, density=0.15, random_state=4, format="csr")
    m = sparse.vstack([base[rng.integers(0, 40, 500)], sparse.csr_matrix((3, 30))]).tocsr()
    m.data[:] = rng.random(len(m.data))  # values do not matter, only which columns
    exact = _group_identical_exact(m.sorted_indices())
    np.testing.assert_array_equal(_group_identical(m), exact)
    assert exact[0] == 0 and exact.max() + 1 == len(np.unique(exact))



def test_each_lazy_greedy_pick_has_the_largest_gain_of_its_step():
    """The lazy greedy (its queue in sorted arrays plus a heap of re-evaluated candidates) is a
    greedy: at each step its pick adds as much weight as the best column, every gain recomputed
    by hand, and it stops only when nothing adds anything; 500 random problems with integer
    weights (no rounding). Among columns of equal gain it may take another than the first."""
    from layers.recommend.covering import _greedy

    rng = np.random.default_rng(7)
    for it in range(500):
        n, m = int(rng.integers(1, 50)), int(rng.integers(1, 30))
        cover = sparse.random(n, m, density=float(rng.uniform(0.05, 0.5)), random_state=it, format="csc")
        cover.data[:] = 1
        w = rng.integers(0, 5, n).astype(float)
        k = int(rng.integers(1, 8))
        got, gains = _greedy(w, cover, k, None)
        covered = np.zeros(n, dtype=bool)
        dense = np.asarray(cover.todense()) > 0
        for j, g in zip(got, gains):
            best = (dense & ~covered[:, None]).T @ w
            assert g == best[j] == best.max() > 0, it
            covered |= dense[:, j]
        if len(got) < k:
            assert ((dense & ~covered[:, None]).T @ w).max(initial=0) == 0, it
