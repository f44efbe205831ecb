"""`python -m sim` is the `kafkasim` command."""

import sys

from .cli import main

sys.exit(main())
