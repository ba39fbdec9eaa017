"""One maximal-covering core shared by CCTV siting and lamp proposals.

The maximal covering location problem (MCLP, Church & ReVelle 1974): given demand points with
weights ``w_i``, candidate sites ``j`` and a coverage relation ``a_ij`` (site ``j`` covers demand
``i``), open ``k`` sites maximising the covered weight::

    maximise   sum_i w_i y_i
    subject to y_i <= sum_j a_ij x_j      (demand i is covered only if an open site covers it)
               sum_j x_j <= k
               x_j in {0, 1},  0 <= y_i <= 1

Sites already in place (existing cameras, working lamps) are locked in by removing the demand
they cover before the model is built: that demand is "covered before". The coverage-target
variant minimises ``sum_j x_j`` subject to ``sum_i w_i y_i >= target``.

Solvers. ``method="exact"``: an incumbent from lazy greedy plus 1-swap local search; an upper
bound from the Lagrangian relaxation of the coverage constraints (subgradient optimisation; its
minimum equals the LP-relaxation bound, which it never undercuts); when the bound does not prove
the incumbent optimal, Lagrangian reduced-cost fixing (candidates that cannot be in a better
solution are removed, an exact argument) and the HiGHS MIP (``highspy``; CBC through PuLP when
highspy is missing) on the rest, within the time limit, started from the incumbent. HiGHS's
dual simplex stalls on the degenerate LP of large 0/1 covering models (minutes on the demo
city), which is why the bound comes from the Lagrangian and the MIP only sees the fixed,
reduced model. ``method="greedy"``: lazy greedy (CELF, Minoux 1978), whose covered weight is at
least (1 − 1/e) ≈ 63.2 % of the optimum (Nemhauser, Wolsey & Fisher 1978), reported with its
gap to the Lagrangian bound.

Model reductions (all exact): demand already covered by locked sites is removed; demand no
candidate covers is counted but dropped; demand points with identical candidate sets are merged
(their weights add); candidates that cover nothing are dropped and candidates with identical
demand sets are merged (the first one in input order represents them).

This module knows nothing of geometry: it works on a sparse demand × candidate coverage matrix.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from layers.errors import ParameterError

__all__ = ["METHODS", "CoverResult", "solve_max_cover"]

METHODS = ("auto", "exact", "greedy")

#: above this many nonzeros in the reduced model, ``method="auto"`` goes greedy straight away
AUTO_EXACT_MAX_NNZ = 3_000_000


@dataclass
class CoverResult:
    """What ``solve_max_cover`` found.

    ``chosen`` are candidate indices (into the original matrix columns) in greedy marginal
    order: the first is the site that adds the most, each next one the most given those before.
    Weights are in the demand's units (weighted incidents).
    """

    chosen: np.ndarray
    marginal_gain: np.ndarray
    objective: float  # weight covered by the new sites (beyond the locked ones)
    covered_before: float  # weight covered by locked sites
    total_weight: float
    uncoverable: float  # weight no candidate (nor locked site) reaches
    bound: float  # upper bound on the objective (LP relaxation or MIP dual bound)
    gap: float  # (bound - objective) / bound, 0 when proven optimal
    method: str  # "exact" or "greedy"
    solver: str  # "HiGHS 1.x (highspy)", "CBC (PuLP)", "lazy greedy"
    status: str  # "optimal", "time limit", "greedy"
    time_s: float
    model: dict = field(default_factory=dict)  # sizes before/after reduction

    @property
    def covered_after(self) -> float:
        return self.covered_before + self.objective


def _as_csr(cover) -> sparse.csr_matrix:
    m = sparse.csr_matrix(cover, dtype=np.float64)
    m.data[:] = 1.0
    m.eliminate_zeros()
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _group_identical(m: sparse.csr_matrix) -> np.ndarray:
    """Label rows of a CSR matrix by their (sorted) set of column indices, groups numbered in
    order of first appearance.

    Rows are keyed by a hash of two sums of random weights over their column indices and of
    their length (a row's sums are computed in the same order as any identical row's, so
    identical rows get equal keys), then
    every row is checked equal to its group's first row; should two different rows ever share
    a key, the exact row-by-row grouping runs instead.
    """
    m = m.copy()
    m.sort_indices()
    n = m.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pattern = sparse.csr_matrix((np.ones(len(m.indices)), m.indices, m.indptr), shape=m.shape)
    rng = np.random.default_rng(0)
    h1 = (pattern @ rng.random(m.shape[1])).view(np.uint64)
    h2 = (pattern @ rng.random(m.shape[1])).view(np.uint64)
    with np.errstate(over="ignore"):  # a hash: wrapping multiplication is intended
        keys = h1 * np.uint64(0x9E3779B97F4A7C15) ^ h2 ^ np.diff(m.indptr).astype(np.uint64)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    labels = rank[inverse.ravel()]
    firsts = np.sort(first)
    if (pattern - pattern[firsts[labels]]).count_nonzero() == 0:
        return labels
    return _group_identical_exact(m)


def _group_identical_exact(m: sparse.csr_matrix) -> np.ndarray:
    """``_group_identical`` row by row (``m`` with sorted indices)."""
    keys: dict[bytes, int] = {}
    labels = np.empty(m.shape[0], dtype=np.int64)
    ind, ptr = m.indices, m.indptr
    for r in range(m.shape[0]):
        key = ind[ptr[r]:ptr[r + 1]].tobytes()
        labels[r] = keys.setdefault(key, len(keys))
    return labels


def _first_appearance(keys: np.ndarray) -> np.ndarray:
    """Labels of equal ``keys``, numbered in order of first appearance."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]


