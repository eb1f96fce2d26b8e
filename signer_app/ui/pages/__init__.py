"""The main window's pages: My keys, Sign, Verify, Sites, Settings, Diagnostics."""
