"""Every style of the sequence task, end to end: see end_to_end.py."""

from end_to_end import *  # noqa: F403

TASK = "sequence"
