"""A table you pick a row from: Home and End go to the first and last row."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class RowTable(DataTable):
    """`DataTable` with a row cursor, where Home/End move it to the first/last row.

    DataTable's own Home/End scroll sideways (ctrl+Home/End move the cursor); in a list
    of drills or saves that is never what the key is pressed for.
    """

    BINDINGS = [
        Binding("home", "scroll_top", "First", show=False, id="table.first"),
        Binding("end", "scroll_bottom", "Last", show=False, id="table.last"),
    ]

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
