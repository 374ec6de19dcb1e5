"""The exceptions and warnings seglab raises.

Every error a user can cause derives from :class:`SeglabError`; the command line turns those into
a short message and exit code 2. Anything else is a bug (exit code 1).
"""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "ModelError", "SchemaError", "SeglabError", "SeglabWarning"]


class SeglabError(Exception):
    """Base class of every error caused by the user's input (config, data, arguments)."""


class ConfigError(SeglabError):
    """A configuration value or key is wrong: unknown key, bad type, impossible value."""


class SchemaError(SeglabError):
    """Input data does not match the contract: missing columns, wrong types."""


class DataError(SeglabError):
    """Input data matches the contract but its values are unusable (empty, out of range)."""


class ModelError(SeglabError):
    """A saved segmentation cannot be used: missing, damaged, another format, untrusted content."""


class SeglabWarning(UserWarning):
    """Base class of the warnings seglab issues about the data or the analysis."""
