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
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit, logsumexp

from recsys_study.constants import ITEM, RATING, TIMESTAMP, USER
from recsys_study.progress import progress
from recsys_study.recommenders.topk import top_k_sorted
from recsys_study.simulation import random as crn
from recsys_study.simulation.components import ItemModel, SimulationConfigError, WorldConfig
from recsys_study.summary import gini

ORACLE = "oracle"


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
        visit (logit probabilities, not draws).
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

    def retention(self) -> pd.Series:
        """Return the share of the initial cohort alive at the start of each round (1 at round 0)."""
        return self.rounds.set_index("round")["cohort_alive"] / self.config.user.n_customers


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


class World:
    """One world (config + true utilities + seed); ``run`` puts one recommender in it."""

    def __init__(self, config: WorldConfig, utilities: TrueUtilities, *, seed: int):
        self.config = config
        self.utilities = utilities
        self.seed = int(seed)

    # -- customers -------------------------------------------------------------------------
    def _new_customers(self, ids: np.ndarray) -> dict:
        """Return the attributes of customers ``ids`` (all counter-based on the id)."""
        u, cfg, seed = self.utilities, self.config.user, self.seed
        n_real, n_items = u.base.shape
        archetype = np.minimum((crn.uniform(seed, crn.ARCHETYPE, ids) * n_real).astype(np.int64), n_real - 1)
        taste = u.base[archetype]
        if cfg.utility_noise > 0:
            taste = taste + (cfg.utility_noise * crn.normal(seed, crn.TASTE, ids[:, None],
                                                            np.arange(n_items)[None, :])).astype(np.float32)
        habit = cfg.habit_sd * crn.normal(seed, crn.HABIT, ids)
        # sign-up history: the `history` real ratings of the clone with the smallest hash key
        h = u.history
        starts = np.searchsorted(h["archetype"].to_numpy(), np.arange(n_real + 1))
        deg = np.diff(starts)[archetype]
        owner = np.repeat(np.arange(len(ids)), deg)
        rows = np.concatenate([np.arange(starts[a], starts[a + 1]) for a in archetype]) if len(ids) else np.array([], int)
        items = h["item"].to_numpy()[rows]
        key = crn.uniform(seed, crn.HISTORY, ids[owner], items)
        order = np.lexsort((key, owner))
        owner, items, ratings = owner[order], items[order], h[RATING].to_numpy()[rows][order]
        first = np.searchsorted(owner, np.arange(len(ids)))
        pos = np.arange(len(owner)) - first[owner]
        take = pos < cfg.history
        owner, items, ratings = owner[take], items[take], ratings[take]
        expectation = np.bincount(owner, weights=ratings, minlength=len(ids)) / np.maximum(
            np.bincount(owner, minlength=len(ids)), 1)
        return {"archetype": archetype, "taste": taste, "habit": habit, "expectation": expectation,
                "history": (ids[owner], items, ratings)}

    def users_frame(self, ids: np.ndarray, archetype: np.ndarray) -> pd.DataFrame | None:
        """Return the customers' demographics (their clone's), or None without a users frame."""
        demo = self.utilities.demographics
        if demo is None:
            return None
        out = demo.iloc[archetype].reset_index(drop=True)
        out.insert(0, USER, ids)
        return out

    # -- recommending ----------------------------------------------------------------------
    def _slates(self, model, ids: np.ndarray, taste: np.ndarray, consumed: np.ndarray, k: int) -> np.ndarray:
        """Return (n, k) catalogue positions of each customer's slate (-1 = nothing left to show)."""
        if model == ORACLE:
            scores = np.where(consumed, np.float32(-np.inf), taste)
            top, vals = top_k_sorted(scores, k, discard_at_most=-np.inf)
            return np.where(np.isfinite(vals), top, -1)
        extra = self.config.refit_every + 1  # items consumed since the last refit are filtered here
        with _quiet_cold_start():
            recs = model.recommend(ids, k=k + extra)
        row = pd.Index(ids).get_indexer(recs[USER])
        col = self.utilities.items.get_indexer(recs[ITEM])
        full = np.full((len(ids), k + extra), -1, dtype=np.int64)
        full[row, recs["rank"].to_numpy() - 1] = col
        ok = full >= 0
        ok[ok] = ~consumed[np.nonzero(ok)[0], full[ok]]
        order = np.argsort(~ok, axis=1, kind="stable")[:, :k]
        slate = np.take_along_axis(full, order, axis=1)
        return np.where(np.take_along_axis(ok, order, axis=1), slate, -1)

    # -- the loop ----------------------------------------------------------------------------
    def run(self, recommender, *, show_progress: bool = True) -> SimulationResult:
        """Simulate ``config.rounds`` rounds with ``recommender`` (registry name, spec dict or "oracle")."""
        from recsys_study.recommenders.registry import make

        name, params, label = _spec(recommender)
        cfg, u, seed = self.config, self.utilities, self.seed
        choice, resp, econ = cfg.choice, cfg.response, cfg.economics
        n0, n_items = cfg.user.n_customers, len(u.items)
        model = ORACLE if name == ORACLE else make(name, **params)

        cap = 2 * n0
        taste = np.empty((cap, n_items), dtype=np.float32)
        consumed = np.zeros((cap, n_items), dtype=bool)
        alive = np.zeros(cap, dtype=bool)
        cols = {c: np.zeros(cap) for c in ("habit", "expectation", "profit", "clv")}
        ints = {c: np.full(cap, -1, dtype=np.int64) for c in ("archetype", "join_round", "last_round")}
        visits = np.zeros(cap, dtype=np.int64)
        n = 0
        log_user, log_item, log_rating, log_round = [], [], [], []
        sales_customer, sales_round, survey_rows, round_rows = [], [], [], []
        timings = {"fit_s": 0.0, "recommend_s": 0.0, "refits": 0}
        expected_sales = 0.0

        def add(count: int, round_: int):
            nonlocal n, cap, taste, consumed, alive, visits
            if n + count > cap:
                new_cap = max(2 * cap, n + count)
                taste = np.concatenate([taste, np.empty((new_cap - cap, n_items), dtype=np.float32)])
                consumed = np.concatenate([consumed, np.zeros((new_cap - cap, n_items), dtype=bool)])
                alive = np.concatenate([alive, np.zeros(new_cap - cap, dtype=bool)])
                visits = np.concatenate([visits, np.zeros(new_cap - cap, dtype=np.int64)])
                for d, fill in ((cols, 0.0), (ints, -1)):
                    for c in d:
                        d[c] = np.concatenate([d[c], np.full(new_cap - cap, fill, dtype=d[c].dtype)])
                cap = new_cap
            ids = np.arange(n, n + count)
            new = self._new_customers(ids)
            taste[ids] = new["taste"]
            alive[ids] = True
            cols["habit"][ids], cols["expectation"][ids] = new["habit"], new["expectation"]
            ints["archetype"][ids], ints["join_round"][ids] = new["archetype"], round_
            hu, hi, hr = new["history"]
            consumed[hu, hi] = True
            log_user.append(hu)
            log_item.append(hi)
            log_rating.append(hr)
            log_round.append(np.full(len(hu), -1 if round_ == 0 else round_ - 1))
            n += count

        add(n0, 0)
        for t in progress(range(cfg.rounds), desc=f"simulating {label}", total=cfg.rounds):
            ids = np.flatnonzero(alive[:n])
            if len(ids) == 0:
                round_rows.append({"round": t, "visitors": 0, "cohort_alive": 0})
                continue
            if model != ORACLE and t % cfg.refit_every == 0:
                start = time.perf_counter()
                train = pd.DataFrame({USER: np.concatenate(log_user), ITEM: u.items.to_numpy()[np.concatenate(log_item)],
                                      RATING: np.concatenate(log_rating), TIMESTAMP: np.concatenate(log_round)})
                everyone = np.arange(n)
                model.fit(train, u.items_frame, users=self.users_frame(everyone, ints["archetype"][:n]))
                timings["fit_s"] += time.perf_counter() - start
                timings["refits"] += 1
            start = time.perf_counter()
            slate = self._slates(model, ids, taste[ids], consumed[ids], cfg.k)
            timings["recommend_s"] += time.perf_counter() - start
            shown = slate >= 0
            util = np.where(shown, taste[ids[:, None], np.maximum(slate, 0)], np.nan).astype(np.float64)
            probs = choice.probabilities(util)
            expected_sales += float((1.0 - probs[:, 0]).sum())
            draw = crn.uniform(seed, crn.CHOICE, ids, t)
            pick = np.minimum((np.cumsum(probs, axis=1) < draw[:, None]).sum(axis=1), probs.shape[1] - 1)
            bought = pick > 0
            rows = np.flatnonzero(bought)
            item = slate[rows, pick[rows] - 1]
            realised = np.full(len(ids), choice.outside_utility)
            realised[rows] = util[rows, pick[rows] - 1] + resp.experience_noise * crn.normal(seed, crn.EXPERIENCE, ids[rows], t)
            expectation = cols["expectation"][ids]
            sat = resp.satisfaction(realised, expectation)
            cols["expectation"][ids] = expectation + resp.adaptation * (realised - expectation)
            complaint = crn.uniform(seed, crn.COMPLAINT, ids, t) < expit(resp.complaint_intercept - resp.complaint_slope * sat)
            loyalty = resp.return_logit(sat, cols["habit"][ids])
            returns = crn.uniform(seed, crn.RETURN, ids, t) < expit(loyalty)
            # the log, sales and money
            buyers = ids[rows]
            consumed[buyers, item] = True
            log_user.append(buyers)
            log_item.append(item)
            log_rating.append(np.clip(np.round(realised[rows]), 1, 5))
            log_round.append(np.full(len(rows), t))
            sales_customer.append(buyers)
            sales_round.append(np.full(len(rows), t))
            unit = econ.price * econ.margin
            cols["profit"][buyers] += unit
            cols["clv"][buyers] += unit / (1.0 + econ.weekly_discount) ** t
            visits[ids] += 1
            ints["last_round"][ids] = t
            # the survey: inclusive value of the slate, satisfaction, return logit
            answer = crn.uniform(seed, crn.SURVEY, ids, t) < cfg.survey.response_rate
            if answer.any():
                z = np.column_stack([np.full(len(ids), choice.outside_utility), util]) / choice.temperature
                iv = choice.temperature * logsumexp(np.where(np.isnan(z), -np.inf, z), axis=1)
                survey_rows.append(pd.DataFrame({"customer": ids[answer], "round": t, "Personalisation": iv[answer],
                                                 "Satisfaction": sat[answer], "Loyalty": loyalty[answer]}))
            counts = np.bincount(slate[shown], minlength=n_items).astype(float)
            cohort_alive = int((ids < n0).sum())
            high, dissatisfied = int((sat >= resp.s_high).sum()), int((sat < 0).sum())
            alive[ids[~returns]] = False
            rate = max(0.0, resp.base_arrivals * n0 + resp.wom_conversion * (
                resp.wom_positive * high - resp.wom_negative * dissatisfied))
            arrivals = int(np.random.default_rng([seed, 100, t]).poisson(rate))
            round_rows.append({
                "round": t, "visitors": len(ids), "cohort_alive": cohort_alive, "purchases": len(rows),
                "profit": unit * len(rows), "mean_satisfaction": float(sat.mean()),
                "highly_satisfied": high / len(ids), "dissatisfied": dissatisfied / len(ids),
                "complaint_rate": float(complaint.mean()), "return_rate": float(returns.mean()),
                "mean_slate_utility": float(np.nanmean(util)), "mean_expectation": float(expectation.mean()),
                "arrivals": arrivals, "exposure_gini": gini(counts),
                "catalogue_coverage": float((counts > 0).mean()),
            })
            if arrivals:
                add(arrivals, t + 1)
        customers = pd.DataFrame({
            "customer": np.arange(n), "archetype": ints["archetype"][:n], "cohort": np.arange(n) < n0,
            "join_round": ints["join_round"][:n], "last_round": ints["last_round"][:n],
            "churned": ~alive[:n], "visits": visits[:n], "profit": cols["profit"][:n], "clv": cols["clv"][:n],
            "expectation": cols["expectation"][:n]})
        customers = customers[customers["join_round"] < cfg.rounds].reset_index(drop=True)
        log = pd.DataFrame({USER: np.concatenate(log_user), ITEM: u.items.to_numpy()[np.concatenate(log_item)],
                            RATING: np.concatenate(log_rating), TIMESTAMP: np.concatenate(log_round)})
        purchases = pd.DataFrame({"customer": np.concatenate(sales_customer) if sales_customer else [],
                                  "round": np.concatenate(sales_round) if sales_round else []}).astype(int)
        latent = (pd.concat(survey_rows, ignore_index=True) if survey_rows else
                  pd.DataFrame(columns=["customer", "round", "Personalisation", "Satisfaction", "Loyalty"]))
        rounds = pd.DataFrame(round_rows)
        total_visits = max(int(customers["visits"].sum()), 1)
        return SimulationResult(label=label, seed=seed, config=cfg, rounds=rounds, customers=customers, log=log,
                                purchases=purchases, survey_latent=latent, purchase_rate=expected_sales / total_visits,
                                timings=timings)


def simulate(config: WorldConfig, utilities: TrueUtilities, recommenders, *, seeds, show_progress: bool = True
             ) -> list[SimulationResult]:
    """Run every recommender with every seed; return the results (recommender-major order)."""
    runs = [(r, s) for r in recommenders for s in seeds]
    out = []
    for rec, s in progress(runs, desc="worlds", total=len(runs)):
        out.append(World(config, utilities, seed=s).run(rec, show_progress=show_progress))
    return out
