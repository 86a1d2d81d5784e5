"""A randomised campaign inside the simulated world, with each customer's true uplift.

The offer (``components.CampaignModel``) shifts the treated customers' choice utilities by
``b(x)`` and their return logit by ``tau(x)``. For every customer in the campaign both potential
outcomes are computed from the world's own model with the *same* random numbers (the choice
uniform, the experience noise, the return uniform of that customer and round), so the pair
(Y(0), Y(1)) is what this very customer would have done without and with the offer:

- **probabilities** (the true uplift; an offer sent after the visit, the retention offer, has
  ``P(return | T) = sigmoid(L(S) + T tau)`` given the visit's S): ``P(buy | T) = 1 - pi_0(T)`` with ``pi_j(T)`` the logit
  choice probabilities of the slate under arm T, and
  ``P(return | T) = pi_0(T) sigmoid(L(S(u_0)) + T tau) + sum_{j>=1} pi_j(T) E_nu[sigmoid(L(S(u_j + sigma_e nu)) + T tau)]``
  with ``L(S) = g0 + g1 S + h_c`` the return logit; the expectation over the experience noise
  ``nu ~ N(0, 1)`` is a 24-node Gauss–Hermite quadrature (exact to ~1e-12 for this smooth integrand).
  The true uplift is ``P(Y = 1 | T = 1) - P(Y = 1 | T = 0)`` of the campaign's outcome.
- **kinds** (principal strata of the realised draws; Radcliffe & Surry 1999): persuadable
  (Y(1), Y(0)) = (1, 0), sure thing (1, 1), lost cause (0, 0), sleeping dog (0, 1).

The realised world follows each customer's assigned arm; ``Campaign.frame`` returns one row per
customer in the campaign: features, treatment, outcome, both potential outcomes, their
probabilities, the true uplift and the kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from recsys_study.simulation import random as crn
from recsys_study.simulation.components import CAMPAIGN_FEATURES

KINDS = ("persuadable", "sure thing", "lost cause", "sleeping dog")
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def kinds(y_treated, y_control) -> np.ndarray:
    """Return each customer's kind from the two potential outcomes (1 = responds).

    persuadable: (1, 0); sure thing: (1, 1); lost cause: (0, 0); sleeping dog: (0, 1)
    (Radcliffe & Surry 1999; a sleeping dog responds only when left alone).
    """
    y1 = np.asarray(y_treated, dtype=bool)
    y0 = np.asarray(y_control, dtype=bool)
    return np.select([y1 & ~y0, y1 & y0, ~y1 & ~y0], KINDS[:3], KINDS[3]).astype(object)


@dataclass
class Offer:
    """Who is in the campaign (``eligible`` among the round's visitors), who is treated, and the effects.

    An offer sent after the visit learns its features and return effect from the visit (``after``).
    """

    model: object
    eligible: np.ndarray
    treated: np.ndarray
    features: dict
    bonus: np.ndarray       # choice-utility shift of each visitor (0 unless treated)
    tau: np.ndarray         # return-logit shift of each visitor (0 unless treated)
    bonus_if_treated: np.ndarray
    tau_if_treated: np.ndarray

    def after(self, bought: np.ndarray, sat: np.ndarray) -> None:
        """Update the features with the visit just made (an offer sent after it) and its return effect."""
        if not self.model.after_visit:
            return
        x = self.features
        purchases = x["frequency"] * x["visits"] + bought
        x["visits"] = x["visits"] + 1
        x["frequency"] = purchases / x["visits"]
        x["recency"] = np.where(bought, 0.0, x["recency"])
        x["satisfaction"] = sat
        self.tau_if_treated = self.model.effect("return_effect", x)
        self.tau = np.where(self.treated, self.tau_if_treated, 0.0)


class Campaign:
    """The campaign part of a run: assigns the offer in its round and records both potential outcomes."""

    def __init__(self, world):
        self.world = world
        self.model = world.config.campaign
        self.rows: pd.DataFrame | None = None

    def offer(self, t: int, ids: np.ndarray, population) -> Offer | None:
        """Return the offer of round ``t`` (None in other rounds): visitors who visited before are
        eligible; each is treated with probability ``treated_share`` (counter-based draw)."""
        m = self.model
        if t != m.round:
            return None
        eligible = population.visits[ids] > 0
        x = population.features(ids, t)
        treated = eligible & (crn.uniform(self.world.seed, crn.ASSIGN, ids) < m.treated_share)
        bonus, tau = m.effect("purchase_effect", x), m.effect("return_effect", x)
        return Offer(model=m, eligible=eligible, treated=treated, features=x, bonus=np.where(treated, bonus, 0.0),
                     tau=np.where(treated, tau, 0.0), bonus_if_treated=bonus, tau_if_treated=tau)

    def record(self, t: int, visit, offer: Offer) -> None:
        """Store the campaign's customers with both potential outcomes (``Campaign.frame``)."""
        e = offer.eligible
        ids = visit.ids[e]
        po = potential_outcomes(self.world, ids, t, util=visit.util[e], expectation=visit.expectation[e],
                                bonus=offer.bonus_if_treated[e], tau=offer.tau_if_treated[e],
                                after_visit=self.model.after_visit)
        bought = np.zeros(len(visit.ids), dtype=bool)
        bought[visit.rows] = True
        out = pd.DataFrame({"customer": ids, "round": t, **{f: offer.features[f][e] for f in (*CAMPAIGN_FEATURES, "visits")},
                            "treatment": offer.treated[e].astype(int), "bought": bought[e].astype(int),
                            "returned": visit.returns[e].astype(int)})
        for name in ("bought", "returned"):
            out[f"{name}_if_treated"] = po[name][1].astype(int)
            out[f"{name}_if_control"] = po[name][0].astype(int)
            out[f"p_{name}_treated"], out[f"p_{name}_control"] = po[f"p_{name}"][1], po[f"p_{name}"][0]
            out[f"uplift_{name}"] = po[f"p_{name}"][1] - po[f"p_{name}"][0]
        y = self.model.outcome
        out["outcome"] = out[y]
        out["true_uplift"] = out[f"uplift_{y}"]
        out["kind"] = kinds(out[f"{y}_if_treated"], out[f"{y}_if_control"])
        out["consent"] = self.world_consent(ids)
        self.rows = out

    def world_consent(self, ids: np.ndarray) -> np.ndarray:
        rate = self.world.config.consent.rate
        return np.ones(len(ids), dtype=bool) if rate >= 1 else crn.uniform(self.world.seed, crn.CONSENT, ids) < rate

    def frame(self) -> pd.DataFrame | None:
        """Return one row per customer in the campaign (None if the campaign round was not reached)."""
        return self.rows


def potential_outcomes(world, ids: np.ndarray, t: int, *, util: np.ndarray, expectation: np.ndarray,
                       bonus: np.ndarray, tau: np.ndarray, after_visit: bool = False) -> dict:
    """Return both arms' realised outcomes and probabilities for customers ``ids`` in round ``t``.

    ``util`` (n, k): the true utilities of their slates (NaN = not shown); ``bonus``/``tau``: the
    offer's shifts if treated. Keys ``bought``, ``returned``, ``p_bought``, ``p_returned``, each a
    pair (control, treated) of arrays; the draws are the world's own for (customer, round).
    ``after_visit``: the offer was sent after the visit, so the return probabilities are conditional
    on the visit that happened, ``sigmoid(L(S) + T tau)``, not averaged over the visits that could have.
    """
    cfg, seed = world.config, world.seed
    choice, resp = cfg.choice, cfg.response
    habit = world_habit(world, ids)
    draw = crn.uniform(seed, crn.CHOICE, ids, t)
    noise = crn.normal(seed, crn.EXPERIENCE, ids, t)
    u_return = crn.uniform(seed, crn.RETURN, ids, t)
    n = len(ids)
    out = {"bought": [], "returned": [], "p_bought": [], "p_returned": []}
    # the return probability after choosing item j, averaged over the experience noise (Gauss-Hermite)
    r_nodes = util[:, :, None] + resp.experience_noise * _NODES[None, None, :]
    s_nodes = resp.satisfaction(r_nodes, expectation[:, None, None])
    s_outside = resp.satisfaction(np.full(n, choice.outside_utility), expectation)
    for arm in (0, 1):
        shift_b, shift_t = (bonus, tau) if arm else (np.zeros(n), np.zeros(n))
        probs = choice.probabilities(util + shift_b[:, None])
        pick = np.minimum((np.cumsum(probs, axis=1) < draw[:, None]).sum(axis=1), probs.shape[1] - 1)
        bought = pick > 0
        realised = np.full(n, choice.outside_utility)
        rows = np.flatnonzero(bought)
        realised[rows] = util[rows, pick[rows] - 1] + resp.experience_noise * noise[rows]
        logit = resp.return_logit(resp.satisfaction(realised, expectation), habit) + shift_t
        out["bought"].append(bought)
        out["returned"].append(u_return < expit(logit))
        if after_visit:
            p_return = expit(logit)
        else:
            p_after = expit(resp.return_logit(s_nodes, habit[:, None, None]) + shift_t[:, None, None]) @ _WEIGHTS
            p_after = np.where(np.isnan(util), 0.0, p_after)
            p_return = (probs[:, 0] * expit(resp.return_logit(s_outside, habit) + shift_t)
                        + (probs[:, 1:] * p_after).sum(axis=1))
        out["p_bought"].append(1.0 - probs[:, 0])
        out["p_returned"].append(p_return)
    return out


def world_habit(world, ids: np.ndarray) -> np.ndarray:
    """Return the customers' stable return habit h_c (the same counter-based draw the world made)."""
    return world.config.user.habit_sd * crn.normal(world.seed, crn.HABIT, ids)
