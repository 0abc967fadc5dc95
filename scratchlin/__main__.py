"""``python -m scratchlin``: the ``scratchlin`` command (see :mod:`scratchlin.cli`)."""
from .cli import main

raise SystemExit(main())
