"""The desktop app (PySide6): tray, main window, dialogs and the QtPrompter."""
