"""The process group: start it from torchrun's environment with a timeout, account for traffic, fail in one line.

Faults must not hang anyone. Every collective runs under the process group's timeout
(``GRAPHVAE_DIST_TIMEOUT`` seconds, default 300): a rank that dies closes its connections and the
others fail at their next collective; a rank that hangs makes the others fail after the timeout.
Either way :func:`guard` turns the error into a :class:`DistributedError` with one line of text.

A rank that stops before the ranks meet (a refused option or input, under the command line) must not leave the others
waiting for it in the rendezvous until the timeout: the command line joins the rendezvous store (:func:`join`) as soon
as it knows it runs under torchrun, a rank that stops posts how it ended there (:func:`announce_stop`), and every rank
reads the others' before the process group starts (:func:`meet`, run once by :func:`init`): one that stopped is named
by the others, which stop with it. Nothing of this runs per epoch.
"""
from __future__ import annotations

import atexit
import ctypes
import datetime
import hashlib
import math
import os
import re
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist

from ..._validation import InputError
from . import LAUNCH_VARIABLES, DistributedError, timeout_from_env


@dataclass
class Context:
    """Who this process is in the run, and how many bytes it has sent (per kind of exchange)."""

    rank: int
    world_size: int
    timeout: float
    sent_bytes: dict = field(default_factory=dict)

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def count(self, kind: str, nbytes: int) -> None:
        self.sent_bytes[kind] = self.sent_bytes.get(kind, 0) + int(nbytes)

    def total_sent(self) -> int:
        return sum(self.sent_bytes.values())


_CONTEXT: Context | None = None
#: the SIGTERM handler :func:`init` replaced (restored by :func:`shutdown`), and whether it did
_PREVIOUS_SIGTERM = None
_REPLACED_SIGTERM = False
_AT_EXIT = False
#: whether :func:`init` started the process group (:func:`shutdown` ends only a group graphvae started)
_STARTED_GROUP = False
#: the rendezvous store the command line joined (:func:`join`), when it joined it (``time.monotonic``), and whether
#: this rank has told the others how it goes on (:func:`meet`, :func:`announce_stop`)
_STORE = None
_JOINED_AT = 0.0
_MET = False

#: seconds a rank that hosts the rendezvous store (rank 0 without torchrun's agent) and stops before the ranks meet
#: waits for other ranks that have not joined it at all: they start with it, so they join within their start-up's skew;
#: one that never joins is not there to tell (a lone rank, or one that died). Ranks that joined are waited for until
#: they have read the news (bounded by the timeout).
JOIN_GRACE = 5.0


#: ``GRAPHVAE_DIST_TIMEOUT`` in seconds (:func:`graphvae.training.distributed.timeout_from_env`)
timeout_seconds = timeout_from_env


def world_size_from_env() -> int:
    try:
        return int(os.environ["WORLD_SIZE"])
    except (KeyError, ValueError):
        raise DistributedError(f"WORLD_SIZE must be set to an integer, got {os.environ.get('WORLD_SIZE')!r}") from None


def _launch() -> tuple[int, int, float]:
    """``(rank, world size, timeout)`` from torchrun's environment; :class:`DistributedError` for a missing or bad
    variable (:class:`graphvae.InputError` for a bad ``GRAPHVAE_DIST_TIMEOUT``)."""
    missing = [v for v in LAUNCH_VARIABLES if v not in os.environ]
    if missing:
        raise DistributedError(f"WORLD_SIZE is set but {', '.join(missing)} is not: start the run with torchrun")
    timeout = timeout_seconds()
    try:
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    except ValueError:
        raise DistributedError("RANK and WORLD_SIZE must be integers") from None
    if world < 1 or not 0 <= rank < world:
        raise DistributedError(f"rank {rank} is not in a world of size {world}")
    return rank, world, timeout


def _no_rendezvous(rank: int, timeout: float, why: str) -> DistributedError:
    return DistributedError(f"rank {rank}: no rendezvous with the other ranks at {os.environ['MASTER_ADDR']}:"
                            f"{os.environ['MASTER_PORT']} within {timeout:g} s ({why})")


def _register_shutdown() -> None:
    global _AT_EXIT
    if not _AT_EXIT:
        atexit.register(shutdown)
        _AT_EXIT = True


