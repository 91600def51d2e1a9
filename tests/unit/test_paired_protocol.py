"""The driver-worker messages: every one survives a round trip, a bad line raises ProtocolError only, and the
worker's loop answers every command with one line, a failure included."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perf.paired.protocol import (
    Bye,
    Command,
    Failed,
    Prepare,
    ProtocolError,
    Quit,
    Ready,
    Reply,
    Round,
    Skipped,
    Timed,
    Warm,
    Warmed,
    decode_command,
    decode_reply,
    encode,
)
from perf.paired.worker import serve

texts = st.text()
numbers = st.floats(allow_nan=False, allow_infinity=False)
commands = st.one_of(
    st.builds(Prepare, texts, numbers),
    st.builds(Warm, texts, numbers, numbers),
    st.builds(Round, texts),
    st.just(Quit()),
)
replies = st.one_of(
    st.builds(Ready, texts, texts, st.dictionaries(texts, texts)),
    st.builds(Warmed, texts, numbers, numbers),
    st.builds(Timed, texts, numbers),
    st.builds(Skipped, texts, texts),
    st.builds(Failed, texts, texts, texts),
    st.just(Bye()),
)


@given(commands)
def test_every_command_survives_a_round_trip_on_one_line(command: Command) -> None:
    line = encode(command)
    assert "\n" not in line
    assert decode_command(line) == command


@given(replies)
def test_every_reply_survives_a_round_trip_on_one_line(reply: Reply) -> None:
    line = encode(reply)
    assert "\n" not in line
    assert decode_reply(line) == reply


def test_a_whole_number_of_seconds_reads_as_a_float() -> None:
    timed = decode_reply('{"type": "timed", "case_id": "c", "seconds": 1}')
    assert timed == Timed("c", 1.0) and isinstance(timed, Timed) and isinstance(timed.seconds, float)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "not json",
        "[1, 2]",
        '{"type": "timed", "case_id": "c", "seconds": 1}',  # a reply is no command
        '{"type": "dance"}',
        '{"type": "round"}',
        '{"type": "round", "case_id": "c", "extra": 1}',
        '{"type": "round", "case_id": 3}',
        '{"type": "prepare", "case_id": "c", "slowdown": true}',
        '{"type": "prepare", "case_id": "c", "slowdown": "0.1"}',
    ],
)
def test_a_bad_command_line_raises_a_protocol_error(line: str) -> None:
    with pytest.raises(ProtocolError):
        decode_command(line)


@given(st.text())
def test_any_line_decodes_or_raises_only_a_protocol_error(line: str) -> None:
    for decode in (decode_command, decode_reply):
        with contextlib.suppress(ProtocolError):
            decode(line)


def test_a_ready_reply_needs_string_environment_values() -> None:
    line = json.dumps({"type": "ready", "case_id": "c", "dtype": "bf16", "environment": {"torch": 2}})
    with pytest.raises(ProtocolError, match="environment"):
        decode_reply(line)


class Handler:
    def __init__(self) -> None:
        self.seen: list[Command] = []

    def handle(self, command: Command) -> Reply:
        self.seen.append(command)
        if isinstance(command, Round):
            raise RuntimeError("CUDA error: an illegal memory access\nsecond line")
        return Bye() if isinstance(command, Quit) else Skipped("c", "no GPU")


def test_the_worker_answers_each_command_with_one_line_and_an_exception_as_a_failure() -> None:
    answers: list[str] = []
    handler = Handler()
    lines = [encode(Prepare("c")), "\n", "garbage", encode(Round("c")), encode(Quit()), encode(Round("never"))]
    serve(lines, answers.append, lambda: handler)
    assert [decode_reply(a) for a in answers] == [
        Skipped("c", "no GPU"),
        Failed("?", "", "bad command: not JSON (Expecting value): 'garbage'"),
        Failed("round", "c", "RuntimeError: CUDA error: an illegal memory access"),
        Bye(),
    ]
    assert handler.seen == [Prepare("c"), Round("c"), Quit()]  # nothing after quit


def test_a_handler_that_cannot_start_is_answered_as_a_failure_and_quit_still_ends() -> None:
    def start() -> Handler:
        raise ModuleNotFoundError("No module named 'torch'")

    answers: list[str] = []
    serve([encode(Prepare("c")), encode(Quit())], answers.append, start)
    assert [decode_reply(a) for a in answers] == [
        Failed("prepare", "c", "ModuleNotFoundError: No module named 'torch'"),
        Bye(),
    ]
