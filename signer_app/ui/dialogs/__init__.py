"""The dialogs behind every API request (QtPrompter) and the error dialog."""
