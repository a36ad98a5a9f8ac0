"""symbiolink: an industrial-symbiosis platform.

The domain core (``model``, ``codes``, ``io``) works on parks held in memory; ``store`` keeps them in a
database and ``cli`` puts a command line on top.
"""

from symbiolink.errors import Issue, ParkFileError, SymbiolinkError

__version__ = "0.1.0"
__all__ = ["Issue", "ParkFileError", "SymbiolinkError", "__version__"]
