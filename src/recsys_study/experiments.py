"""Execute notebooks with papermill, alone or as the runs of an experiment YAML file.

The work is done by ``recsys_study.runner`` (``spec``, ``execute``, ``run``); this module keeps the
names that the command line, the tests and users import from ``recsys_study.experiments``.
"""

from recsys_study.runner import *  # noqa: F403
from recsys_study.runner import __all__  # noqa: F401