def _reduce(w: np.ndarray, cover: sparse.csr_matrix, row_groups: np.ndarray | None = None, *,
            merge_columns: bool = True):
    """Merge identical demand rows and identical candidate columns; drop empty ones.
    ``row_groups`` (one key per row, equal only for identical rows) replaces the search for
    identical rows. ``merge_columns=False`` keeps every column (the greedy alone needs no
    column reduction: identical columns have equal gains and the first one wins the tie)."""
    # demand rows: drop empty ones, merge identical
    keep = np.diff(cover.indptr) > 0
    rows = np.flatnonzero(keep)
    sub = cover if len(rows) == cover.shape[0] else cover[rows]  # no copy when every row stays
    labels = _group_identical(sub) if row_groups is None else _first_appearance(row_groups[rows])
    n_groups = labels.max() + 1 if len(labels) else 0
    first = np.full(n_groups, -1, dtype=np.int64)
    # first row of each group
    order = np.arange(len(labels))[::-1]
    first[labels[order]] = order
    w_red = np.bincount(labels, weights=w[rows], minlength=n_groups)
    if not (len(first) == sub.shape[0] and (first == np.arange(len(first))).all()):
        sub = sub[first]  # no copy when no two rows merged
    if not merge_columns:
        return w_red, sub, np.arange(sub.shape[1])
    # candidate columns: drop empty ones, merge identical (keep the first in input order)
    csc = sub.tocsc()
    nonempty = np.flatnonzero(np.diff(csc.indptr) > 0)
    colm = csc[:, nonempty].T.tocsr()
    clabels = _group_identical(colm)
    nc = clabels.max() + 1 if len(clabels) else 0
    cfirst = np.full(nc, -1, dtype=np.int64)
    corder = np.arange(len(clabels))[::-1]
    cfirst[clabels[corder]] = corder
    cols = nonempty[cfirst]
    reduced = sub[:, cols].tocsr()
    return w_red, reduced, cols


