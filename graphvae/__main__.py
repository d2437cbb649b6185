"""``python -m graphvae``: the same as the ``graphvae`` command."""
import sys

from .cli.main import main

sys.exit(main())
