"""ernnc's dialects, passes and targets as an xDSL ``Universe``.

pyproject.toml registers it under the ``xdsl.universe`` entry point group,
so stock ``xdsl-opt`` knows ernnc's IR and passes. ``ernnc-opt`` gets them the
same way (it inherits ``xdsl-opt``'s registration) and never registers them a
second time: a dialect registered twice is an error in xDSL.
"""

from __future__ import annotations

from xdsl.universe import Universe

from ..passes import ernnc_passes
from .context import ernnc_dialects
from .targets import ERNNC_TARGETS

ERNNC_UNIVERSE = Universe(
    all_dialects=ernnc_dialects(),  # type: ignore[arg-type]
    all_passes=ernnc_passes(),
    all_targets=dict(ERNNC_TARGETS),
)
