"""Stories: one event reported by many outlets is one story; a near-identical copy points to the earliest copy."""

from services.stories.core import Candidate, Decision, Fingerprint, StoryParams, decide, fingerprint, load_params

__all__ = ["Candidate", "Decision", "Fingerprint", "StoryParams", "decide", "fingerprint", "load_params"]
