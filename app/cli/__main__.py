"""`python -m app.cli` runs the same entry point as the `minutekeeper` script."""

import sys

from minutekeeper.cli import main

sys.exit(main())
