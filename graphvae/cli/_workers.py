"""Seeds in parallel worker processes, for the command line's multi-seed runs.

A small graph's epoch is a stream of small kernels: torch's second thread mostly waits on the first
(each parallel kernel wakes it, and the Python between kernels runs on one core). Two processes with one
thread each keep both cores busy instead. :func:`map_in_workers` runs a task per item in forked worker
processes, each with one torch thread, and yields the results in the items' order.

Forked workers inherit the parent's loaded graph and settings (nothing is pickled on the way in but
the item), and each seed's split, initialization and draws come from its own seed, so a seed's result
does not depend on the number of workers: it is the result of the same run in one process with one thread.
Only the command line uses this (it sets the workers' thread count, a process-wide setting); library calls
never start processes. Linux only (``fork``); elsewhere everything runs in this process.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: the task the forked workers run: set before the pool forks, so the workers inherit it (closures need no pickling)
_TASK: Callable | None = None


def can_fork() -> bool:
    """Whether worker processes are available here (Linux, where ``fork`` copies the loaded process)."""
    import multiprocessing

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class WorkerDied(RuntimeError):
    """A worker process ended without returning its result (killed by the system, e.g. out of memory)."""


def map_in_workers(task: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """``task(item)`` for every item, yielded in order; with ``workers > 1`` (and more than one item) in that many
    forked processes with one torch thread each. An exception in a worker is raised here, as it would be in
    this process; a worker that dies (e.g. killed for memory) raises :class:`WorkerDied` instead of leaving the
    caller waiting; leaving the iteration early stops the workers.

    The workers are forked by this call, not at the first ``next``, and before the executor starts its own thread:
    start anything that runs threads of its own in this process (a progress bar's monitor) afterwards, since a fork
    copies the locks such a thread may hold."""
    global _TASK
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return (task(item) for item in items)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _TASK = task
    executor = ProcessPoolExecutor(min(workers, len(items)), mp_context=multiprocessing.get_context("fork"),
                                   initializer=_one_thread)
    try:
        results = executor.map(_run, items)  # submits every item; with fork all workers start before its thread
    except BaseException:
        _stop(executor, running=True)
        raise
    return _results(executor, results)


def _results(executor, results: Iterator) -> Iterator:
    from concurrent.futures.process import BrokenProcessPool

    done = False
    try:
        yield from results
        done = True
    except BrokenProcessPool:
        raise WorkerDied("a worker process was killed before it finished (out of memory?): train with fewer "
                         "workers (--workers 1)") from None
    finally:
        _stop(executor, running=not done)


def _stop(executor, running: bool) -> None:
    """Shut the workers down; ``running``: stop the seeds they are still training instead of waiting for them."""
    global _TASK
    if running:  # the executor's public shutdown would wait for the running seeds (no public way to stop them)
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.terminate()
    executor.shutdown(wait=True, cancel_futures=True)
    _TASK = None


class SeedLines:
    """Where a multi-seed command reports each finished seed: a printed line (in one process the model's own bar
    shows the epochs), above one progress bar over the seeds when workers train them (theirs would collide)."""

    def __init__(self, seeds: int, workers: int, progress: bool, echo: Callable[..., None] = print) -> None:
        self.echo, self.bar = echo, None
        if workers > 1 and progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=seeds, desc=f"seeds ({workers} workers)", leave=False)

    def __call__(self, line: str) -> None:
        """Report one finished seed."""
        if self.bar is None:
            self.echo(line, flush=True)
        else:
            self.bar.update()
            self.bar.write(line, file=sys.stdout)

    def __enter__(self) -> "SeedLines":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def _one_thread() -> None:
    """A worker's start: one torch thread, Ctrl-C left to the parent (which stops the pool), and progress bars with a
    lock of the worker's own (:func:`_own_progress_lock`)."""
    import signal

    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    _own_progress_lock()


def _own_progress_lock() -> None:
    """Give this forked worker's tqdm bars a plain lock of its own and no monitor thread.

    tqdm's default lock includes a ``multiprocessing`` lock that a fork shares with the parent (and every bar takes
    it, hidden ones too, as does the monitor thread every few seconds): a worker terminated while holding it (the
    pool stops the others when one seed fails) left the parent's next progress bar waiting forever. The worker's
    bars are hidden or its own anyway (:class:`SeedLines` draws the parent's)."""
    import threading

    from tqdm import std
    from tqdm.auto import tqdm as auto

    lock = threading.RLock()
    for cls in {std.tqdm, auto}:
        cls.set_lock(lock)
        cls.monitor_interval = 0


def _run(item):
    return _TASK(item)
