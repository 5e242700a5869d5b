"""Where tasks run: this process, a local pool of processes or a Dask
cluster; and the progress shown while they do."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..errors import ErnncError
from .common import PROG
from .task import Task, TaskResult, evaluate

Done = Callable[[int, TaskResult], None]


def _dask_address(spec: str) -> str:
    address = spec[len("dask://") :]
    if not address:
        raise ErnncError(
            f"--executor {spec!r}: expected dask://HOST:PORT or dask://tcp://HOST:PORT"
        )
    return address if "://" in address else f"tcp://{address}"


def _check_executor(args: argparse.Namespace) -> None:
    spec = args.executor
    if spec == "local":
        if args.jobs is not None and args.jobs < 1:
            raise ErnncError(f"--jobs {args.jobs}: expected at least 1")
        return
    if not spec.startswith("dask://"):
        raise ErnncError(f"--executor {spec!r}: expected local or dask://ADDRESS")
    _dask_address(spec)
    if args.jobs is not None:
        raise ErnncError(
            "--jobs sets the local process pool; with --executor dask the cluster's workers "
            "evaluate the designs"
        )
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ErnncError(
            f"--executor {spec}: Dask is not installed; pip install 'ernnc[dask]' "
            "(dask[distributed]) here and on the workers"
        ) from None


def _execute(
    tasks: list[Task], model: bytes, calib: bytes | None, args: argparse.Namespace, done: Done
) -> None:
    if not tasks:
        return
    if args.executor.startswith("dask://"):
        _execute_dask(tasks, model, calib, _dask_address(args.executor), done)
        return
    jobs = min(args.jobs or 1, len(tasks))
    if jobs == 1:
        for i, task in enumerate(tasks):
            done(i, evaluate(task, model, calib))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: the workers start clean (no threads or state of this process)
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(evaluate, t, model, calib): i for i, t in enumerate(tasks)}
        for fut in as_completed(futures):
            done(futures[fut], fut.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _execute_dask(
    tasks: list[Task], model: bytes, calib: bytes | None, address: str, done: Done
) -> None:
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except Exception as e:  # noqa: BLE001 - OSError, TimeoutError, ValueError for bad addresses
        detail = str(e).strip().splitlines()
        raise ErnncError(
            f"--executor dask://: cannot connect to the Dask scheduler at {address}: "
            f"{detail[0] if detail else type(e).__name__}"
        ) from None
    futures = {}
    try:
        # the model and the calibration inputs go to the workers once
        model_f = client.scatter(model, broadcast=True)
        calib_f = client.scatter(calib, broadcast=True) if calib is not None else None
        futures = {
            client.submit(evaluate, t, model_f, calib_f, pure=False): i for i, t in enumerate(tasks)
        }
        for fut in as_completed(futures, loop=client.loop):
            done(futures[fut], fut.result())
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()


class Progress:
    """tqdm's bar when it is installed (pip install 'ernnc[progress]'), else a
    line per point on stderr."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.count, self.quiet, self.bar = total, 0, quiet, None
        if quiet or not total:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, unit="point", desc=PROG, file=sys.stderr, leave=False)

    def update(self, lines: list[str]) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(len(lines))
            return
        for line in lines:
            self.count += 1
            print(f"{PROG}: [{self.count}/{self.total}] {line}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
