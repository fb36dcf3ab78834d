"""``python -m ganaugment``: the same command line as the ``ganaugment`` script."""

import sys

from .cli import main

if __name__ == "__main__":  # importing the module (documentation tools do) must not run the CLI
    sys.exit(main())
