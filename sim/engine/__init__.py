"""The step engine and the operator actions that change it (imports the model only)."""
