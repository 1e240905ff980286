"""Drills: the Drill value, the TOML loader, hint conditions, hints and symptoms (imports the model only)."""
