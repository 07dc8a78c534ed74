"""``python -m ingest``: delegate to the command line in ``ingest.cli``."""

import sys

from ingest.cli import main

sys.exit(main())
