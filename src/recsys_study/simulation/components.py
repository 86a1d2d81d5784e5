"""The parts of the simulated world, one small frozen dataclass each (RecSim's decomposition).

RecSim (Ie et al. 2019) splits a recommender simulation into a user model, a document (item)
model, a choice model and a response model; here each part holds its own parameters and
documented defaults, so one assumption can be varied alone (``WorldConfig.replace``).

The chain simulated (one round = one week; every alive customer visits once a round):

1. **Utility** (``ItemModel``, ``UserModel``): customer c, a clone of real user a(c), values item i at
   ``u_ci = mu + b_a + b_i + p_a . q_i + sigma_u * eps_ci`` (biased MF fitted on all real ratings,
   rating-scale units; eps_ci ~ N(0, 1), fixed for the pair).
2. **Choice** (``ChoiceModel``): shown a slate of k items, the customer picks item j with the
   multinomial-logit probability ``exp(u_j / tau) / (exp(u_0 / tau) + sum_l exp(u_l / tau))``
   (McFadden 1974), option 0 = choose nothing with utility ``u_0``.
3. **Experience and satisfaction** (``ResponseModel``): the realised utility is
   ``r = u_j + sigma_e * nu`` (``r = u_0`` when nothing was chosen); disconfirmation
   ``D = r - E`` against the expectation E; satisfaction ``S = D + w (r - r_ref)``
   (expectation–disconfirmation with a direct performance effect: Oliver 1980; Churchill &
   Surprenant 1982); the expectation adapts ``E <- E + alpha (r - E)`` (adaptive expectations).
4. **Loyalty**: the customer returns next round with probability
   ``sigmoid(g0 + g1 S + h_c)``, ``h_c ~ N(0, sigma_h)`` a stable habit; ``g0, g1`` are set so that
   a *highly satisfied* customer (S = ``s_high``) stays ``loyalty_ratio`` times as long
   (expected further visits ``1 / (1 - p)``) as a *merely satisfied* one (S = ``s_satisfied``,
   return probability ``satisfied_return``). With ``satisfaction_drives_return=False`` every
   customer returns with ``sigmoid(g0 + g1 s_satisfied + h_c)``, whatever happened.
5. **Complaints and word of mouth**: a complaint with probability ``sigmoid(c0 - c1 S)``; a highly
   satisfied customer (S >= ``s_high``) tells ``wom_positive`` people, a dissatisfied one (S < 0)
   tells ``wom_negative``; new customers arrive as ``Poisson(max(0, base + conv (n+ wom+ - n- wom-)))``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np


class SimulationConfigError(ValueError):
    """A world parameter is out of range (the message names it and the fix)."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SimulationConfigError(message)


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


@dataclass(frozen=True)
class ItemModel:
    """The catalogue and the true utilities' source.

    min_ratings : items with at least this many real ratings form the catalogue (MF factors of
        items rated once or twice are mostly prior); default 5.
    utility_model, utility_params : the registry model fitted on *all* real ratings whose
        predictions are the true utilities (a rating model exposing biases and factors); default
        biased MF with 32 factors, 40 epochs.
    """

    min_ratings: int = 5
    utility_model: str = "biased_mf"
    utility_params: dict = field(default_factory=lambda: {"factors": 32, "epochs": 40, "learning_rate": 0.01,
                                                          "regularization": 0.05})

    def __post_init__(self):
        _check(self.min_ratings >= 1, f"item.min_ratings={self.min_ratings} must be >= 1.")
        _check(self.utility_model == "biased_mf",
               f"item.utility_model={self.utility_model!r}: the true utilities need biases and factors; use 'biased_mf'.")


