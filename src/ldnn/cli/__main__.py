"""``python -m ldnn.cli``: the same as the ``ldnn`` console script."""

import sys

from . import main

sys.exit(main())
