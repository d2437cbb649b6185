"""Subcommands of the ``graphvae`` command line (see :mod:`graphvae.cli`)."""
