"""The application layer: one SigningService for every front door, and the Prompter it asks."""
