"""Qalam: desktop PKI and e-signature client for Kazakhstan, NCALayer-compatible."""

__version__ = "0.1.0"
