"""Where the checkout and its tests folder are, for tests in any sub-folder of tests/."""

from __future__ import annotations

import os

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TESTS)