@dataclass(frozen=True)
class UserModel:
    """The customers: who they are and what they bring.

    n_customers : initial customers, each a clone of a real user drawn uniformly (with their
        demographics); default 1000.
    utility_noise : sigma_u, the sd of the customer's own taste around the clone's MF
        utility (rating points); default 0.3.
    history : real ratings of the clone each customer arrives with (the sign-up ratings
        MovieLens asks for); default 10. The initial expectation E_0 is their mean.
    habit_sd : sigma_h, sd of the stable return habit h_c on the logit scale; default 0.5.
    """

    n_customers: int = 1000
    utility_noise: float = 0.3
    history: int = 10
    habit_sd: float = 0.5

    def __post_init__(self):
        _check(self.n_customers >= 10, f"user.n_customers={self.n_customers} is too few; use at least 10.")
        _check(self.utility_noise >= 0, f"user.utility_noise={self.utility_noise} must be >= 0.")
        _check(self.history >= 1, f"user.history={self.history} must be >= 1 (E_0 is their mean).")
        _check(self.habit_sd >= 0, f"user.habit_sd={self.habit_sd} must be >= 0.")


@dataclass(frozen=True)
class ChoiceModel:
    """Multinomial logit over the slate plus the outside option.

    temperature : tau (rating points); small = the best item is nearly always taken; default 0.5.
    outside_utility : u_0, the utility of choosing nothing (rating points); default 3.0
        (a film rated "3 of 5" is worth no more than an evening elsewhere).
    """

    temperature: float = 0.5
    outside_utility: float = 3.0

    def __post_init__(self):
        _check(self.temperature > 0, f"choice.temperature={self.temperature} must be > 0.")

    def probabilities(self, utilities: np.ndarray) -> np.ndarray:
        """Return (n, k + 1) choice probabilities; column 0 is the outside option (NaN utility = not shown)."""
        z = np.column_stack([np.full(len(utilities), self.outside_utility), utilities]) / self.temperature
        z = np.where(np.isnan(z), -np.inf, z)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class ResponseModel:
    """Experience -> satisfaction -> return, complaints and word of mouth (formulas in the module docstring).

    Defaults: experience_noise sigma_e = 0.3; performance_weight w = 0.5, reference r_ref = 3.0 (the outside option's default: performance
    is judged against the evening elsewhere);
    adaptation alpha = 0.2; bands s_satisfied = 0.5 (merely satisfied), s_high = 1.5 (highly
    satisfied from here; S < 0 is dissatisfied); satisfied_return = 0.95 (twenty expected further
    visits); loyalty_ratio = 6 (the "six times as loyal" claim); complaint c0 = -3, c1 = 2;
    wom_positive = 3 people, wom_negative = 20 people (the "tells 20 others" claim);
    wom_conversion = 0.01 (share of told people who join, or who stay away);
    base_arrivals = 0.01 of the initial customers per round.
    """

    experience_noise: float = 0.3
    performance_weight: float = 0.5
    reference: float = 3.0
    adaptation: float = 0.2
    s_satisfied: float = 0.5
    s_high: float = 1.5
    satisfied_return: float = 0.95
    loyalty_ratio: float = 6.0
    satisfaction_drives_return: bool = True
    complaint_intercept: float = -3.0
    complaint_slope: float = 2.0
    wom_positive: float = 3.0
    wom_negative: float = 20.0
    wom_conversion: float = 0.01
    base_arrivals: float = 0.01

    def __post_init__(self):
        _check(0 <= self.adaptation <= 1, f"response.adaptation={self.adaptation} must be in [0, 1].")
        _check(0 < self.satisfied_return < 1, f"response.satisfied_return={self.satisfied_return} must be in (0, 1).")
        _check(self.loyalty_ratio >= 1, f"response.loyalty_ratio={self.loyalty_ratio} must be >= 1 "
               "(a highly satisfied customer is at least as loyal as a merely satisfied one).")
        _check(self.s_high > self.s_satisfied, "response.s_high must exceed response.s_satisfied.")
        _check(self.experience_noise >= 0, f"response.experience_noise={self.experience_noise} must be >= 0.")
        _check(min(self.wom_positive, self.wom_negative, self.wom_conversion, self.base_arrivals) >= 0,
               "response.wom_positive, wom_negative, wom_conversion and base_arrivals must be >= 0.")

    def return_coefficients(self) -> tuple[float, float]:
        """Return (g0, g1): ``1/(1 - p(s_high)) = loyalty_ratio / (1 - satisfied_return)`` at h = 0."""
        p_mid = self.satisfied_return
        p_high = 1.0 - (1.0 - p_mid) / self.loyalty_ratio
        g1 = (_logit(p_high) - _logit(p_mid)) / (self.s_high - self.s_satisfied) if p_high > p_mid else 0.0
        return _logit(p_mid) - g1 * self.s_satisfied, g1

    def return_logit(self, satisfaction: np.ndarray, habit: np.ndarray) -> np.ndarray:
        """Return the logit of the probability of returning next round."""
        g0, g1 = self.return_coefficients()
        s = satisfaction if self.satisfaction_drives_return else np.full_like(satisfaction, self.s_satisfied)
        return g0 + g1 * s + habit

    def satisfaction(self, realised: np.ndarray, expectation: np.ndarray) -> np.ndarray:
        """Return ``S = (r - E) + w (r - r_ref)``."""
        return (realised - expectation) + self.performance_weight * (realised - self.reference)


