"""Scores with reason codes: per exchange (how harvest-like one request is) and per account."""

from .score import score_level

__all__ = ["score_level"]