def _first_identical(csr: sparse.csr_matrix, csc: sparse.csc_matrix, chosen: np.ndarray) -> np.ndarray:
    """Each chosen column replaced by the first column with the same rows: the site the greedy
    picks when identical columns are merged (``_reduce``), found without merging them all."""
    out = np.array(chosen, dtype=np.int64)
    for n, j in enumerate(out):
        rows = np.sort(csc.indices[csc.indptr[j]:csc.indptr[j + 1]])
        if not len(rows):
            continue
        for c in np.sort(csr.indices[csr.indptr[rows[0]]:csr.indptr[rows[0] + 1]]):
            if c >= j:
                break
            if np.array_equal(np.sort(csc.indices[csc.indptr[c]:csc.indptr[c + 1]]), rows):
                out[n] = c
                break
    return out


def _greedy(w: np.ndarray, cover_csc: sparse.csc_matrix, k: int | None, target: float | None):
    """Lazy greedy (CELF). Returns chosen column indices and their marginal gains.

    The priority queue holds ``(-gain, column)``: the smallest first, so the largest gain and,
    among equal gains, the first column. It is kept in two parts: the candidates never
    re-evaluated, as NumPy arrays sorted once (consumed from the front: 16 bytes a candidate,
    where a heap of Python tuples took about 110 — a gigabyte over ten million lamp-lattice
    points), and a small heap of the candidates pushed back with a lower gain. Popping the
    smaller of the two fronts is popping the one heap they make together.
    """
    covered = np.zeros(cover_csc.shape[0], dtype=bool)
    indptr, indices = cover_csc.indptr, cover_csc.indices
    gains0 = np.asarray(cover_csc.T @ w).ravel()
    cand = np.flatnonzero(gains0 > 0)
    order = np.lexsort((cand, -gains0[cand]))
    first_neg, first_col = -gains0[cand[order]], cand[order]
    n_first, at = len(first_col), 0
    again: list[tuple[float, int]] = []

    def front():
        """The queue's smallest ``(-gain, column)`` and whether it is in ``again``; None when empty."""
        head = (float(first_neg[at]), int(first_col[at])) if at < n_first else None
        if again and (head is None or again[0] < head):
            return again[0], True
        return head, False

    chosen, gains = [], []
    total = 0.0
    while True:
        if k is not None and len(chosen) >= k:
            break
        if target is not None and total >= target - 1e-9:
            break
        item, pushed_back = front()
        if item is None:
            break
        if pushed_back:
            heapq.heappop(again)
        else:
            at += 1
        j = item[1]
        rows = indices[indptr[j]:indptr[j + 1]]
        g = float(w[rows[~covered[rows]]].sum())
        nxt, _ = front()
        if nxt is not None and g < -nxt[0] - 1e-12:
            if g > 0:
                heapq.heappush(again, (-g, j))
            continue
        if g <= 0:
            break
        chosen.append(j)
        gains.append(g)
        covered[rows] = True
        total += g
    return np.array(chosen, dtype=np.int64), np.array(gains, dtype=float)


def _order_by_marginal(w: np.ndarray, cover_csc: sparse.csc_matrix, chosen: np.ndarray):
    """Order an exact solution's sites greedily (largest marginal gain first)."""
    sub = cover_csc[:, chosen]
    order, gains = _greedy(w, sub, None, None)
    rest = [j for j in range(len(chosen)) if j not in set(order.tolist())]
    order = np.concatenate([order, np.array(rest, dtype=np.int64)])
    gains = np.concatenate([gains, np.zeros(len(rest))])
    return chosen[order], gains