@dataclass(frozen=True)
class Economics:
    """Money: each chosen item is one sale of ``price`` with ``margin``; weekly discount rate.

    Defaults: price 4.0 (a rental), margin 0.3, weekly_discount 0.002 (about 11 % a year).
    """

    price: float = 4.0
    margin: float = 0.3
    weekly_discount: float = 0.002

    def __post_init__(self):
        _check(self.price > 0 and 0 < self.margin <= 1, "economics.price must be > 0 and margin in (0, 1].")
        _check(self.weekly_discount >= 0, "economics.weekly_discount must be >= 0.")


@dataclass(frozen=True)
class SurveyModel:
    """The per-round satisfaction survey: who answers and how the answers relate to the latent state.

    response_rate : share of each round's visitors who answer (default 0.2).
    loadings : standardised loadings per construct (3 indicators each), answers
        ``clip(round(c + s x), 1, scale)`` as ``data.survey.simulate_survey`` (``c = 1 + 0.6 (scale - 1)``,
        ``s = (scale - 1) / 5``), ``x = l z + sqrt(1 - l^2) e`` with z the standardised latent value.
    Constructs: Personalisation (the slate's expected best utility, the logit inclusive value
    ``tau log(exp(u_0/tau) + sum_j exp(u_j/tau))``), Satisfaction (S), Loyalty (the return logit).
    """

    response_rate: float = 0.2
    scale: int = 10
    loadings: dict = field(default_factory=lambda: {"Personalisation": (0.85, 0.80, 0.90),
                                                    "Satisfaction": (0.90, 0.85, 0.85),
                                                    "Loyalty": (0.85, 0.90, 0.80)})

    def __post_init__(self):
        _check(0 < self.response_rate <= 1, f"survey.response_rate={self.response_rate} must be in (0, 1].")
        bad = {c: v for c, v in self.loadings.items() if not all(0 < x < 1 for x in v)}
        _check(not bad, f"survey.loadings {bad} must lie in (0, 1).")


#: the features a campaign's effect depends on, measured at the start of the campaign round
CAMPAIGN_FEATURES = ("satisfaction", "recency", "frequency", "tenure")

#: each kind of offer's default effects (intercept and one coefficient per feature)
CAMPAIGN_PRESETS = {
    # a retention offer: welcome to the dissatisfied and lapsing, a reminder to leave for long-standing,
    # satisfied regulars (the sleeping dogs of Radcliffe & Surry 1999); it does not change what is bought
    "retention": {"return_effect": {"intercept": 1.5, "satisfaction": -0.8, "recency": 0.5, "frequency": -0.5,
                                    "tenure": -0.01},
                  "purchase_effect": {}},
    # a cross-sell offer (a voucher on this week's slate, rating points): sways the dissatisfied and new,
    # puts long-standing regulars off
    "cross_sell": {"return_effect": {},
                   "purchase_effect": {"intercept": 1.4, "satisfaction": -0.4, "recency": 0.1, "frequency": -0.5,
                                       "tenure": -0.01}},
    # a personalised message: a little of both
    "message": {"return_effect": {"intercept": 0.8, "satisfaction": -0.4, "recency": 0.3, "frequency": -0.3,
                                  "tenure": -0.005},
                "purchase_effect": {"intercept": 0.5, "frequency": -0.4}},
}
CAMPAIGN_OUTCOMES = {"retention": "returned", "cross_sell": "bought", "message": "returned"}


