"""Ties: the register of which Korean government works with which foreign partner, since when, on what."""

from services.ties.register import build, fold, tie_id, ties_of, with_register

__all__ = ["build", "fold", "tie_id", "ties_of", "with_register"]
