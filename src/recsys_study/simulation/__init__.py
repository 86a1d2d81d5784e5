"""A simulated world linking personalised recommendation to satisfaction, loyalty and customer value."""

from recsys_study.simulation.components import (
    ChoiceModel, Economics, ItemModel, ResponseModel, SimulationConfigError, SurveyModel, UserModel, WorldConfig,
)
from recsys_study.simulation.world import ORACLE, SimulationResult, TrueUtilities, World, simulate

__all__ = ["ChoiceModel", "Economics", "ItemModel", "ORACLE", "ResponseModel", "SimulationConfigError",
           "SimulationResult", "SurveyModel", "TrueUtilities", "UserModel", "World", "WorldConfig", "simulate"]
