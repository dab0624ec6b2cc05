"""Tagger: clean article → places with coordinates, people, organizations, events, relations, sectors."""

from services.tagger.core import tag

__all__ = ["tag"]
