"""Facilitator mode: a hosted drill that a facilitator steers and spectators watch, over a socket.

`protocol` (the line protocol), `frames` (frames as JSON), `joining` (codes, sockets,
addresses), `host` (the trainee's side, in the app's event loop), `peer` and
`peer_app` (the facilitator's and the spectators' side), `screens` and `dialogs`.
"""
