"""Data Readers, column profiling and the embedded demo data."""

from trainyard.data.readers import read
from trainyard.data.schema import ColumnProfile, Finding, Role, Schema, profile

__all__ = ["read", "profile", "Schema", "ColumnProfile", "Role", "Finding"]
