"""Offline question answering over your documents, with verbatim cited sources."""

__version__ = "0.1.0"
