"""``python -m ganaugment``: the same command line as the ``ganaugment`` script."""

import sys

from .cli import main

sys.exit(main())
