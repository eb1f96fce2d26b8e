"""The NCALayer-compatible local API: dispatch (JSON in, JSON out), modules, WebSocket server."""
