"""``reports/index.html`` and the files beside it: the names the runner, the command line and the tests use.

The code lives in ``recsys_study.reporting`` (``index``: the page; ``files``: the one atomic writer and the
index lock; ``render``: the one notebook renderer).
"""

from recsys_study.reporting.files import _umask, atomic_write, index_lock, write_aside  # noqa: F401
from recsys_study.reporting.index import (  # noqa: F401
    build_index,
    index_page,
    notebook_to_html,
    read_manifests,
    render_notebook,
)
