"""The model: frozen specs, units, distributions, gauges and results (imports nothing else of sim)."""
