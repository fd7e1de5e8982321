"""Moved to ``actors.fast.in_place``; kept until every importer follows."""

from .fast.in_place import *  # noqa: F403
