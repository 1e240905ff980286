"""`brownout facilitate`, `brownout watch`, `brownout serve watch`, and `play --host/--listen`.

Importing this module does not import Textual: the apps are imported only when opened.
"""

from __future__ import annotations

import os
import shlex
import sys

from tui.facilitation.joining import Address, JoinError, check_code_shape, is_loopback, parse_host_port

CODE_ENV = "BROWNOUT_JOIN_CODE"
"""The join code when CODE is left out: keeps it off the command line, where `ps` shows it to
every user of the machine (`brownout serve watch` hands it to each browser's process this way)."""


def add_play_options(play) -> None:
    """`--host` and `--listen HOST:PORT` on `brownout play`."""
    play.add_argument("--host", action="store_true",
                      help="let a facilitator and spectators join (Unix socket, this user only)")
    play.add_argument("--listen", metavar="HOST:PORT",
                      help="host on TCP instead (implies --host), e.g. 127.0.0.1:4555 for SSH port forwarding")


def add_commands(commands, parser_class) -> None:
    """The facilitate, watch and serve subcommands."""
    for name, role_help in (("facilitate", "steer a hosted drill: pause, speed, inject faults, message the trainee"),
                            ("watch", "watch a hosted drill read-only")):
        sub = commands.add_parser(name, help=role_help)
        _add_join_options(sub)
    serve = commands.add_parser("serve", help="serve a view to web browsers (needs the serve extra)")
    serve_commands = serve.add_subparsers(dest="serve_command", metavar="SUBCOMMAND", parser_class=parser_class,
                                          required=True)
    serve_watch = serve_commands.add_parser("watch", help="the spectator view of a hosted drill, for a projector")
    _add_join_options(serve_watch)
    serve_watch.add_argument("--bind", default="localhost", metavar="HOST",
                             help="address the web server listens on (default localhost)")
    serve_watch.add_argument("--port", type=int, default=8000, metavar="PORT", help="web server port (default 8000)")


def _add_join_options(parser) -> None:
    parser.add_argument("code", metavar="CODE", nargs="?",
                        help=f"the join code the host shows (default ${CODE_ENV})")
    parser.add_argument("--connect", metavar="HOST:PORT", help="a host that listens on TCP (play --listen)")
    parser.add_argument("--name", metavar="NAME", help="the name the host shows when you join")


def listen_address(args) -> Address | None:
    """`--listen` as an Address (port 0: any free port); JoinError when it is not HOST:PORT."""
    if not getattr(args, "listen", None):
        return None
    return parse_host_port(args.listen, allow_zero=True)


def listen_warning(address: Address) -> str:
    """What the trainee should know before listening on TCP."""
    if is_loopback(address.host):
        return (f"note: listening on {address.host}:{address.port}: every user of this machine can connect "
                "(the code still keeps them out); teammates elsewhere reach it through SSH port forwarding")
    return (f"warning: listening on {address.host}:{address.port} accepts connections from other machines; "
            "the connection is not encrypted, so anyone on the path can read the code and the drill. "
            "Prefer 127.0.0.1 with SSH port forwarding (ssh -L PORT:127.0.0.1:PORT this-machine)")


def _code(args) -> str:
    text = args.code if args.code is not None else os.environ.get(CODE_ENV)
    if not text:
        command = "serve watch" if args.command == "serve" else args.command
        raise JoinError(f"give the join code: brownout {command} CODE (or set {CODE_ENV})")
    return check_code_shape(text)


def _error(message: str) -> None:
    from sim.records.saves import printable  # a code or address typed by hand may hold escape sequences

    print(f"error: {printable(message)}", file=sys.stderr)


def run(args) -> int:
    """Dispatch facilitate / watch / serve; every bad input is one stderr line and exit 2."""
    from tui.cli import EXIT_BAD_INPUT

    try:
        code = _code(args)
        connect = parse_host_port(args.connect) if args.connect else None
        if args.command == "serve":
            return _serve(args, code, connect)
        from tui.facilitation.peer import address_for

        address = address_for(code, connect)
    except JoinError as error:
        _error(str(error))
        return EXIT_BAD_INPUT
    from tui.facilitation.peer_app import PeerApp

    role = "facilitator" if args.command == "facilitate" else "spectator"
    app = PeerApp(address, code, role, name=args.name)
    app.run()
    if app.final_reason is not None and app.final_reason != "the drill is over":
        print(f"brownout {args.command}: the host said: {app.final_reason}", file=sys.stderr)
        return 1
    return app.return_code or 0


def _serve(args, code: str, connect: Address | None) -> int:
    from tui.cli import EXIT_BAD_INPUT

    try:
        from textual_serve.server import Server
    except ImportError:
        _error("brownout serve needs textual-serve: pip install 'brownout[serve]'")
        return EXIT_BAD_INPUT
    if connect is None:
        from tui.facilitation.peer import address_for

        address_for(code)  # fail now, not in each browser's process
    # Each browser gets its own `brownout watch` process; the code goes through the environment.
    os.environ[CODE_ENV] = code
    command = [sys.executable, "-m", "tui.cli", "watch"]
    if connect is not None:
        command += ["--connect", args.connect]
    if not is_loopback(args.bind):
        print(f"warning: serving on {args.bind}:{args.port}: anyone who can reach it sees the drill "
              "(the web view has no code)", file=sys.stderr)
    Server(shlex.join(command), host=args.bind, port=args.port, title="Brownout: watching a drill").serve()
    return 0
