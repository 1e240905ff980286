"""SLO tracking, the score and SLO alerts (imports the model and drills)."""
