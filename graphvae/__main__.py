"""``python -m graphvae``: the same as the ``graphvae`` command."""
import sys

from .cli import main

sys.exit(main())
