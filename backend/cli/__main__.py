"""``python -m backend.cli``: the ``plume`` command."""

import sys

from . import main

sys.exit(main())
