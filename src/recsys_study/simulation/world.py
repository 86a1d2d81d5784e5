"""The simulated world: real customers and items, a recommender in the loop, satisfaction and loyalty.

``TrueUtilities.from_dataset(dataset, ItemModel(), seed=...)`` fits the utility model on all
real ratings; ``World(config, utilities, seed=...).run("als")`` runs one recommender for
``config.rounds`` rounds and returns a :class:`SimulationResult`. The formulas of every part are
in ``simulation.components``. Every customer-level draw is counter-based
(``simulation.random``), so the same seed gives identical trajectories and two recommenders face
the same customers and the same uniforms.

Each round: the recommender (refitted on the whole log every ``refit_every`` rounds, through the
registry) shows each alive customer ``k`` items they have not consumed; the customer chooses by
the logit with an outside option, experiences, updates satisfaction and expectation, may complain,
answers the survey with probability ``response_rate``, returns next round or leaves for good; word
of mouth sets how many new customers (new clones, with their sign-up ratings) join next round.

``World.run`` is a short loop over parts that own their state (``simulation.parts``: the
population, the log, the exposure, the ledger; ``simulation.campaign``: a randomised campaign)
and three steps: the visit (choice, experience, satisfaction, complaint, return), its settlement
(expectations, purchases, money, survey) and the round's end (churn, word-of-mouth arrivals).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit, logsumexp

from recsys_study.constants import ITEM, RANK, RATING, TIMESTAMP, USER
from recsys_study.progress import progress
from recsys_study.recommenders.base import Recommender, _blas_controller
from recsys_study.recommenders.topk import top_k_excluding
from recsys_study.simulation import random as crn
from recsys_study.simulation.campaign import Campaign
from recsys_study.simulation.components import ItemModel, SimulationConfigError, WorldConfig
from recsys_study.simulation.parts import Exposure, Ledger, Log, Population
from recsys_study.summary import gini

ORACLE = "oracle"
_KEPT_COHORTS = 8  # initial cohorts kept per utilities (seeds x user models); an oracle's holds its taste matrix


@dataclass
class TrueUtilities:
    """The real customers and catalogue and their utilities ``mu + b_a + b_i + p_a . q_i`` (rating points).

    users : real user ids (archetypes), items : catalogue item ids (>= ``min_ratings`` ratings),
    base : (n_users, n_items) float32 utilities, history : real ratings restricted to the catalogue
    (``archetype, item`` positions and ``rating``), demographics : the real users frame (or None).
    """

    users: pd.Index
    items: pd.Index
    base: np.ndarray
    history: pd.DataFrame
    demographics: pd.DataFrame | None
    items_frame: pd.DataFrame | None = None
    fit_rmse: float = float("nan")

    @classmethod
    def from_dataset(cls, dataset, item_model: ItemModel | None = None, *, seed: int) -> TrueUtilities:
        """Fit ``item_model.utility_model`` on every rating of ``dataset`` (catalogue items only)."""
        from recsys_study.recommenders.registry import make

        item_model = item_model or ItemModel()
        ratings = dataset.interactions
        if RATING not in ratings.columns:
            raise SimulationConfigError("the world needs explicit ratings (1-5) to fit true utilities; "
                                        "use a rated dataset such as load_movielens('ml-100k').")
        counts = ratings[ITEM].value_counts()
        keep = counts.index[counts >= item_model.min_ratings]
        ratings = ratings[ratings[ITEM].isin(keep)]
        model = make(item_model.utility_model, **{**item_model.utility_params, "seed": seed})
        model.fit(ratings[[USER, ITEM, RATING]])
        base = (model.mu_ + model.user_bias_[:, None] + model.item_bias_[None, :]
                + model.user_factors_ @ model.item_factors_.T).astype(np.float32)
        users, items = model.user_index_, model.item_index_
        history = pd.DataFrame({"archetype": users.get_indexer(ratings[USER]),
                                "item": items.get_indexer(ratings[ITEM]),
                                RATING: ratings[RATING].to_numpy(dtype=float)}).sort_values(["archetype", "item"])
        demo = getattr(dataset, "users", None)
        if demo is not None:
            demo = demo.set_index(USER).reindex(users)
        items_frame = None if dataset.items is None else dataset.items[dataset.items[ITEM].isin(items)]
        return cls(users=users, items=items, base=base, history=history.reset_index(drop=True), demographics=demo,
                   items_frame=items_frame, fit_rmse=float(model.train_rmse_[-1]))


@dataclass
class SimulationResult:
    """One recommender in one world with one seed.

    rounds : one row per round (visitors, cohort_alive, purchases, profit, mean_satisfaction,
        highly_satisfied, dissatisfied, complaint_rate, arrivals, exposure_gini, ...).
    customers : one row per customer ever (cohort = in the initial population, join_round,
        last_round, churned, visits, purchases, profit, clv = discounted profit).
    log : what the recommender observed (user, item, rating, timestamp = round; -1 = sign-up).
    purchases : customer, round of every sale. survey_latent : respondent-rounds' true
        Personalisation, Satisfaction, Loyalty. purchase_rate : the world's expected sales per
        visit (logit probabilities, not draws). campaign : the campaign's customers (None without a
        campaign; ``simulation.campaign.Campaign.frame``).
    """

    label: str
    seed: int
    config: WorldConfig
    rounds: pd.DataFrame
    customers: pd.DataFrame
    log: pd.DataFrame
    purchases: pd.DataFrame
    survey_latent: pd.DataFrame
    purchase_rate: float
    timings: dict = field(default_factory=dict)
    campaign: pd.DataFrame | None = None

    def retention(self) -> pd.Series:
        """Return the share of the initial cohort alive at the start of each round (1 at round 0)."""
        return self.rounds.set_index("round")["cohort_alive"] / self.config.user.n_customers


@dataclass
class Visit:
    """One round's visit of customers ``ids``: what was shown, chosen, felt and decided (row i = ids[i])."""

    ids: np.ndarray
    slate: np.ndarray
    shown: np.ndarray
    util: np.ndarray
    probs: np.ndarray
    rows: np.ndarray        # positions of the buyers
    item: np.ndarray        # what each buyer bought
    realised: np.ndarray
    expectation: np.ndarray  # before this visit
    sat: np.ndarray
    complaint: np.ndarray
    loyalty: np.ndarray     # the return logit
    returns: np.ndarray


