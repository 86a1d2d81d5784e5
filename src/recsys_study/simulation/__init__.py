"""A simulated world linking personalised recommendation to satisfaction, loyalty and customer value.

``components`` (the parts and their parameters), ``world`` (the loop), ``survival`` (Kaplan–Meier),
``analysis`` (retention, value, concentration, offline vs online, the survey, scenarios).
"""

from recsys_study.simulation.components import (
    ChoiceModel, Economics, ItemModel, ResponseModel, SimulationConfigError, SurveyModel, UserModel, WorldConfig,
)
from recsys_study.simulation.survival import kaplan_meier, survival_at
from recsys_study.simulation.world import ORACLE, SimulationResult, TrueUtilities, World, simulate

__all__ = ["ChoiceModel", "Economics", "ItemModel", "ORACLE", "ResponseModel", "SimulationConfigError",
           "SimulationResult", "SurveyModel", "TrueUtilities", "UserModel", "World", "WorldConfig", "kaplan_meier",
           "simulate", "survival_at"]
