"""The trainee's app starts and ends hosting here: bind, serve, show the join code; say goodbye."""

from __future__ import annotations

from tui.dialogs.message_dialog import MessageDialog
from tui.facilitation.host import Host
from tui.facilitation.joining import JoinError


def begin_hosting(app) -> Host | None:
    """Listen for the live run's facilitator and spectators; pause the clock and show how to join.

    A drill that cannot be hosted (the address is taken, say) is still played: the dialog
    says why nobody can join.
    """
    host = Host(app, listen=app.host_listen)
    try:
        host.bind()
    except JoinError as error:
        app.host_requested = False
        app.push_screen(MessageDialog("Cannot host this drill", f"{error}\n\nThe drill runs unhosted."))
        return None
    app.hosting = host
    app.run_worker(host.serve(), group="host", name="host-listen", exit_on_error=False)
    if app.live is not None:
        app.set_paused(True)
    body = "\n".join(host.join_lines()) + (
        "\n\nThe clock is paused until the facilitator resumes it (or you press space)."
        "\nAnyone with the code can watch; only one facilitator at a time can act.")
    app.push_screen(MessageDialog("Hosting this drill", body))
    return host


def end_hosting(app, final_frame) -> None:
    """The run ended: peers get the last frame and a goodbye, and the host stops listening."""
    host = app.hosting
    app.hosting = None
    app.host_requested = False
    if host is None:
        return
    host.publish(final_frame)
    app.run_worker(host.close("the drill is over"), group="host", name="host-close", exit_on_error=False)
