"""Ties: the register of which Korean government works with which foreign partner, since when, on what."""

from services.ties.register import build, fold, fold_evidence, story_of, tie_id, ties_of, updated, with_register

__all__ = ["build", "fold", "fold_evidence", "story_of", "tie_id", "ties_of", "updated", "with_register"]
