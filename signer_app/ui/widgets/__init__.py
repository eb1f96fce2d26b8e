"""Small widgets shared by the main window's pages and the dialogs."""
