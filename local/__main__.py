"""``.venv/bin/python -m local demo`` (what ``make demo`` runs) and ``.venv/bin/python -m local serve`` (``make local``)."""

import sys

from local.cli import main

sys.exit(main())
