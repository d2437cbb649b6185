"""Layer 7, the command line: :func:`main` dispatches to one module per subcommand (``linkpred``,
``embed``, ``classify``, ``cluster``, ``vae``, ``ae``), imported only when named."""
from .main import main

__all__ = ["main"]
