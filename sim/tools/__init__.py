"""Developer tools: the benchmark and the theory validation (may import any layer)."""
