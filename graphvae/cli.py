"""The ``graphvae`` command. Each subcommand lives in :mod:`graphvae.commands` and registers itself here.

Bad input (:class:`graphvae.InputError`, unreadable files) is reported as one line on stderr with exit
status 2; nothing is printed as a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from ._validation import InputError

#: subcommand modules, each with ``register(subparsers)`` that sets ``func(args) -> int``
COMMANDS = ["linkpred", "embed", "classify", "cluster", "vae", "ae"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphvae", description="Variational graph auto-encoders, and image VAEs and autoencoders as their "
                                     "no-edge case: link prediction, node embeddings, figures.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"graphvae.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader went away (e.g. `graphvae linkpred ... | head`): stop quietly, as a shell tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (InputError, TypeError, OSError) as e:
        # TypeError is raised by the API only for wrong input types; OSError for files the OS refuses
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"graphvae {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graphvae: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
