"""Reports built from saved runs: the postmortem's facts (pure data; rendering lives in tui.report)."""