@dataclass(frozen=True)
class CampaignModel:
    """A randomised campaign in one round, whose effect on buying and returning differs by customer.

    In round ``round`` every customer who has visited before is treated with probability
    ``treated_share`` (a counter-based draw: the assignment is random and reproducible). The offer
    acts on two things, each linear in the customer's features x (``CAMPAIGN_FEATURES``: S of the
    last visit, recency = rounds since the last purchase, frequency = purchases per visit, tenure =
    weeks a customer), as the CRM knows them when the offer is sent:

    - buying this round: every shown item's utility *in the choice* gains
      ``b(x) = b_0 + sum_f b_f x_f`` rating points (the experience of the item does not change);
    - returning next round: the return logit gains ``tau(x) = t_0 + sum_f t_f x_f``.

    An offer with a purchase effect is sent *before* the round's visit (x as of the last visit); an
    offer with only a return effect (the retention offer) is sent *after* it, to customers about to
    decide whether to come back (x includes this visit: its satisfaction, whether it was a purchase).

    Both are 0 for the untreated. ``kind`` picks the default effects (``CAMPAIGN_PRESETS``:
    retention offer, cross-sell offer, personalised message) and the default outcome (``returned``
    for retention and message, ``bought`` for cross-sell); ``return_effect`` / ``purchase_effect``
    override them. The initial customers were customers for ``U(0, tenure_before)`` weeks before the
    world started (arrivals: 0). With negative effects for some customers and positive for others,
    the campaign has all four kinds of Radcliffe & Surry (1999): persuadables, sure things, lost
    causes and sleeping dogs.
    """

    kind: str = "retention"
    round: int = 5
    treated_share: float = 0.5
    outcome: str | None = None
    return_effect: dict | None = None
    purchase_effect: dict | None = None
    tenure_before: float = 104.0

    def __post_init__(self):
        _check(self.kind in CAMPAIGN_PRESETS, f"campaign.kind={self.kind!r}; use one of {sorted(CAMPAIGN_PRESETS)}.")
        _check(self.round >= 1, f"campaign.round={self.round} must be >= 1 (the features need a visit before it).")
        _check(0 < self.treated_share < 1, f"campaign.treated_share={self.treated_share} must be in (0, 1): "
               "a randomised campaign needs both a treated and a control group.")
        _check(self.tenure_before >= 0, f"campaign.tenure_before={self.tenure_before} must be >= 0.")
        outcome = self.outcome or CAMPAIGN_OUTCOMES[self.kind]
        _check(outcome in ("returned", "bought"), f"campaign.outcome={outcome!r}; use 'returned' or 'bought'.")
        object.__setattr__(self, "outcome", outcome)
        for name in ("return_effect", "purchase_effect"):
            effect = dict(CAMPAIGN_PRESETS[self.kind][name] if getattr(self, name) is None else getattr(self, name))
            bad = sorted(set(effect) - {"intercept", *CAMPAIGN_FEATURES})
            _check(not bad, f"campaign.{name} has unknown term(s) {bad}; use 'intercept' and {list(CAMPAIGN_FEATURES)}.")
            object.__setattr__(self, name, effect)

    @property
    def after_visit(self) -> bool:
        """True when the offer is sent after the round's visit (it acts on returning only)."""
        return not any(self.purchase_effect.values())

    def effect(self, name: str, features: dict) -> np.ndarray:
        """Return ``c_0 + sum_f c_f x_f`` of ``name`` ("return_effect" or "purchase_effect") per customer."""
        coef = getattr(self, name)
        n = len(next(iter(features.values())))
        out = np.full(n, float(coef.get("intercept", 0.0)))
        for f in CAMPAIGN_FEATURES:
            if coef.get(f, 0.0):
                out = out + coef[f] * np.asarray(features[f], dtype=float)
        return out


@dataclass(frozen=True)
class ConsentModel:
    """Who allows personalisation (GDPR art. 21/22: a customer may object to profiling).

    rate : share of customers who consent (a counter-based draw per customer); default 1.0 (all).
    A customer who declines is shown the non-personalised list (``most_popular`` on the whole log,
    an aggregate statistic, not a profile of anyone). train_on_decliners : whether the personalised
    model learns from the decliners' purchases too; default False (their data is not used to profile).
    """

    rate: float = 1.0
    train_on_decliners: bool = False

    def __post_init__(self):
        _check(0 <= self.rate <= 1, f"consent.rate={self.rate} must be in [0, 1].")


