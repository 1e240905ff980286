"""Brownout's simulator: a deterministic, vectorised model of a web service under load.

Pure model code: numpy and attrs only, never Textual or Rich (a test enforces it).
"""

ENGINE_VERSION = "1"