@contextmanager
def _quiet_cold_start():
    # customers who joined since the last refit are cold by design; the base class warns each round
    logger = logging.getLogger("recsys_study.recommenders.base")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _spec(recommender) -> tuple[str, dict, str]:
    if isinstance(recommender, str):
        return recommender, {}, recommender
    if isinstance(recommender, dict) and "algorithm" in recommender:
        return recommender["algorithm"], dict(recommender.get("params") or {}), recommender.get("label") or recommender["algorithm"]
    raise SimulationConfigError(f"a recommender is a registry name or {{algorithm: NAME, params: {{...}}}}; got {recommender!r}.")


def _one_thread(name: str, params: dict) -> dict:
    """Return ``params`` with ``num_threads=1`` where the model takes it and the spec leaves it out.

    A world's fits are small and many (every ``refit_every`` rounds, worlds and notebooks side by
    side): implicit's ALS on all cores spent ~3x the CPU of one thread for the same factors.
    """
    from recsys_study.recommenders.registry import get_class

    if "num_threads" not in params and "num_threads" in get_class(name)._param_names():
        return {**params, "num_threads": 1}
    return params


class World:
    """One world (config + true utilities + seed); ``run`` puts one recommender in it."""

    def __init__(self, config: WorldConfig, utilities: TrueUtilities, *, seed: int):
        self.config = config
        self.utilities = utilities
        self.seed = int(seed)

    # -- customers -------------------------------------------------------------------------
    def _history_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the real ratings as arrays (item, rating) and each archetype's first row (+ the end)."""
        if getattr(self, "_history", None) is None:
            h, n_real = self.utilities.history, self.utilities.base.shape[0]
            starts = np.searchsorted(h["archetype"].to_numpy(), np.arange(n_real + 1))
            self._history = (h["item"].to_numpy(), h[RATING].to_numpy(), starts)
        return self._history

    def _new_customers(self, ids: np.ndarray, *, taste: bool = True) -> dict:
        """Return the attributes of customers ``ids`` (all counter-based on the id).

        ``taste=False`` leaves out the (n, n_items) taste matrix (``None``): :meth:`taste_of` gives
        the same values item by item. The initial customers (ids 0..n-1) of a seed are the same in
        every world of these utilities with this user model, whatever the recommender or the other
        parts: they are drawn once and kept (read-only) on the utilities, the last ``_KEPT_COHORTS``.
        """
        if not (len(ids) and ids[0] == 0 and ids[-1] == len(ids) - 1):
            return self._draw_customers(ids, taste=taste)
        kept = self.utilities.__dict__.setdefault("_initial_customers", {})
        key = (self.seed, self.config.user, len(ids))
        new = kept.get(key)
        if new is None:
            new = self._draw_customers(ids, taste=False)
            if len(kept) >= _KEPT_COHORTS:
                kept.pop(next(iter(kept)))
            kept[key] = new
        if taste and new["taste"] is None:
            new["taste"] = self.taste_of(ids, new["archetype"])
        for value in (new["archetype"], new["habit"], new["expectation"], *new["history"], new["taste"]):
            if value is not None:
                value.setflags(write=False)
        return {**new, "taste": new["taste"] if taste else None}

    def _draw_customers(self, ids: np.ndarray, *, taste: bool) -> dict:
        """Draw the attributes of customers ``ids`` (see :meth:`_new_customers`)."""
        u, cfg, seed = self.utilities, self.config.user, self.seed
        n_real, n_items = u.base.shape
        archetype = np.minimum((crn.uniform(seed, crn.ARCHETYPE, ids) * n_real).astype(np.int64), n_real - 1)
        full = self.taste_of(ids, archetype) if taste else None
        habit = cfg.habit_sd * crn.normal(seed, crn.HABIT, ids)
        # sign-up history: the `history` real ratings of the clone with the smallest hash key
        h_item, h_rating, starts = self._history_index()
        deg = np.diff(starts)[archetype]
        owner = np.repeat(np.arange(len(ids)), deg)
        first_row = np.cumsum(deg) - deg  # where each customer's rows begin in `rows`
        rows = starts[archetype][owner] + (np.arange(len(owner)) - first_row[owner])
        items = h_item[rows]
        key = crn.uniform(seed, crn.HISTORY, ids[owner], items)
        order = np.lexsort((key, owner))
        owner, items, ratings = owner[order], items[order], h_rating[rows][order]
        first = np.searchsorted(owner, np.arange(len(ids)))
        pos = np.arange(len(owner)) - first[owner]
        take = pos < cfg.history
        owner, items, ratings = owner[take], items[take], ratings[take]
        expectation = np.bincount(owner, weights=ratings, minlength=len(ids)) / np.maximum(
            np.bincount(owner, minlength=len(ids)), 1)
        return {"archetype": archetype, "taste": full, "habit": habit, "expectation": expectation,
                "history": (ids[owner], items, ratings)}

    def taste_of(self, ids: np.ndarray, archetype: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Return float32 utilities ``u_ci`` of customers ``ids`` (clones of ``archetype``): the clone's
        MF utility plus the customer's own noise, for ``items`` ((n, m) catalogue positions, row i for
        customer i) or every item (None). Element by element the same whatever is asked for."""
        base = self.utilities.base
        if items is None:
            items = np.arange(base.shape[1])[None, :]
            taste = base[archetype]
        else:
            taste = base[archetype[:, None], items]
        if self.config.user.utility_noise > 0:
            taste = taste + (self.config.user.utility_noise * crn.normal(self.seed, crn.TASTE, ids[:, None], items)
                             ).astype(np.float32)
        return taste

    def users_frame(self, ids: np.ndarray, archetype: np.ndarray) -> pd.DataFrame | None:
        """Return the customers' demographics (their clone's), or None without a users frame."""
        demo = self.utilities.demographics
        if demo is None:
            return None
        out = demo.iloc[archetype].reset_index(drop=True)
        out.insert(0, USER, ids)
        return out

    # -- recommending ----------------------------------------------------------------------
    def _slates(self, model, ids: np.ndarray, population: Population, k: int) -> np.ndarray:
        """Return (n, k) catalogue positions of each customer's slate (-1 = nothing left to show)."""
        if model == ORACLE:  # the k best unconsumed by true taste, ties by catalogue position (-inf never qualifies)
            scores = np.where(population.consumed[ids], np.float32(-np.inf), population.taste[ids])
            top, _, lengths = top_k_excluding(scores, k, num_threads=1)
            return np.where(np.arange(top.shape[1])[None, :] < lengths[:, None], top, -1)
        extra = self.config.refit_every + 1  # items consumed since the last refit are filtered here
        full = self._recommended(model, ids, k + extra)
        ok = full >= 0
        ok[ok] = ~population.consumed[ids[np.nonzero(ok)[0]], full[ok]]
        order = np.argsort(~ok, axis=1, kind="stable")[:, :k]
        slate = np.take_along_axis(full, order, axis=1)
        return np.where(np.take_along_axis(ok, order, axis=1), slate, -1)

    def _recommended(self, model, ids: np.ndarray, n: int) -> np.ndarray:
        """Return (len(ids), n) catalogue positions of ``model.recommend(ids, k=n)``'s lists by rank (-1 = none).

        ``ids`` ascending. A model that keeps ``Recommender.recommend`` is asked the same way without
        the frame: the same score blocks (``_score`` in blocks of the size ``recommend`` would use,
        ``_cold_scores`` for users unknown at fit time), the same exclusions and top-k
        (``topk.top_k_excluding``: ties by item index; non-finite scores never shown), on one thread.
        """
        full = np.full((len(ids), n), -1, dtype=np.int64)
        if type(model).recommend is not Recommender.recommend or type(model)._top_k is not Recommender._top_k:
            with _quiet_cold_start():
                recs = model.recommend(ids, k=n)
            row = np.searchsorted(ids, recs[USER].to_numpy())  # every row is one of ids
            full[row, recs[RANK].to_numpy() - 1] = self.utilities.items.get_indexer(recs[ITEM])
            return full
        model._check_fitted()
        catalogue = self.utilities.items.get_indexer(model.item_index_)

        def place(rows: np.ndarray, scores: np.ndarray, exclude) -> None:
            top, values, lengths = top_k_excluding(scores, n, exclude, num_threads=1)
            valid = (np.arange(top.shape[1])[None, :] < lengths[:, None]) & np.isfinite(values.astype(np.float64))
            full[rows, :top.shape[1]] = np.where(valid, catalogue[top], -1)

        idx = model.user_index_.get_indexer(ids)
        known = np.flatnonzero(idx >= 0)
        size, threads = model.score_blocks(len(known))  # recommend's blocks (the same rows per block)
        with _blas_controller().limit(limits=1, user_api="blas") if threads > 1 else nullcontext():
            for start in range(0, len(known), size):
                rows = known[start:start + size]
                place(rows, model._score(idx[rows]), model.user_items_[idx[rows]])
        cold = np.flatnonzero(idx < 0)
        if cold.size:
            users = pd.Index(ids)[cold]
            with _quiet_cold_start():
                for start in range(0, len(cold), model.batch_size):
                    chunk = slice(start, start + model.batch_size)
                    place(cold[chunk], model._cold_scores(users[chunk]), None)
        return full

    # -- the loop ----------------------------------------------------------------------------
    def run(self, recommender, *, show_progress: bool = True) -> SimulationResult:
        """Simulate ``config.rounds`` rounds with ``recommender`` (registry name, spec dict or "oracle")."""
        from recsys_study.recommenders.registry import make

        name, params, label = _spec(recommender)
        cfg, n0 = self.config, self.config.user.n_customers
        log, ledger = Log(), Ledger()
        population = Population(self, capacity=2 * n0, full_taste=name == ORACLE)
        exposure = Exposure(self, ORACLE if name == ORACLE else make(name, **_one_thread(name, params)))
        campaign = Campaign(self) if cfg.campaign is not None else None
        population.add(n0, 0, log)
        rounds = range(cfg.rounds)
        for t in progress(rounds, desc=f"simulating {label}", total=cfg.rounds) if show_progress else rounds:
            ids = population.alive_ids()
            if len(ids) == 0:
                ledger.round_rows.append({"round": t, "visitors": 0, "cohort_alive": 0})
                continue
            exposure.refit(t, population, log)
            slate = exposure.slates(ids, population)
            offer = campaign.offer(t, ids, population) if campaign is not None else None
            visit = self._visit(t, ids, slate, population, offer)
            self._settle(t, visit, population, log, ledger)
            if offer is not None:
                campaign.record(t, visit, offer)
            arrivals = self._arrivals(t, visit, population, ledger)
            if arrivals:
                population.add(arrivals, t + 1, log)
        customers = population.frame(cfg.rounds, n0)
        total_visits = max(int(customers["visits"].sum()), 1)
        return SimulationResult(label=label, seed=self.seed, config=cfg, rounds=pd.DataFrame(ledger.round_rows),
                                customers=customers, log=log.frame(self.utilities.items), purchases=ledger.purchases(),
                                survey_latent=ledger.survey(), purchase_rate=ledger.expected_sales / total_visits,
                                timings=exposure.timings, campaign=None if campaign is None else campaign.frame())

    def _visit(self, t: int, ids: np.ndarray, slate: np.ndarray, population: Population, offer=None) -> Visit:
        """Return one round's visit of customers ``ids``: choice, experience, satisfaction, complaint, return.

        ``offer`` (a campaign round): the treated's choice utilities gain ``offer.bonus`` and their
        return logit ``offer.tau`` (both 0 for the others).
        """
        cfg, seed = self.config, self.seed
        choice, resp = cfg.choice, cfg.response
        shown = slate >= 0
        util = np.where(shown, population.slate_taste(ids, slate), np.nan).astype(np.float64)
        probs = choice.probabilities(util if offer is None else util + offer.bonus[:, None])
        draw = crn.uniform(seed, crn.CHOICE, ids, t)
        pick = np.minimum((np.cumsum(probs, axis=1) < draw[:, None]).sum(axis=1), probs.shape[1] - 1)
        rows = np.flatnonzero(pick > 0)
        realised = np.full(len(ids), choice.outside_utility)
        realised[rows] = util[rows, pick[rows] - 1] + resp.experience_noise * crn.normal(seed, crn.EXPERIENCE, ids[rows], t)
        expectation = population.cols["expectation"][ids]
        sat = resp.satisfaction(realised, expectation)
        complaint = crn.uniform(seed, crn.COMPLAINT, ids, t) < expit(resp.complaint_intercept - resp.complaint_slope * sat)
        loyalty = resp.return_logit(sat, population.cols["habit"][ids])
        if offer is not None:
            bought = np.zeros(len(ids), dtype=bool)
            bought[rows] = True
            offer.after(bought, sat)
            loyalty = loyalty + offer.tau
        returns = crn.uniform(seed, crn.RETURN, ids, t) < expit(loyalty)
        return Visit(ids=ids, slate=slate, shown=shown, util=util, probs=probs, rows=rows,
                     item=slate[rows, pick[rows] - 1], realised=realised, expectation=expectation, sat=sat,
                     complaint=complaint, loyalty=loyalty, returns=returns)

    def _settle(self, t: int, visit: Visit, population: Population, log: Log, ledger: Ledger) -> None:
        """Book the visit: expectations adapt, purchases are logged and paid, the survey is answered."""
        cfg, resp, econ = self.config, self.config.response, self.config.economics
        ids, rows = visit.ids, visit.rows
        ledger.expected_sales += float((1.0 - visit.probs[:, 0]).sum())
        population.cols["expectation"][ids] = visit.expectation + resp.adaptation * (visit.realised - visit.expectation)
        buyers = ids[rows]
        population.consumed[buyers, visit.item] = True
        log.append(buyers, visit.item, np.clip(np.round(visit.realised[rows]), 1, 5), t)
        ledger.sales(buyers, t)
        unit = econ.price * econ.margin
        population.cols["profit"][buyers] += unit
        population.cols["clv"][buyers] += unit / (1.0 + econ.weekly_discount) ** t
        population.visits[ids] += 1
        population.ints["last_round"][ids] = t
        population.purchases[buyers] += 1
        population.ints["last_purchase"][buyers] = t
        population.cols["last_satisfaction"][ids] = visit.sat
        # the survey: inclusive value of the slate, satisfaction, return logit
        answer = crn.uniform(self.seed, crn.SURVEY, ids, t) < cfg.survey.response_rate
        if answer.any():
            tau = cfg.choice.temperature
            z = np.column_stack([np.full(len(ids), cfg.choice.outside_utility), visit.util]) / tau
            iv = tau * logsumexp(np.where(np.isnan(z), -np.inf, z), axis=1)
            ledger.answers(ids[answer], t, iv[answer], visit.sat[answer], visit.loyalty[answer])

    def _arrivals(self, t: int, visit: Visit, population: Population, ledger: Ledger) -> int:
        """Churn the leavers, write the round's row and return next round's word-of-mouth arrivals."""
        cfg, resp = self.config, self.config.response
        ids, sat, n0 = visit.ids, visit.sat, cfg.user.n_customers
        counts = np.bincount(visit.slate[visit.shown], minlength=population.n_items).astype(float)
        cohort_alive = int((ids < n0).sum())
        high, dissatisfied = int((sat >= resp.s_high).sum()), int((sat < 0).sum())
        population.alive[ids[~visit.returns]] = False
        rate = max(0.0, resp.base_arrivals * n0 + resp.wom_conversion * (
            resp.wom_positive * high - resp.wom_negative * dissatisfied))
        arrivals = int(np.random.default_rng([self.seed, 100, t]).poisson(rate))
        ledger.round_rows.append({
            "round": t, "visitors": len(ids), "cohort_alive": cohort_alive, "purchases": len(visit.rows),
            "profit": cfg.economics.price * cfg.economics.margin * len(visit.rows),
            "mean_satisfaction": float(sat.mean()), "highly_satisfied": high / len(ids),
            "dissatisfied": dissatisfied / len(ids), "complaint_rate": float(visit.complaint.mean()),
            "return_rate": float(visit.returns.mean()), "mean_slate_utility": float(np.nanmean(visit.util)),
            "mean_expectation": float(visit.expectation.mean()), "arrivals": arrivals,
            "exposure_gini": gini(counts), "catalogue_coverage": float((counts > 0).mean()),
        })
        return arrivals


def simulate(config: WorldConfig, utilities: TrueUtilities, recommenders, *, seeds, show_progress: bool = True
             ) -> list[SimulationResult]:
    """Run every recommender with every seed; return the results (recommender-major order)."""
    runs = [(r, s) for r in recommenders for s in seeds]
    out = []
    for rec, s in progress(runs, desc="worlds", total=len(runs)):
        out.append(World(config, utilities, seed=s).run(rec, show_progress=show_progress))
    return out
