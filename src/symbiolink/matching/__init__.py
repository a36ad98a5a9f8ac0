"""Matching supplies to receivers, with reasons and the sources behind them."""

from symbiolink.matching.engine import DemandMatch, Match, Matcher, match_park
from symbiolink.matching.rules import Limits

__all__ = ["DemandMatch", "Limits", "Match", "Matcher", "match_park"]
