"""Eco-industrial-park assessment: criteria with their citations, indicators, gaps and next steps."""

from symbiolink.assessment.assess import Assessment, assess_park, choose_park
from symbiolink.assessment.criteria import Criterion, default_criteria, read_evidence

__all__ = [
    "Assessment",
    "Criterion",
    "assess_park",
    "choose_park",
    "default_criteria",
    "read_evidence",
]