_PARTS = {"item": ItemModel, "user": UserModel, "choice": ChoiceModel, "response": ResponseModel,
          "economics": Economics, "survey": SurveyModel, "consent": ConsentModel}
_OPTIONAL = {"campaign": CampaignModel}  # None unless given


@dataclass(frozen=True)
class WorldConfig:
    """Every assumption of one world: its parts plus the platform (k, rounds, refit interval).

    ``consent`` (who allows personalisation) and ``campaign`` (a randomised campaign, None = no
    campaign) leave the world exactly as without them at their defaults.

    k : slate size (default 10); rounds : weeks simulated (default 50); refit_every : the recommender
    is refitted on everything logged every this many rounds (default 5; the feedback loop).
    """

    item: ItemModel = field(default_factory=ItemModel)
    user: UserModel = field(default_factory=UserModel)
    choice: ChoiceModel = field(default_factory=ChoiceModel)
    response: ResponseModel = field(default_factory=ResponseModel)
    economics: Economics = field(default_factory=Economics)
    survey: SurveyModel = field(default_factory=SurveyModel)
    consent: ConsentModel = field(default_factory=ConsentModel)
    campaign: CampaignModel | None = None
    k: int = 10
    rounds: int = 50
    refit_every: int = 5

    def __post_init__(self):
        _check(self.k >= 1, f"k={self.k} must be >= 1.")
        _check(self.rounds >= 2, f"rounds={self.rounds} must be >= 2.")
        _check(self.refit_every >= 1, f"refit_every={self.refit_every} must be >= 1.")

    @classmethod
    def from_dict(cls, spec: dict | None = None) -> WorldConfig:
        """Build from ``{"user": {...}, "choice": {...}, ..., "k": 10, ...}`` (YAML / notebook parameters)."""
        spec = dict(spec or {})
        groups = {**_PARTS, **_OPTIONAL}
        unknown = sorted(set(spec) - set(groups) - {"k", "rounds", "refit_every"})
        _check(not unknown, f"unknown world parameter group(s) {unknown}; use {sorted(groups)} or k, rounds, refit_every.")
        kwargs = {}
        for name, part in groups.items():
            given = spec.pop(name, None)
            if name in _OPTIONAL and given is None:
                continue
            values = dict(given or {})
            names = {f.name for f in dataclasses.fields(part)}
            bad = sorted(set(values) - names)
            _check(not bad, f"{name} has no parameter(s) {bad}; its parameters are {sorted(names)}.")
            kwargs[name] = part(**values)
        return cls(**kwargs, **spec)

    def replace(self, **changes) -> WorldConfig:
        """Return a copy with dotted changes, e.g. ``replace(**{"choice.temperature": 1.0, "rounds": 20})``."""
        groups = {**_PARTS, **_OPTIONAL}
        parts = {name: {} for name in groups}
        top = {}
        for key, value in changes.items():
            group, _, name = key.partition(".")
            if name:
                _check(group in parts, f"unknown parameter group {group!r} in {key!r}; use one of {sorted(groups)}.")
                names = {f.name for f in dataclasses.fields(groups[group])}
                _check(name in names, f"{group} has no parameter {name!r}; its parameters are {sorted(names)}.")
                parts[group][name] = value
            else:
                _check(key in ("k", "rounds", "refit_every"), f"unknown world parameter {key!r}.")
                top[key] = value
        new = {}
        for name, vals in parts.items():
            if not vals:
                continue
            current = getattr(self, name)
            if current is None:  # an optional part (the campaign) switched on by its first change
                new[name] = groups[name](**vals)
            else:
                if name in _OPTIONAL:  # the kind's presets are re-derived from the kind unless overridden
                    vals = {**{f: None for f in ("outcome", "return_effect", "purchase_effect") if "kind" in vals}, **vals}
                new[name] = dataclasses.replace(current, **vals)
        return dataclasses.replace(self, **new, **top)

    def to_dict(self) -> dict:
        """Return the nested parameters (for tracking)."""
        return dataclasses.asdict(self)
