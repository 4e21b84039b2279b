"""``python -m grader.cli``: the ``dlgrade`` command."""

import sys

from grader.cli import main

sys.exit(main())
