"""One file per protocol module (shared/PROTOCOL.md §6-§9), each a handler table."""
