"""Entry point of `python -m perf`."""

import sys

from perf.cli import main

sys.exit(main())
