"""Entry point of `python -m perf`."""

import sys

from perf.cli.main import main

sys.exit(main())
