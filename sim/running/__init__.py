"""Headless runs: whole drills, action files, runbooks, JUnit (imports every layer below records)."""
