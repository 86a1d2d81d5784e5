"""A simulated world linking personalised recommendation to satisfaction, loyalty and customer value.

``components`` (the parts and their parameters), ``parts`` (the stateful parts of a run), ``world``
(the loop), ``campaign`` (a randomised campaign with each customer's true uplift), ``survival``
(Kaplan–Meier), ``analysis`` (retention, value, concentration, offline vs online, the survey,
scenarios), ``campaigns`` (notebook 09's campaign and consent studies).
"""

from recsys_study.simulation.campaign import KINDS, kinds
from recsys_study.simulation.components import (
    CampaignModel, ChoiceModel, ConsentModel, Economics, ItemModel, ResponseModel, SimulationConfigError, SurveyModel,
    UserModel, WorldConfig,
)
from recsys_study.simulation.survival import kaplan_meier, survival_at
from recsys_study.simulation.world import ORACLE, SimulationResult, TrueUtilities, World, simulate

__all__ = ["KINDS", "CampaignModel", "ChoiceModel", "ConsentModel", "Economics", "ItemModel", "ORACLE", "kinds", "ResponseModel", "SimulationConfigError",
           "SimulationResult", "SurveyModel", "TrueUtilities", "UserModel", "World", "WorldConfig", "kaplan_meier",
           "simulate", "survival_at"]
