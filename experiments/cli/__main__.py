"""``python -m experiments.cli``: the same as the ``carry-unwind`` console script."""

import sys

from experiments.cli.entry import main

sys.exit(main())
