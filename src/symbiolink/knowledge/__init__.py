"""Knowledge of industrial symbiosis: resource classes and documented exchanges, with provenance."""

from symbiolink.knowledge.base import Evidence, KnowledgeBase, default_knowledge
from symbiolink.knowledge.classes import ClassHit, Classifier, ResourceClass, default_classifier

__all__ = [
    "ClassHit",
    "Classifier",
    "Evidence",
    "KnowledgeBase",
    "ResourceClass",
    "default_classifier",
    "default_knowledge",
]
