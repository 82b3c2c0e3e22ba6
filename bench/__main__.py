"""`python -m bench`: run the whole benchmark and update docs/performance.md."""

import sys

from .run import main

sys.exit(main())
