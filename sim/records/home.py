"""Brownout's data folder: where saves and player progress live.

$BROWNOUT_HOME if set, else `brownout` in the platform's user data folder
(platformdirs: `~/.local/share/brownout` on Linux or `$XDG_DATA_HOME/brownout`,
`~/Library/Application Support/brownout` on macOS, `%LOCALAPPDATA%\\brownout` on
Windows), whatever the current folder. Saves go to its `saves` folder unless
$BROWNOUT_SAVES names another; progress goes to its `progress` folder.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "BROWNOUT_HOME"


def brownout_home() -> Path:
    """The data folder: $BROWNOUT_HOME, else the platform's user data folder for brownout."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return platformdirs.user_data_path("brownout", appauthor=False)


def progress_dir() -> Path:
    """Where each player's progress file lives."""
    return brownout_home() / "progress"
