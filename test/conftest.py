"""Shared fixtures: the test folder on sys.path so helper modules import by name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