def _highs_lp(w, cover, k, target, integer: bool):
    import highspy

    n_dem, n_cand = cover.shape
    # columns: x_0..x_{n_cand-1}, y_0..y_{n_dem-1}
    # rows: n_dem linking rows  y_i - sum_j a_ij x_j <= 0, then one budget/target row
    link_x = -cover.tocsc()  # n_dem x n_cand
    link_y = sparse.identity(n_dem, format="csc")
    link = sparse.hstack([link_x, link_y], format="csc")
    if target is None:
        extra = sparse.csc_matrix(
            np.concatenate([np.ones(n_cand), np.zeros(n_dem)])[None, :]
        )
        row_lo, row_up = -highspy.kHighsInf, float(k)
        cost = np.concatenate([np.zeros(n_cand), w])
        sense = highspy.ObjSense.kMaximize
    else:
        extra = sparse.csc_matrix(np.concatenate([np.zeros(n_cand), w])[None, :])
        row_lo, row_up = float(target), highspy.kHighsInf
        cost = np.concatenate([np.ones(n_cand), np.zeros(n_dem)])
        sense = highspy.ObjSense.kMinimize
    a = sparse.vstack([link, extra], format="csc")
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = n_cand + n_dem
    lp.num_row_ = n_dem + 1
    lp.col_cost_ = cost.astype(np.float64)
    lp.col_lower_ = np.zeros(n_cand + n_dem)
    lp.col_upper_ = np.ones(n_cand + n_dem)
    lp.row_lower_ = np.concatenate([np.full(n_dem, -highspy.kHighsInf), [row_lo]])
    lp.row_upper_ = np.concatenate([np.zeros(n_dem), [row_up]])
    lp.sense_ = sense
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    lp.a_matrix_.num_col_ = n_cand + n_dem
    lp.a_matrix_.num_row_ = n_dem + 1
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n_cand + [
            highspy.HighsVarType.kContinuous
        ] * n_dem
    return lp


