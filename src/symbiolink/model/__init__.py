"""The park model: parks, companies, streams, their units and their validation."""

from symbiolink.model.park import FORMAT, Company, Park, ParkFile, Stream, StreamProperties
from symbiolink.model.validate import validate_document

__all__ = [
    "FORMAT",
    "Company",
    "Park",
    "ParkFile",
    "Stream",
    "StreamProperties",
    "validate_document",
]
