"""Qalam's bundled test CA: KZ certificate profiles and the fixed demo PKI (TEST ONLY)."""
