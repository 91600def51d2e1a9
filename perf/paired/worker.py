"""`python -m perf.paired.worker`: one side of a paired run, a long-lived process answering one JSON line on stdout
for each JSON command line on stdin (perf.paired.protocol).

Its stdout carries the protocol only: the real stdout is kept for the replies and sys.stdout becomes stderr, so a
library's print or a warning can never break a line. Any exception, an import failure of torch or vggt included,
is answered as one `failed` line, never a traceback on the driver's terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Protocol, TextIO

from perf.paired.protocol import Bye, Command, Failed, ProtocolError, Quit, Reply, decode_command, encode


class Handler(Protocol):
    def handle(self, command: Command) -> Reply: ...


def serve(lines: Iterable[str], answer: Callable[[str], None], start: Callable[[], Handler]) -> None:
    """Answer each command line until quit or the end of input; the handler is started at the first command that
    needs it, so a worker whose torch or vggt cannot import still answers (a failure, with the reason)."""
    handler: Handler | None = None
    for line in lines:
        if not line.strip():
            continue
        try:
            command = decode_command(line)
        except ProtocolError as error:
            answer(encode(Failed("?", "", f"bad command: {error}")))
            continue
        try:
            if isinstance(command, Quit) and handler is None:
                reply: Reply = Bye()
            else:
                handler = handler or start()
                reply = handler.handle(command)
        except Exception as error:  # any failure at all is the driver's to report, in one line
            reply = Failed(_name(command), getattr(command, "case_id", ""), _one_line(error))
        answer(encode(reply))
        if isinstance(command, Quit):
            return


def _name(command: Command) -> str:
    return type(command).__name__.lower()


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _start() -> Handler:
    from perf.paired.session import Session  # torch and the registries: imported here, so their failure is answered

    return Session()


def main(stdin: TextIO = sys.stdin) -> int:
    protocol = sys.stdout
    sys.stdout = sys.stderr  # prints of vggt, torch or anything else go to the worker's stderr, never the protocol

    def answer(line: str) -> None:
        protocol.write(line + "\n")
        protocol.flush()

    serve(stdin, answer, _start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
