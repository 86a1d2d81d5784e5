"""``reports/site/``, the offline report site: the names the command line, notebooks and tests use.

The code lives in ``recsys_study.reporting`` (``site``: the build; ``formatting``: labels, units and numbers;
``render``: the notebook pages).
"""

from recsys_study.reporting.formatting import format_p, format_value, headline, label, unit  # noqa: F401
from recsys_study.reporting.layout import SITE_NAME, site_dir  # noqa: F401
from recsys_study.reporting.render import key_figure, mathjax_source, question  # noqa: F401
from recsys_study.reporting.site import build_site  # noqa: F401