def init(backend: str | None = None) -> Context:
    """Join the process group described by torchrun's environment (once per process) and return the context.

    ``backend`` defaults to gloo (CPU). A missing variable or a rendezvous that does not complete within
    the timeout raises :class:`DistributedError`. After :func:`join` (the command line) the ranks first :func:`meet`
    on the store it joined, and the group is started on that store.
    """
    global _CONTEXT, _PREVIOUS_SIGTERM, _REPLACED_SIGTERM, _STARTED_GROUP
    if _CONTEXT is not None:
        return _CONTEXT
    rank, world, timeout = _launch()
    if not dist.is_initialized():
        if _STORE is not None:
            meet()  # every rank is here and none stopped: the group's rendezvous completes at once
        try:
            with _quiet_native_stderr():  # c10d logs every failed connection attempt with a C++ stack trace
                dist.init_process_group(backend or "gloo", rank=rank, world_size=world,
                                        timeout=datetime.timedelta(seconds=timeout),
                                        # as env:// does with the store it makes
                                        **({} if _STORE is None else {"store": dist.PrefixStore("default_pg", _STORE)}))
        except Exception as e:  # noqa: BLE001 - the store raises several types; all mean "no rendezvous"
            raise _no_rendezvous(rank, timeout, _first_line(e)) from None
        _STARTED_GROUP = True
    _CONTEXT = Context(rank, world, timeout)
    _register_shutdown()
    # torchrun stops the survivors of a failed rank with SIGTERM: say so in one line instead of a traceback
    # (until shutdown(), which puts the caller's handler back)
    if world > 1 and not _REPLACED_SIGTERM:
        try:
            _PREVIOUS_SIGTERM = signal.signal(signal.SIGTERM, _on_sigterm)
            _REPLACED_SIGTERM = True
        except ValueError:  # not the main thread: keep the default handler
            pass
    return _CONTEXT


