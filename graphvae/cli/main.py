"""The ``graphvae`` command. Each subcommand is a module of :mod:`graphvae.cli` that registers itself here.

Only the named subcommand's module is imported, and command modules import torch and the models
inside ``run``, so ``--help`` and bad arguments or paths answer without loading torch.
Bad input (:class:`graphvae.InputError`, unreadable files, bad arguments) is reported as one line on
stderr with exit status 2; under torchrun a lost rank, a timeout, a failed rendezvous or a ``WORLD_SIZE`` without
torchrun's other variables (:class:`graphvae.training.distributed.DistributedError`) is one line with exit status 1;
nothing is printed as a traceback. A rank of several under torchrun (``linkpred``, ``embed``) joins the rendezvous
store once its arguments parse (this loads torch), and a rank that stops before the ranks meet (a refused argument or
input) tells the others, which stop at once naming it (:func:`graphvae.training.distributed.runtime.announce_stop`).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from .._validation import InputError
from ..training.distributed import LAUNCH_VARIABLES, DistributedError, launched, timeout_from_env
from ._workers import WorkerDied

#: subcommand -> one-line help; module ``graphvae.cli.<name>`` has ``register(subparsers)``
#: that adds the parser and sets ``func(args) -> int``
COMMANDS = {
    "linkpred": "link prediction: train on a split, report test AUC and AP",
    "embed": "train on a graph and write node embeddings",
    "classify": "node classification probe on unsupervised embeddings (accuracy, macro-F1)",
    "cluster": "cluster nodes by EM on a Gaussian mixture (or k-means); ACC, NMI, ARI",
    "vae": "image VAE (a VGAE on a graph without edges): ELBO, IWAE, Fréchet distance, figures",
    "ae": "autoencoders: vanilla, denoising, sparse, contractive, stacked (images or graphs)",
}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``graphvae linkpred: error: ...`` and exit status 2."""

    def error(self, message: str):
        global _stop_line
        _stop_line = f"{message} (see {self.prog} --help)"
        self.exit(2, f"{self.prog}: error: {_stop_line}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (all of them when ``command`` is ``"*"``)."""
    parser = _Parser(prog="graphvae", description="Variational graph auto-encoders, and image VAEs and autoencoders "
                                                  "as their no-edge case: link prediction, node embeddings, figures.")
    parser.add_argument("--version", action="version", version=f"graphvae {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    parser.set_defaults(_commands=sub.choices)  # each command's parser, to report its own unknown options
    for name, help_line in COMMANDS.items():
        if command in (name, "*"):
            importlib.import_module(f"graphvae.cli.{name}").register(sub)
        else:
            sub.add_parser(name, help=help_line, add_help=False)
    return parser


def _version() -> str:
    from .. import __version__
    return __version__


#: the commands that train across the ranks under torchrun (:mod:`graphvae.training.distributed`, rank 0 writes the
#: outputs); the others refuse torchrun rather than run the whole job on every rank
TORCHRUN_COMMANDS = ("linkpred", "embed")


def check_torchrun(command: str) -> None:
    """Under torchrun (``WORLD_SIZE`` set), before any data is loaded: ``WORLD_SIZE`` must be a positive integer and a
    command that does not train across ranks is refused when there are several (:class:`graphvae.InputError`); a
    command that does needs a valid ``GRAPHVAE_DIST_TIMEOUT`` (:class:`graphvae.InputError`) and torchrun's other
    variables (:class:`DistributedError`, as the rendezvous would say after loading the graph)."""
    if not launched():
        return
    text = os.environ["WORLD_SIZE"]
    try:
        world = int(text)
    except ValueError:
        world = 0
    if world < 1:  # set by another tool, or left over: say so, rather than "does not run under torchrun" or a failure
        raise InputError(f"WORLD_SIZE must be a positive integer (the number of torchrun processes), got {text!r}: "
                         f"unset it to run as one process")
    if command not in TORCHRUN_COMMANDS:
        if world != 1:  # one rank is one process: the command runs as it is
            raise InputError(f"{command} does not run under torchrun (every rank would run the whole job and write "
                             f"the outputs): run it as one process, without torchrun")
        return
    timeout_from_env()
    missing = [name for name in LAUNCH_VARIABLES if name not in os.environ]
    if missing:  # the rendezvous would fail the same way, but after the graph is loaded
        raise DistributedError(f"WORLD_SIZE is set but {', '.join(missing)} is not: start the run with torchrun, or unset "
                               f"WORLD_SIZE to run as one process")


def _torchrun_rank(command: str | None) -> bool:
    """Whether this process is one rank of several of a torchrun job of a command that trains across the ranks (with
    torchrun's variables: else :func:`check_torchrun` refuses, on every rank alike)."""
    if command not in TORCHRUN_COMMANDS or not launched() or any(v not in os.environ for v in LAUNCH_VARIABLES):
        return False
    try:
        return int(os.environ["WORLD_SIZE"]) > 1
    except ValueError:
        return False


#: the error line (after ``graphvae COMMAND: error: ``) this run printed, for the other ranks of a torchrun job
_stop_line: str | None = None


def _tell_the_other_ranks(command: str | None, code: int, join_first: bool = False) -> None:
    """Under torchrun, before the ranks meet: tell the others that this rank stops with ``code`` and its error line,
    so that they stop at once naming it instead of waiting for it in the rendezvous until the timeout
    (:func:`graphvae.training.distributed.runtime.announce_stop`; ``join_first``: the rank stopped before it joined the
    rendezvous store, on its arguments). Nothing without torchrun."""
    if code and _torchrun_rank(command):
        from ..training.distributed import runtime

        runtime.announce_stop(code, _stop_line or f"exit status {code}", join_first=join_first)


#: commands that import torch and scikit-learn with Python's garbage collector paused and resume it, with those
#: objects frozen, before training (:func:`graphvae.cli._common.prepare_training`)
PAUSED_IMPORTS = ("linkpred", "embed", "classify", "cluster")


def main(argv: list[str] | None = None) -> int:
    """Run the command in ``argv`` (default: the process's arguments) and return its exit status.

    As the process's own command (``argv`` not given: the ``graphvae`` script, ``python -m graphvae``) it also
    tunes the interpreter for a short-lived process (:mod:`graphvae.allocator`): tensors of 2 MB and more go on
    transparent huge pages where the kernel offers them, a training command imports its
    libraries with the garbage collector paused, and every object is frozen before the interpreter exits, which
    makes the exit cheap. Called with ``argv`` (tests, other programs) it leaves the interpreter alone.
    """
    global _stop_line
    program = argv is None
    argv = None if program else list(argv)
    command = _command(sys.argv[1:] if program else argv)
    _stop_line = None
    if program:
        from .. import allocator

        allocator.use_huge_pages()  # before any tensor exists: PyTorch reads the switch at its first allocation
        if command in PAUSED_IMPORTS:
            allocator.pause_collection()
    try:
        code = _run(argv)
    except SystemExit as e:  # argparse: a bad argument (its line is printed), --help, --version
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
        _tell_the_other_ranks(command, code, join_first=True)  # it stopped before joining the rendezvous store
        raise
    except BaseException as e:  # a bug, whose traceback follows: the other ranks need not wait for this one
        _stop_line = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        _tell_the_other_ranks(command, 1)
        raise
    finally:
        if program:
            allocator.freeze_before_exit()
    _tell_the_other_ranks(command, code)
    runtime = sys.modules.get("graphvae.training.distributed.runtime")  # only imported under torchrun
    return runtime.leave(code) if runtime is not None else code


def _command(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (its first word that is not an option), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def _run(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command(argv)
    parser = build_parser(command if command in COMMANDS else None)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the command's parser says it ("graphvae embed: error: ... (see graphvae embed --help)")
        parser.get_default("_commands")[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    del args._commands
    if getattr(args, "no_progress", True) is False and not _is_terminal(sys.stderr):
        args.no_progress = True  # a log file or a pipe gets no progress bar (tqdm's carriage-return redraws)
    try:
        check_torchrun(args.command)
        if _torchrun_rank(args.command):  # before any input is checked: a rank that refuses it can tell the others
            from ..training.distributed import runtime

            runtime.join()
        with warnings.catch_warnings():  # restores the caller's showwarning when the command ends
            warnings.showwarning = _warning_line(args.command)
            code = int(args.func(args) or 0)
        _notes("release_notes")  # lines a command held and never released: not lost
        return code
    except BrokenPipeError:
        # the reader went away (e.g. `graphvae linkpred ... | head`): stop quietly, as a shell tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (InputError, TypeError, OSError) as e:
        # TypeError is raised by the API only for wrong input types; OSError for files the OS refuses
        _notes("drop_notes")  # the error is the only line, not after the graph's summary
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        return _error(args.command, message, 2)
    except WorkerDied as e:
        return _error(args.command, str(e), 1)
    except DistributedError as e:
        # torchrun: a lost peer, a timeout or no rendezvous (one line per rank, no traceback)
        return _error(args.command, str(e), 1)
    except (MemoryError, RuntimeError) as e:
        # a model or graph too large for this machine (e.g. --hidden 100000000): torch's allocator raises RuntimeError
        if not _out_of_memory(e):
            raise
        from ._common import GRAPH_DATASETS

        images = args.command == "vae" or (args.command == "ae" and getattr(args, "dataset", None) not in GRAPH_DATASETS)
        data = "fewer images or a smaller --batch-size" if images else "a smaller graph"
        return _error(args.command, f"out of memory ({_allocation(e)}): choose a smaller model (--hidden, --latent) "
                                    f"or {data}", 2)
    except KeyboardInterrupt:
        _error(args.command, "interrupted", 130, line="graphvae: interrupted")
        return 130
    finally:  # whatever stopped the command (a dead worker, out of memory), nothing held outlives it
        _notes("drop_notes")


def _error(command: str, message: str, code: int, line: str | None = None) -> int:
    """Print ``graphvae COMMAND: error: MESSAGE`` (or ``line``) on stderr, keep the message for the other ranks of a
    torchrun job (:func:`_tell_the_other_ranks`) and return ``code``."""
    global _stop_line
    _stop_line = message
    print(line or f"graphvae {command}: error: {message}", file=sys.stderr)
    return code


def _warning_line(command: str):
    """A ``warnings.showwarning`` that prints a warning as one line, ``graphvae COMMAND: warning: ...`` (Python's own
    format adds the file, line and source line of the library code that warned)."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message).splitlines()[0] if str(message) else category.__name__
        print(f"graphvae {command}: warning: {text}", file=sys.stderr if file is None else file)
    return show


def _notes(action: str) -> None:
    """Release or drop the informational lines a command held (:func:`graphvae.cli._common.hold_note`), if it held any."""
    common = sys.modules.get("graphvae.cli._common")  # not imported: nothing held (and --help stays light)
    if common is not None:
        getattr(common, action)()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an allocation failure (``MemoryError``, or torch's allocator's ``RuntimeError``)."""
    text = str(error)
    return isinstance(error, MemoryError) or "can't allocate memory" in text or "out of memory" in text.lower()


def _allocation(error: BaseException) -> str:
    """The size of the allocation that failed, from torch's message ("tried to allocate N bytes"), if it says."""
    import re

    match = re.search(r"tried to allocate (\d+) bytes", str(error))
    return f"{int(match.group(1)) / 2**30:.1f} GiB requested" if match else type(error).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
