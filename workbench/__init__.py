"""Voice Cloning Workbench."""
