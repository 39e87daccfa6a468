"""trainyard: give it a table and a target; it reads, cleans, trains, validates and explains."""

from trainyard.data.readers import read
from trainyard.data.schema import ColumnProfile, Finding, Role, Schema, profile
from trainyard.errors import DataError, SchemaError, TrainyardError, TrainyardWarning

__version__ = "0.1.0"

__all__ = [
    "read",
    "profile",
    "Schema",
    "ColumnProfile",
    "Role",
    "Finding",
    "TrainyardError",
    "DataError",
    "SchemaError",
    "TrainyardWarning",
    "__version__",
]