@contextmanager
def _quiet_native_stderr():
    """Send file descriptor 2 (where C++ logs go) to /dev/null for the duration; Python's errors are raised."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _on_sigterm(signum, frame):  # pragma: no cover - exercised under torchrun only
    print(f"graphvae: rank {_CONTEXT.rank if _CONTEXT else '?'}: stopped by the launcher "
          f"(another rank failed)", file=sys.stderr, flush=True)
    os._exit(143)


def context() -> Context:
    """The current context (:func:`init` first)."""
    if _CONTEXT is None:
        raise RuntimeError("the process group is not started: call graphvae.training.distributed.runtime.init() first")
    return _CONTEXT


# --------------------------------------------------------------------------- before the ranks meet

def _key(*parts) -> str:
    """A key of ours in the rendezvous store (torchrun's agent keeps its store across restarts: one set per attempt)."""
    return "/".join(["graphvae", os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"), *map(str, parts)])


def _hosts_store(rank: int) -> bool:
    """Whether this process serves the rendezvous store: rank 0, unless torchrun's agent serves it."""
    return rank == 0 and os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True"


def join() -> None:
    """Join the rendezvous store of torchrun's environment (rank 0 serves it unless torchrun's agent does), without
    starting the process group: the command line does this first, before it checks its arguments and reads its input,
    so that a rank that stops before training can tell the others (:func:`announce_stop`) and the others stop when they
    :func:`meet` instead of waiting for it until the timeout. :class:`DistributedError` if the store cannot be reached
    within the timeout. Nothing for a world of one rank, or once joined."""
    global _STORE, _JOINED_AT
    if _STORE is not None or _CONTEXT is not None:
        return
    rank, world, timeout = _launch()
    if world == 1:
        return
    try:
        with _quiet_native_stderr():  # the client logs every connection attempt before rank 0 serves the store
            # the store init_process_group's env:// rendezvous makes, except that rank 0 does not wait for the others
            # here (a rank that stops alone must not wait for them): they are waited for when the ranks meet
            store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world,
                                  is_master=_hosts_store(rank), timeout=datetime.timedelta(seconds=timeout),
                                  wait_for_workers=False, multi_tenant=_hosts_store(rank))
            store.set(_key("joined", rank), "1")
    except Exception as e:  # noqa: BLE001 - the store raises several types; all mean "no rendezvous"
        raise _no_rendezvous(rank, timeout, _first_line(e)) from None
    _STORE, _JOINED_AT = store, time.monotonic()
    _register_shutdown()


def meet() -> None:
    """Every rank says it goes on, and reads what the others said (once, before the process group starts; the store
    waits for all of them, up to the timeout). A rank that stopped before (:func:`announce_stop`) is named in one line:
    :class:`graphvae.InputError` when it refused its input (exit status 2), else :class:`DistributedError`."""
    global _MET
    rank, world, timeout = _launch()
    _MET = True
    keys = [_key("status", r) for r in range(world)]
    try:
        with _quiet_native_stderr():
            _STORE.set(keys[rank], "0")
            _STORE.wait(keys)
            said = [_STORE.get(k).decode(errors="replace") for k in keys]
            _STORE.set(_key("read", rank), "1")
    except Exception as e:  # noqa: BLE001 - a timeout, or the store's host (rank 0) gone
        if not is_communication_error(e):
            raise
        try:
            missing = [r for r in range(world) if not _STORE.check([keys[r]])]
        except Exception:  # noqa: BLE001 - the store itself is gone: rank 0 served it
            raise DistributedError(f"rank {rank}: lost contact with rank 0, which serves the rendezvous, before "
                                   f"training (it died): {_first_line(e)}") from None
        raise _no_rendezvous(rank, timeout, f"rank{'s' if len(missing) > 1 else ''} "
                                            f"{', '.join(map(str, missing))} did not arrive") from None
    stopped = []
    for r, text in enumerate(said):
        code, _, line = text.partition("\n")
        if code != "0":
            stopped.append((r, code, line))
    if not stopped:
        return
    _linger(rank, world, timeout)  # the others read from the store this rank serves
    first, code, line = stopped[0]
    who = (f"rank {first}" if len(stopped) == 1 else
           f"ranks {', '.join(str(r) for r, _, _ in stopped)}")
    text = f"{who} stopped before training: {line}" if len(stopped) == 1 else \
        f"{who} stopped before training; rank {first}: {line}"
    raise (InputError if code == "2" else DistributedError)(text)


def announce_stop(code: int, line: str, join_first: bool = False) -> None:
    """Tell the other ranks that this one stops before training (exit status ``code``, its error ``line``), so that
    they stop when they :func:`meet` instead of waiting for it until the timeout; ``join_first``: :func:`join` the
    store first if this rank has not (an argument refused before the command ran; else a rank that could not join has
    nobody to tell). The rank that serves the store stays until the ranks that joined it have read the news
    (:data:`JOIN_GRACE` for those that have not joined). Nothing once the ranks have met (a rank that fails then leaves
    at once, and the others stop at their next collective); silent if the others cannot be reached. Ends with the
    store released."""
    global _MET
    if _MET or _CONTEXT is not None:
        return
    if join_first:
        try:
            join()
        except (DistributedError, InputError):
            return
    if _STORE is None:
        return
    _MET = True
    try:
        rank, world, timeout = _launch()
        with _quiet_native_stderr():
            _STORE.set(_key("status", rank), f"{int(code)}\n{line}")
            _STORE.set(_key("read", rank), "1")
        _linger(rank, world, timeout)
    except Exception as e:  # noqa: BLE001 - the others are out of reach: this rank's own line is said
        if not is_communication_error(e):
            raise
    finally:
        shutdown()


def _linger(rank: int, world: int, timeout: float) -> None:
    """On the rank that serves the store: wait until every other rank has read the others' news or stopped itself
    (up to the timeout), not waiting for ranks that have not joined within :data:`JOIN_GRACE` of this rank."""
    if not _hosts_store(rank):
        return
    pending = set(range(world)) - {rank}
    grace_ends = _JOINED_AT + min(JOIN_GRACE, timeout)
    deadline = time.monotonic() + timeout
    with _quiet_native_stderr():
        while pending and time.monotonic() < deadline:
            for r in sorted(pending):
                if _STORE.check([_key("read", r)]) or (time.monotonic() > grace_ends
                                                        and not _STORE.check([_key("joined", r)])):
                    pending.discard(r)
            if pending:
                time.sleep(0.02)


def running() -> bool:
    """Whether :func:`init` has run (and :func:`shutdown` not since)."""
    return _CONTEXT is not None


def shutdown() -> None:
    """End the process group if :func:`init` started it (a group the caller started is the caller's), forget the
    context and the store :func:`join` joined, and put back the SIGTERM handler :func:`init` replaced (idempotent)."""
    global _CONTEXT, _REPLACED_SIGTERM, _STARTED_GROUP, _STORE, _MET
    if _STARTED_GROUP and dist.is_initialized():
        dist.destroy_process_group()
    _STARTED_GROUP = False
    _CONTEXT = None
    _STORE, _MET = None, False  # the store the command line joined (rank 0 stops serving it)
    if _REPLACED_SIGTERM:
        try:
            signal.signal(signal.SIGTERM, _PREVIOUS_SIGTERM if _PREVIOUS_SIGTERM is not None else signal.SIG_DFL)
            _REPLACED_SIGTERM = False
        except ValueError:  # not the main thread (atexit runs on it; a caller may not)
            pass


def leave(code: int) -> int:
    """End a command-line run: wait for the other ranks (bounded by the timeout), then exit with ``code``.

    The ranks leave together, and through ``os._exit`` once the output is flushed: tearing the process
    group down while another rank still works, or letting the interpreter destroy gloo's threads, can
    abort a finished rank (``terminate called without an active exception``) and turn its status into
    a crash. Outputs are already written and closed (atomic writes) when a command returns.

    A failed rank (``code`` not 0) leaves at once, without the barrier: the others may still be inside a
    collective of the training (an error only this rank met, an interrupt), and would otherwise wait for
    the timeout; its closed connections make them stop at once with one line. A rank that stopped before the ranks
    met has told the others already (:func:`announce_stop`, :func:`meet`); the store it joined is released.
    """
    if _CONTEXT is None or _CONTEXT.world_size == 1:
        if _CONTEXT is None and _STORE is not None:
            shutdown()
        return code
    if code == 0:
        try:
            dist.barrier()
        except Exception:  # noqa: BLE001 - a peer already failed: that rank reports it; just leave
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _first_line(e: BaseException) -> str:
    """The gist of a backend error: its first sentence, without gloo's ``[file.cc:123]`` prefix."""
    text = str(e).strip()
    if not text:
        return type(e).__name__
    text = re.sub(r"^\[[^\]]*\]\s*", "", text.splitlines()[0])
    return re.split(r"(?<=\S)\. ", text, maxsplit=1)[0][:200]


_COMMUNICATION = re.compile(r"gloo|nccl|connection|peer|socket|timed? ?out|timeout|broken pipe", re.I)


def is_communication_error(e: BaseException) -> bool:
    """A failed collective (a lost or silent peer), as opposed to an ordinary bug that must surface as is."""
    dist_error = getattr(dist, "DistError", None)
    if dist_error is not None and isinstance(e, dist_error):
        return True
    return isinstance(e, (RuntimeError, ConnectionError)) and bool(_COMMUNICATION.search(str(e)))


@contextmanager
def guard(what: str = "training"):
    """Turn a failed or timed-out collective into a one-line :class:`DistributedError` (other errors pass)."""
    try:
        yield
    except (DistributedError, InputError):
        raise
    except Exception as e:  # noqa: BLE001 - re-raised unless it is a communication failure
        if not is_communication_error(e):
            raise
        ctx = _CONTEXT
        rank = ctx.rank if ctx else "?"
        raise DistributedError(f"rank {rank}: {what} stopped: lost contact with another rank "
                               f"(it died or did not answer within {ctx.timeout if ctx else '?'} s): "
                               f"{_first_line(e)}") from None


# --------------------------------------------------------------------------- the same input on every rank

def digest(value) -> int:
    """A 56-bit digest of ``value``: arrays and tensors by dtype, shape and bytes, scipy sparse matrices by their CSR
    arrays, tuples and lists item by item, anything else by ``repr``."""
    h = hashlib.blake2b(digest_size=7)

    def feed(v):
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu()
            if v.layout == torch.sparse_coo:
                v = v.coalesce()
                return feed(("sparse_coo", tuple(v.shape), v.indices(), v.values()))
            if v.layout != torch.strided:
                v = v.to_sparse_coo().coalesce()
                return feed(("sparse", tuple(v.shape), v.indices(), v.values()))
            v = v.contiguous().numpy()
        if hasattr(v, "tocsr") and hasattr(v, "nnz"):  # scipy sparse
            v = v.tocsr()
            h.update(f"sparse{v.shape}".encode())
            for part in (v.indptr, v.indices, v.data):
                feed(part)
            return
        if isinstance(v, np.ndarray):
            h.update(f"{v.dtype.str}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).reshape(-1).view(np.uint8))  # no copy of a contiguous array
            return
        if isinstance(v, (tuple, list)):
            h.update(f"seq{len(v)}".encode())
            for item in v:
                feed(item)
            return
        h.update(repr(v).encode())

    feed(value)
    return int.from_bytes(h.digest(), "little")


def check_same_on_every_rank(items: dict, advice: str = "start every rank with the same command and input") -> None:
    """:class:`graphvae.InputError` on every rank (one line, the same) if some of ``items`` (name -> value) differ
    between ranks: the ranks' collectives would no longer match, and they would fail apart, crash or wait for the
    timeout. One all-reduce of a digest per item."""
    ctx = context()
    if ctx.world_size == 1:
        return
    names = list(items)
    digests = torch.tensor([digest(items[name]) for name in names], dtype=torch.int64)
    both = torch.cat([digests, -digests])  # max of d and of -d: the largest and the smallest over ranks
    ctx.count("setup", 2 * (ctx.world_size - 1) * both.numel() * both.element_size() // ctx.world_size)
    with guard("setup"):
        dist.all_reduce(both, op=dist.ReduceOp.MAX)
    k = len(names)
    differ = [name for i, name in enumerate(names) if int(both[i]) != -int(both[k + i])]
    if differ:
        raise InputError(f"the ranks were not given the same {' and '.join(differ)}: {advice}")


# --------------------------------------------------------------------------- memory

def _load_malloc_trim():
    """glibc's ``malloc_trim``, or ``None`` elsewhere (musl, macOS, Windows: nothing to do there)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_MALLOC_TRIM = None if sys.platform != "linux" else _load_malloc_trim()


def release_free_memory() -> None:
    """Hand the heap pages that freed tensors left behind back to the system (glibc's ``malloc_trim``).

    glibc serves blocks below its mmap threshold (dynamic, at most 32 MB) from the heap and keeps them
    when they are freed; a rank's per-step tensors are 1/P of the single process's and mostly fall below
    it, so without this the holes they leave count in the rank's memory. Called four times per step by
    the distributed likelihood (when the encoder starts, when the likelihood's forward ends, and before
    each of the two pair-score backwards, where the step peaks); it costs a walk of the heap and the
    page faults of the reuse.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


# --------------------------------------------------------------------------- counted collectives

def all_reduce_(tensor: torch.Tensor, kind: str) -> torch.Tensor:
    """In-place sum over ranks; counts the ring all-reduce's ``2 (P-1)/P`` bytes per element sent."""
    ctx = context()
    if ctx.world_size > 1:
        ctx.count(kind, 2 * (ctx.world_size - 1) * tensor.numel() * tensor.element_size() // ctx.world_size)
        dist.all_reduce(tensor)
    return tensor


def broadcast_(tensor: torch.Tensor, src: int, kind: str) -> torch.Tensor:
    """In-place broadcast from rank ``src``; counts the ``(P-1)`` copies the source sends."""
    ctx = context()
    if ctx.world_size > 1:
        if ctx.rank == src:
            ctx.count(kind, (ctx.world_size - 1) * tensor.numel() * tensor.element_size())
        dist.broadcast(tensor, src)
    return tensor


def reduce_(tensor: torch.Tensor, dst: int, kind: str) -> torch.Tensor:
    """In-place sum onto rank ``dst`` (the others' ``tensor`` is scratch afterwards); counts what each other rank sends."""
    ctx = context()
    if ctx.world_size > 1:
        if ctx.rank != dst:
            ctx.count(kind, tensor.numel() * tensor.element_size())
        dist.reduce(tensor, dst)
    return tensor


def all_to_all(output: torch.Tensor, input: torch.Tensor, output_splits: list[int], input_splits: list[int],
               kind: str) -> torch.Tensor:
    """``all_to_all_single`` along dim 0; counts the rows sent to other ranks."""
    ctx = context()
    row = math.prod(input.shape[1:]) * input.element_size()  # from the shape: a rank may send no rows at all
    ctx.count(kind, row * (sum(input_splits) - input_splits[ctx.rank]))
    if ctx.world_size == 1:
        output.copy_(input)
        return output
    dist.all_to_all_single(output, input.contiguous(), output_splits, input_splits)
    return output


def exchange_counts(counts: list[int]) -> list[int]:
    """Each rank tells every other how many items it will send it; returns what each rank sends us."""
    out = torch.empty(context().world_size, dtype=torch.int64)
    all_to_all(out, torch.tensor(counts, dtype=torch.int64), [1] * len(counts), [1] * len(counts), "setup")
    return out.tolist()
