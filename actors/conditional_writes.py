"""Moved to ``actors.fast.conditional_writes``; kept until every importer follows."""

from .fast.conditional_writes import *  # noqa: F403
