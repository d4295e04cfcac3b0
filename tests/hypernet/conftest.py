"""Makes the hypernet tests' shared helpers (hn_helpers.py) importable under --import-mode=importlib."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
