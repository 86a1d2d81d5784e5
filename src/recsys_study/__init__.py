"""recsys_study: personalised recommendation for CRM, studied reproducibly.

The flow of the package follows the flow of the data::

    data -> split -> recommenders -> evaluation -> tracking -> reports

``implicit`` and OpenBLAS fight over threads when both parallelise; the package
asks OpenBLAS for one thread before numpy is imported, unless the user set it.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
