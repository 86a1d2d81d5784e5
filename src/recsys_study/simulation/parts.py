"""The stateful parts of one simulated run, each owning its own state (``World.run`` is their loop).

- :class:`Population` — every customer who ever joined: taste, what they consumed, expectation,
  habit, money, visits; grows when customers arrive (capacity doubles).
- :class:`Log` — what the platform observed (sign-up ratings, then every purchase with its rating).
- :class:`Exposure` — the recommender in the loop (refitted on the log every ``refit_every`` rounds)
  and, for customers who decline personalisation, the popularity list.
- :class:`Ledger` — the run's outputs: sales, survey answers, one row per round, expected sales.

The laws the parts apply (choice, satisfaction, return, word of mouth) are in ``components``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from recsys_study.constants import ITEM, RATING, TIMESTAMP, USER
from recsys_study.simulation import random as crn


class Log:
    """What the platform observed: (customer, catalogue position, rating, round) rows, appended in order."""

    def __init__(self):
        self.user, self.item, self.rating, self.round = [], [], [], []

    def append(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, round_: int) -> None:
        """Add rows (``round_`` = -1: sign-up ratings)."""
        self.user.append(users)
        self.item.append(items)
        self.rating.append(ratings)
        self.round.append(np.full(len(users), round_))

    def frame(self, catalogue: pd.Index) -> pd.DataFrame:
        """Return ``user, item, rating, timestamp`` (item ids from ``catalogue``; timestamp = round)."""
        return pd.DataFrame({USER: np.concatenate(self.user), ITEM: catalogue.to_numpy()[np.concatenate(self.item)],
                             RATING: np.concatenate(self.rating), TIMESTAMP: np.concatenate(self.round)})


class Population:
    """Every customer of one run: state arrays indexed by customer id (0, 1, ... in order of arrival)."""

    FLOATS = ("habit", "expectation", "profit", "clv", "last_satisfaction", "tenure_before")
    INTS = ("archetype", "join_round", "last_round", "last_purchase")

    def __init__(self, world, capacity: int, *, full_taste: bool = True):
        self.world = world
        self.n_items = len(world.utilities.items)
        self.n = 0
        self.capacity = capacity
        # every customer x item utility, for the oracle's ranking; without it (None) the utilities of the
        # items shown are computed when shown (``slate_taste``: the same values)
        self.taste = np.empty((capacity, self.n_items), dtype=np.float32) if full_taste else None
        self.consumed = np.zeros((capacity, self.n_items), dtype=bool)
        self.alive = np.zeros(capacity, dtype=bool)
        self.consent = np.ones(capacity, dtype=bool)
        self.visits = np.zeros(capacity, dtype=np.int64)
        self.purchases = np.zeros(capacity, dtype=np.int64)
        self.cols = {c: np.zeros(capacity) for c in self.FLOATS}
        self.ints = {c: np.full(capacity, -1, dtype=np.int64) for c in self.INTS}

    def _grow(self, needed: int) -> None:
        new_cap = max(2 * self.capacity, needed)
        extra = new_cap - self.capacity
        if self.taste is not None:
            self.taste = np.concatenate([self.taste, np.empty((extra, self.n_items), dtype=np.float32)])
        self.consumed = np.concatenate([self.consumed, np.zeros((extra, self.n_items), dtype=bool)])
        self.alive = np.concatenate([self.alive, np.zeros(extra, dtype=bool)])
        self.consent = np.concatenate([self.consent, np.ones(extra, dtype=bool)])
        self.visits = np.concatenate([self.visits, np.zeros(extra, dtype=np.int64)])
        self.purchases = np.concatenate([self.purchases, np.zeros(extra, dtype=np.int64)])
        for d, fill in ((self.cols, 0.0), (self.ints, -1)):
            for c in d:
                d[c] = np.concatenate([d[c], np.full(extra, fill, dtype=d[c].dtype)])
        self.capacity = new_cap

    def add(self, count: int, round_: int, log: Log) -> None:
        """Let ``count`` customers join at ``round_``; their sign-up ratings go to ``log``."""
        if self.n + count > self.capacity:
            self._grow(self.n + count)
        world = self.world
        ids = np.arange(self.n, self.n + count)
        new = world._new_customers(ids, taste=self.taste is not None)
        if self.taste is not None:
            self.taste[ids] = new["taste"]
        self.alive[ids] = True
        self.cols["habit"][ids], self.cols["expectation"][ids] = new["habit"], new["expectation"]
        self.ints["archetype"][ids], self.ints["join_round"][ids] = new["archetype"], round_
        consent = world.config.consent
        if consent.rate < 1:
            self.consent[ids] = crn.uniform(world.seed, crn.CONSENT, ids) < consent.rate
        campaign = world.config.campaign
        if campaign is not None and round_ == 0:  # the initial customers were customers before the world began
            self.cols["tenure_before"][ids] = campaign.tenure_before * crn.uniform(world.seed, crn.TENURE, ids)
        hu, hi, hr = new["history"]
        self.consumed[hu, hi] = True
        log.append(hu, hi, hr, -1 if round_ == 0 else round_ - 1)
        self.n += count

    def slate_taste(self, ids: np.ndarray, slate: np.ndarray) -> np.ndarray:
        """Return the float32 utilities of each customer's slate items (``slate`` < 0: item 0's)."""
        items = np.maximum(slate, 0)
        if self.taste is not None:
            return self.taste[ids[:, None], items]
        return self.world.taste_of(ids, self.ints["archetype"][ids], items)

    def alive_ids(self) -> np.ndarray:
        """Return the ids of the customers who visit this round."""
        return np.flatnonzero(self.alive[:self.n])

    def features(self, ids: np.ndarray, t: int) -> dict:
        """Return the CRM's view of customers ``ids`` at the start of round ``t`` (``CAMPAIGN_FEATURES`` and more).

        satisfaction : S of the last visit; recency : rounds since the last purchase (since joining
        when none); frequency : purchases per visit; tenure : weeks a customer (before the world too).
        """
        last = self.ints["last_purchase"][ids]
        join = self.ints["join_round"][ids]
        visits = self.visits[ids]
        return {"satisfaction": self.cols["last_satisfaction"][ids],
                "recency": np.where(last >= 0, t - last, t - join).astype(float),
                "frequency": self.purchases[ids] / np.maximum(visits, 1),
                "tenure": self.cols["tenure_before"][ids] + (t - join),
                "visits": visits.astype(float), "expectation": self.cols["expectation"][ids]}

    def frame(self, rounds: int, n0: int) -> pd.DataFrame:
        """Return one row per customer who joined within the horizon (``SimulationResult.customers``)."""
        n = self.n
        customers = pd.DataFrame({
            "customer": np.arange(n), "archetype": self.ints["archetype"][:n], "cohort": np.arange(n) < n0,
            "join_round": self.ints["join_round"][:n], "last_round": self.ints["last_round"][:n],
            "churned": ~self.alive[:n], "visits": self.visits[:n], "profit": self.cols["profit"][:n],
            "clv": self.cols["clv"][:n], "expectation": self.cols["expectation"][:n]})
        return customers[customers["join_round"] < rounds].reset_index(drop=True)


class Exposure:
    """The platform's recommender (registry model or the oracle) and the popularity list for decliners."""

    def __init__(self, world, model):
        from recsys_study.recommenders.registry import make

        self.world = world
        self.model = model
        self.timings = {"fit_s": 0.0, "recommend_s": 0.0, "refits": 0}
        self.fitted = model == "oracle"
        consent = world.config.consent
        self.popular = make("most_popular") if consent.rate < 1 else None

    def refit(self, t: int, population: Population, log: Log) -> None:
        """Refit the recommender (and the popularity list) on everything logged, every ``refit_every`` rounds."""
        from recsys_study.simulation.world import ORACLE

        world = self.world
        if t % world.config.refit_every != 0 or (self.model == ORACLE and self.popular is None):
            return
        start = time.perf_counter()
        train = log.frame(world.utilities.items)
        n = population.n
        everyone = np.arange(n)
        users = world.users_frame(everyone, population.ints["archetype"][:n])
        if self.popular is not None:
            self.popular.fit(train, world.utilities.items_frame, users=users)
            if not world.config.consent.train_on_decliners:
                train = train[population.consent[train[USER].to_numpy()]]
        if self.model != ORACLE and len(train):  # nobody consents: nobody to personalise for
            self.model.fit(train, world.utilities.items_frame, users=users)
            self.fitted = True
        self.timings["fit_s"] += time.perf_counter() - start
        self.timings["refits"] += 1

    def slates(self, ids: np.ndarray, population: Population) -> np.ndarray:
        """Return (n, k) catalogue positions of each visitor's slate (-1 = nothing left to show)."""
        world, k = self.world, self.world.config.k
        start = time.perf_counter()
        if self.popular is None:
            slate = world._slates(self.model, ids, population, k)
        else:
            slate = np.full((len(ids), k), -1, dtype=np.int64)
            consent = population.consent[ids] & self.fitted
            for mask, model in ((consent, self.model), (~consent, self.popular)):
                if mask.any():
                    who = ids[mask]
                    slate[mask] = world._slates(model, who, population, k)
        self.timings["recommend_s"] += time.perf_counter() - start
        return slate


