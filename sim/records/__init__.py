"""Saves and exact replays (imports every layer below it)."""
