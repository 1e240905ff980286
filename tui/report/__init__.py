"""The postmortem report: the document, its charts (matplotlib), Markdown and HTML, and writing them.

Nothing here imports Textual: `brownout report` stays a headless command.
"""