class Ledger:
    """The run's outputs as they accrue: sales, survey answers, per-round rows, expected sales."""

    SURVEY = ("customer", "round", "Personalisation", "Satisfaction", "Loyalty")

    def __init__(self):
        self.sales_customer, self.sales_round, self.round_rows = [], [], []
        self.survey_columns = {c: [] for c in self.SURVEY}
        self.expected_sales = 0.0

    def answers(self, customers: np.ndarray, t: int, personalisation: np.ndarray, satisfaction: np.ndarray,
                loyalty: np.ndarray) -> None:
        """Add one round's survey respondents and their latent answers."""
        for c, v in zip(self.SURVEY, (customers, np.full(len(customers), t), personalisation, satisfaction, loyalty)):
            self.survey_columns[c].append(v)

    def sales(self, buyers: np.ndarray, t: int) -> None:
        self.sales_customer.append(buyers)
        self.sales_round.append(np.full(len(buyers), t))

    def purchases(self) -> pd.DataFrame:
        return pd.DataFrame({"customer": np.concatenate(self.sales_customer) if self.sales_customer else [],
                             "round": np.concatenate(self.sales_round) if self.sales_round else []}).astype(int)

    def survey(self) -> pd.DataFrame:
        if not self.survey_columns["customer"]:
            return pd.DataFrame(columns=list(self.SURVEY))
        return pd.DataFrame({c: np.concatenate(v) for c, v in self.survey_columns.items()})
