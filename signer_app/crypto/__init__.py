"""The pure cryptographic core: bytes, streams, keys and certificates in; values or QalamError out.

Nothing here knows about people, sockets or Qt (shared/ARCHITECTURE.md, rule 1).
"""
