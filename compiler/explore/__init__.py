"""``ernnc explore MODEL -o OUT``: E-RNN's two design phases, automated.

Phase I (accuracy) compiles the model for every *design* of the grid — block
size x precision x activation implementation — and measures, with the
bit-accurate NumPy model on the calibration inputs, how far its outputs are
from the dense float model (the cell stage's IR). Phase II (parallelism)
schedules each compiled design with ``ernn-schedule`` under each resource
budget (``--max-utils``, and ``--schedule`` overrides) and prices it with the
estimator: resources, frames per second, latency. A *point* is a design and
a budget. Points whose error exceeds ``--max-error`` or that do not fit the
device are rejected; the Pareto front of the others (error, frames per
second, utilization of the binding resource) is printed, and everything is
written to OUT/results.json and OUT/results.csv (OUT/pareto.png with
matplotlib). docs/explore.md describes the axes, the measures and the cache.

A design and its budgets are one task: the task compiles the design once and
reuses the module for every budget. Tasks run in this process (``--jobs 1``),
in a pool of processes (``--jobs N``) or on a Dask cluster
(``--executor dask://ADDRESS``). Finished points are cached beside OUT, keyed
by the model's sha256 and the point, so a rerun (or an interrupted sweep run
again) computes only what is missing.

Only argparse and the standard library load at start-up; xDSL, ONNX, Dask,
tqdm and matplotlib load when they are needed.

The modules: ``cli`` (the options, ``main``), ``grid`` (designs x budgets),
``task`` (one task: ``evaluate``, what workers run), ``cache``, ``executors`` (this
process, a process pool, Dask; the progress), ``front`` (statuses and the Pareto
front), ``output`` (results.csv, the table, pareto.png), ``sweep`` (the run) and
``common`` (the program's name).
"""

from .cache import Cache
from .cache import _clean as _clean  # the tests reach it as explore._clean
from .cli import (
    DEFAULT_ACTIVATIONS,
    DEFAULT_BLOCK_SIZES,
    DEFAULT_MAX_ERROR,
    DEFAULT_MAX_UTILS,
    DEFAULT_PRECISIONS,
    EPILOG,
    build_parser,
    main,
)
from .common import PROG
from .executors import Progress
from .front import dominates, objectives, pareto
from .grid import Budget, Design, Grid, Settings, parse_grid
from .output import CSV_FIELDS, RESOURCE_NAMES, draw_pareto, format_front
from .task import Task, TaskResult, evaluate

__all__ = [
    "CSV_FIELDS",
    "DEFAULT_ACTIVATIONS",
    "DEFAULT_BLOCK_SIZES",
    "DEFAULT_MAX_ERROR",
    "DEFAULT_MAX_UTILS",
    "DEFAULT_PRECISIONS",
    "EPILOG",
    "PROG",
    "RESOURCE_NAMES",
    "Budget",
    "Cache",
    "Design",
    "Grid",
    "Progress",
    "Settings",
    "Task",
    "TaskResult",
    "build_parser",
    "dominates",
    "draw_pareto",
    "evaluate",
    "format_front",
    "main",
    "objectives",
    "pareto",
    "parse_grid",
]
