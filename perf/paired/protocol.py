"""The JSON-lines messages between the paired driver and its workers: one command a line in, one reply a line out.

Pure: frozen values and their one to_json/from_json pair (encode, decode_command, decode_reply); a line that is no
such message raises ProtocolError, never anything else.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, Union


class ProtocolError(ValueError):
    """A line that is not a message of this protocol: what was wrong, and the start of the line."""


@dataclass(frozen=True)
class Prepare:
    """Build the case once (its inputs on the device, its backend active); slowdown > 0 only for a sensitivity
    trial: the worker then adds that fraction of its own forward's time in matrix products to every forward."""

    case_id: str
    slowdown: float = 0.0


@dataclass(frozen=True)
class Warm:
    """Warm the prepared case up as the suite does (perf.measure.timing.warm_up with these two seconds)."""

    case_id: str
    warmup_s: float
    max_time_s: float


@dataclass(frozen=True)
class Round:
    """Time one synchronized forward of the prepared case."""

    case_id: str


@dataclass(frozen=True)
class Quit:
    """Release the case and end the worker."""


@dataclass(frozen=True)
class Ready:
    """The case is built: the precision it computes in and the worker's environment fingerprint."""

    case_id: str
    dtype: str
    environment: Mapping[str, str]


@dataclass(frozen=True)
class Warmed:
    """Warmed up: one steady forward's seconds, and the seconds of work added to each forward (0 but in a trial)."""

    case_id: str
    forward_s: float
    added_s: float


@dataclass(frozen=True)
class Timed:
    """One round: the synchronized forward's seconds on the worker's clock."""

    case_id: str
    seconds: float


@dataclass(frozen=True)
class Skipped:
    """The case cannot run here (no GPU, no vggt, backend unusable): the suite's one-line reason."""

    case_id: str
    reason: str


@dataclass(frozen=True)
class Failed:
    """A command failed: which command, of which case ('' for none), and the error in one line."""

    command: str
    case_id: str
    error: str


@dataclass(frozen=True)
class Bye:
    """The answer to quit: the worker ends after it."""


Command = Union[Prepare, Warm, Round, Quit]  # noqa: UP007 (a runtime alias: Python 3.10 has no `type` statement)
Reply = Union[Ready, Warmed, Timed, Skipped, Failed, Bye]  # noqa: UP007

COMMANDS: Mapping[str, type[Any]] = {"prepare": Prepare, "warm": Warm, "round": Round, "quit": Quit}
REPLIES: Mapping[str, type[Any]] = {
    "ready": Ready,
    "warmed": Warmed,
    "timed": Timed,
    "skipped": Skipped,
    "failed": Failed,
    "bye": Bye,
}
_NAMES = {kind: name for table in (COMMANDS, REPLIES) for name, kind in table.items()}
_SHOWN_CHARACTERS = 80  # of a bad line, in the error

M = TypeVar("M")


def encode(message: Command | Reply) -> str:
    """One line of JSON: {"type": name, ...fields}; no newline inside (json.dumps escapes them)."""
    fields = {field.name: getattr(message, field.name) for field in dataclasses.fields(message)}
    return json.dumps({"type": _NAMES[type(message)], **{k: _plain(v) for k, v in fields.items()}})


def _plain(value: object) -> object:
    return dict(value) if isinstance(value, Mapping) else value


def decode_command(line: str) -> Command:
    message: Command = _decode(line, COMMANDS)
    return message


def decode_reply(line: str) -> Reply:
    message: Reply = _decode(line, REPLIES)
    return message


def _decode(line: str, table: Mapping[str, type[M]]) -> M:
    shown = line.strip()[:_SHOWN_CHARACTERS]
    try:
        document = json.loads(line)
    except json.JSONDecodeError as error:
        raise ProtocolError(f"not JSON ({error.msg}): {shown!r}") from None
    if not isinstance(document, dict) or document.get("type") not in table:
        raise ProtocolError(f"not one of the messages {', '.join(table)}: {shown!r}")
    kind = table[document.pop("type")]
    hints = typing.get_type_hints(kind)
    fields = {field.name: field for field in dataclasses.fields(kind)}  # type: ignore[arg-type]
    unknown = set(document) - set(fields)
    missing = {n for n, f in fields.items() if f.default is dataclasses.MISSING and n not in document}
    if unknown or missing:
        raise ProtocolError(f"{_NAMES[kind]}: unknown fields {sorted(unknown)}, missing {sorted(missing)}: {shown!r}")
    for name, value in document.items():
        if not _is_a(value, hints[name]):
            raise ProtocolError(f"{_NAMES[kind]}: {name} is not {hints[name]}: {shown!r}")
    return kind(**{name: float(v) if hints[name] is float else v for name, v in document.items()})


def _is_a(value: object, hint: object) -> bool:
    if hint is str:
        return isinstance(value, str)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    # Mapping[str, str], the only other field type
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
