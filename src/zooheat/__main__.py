"""Allow ``python -m zooheat``."""

import sys

from zooheat.cli import main

sys.exit(main())