def _solve_highs(w, cover, k, target, time_limit_s, start=None):
    """Exact MIP with HiGHS. Returns (x values, status, dual bound, solver name)."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.passModel(_highs_lp(w, cover, k, target, integer=True))
    if start is not None:
        sol = highspy.HighsSolution()
        x = np.zeros(cover.shape[1] + cover.shape[0])
        x[start] = 1.0
        covered = np.asarray(cover[:, start].sum(axis=1)).ravel() > 0
        x[cover.shape[1]:] = covered.astype(float)
        sol.col_value = x.tolist()
        h.setSolution(sol)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    values = np.asarray(h.getSolution().col_value[: cover.shape[1]])
    bound = info.mip_dual_bound
    version = f"HiGHS {h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()} (highspy)"
    return values, status, bound, version


def _solve_cbc(w, cover, k, target, time_limit_s):  # pragma: no cover - fallback path
    import pulp

    n_dem, n_cand = cover.shape
    prob = pulp.LpProblem("mclp", pulp.LpMaximize if target is None else pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(n_cand)]
    y = [pulp.LpVariable(f"y{i}", 0, 1) for i in range(n_dem)]
    cov = pulp.lpSum(float(w[i]) * y[i] for i in range(n_dem))
    if target is None:
        prob += cov
        prob += pulp.lpSum(x) <= k
    else:
        prob += pulp.lpSum(x)
        prob += cov >= target
    for i in range(n_dem):
        cols = cover.indices[cover.indptr[i]:cover.indptr[i + 1]]
        prob += y[i] <= pulp.lpSum(x[j] for j in cols)
    prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))
    values = np.array([v.value() or 0.0 for v in x])
    status = pulp.LpStatus[prob.status]
    return values, ("Optimal" if status == "Optimal" else status), None, "CBC (PuLP)"


def solve_max_cover(
    weights,
    cover,
    *,
    k: int | None = None,
    coverage_target: float | None = None,
    locked=None,
    method: str = "auto",
    time_limit_s: float = 30.0,
    bound: bool = True,
    row_groups=None,
) -> CoverResult:
    """Solve a maximal covering problem on a sparse coverage matrix.

    Parameters
    ----------
    weights : array of float, shape (n_demand,)
        Demand weights (weighted incidents), non-negative.
    cover : sparse matrix, shape (n_demand, n_candidates)
        Nonzero where candidate ``j`` covers demand ``i``.
    k : int, optional
        Number of new sites. Exactly one of ``k`` and ``coverage_target`` is required.
    coverage_target : float, optional
        Share (0–1] of the total weight to cover, locked sites included; the fewest new sites
        reaching it are chosen (or as many as can help when it cannot be reached).
    locked : array of bool, shape (n_demand,), optional
        Demand already covered by locked-in sites (existing cameras, working lamps).
    method : {"auto", "exact", "greedy"}
        ``exact``: incumbent, Lagrangian bound, fixing and HiGHS MIP (module docstring); on
        time-out the best solution found is kept with its gap to the best bound. ``greedy``:
        lazy greedy with its gap to the Lagrangian bound. ``auto``: exact unless the reduced
        model has more than 3 million nonzeros.
    time_limit_s : float
        Time limit of the MIP solver, seconds.
    bound : bool, default True
        With ``method="greedy"``, compute the Lagrangian upper bound (up to a third of
        ``time_limit_s``, at least 1 s); False leaves ``bound`` and ``gap`` NaN and returns
        as soon as the greedy sites are chosen (the sites are the same).
    row_groups : array of int, shape (n_demand,), optional
        A key per demand point, equal for points covered by the same candidates (as computed
        once for many selections by ``layers.recommend.prepared``): replaces the search for
        identical rows. Points with different keys are kept apart even when their rows are
        equal, which leaves the sites unchanged.

    Returns
    -------
    CoverResult

    References
    ----------
    Church, R. & ReVelle, C. (1974). The maximal covering location problem. *Papers of the
    Regional Science Association* 32, 101–118.
    Nemhauser, G. L., Wolsey, L. A. & Fisher, M. L. (1978). An analysis of approximations for
    maximizing submodular set functions. *Mathematical Programming* 14, 265–294.
    Minoux, M. (1978). Accelerated greedy algorithms for maximizing submodular set functions.
    *Optimization Techniques*, LNCIS 7, 234–243.
    Fisher, M. L. (1981). The Lagrangian relaxation method for solving integer programming
    problems. *Management Science* 27(1), 1–18.

    Examples
    --------
    Five demand points, three candidates (A covers 0–1, B covers 1–3, C covers 3–4):

    >>> import numpy as np
    >>> a = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1]])
    >>> r = solve_max_cover([5, 1, 4, 1, 5], a, k=2, method="exact")
    >>> sorted(r.chosen.tolist()), r.objective, r.status
    ([0, 2], 12.0, 'optimal')
    """
    t0 = time.perf_counter()
    if method not in METHODS:
        raise ParameterError(f"method must be one of {', '.join(METHODS)}, got '{method}'.", "method")
    if (k is None) == (coverage_target is None):
        raise ParameterError("Give either k (number of new sites) or coverage_target, not both.", "k")
    if k is not None and (int(k) != k or k < 1):
        raise ParameterError(f"k must be a whole number of at least 1, got {k}.", "k")
    if coverage_target is not None and not (0 < coverage_target <= 1):
        raise ParameterError(
            f"coverage_target must be a share in (0, 1], got {coverage_target}.", "coverage_target"
        )
    w = np.asarray(weights, dtype=float)
    cover = _as_csr(cover)
    if cover.shape[0] != len(w):
        raise ParameterError("cover must have one row per demand weight.", "cover")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ParameterError("demand weights must be finite and non-negative.", "weights")
    locked = np.zeros(len(w), dtype=bool) if locked is None else np.asarray(locked, dtype=bool)
    total = float(w.sum())
    before = float(w[locked].sum())
    free = ~locked & (w > 0)
    reachable = free & (np.diff(cover.indptr) > 0)
    uncoverable = float(w[free & ~reachable].sum())
    rows = np.flatnonzero(reachable)
    model = {"demand_points": len(w), "candidates": int(cover.shape[1]), "nonzeros": int(cover.nnz)}
    target_w = None
    if coverage_target is not None:
        target_w = coverage_target * total - before
        reach_w = float(w[rows].sum())
        if target_w > reach_w:
            target_w = None  # unreachable: cover all that can be covered with the fewest sites
            model["target_reachable"] = False
        else:
            model["target_reachable"] = True
    if len(rows) == 0 or (coverage_target is not None and target_w is not None and target_w <= 0):
        return CoverResult(np.array([], dtype=np.int64), np.array([]), 0.0, before, total,
                           uncoverable, 0.0, 0.0, "exact", "none needed", "optimal",
                           time.perf_counter() - t0, model)
    groups = None if row_groups is None else np.asarray(row_groups)[rows]
    greedy_only = method == "greedy" and not bound
    whole = len(rows) == cover.shape[0]  # every row reachable: no copy of a large selection
    w_red, red, cols = _reduce(w[rows], cover if whole else cover[rows], groups, merge_columns=not greedy_only)
    red_csc = red.tocsc()
    n_useful = int(np.count_nonzero(np.diff(red_csc.indptr))) if greedy_only else int(red.shape[1])
    model.update({"reduced_demand": int(red.shape[0]), "reduced_candidates": n_useful,
                  "reduced_nonzeros": int(red.nnz)})
    kk = None if k is None else int(k)
    if coverage_target is not None and target_w is None:
        # target out of reach: as many sites as can still add something (greedy cover of all)
        g_chosen, g_gains = _greedy(w_red, red_csc, None, None)
        kk, target_for_model = len(g_chosen), None
    else:
        target_for_model = target_w
        g_chosen, g_gains = _greedy(w_red, red_csc, kk, target_for_model)
    if greedy_only:
        g_chosen = _first_identical(red, red_csc, g_chosen)
    g_obj = float(g_gains.sum())

    use_exact = method == "exact" or (method == "auto" and red.nnz <= AUTO_EXACT_MAX_NNZ)
    if kk is not None and kk >= n_useful:
        # every useful candidate can be opened: greedy's answer covers all, trivially optimal
        return _finish(g_chosen, g_gains, cols, before, total, uncoverable, float(w_red.sum()), "exact",
                       "all candidates", "optimal", t0, model)
    if not use_exact:
        if target_for_model is None and bound:
            upper, _, _ = _lagrangian(w_red, red_csc, kk, g_obj,
                                      time_budget_s=max(1.0, min(10.0, time_limit_s / 3)))
            model["lagrangian_bound"] = upper
        else:
            upper = float("nan")
        return _finish(g_chosen, g_gains, cols, before, total, uncoverable, upper, "greedy",
                       "lazy greedy (CELF)", "greedy", t0, model)
    if target_for_model is not None:
        return _exact_target(w_red, red, red_csc, cols, kk, target_for_model, g_chosen, g_gains,
                             before, total, uncoverable, t0, time_limit_s, model)
    return _exact_budget(w_red, red, red_csc, cols, kk, g_chosen, before, total, uncoverable,
                         t0, time_limit_s, model)


def _swap_improve(w, cover_csc, chosen, *, passes: int = 3):
    """1-swap local search: replace a chosen site by the best outsider while it pays."""
    chosen = list(chosen)
    if not chosen:
        return np.array(chosen, dtype=np.int64)
    cover_csr = cover_csc.tocsr()
    for _ in range(passes):
        improved = False
        for pos in range(len(chosen)):
            counts = np.asarray(cover_csc[:, chosen].sum(axis=1)).ravel()
            s = chosen[pos]
            rows_s = cover_csc.indices[cover_csc.indptr[s]:cover_csc.indptr[s + 1]]
            loss = float(w[rows_s[counts[rows_s] == 1]].sum())
            counts_wo = counts.copy()
            counts_wo[rows_s] -= 1
            gains = cover_csr.T @ (w * (counts_wo == 0))
            gains[chosen] = -1
            j = int(np.argmax(gains))
            if gains[j] > loss + 1e-9 * max(1.0, loss):
                chosen[pos] = j
                improved = True
        if not improved:
            break
    return np.array(chosen, dtype=np.int64)


def _covered_weight(w, cover_csc, chosen) -> float:
    if len(chosen) == 0:
        return 0.0
    hit = np.asarray(cover_csc[:, np.asarray(chosen)].sum(axis=1)).ravel() > 0
    return float(w[hit].sum())


def _lagrangian(w, cover_csc, k, lower: float, *, iterations: int = 400, time_budget_s: float = 5.0):
    """Lagrangian bound of the MCLP by subgradient optimisation.

    Relaxing ``y_i <= sum_j a_ij x_j`` with multipliers ``0 <= l_i <= w_i`` gives
    ``L(l) = sum_i (w_i - l_i) + (sum of the k largest c_j)``, ``c_j = sum_i a_ij l_i``: an upper
    bound on the optimum for every ``l``, whose minimum equals the LP bound (the subproblem
    has the integrality property). Returns ``(bound, c, best sites of the subproblem)``.
    Polyak steps towards ``lower`` (the incumbent), halving the step after 15 idle iterations.
    """
    t0 = time.perf_counter()
    n = cover_csc.shape[1]
    k = min(k, n)
    lam = w.copy()
    best, best_c, best_top = np.inf, None, None
    theta, idle = 1.0, 0
    for _ in range(iterations):
        c = cover_csc.T @ lam
        top = np.argpartition(-c, k - 1)[:k] if k < n else np.arange(n)
        val = float((w - lam).sum() + c[top].sum())
        if val < best - 1e-12:
            best, best_c, best_top, idle = val, c, top, 0
        else:
            idle += 1
            if idle >= 15:
                theta, idle = theta / 2, 0
        if best - lower <= 1e-7 * max(1.0, best) or theta < 1e-4:
            break
        if time.perf_counter() - t0 > time_budget_s:
            break
        # subgradient wrt lambda: (sum_j a_ij x_j) - y_i with y_i = 1, from the k open columns
        rows = np.concatenate([cover_csc.indices[cover_csc.indptr[j]:cover_csc.indptr[j + 1]]
                               for j in top])
        g = np.bincount(rows, minlength=len(w)) - 1.0
        g[(lam <= 0) & (g > 0)] = 0.0
        g[(lam >= w) & (g < 0)] = 0.0
        norm = float(g @ g)
        if norm == 0:
            break
        step = theta * max(val - lower, 1e-9 * max(1.0, val)) / norm
        lam = np.clip(lam - step * g, 0.0, w)
    return best, best_c, best_top


def _exact_budget(w, red, red_csc, cols, k, g_chosen, before, total, uncoverable, t0,
                  time_limit_s, model):
    """Exact MCLP: incumbent by greedy + swaps, LP bound, reduced-cost fixing, then HiGHS MIP.

    Reduced-cost fixing is exact: with LP optimum ``U`` and reduced cost ``d_j <= 0`` of a
    candidate at zero, any solution opening ``j`` covers at most ``U + d_j``; when that is
    below the incumbent's weight ``L`` the candidate cannot be in a better solution.
    """
    inc = _swap_improve(w, red_csc, g_chosen)
    L = _covered_weight(w, red_csc, inc)
    budget = max(1.0, min(10.0, time_limit_s / 3))
    U, c, top = _lagrangian(w, red_csc, k, L, time_budget_s=budget)
    lag_sites = _swap_improve(w, red_csc, top, passes=1)
    L2 = _covered_weight(w, red_csc, lag_sites)
    if L2 > L:
        inc, L = lag_sites, L2
    model["lagrangian_bound"] = U
    solver = "HiGHS (highspy) + Lagrangian bound"
    if U - L <= 1e-7 * max(1.0, U):
        chosen, gains = _order_by_marginal(w, red_csc, inc)
        return _finish(chosen, gains, cols, before, total, uncoverable, U, "exact",
                       "greedy + swaps, proven by the Lagrangian bound", "optimal", t0, model)
    # Lagrangian fixing: opening j outside the subproblem's top k costs c_k - c_j in the bound
    kth = np.sort(c[top])[0]
    in_top = np.zeros(len(c), dtype=bool)
    in_top[top] = True
    fixable = ~in_top & (U - kth + c < L - 1e-9 * max(1.0, U))
    free = np.union1d(np.flatnonzero(~fixable), inc)
    model["fixed_by_lagrangian"] = int(len(c) - len(free))
    sub = red_csc[:, free].tocsr()
    rows = np.flatnonzero(np.diff(sub.indptr) > 0)
    w2, red2, cols2 = _reduce(w[rows], sub[rows])
    model["mip_demand"], model["mip_candidates"] = int(red2.shape[0]), int(red2.shape[1])
    pos = {int(j): i for i, j in enumerate(free[cols2])}
    start = np.array([pos[int(j)] for j in inc if int(j) in pos], dtype=np.int64)
    remaining = time_limit_s - (time.perf_counter() - t0)
    if remaining < 1.0:
        chosen, gains = _order_by_marginal(w, red_csc, inc)
        return _finish(chosen, gains, cols, before, total, uncoverable, U, "exact",
                       "greedy + swaps (no time left for the MIP)", "time limit reached", t0, model)
    try:
        values, status, dual, solver = _solve_highs(w2, red2, k, None, remaining, start=start)
    except ImportError:  # pragma: no cover - highspy is a dependency
        values, status, dual, solver = _solve_cbc(w2, red2, k, None, remaining)
    mip_sites = free[cols2][values > 0.5]
    M = _covered_weight(w, red_csc, mip_sites)
    optimal = status.lower().startswith("optimal")
    best = mip_sites if M >= L else inc
    best_w = max(M, L)
    if optimal:
        bound = best_w
    else:
        d = float(dual) if dual is not None and np.isfinite(dual) else U
        bound = min(U, max(best_w, d))
    chosen, gains = _order_by_marginal(w, red_csc, best)
    return _finish(chosen, gains, cols, before, total, uncoverable, bound, "exact", solver,
                   "optimal" if optimal else status.lower(), t0, model)


def _exact_target(w, red, red_csc, cols, k, target, g_chosen, g_gains, before, total,
                  uncoverable, t0, time_limit_s, model):
    """Fewest sites reaching ``target``: HiGHS MIP started from the greedy answer."""
    remaining = max(1.0, time_limit_s - (time.perf_counter() - t0))
    try:
        values, status, dual, solver = _solve_highs(w, red, k, target, remaining, start=g_chosen)
    except ImportError:  # pragma: no cover - highspy is a dependency
        values, status, dual, solver = _solve_cbc(w, red, k, target, remaining)
    chosen = np.flatnonzero(values > 0.5)
    optimal = status.lower().startswith("optimal")
    if (len(chosen) == 0 or _covered_weight(w, red_csc, chosen) + 1e-9 < target
            or len(g_chosen) < len(chosen)):
        chosen = g_chosen
    model["sites_lower_bound"] = (len(chosen) if optimal
                                  else (math.ceil(dual - 1e-6) if np.isfinite(dual) else None))
    chosen, gains = _order_by_marginal(w, red_csc, chosen)
    return _finish(chosen, gains, cols, before, total, uncoverable, float("nan"), "exact",
                   solver, "optimal" if optimal else status.lower(), t0, model)


def _finish(chosen, gains, cols, before, total, uncoverable, bound, method, solver, status, t0, model):
    obj = float(np.sum(gains))
    if np.isfinite(bound) and bound > 0:
        gap = max(0.0, (bound - obj) / bound)
        if gap < 1e-9:
            gap = 0.0
    else:
        gap = 0.0 if status == "optimal" else float("nan")
    return CoverResult(
        chosen=cols[chosen] if len(chosen) else np.array([], dtype=np.int64),
        marginal_gain=np.asarray(gains, dtype=float),
        objective=obj,
        covered_before=before,
        total_weight=total,
        uncoverable=uncoverable,
        bound=float(bound),
        gap=float(gap),
        method=method,
        solver=solver,
        status=status,
        time_s=time.perf_counter() - t0,
        model=model,
    )
