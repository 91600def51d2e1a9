"""The worker processes of a paired run (--workers per side): started with their own interpreter and PYTHONPATH,
asked one command at a time, and turned into one WorkerFailure line when they fail, die or answer out of protocol."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from perf.paired.protocol import Command, Failed, ProtocolError, Reply, decode_reply, encode
from perf.paired.request import WorkerSpec

# The suite's checkout, put after a side's own paths so a worker imports this very suite; only for a checkout
# (pyproject.toml beside perf/): an installed suite's site-packages would shadow the worker interpreter's own torch.
SUITE_ROOT = Path(__file__).resolve().parents[2]
_STDERR_SHOWN = 300  # characters of a dead worker's last stderr line, in its failure
_QUIT_WAIT_S = 30.0
# How a worker's allocation failure reads (torch's CUDA and CPU allocators both say it): 2N workers share the device,
# so fewer of them is what to try (on the H200, 3 a side of the aggregator at 100 frames, 24 GiB each, ran out).
_OUT_OF_MEMORY = "out of memory"

R = TypeVar("R")


class WorkerFailure(Exception):
    """A worker failed: the one line the driver prints before exiting 2 (what, where, what to do)."""


def worker_environment(spec: WorkerSpec, base: Mapping[str, str]) -> dict[str, str]:
    """base (the driver's environment) with the side's paths, then the suite's checkout, first on PYTHONPATH."""
    suite = [str(SUITE_ROOT)] if (SUITE_ROOT / "pyproject.toml").is_file() else []
    inherited = [base["PYTHONPATH"]] if base.get("PYTHONPATH") else []
    paths = [str(path.resolve()) for path in spec.paths] + suite + inherited
    return {**base, "PYTHONPATH": os.pathsep.join(paths)}


class Worker:
    """One of a side's `python -m perf.paired.worker` (index from 0); its stderr goes to a log file, named in any
    failure."""

    def __init__(self, side: str, spec: WorkerSpec, index: int = 0) -> None:
        self.side, self.spec, self.index = side, spec, index
        handle, name = tempfile.mkstemp(prefix=f"perf-paired-{side}{index}-", suffix=".log")
        self.log = Path(name)
        try:
            self.process = subprocess.Popen(
                [spec.python, "-m", "perf.paired.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=handle,
                text=True,
                env=worker_environment(spec, os.environ),
            )
        except OSError as error:
            raise WorkerFailure(
                f"paired: the {side} worker {index} did not start: {spec.python}: {error.strerror} "
                f"(give an existing interpreter with --{side}-python)"
            ) from None
        finally:
            os.close(handle)

    def send(self, command: Command) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(encode(command) + "\n")
            self.process.stdin.flush()
        except OSError:
            pass  # it died: receive says how

    def receive(self, command: Command, *expected: type[object]) -> Reply:
        """The answer to command: of an expected type, or a failure it answered; anything else raises."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise self.failure(command, f"exited with code {code} before answering; {self._stderr_end()}")
        try:
            reply: Reply = decode_reply(line)
        except ProtocolError as error:
            raise self.failure(command, f"answered out of protocol: {error}") from None
        if not isinstance(reply, (*expected, Failed)):
            raise self.failure(command, f"answered {type(reply).__name__} to {type(command).__name__}")
        return reply

    def ask(self, command: Command, expected: type[R]) -> R:
        """Send, then the expected answer; a failure answered becomes a WorkerFailure."""
        self.send(command)
        reply = self.receive(command, expected)
        if isinstance(reply, Failed):
            raise self.failure(command, reply.error)
        assert isinstance(reply, expected)  # receive let nothing else through
        return reply

    def close(self, keep_log: bool) -> None:
        """Ended: asked to quit, else killed after a while; its log removed unless kept for a failure."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()  # end of input: a worker not yet quit releases its case and exits
            self.process.wait(_QUIT_WAIT_S)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if not keep_log:
            self.log.unlink(missing_ok=True)

    def failure(self, command: Command, error: str) -> WorkerFailure:
        case = getattr(command, "case_id", "")
        at = f"{type(command).__name__.lower()} of {case}" if case else type(command).__name__.lower()
        advice = (
            "every worker holds its own copy of the case on the one device: run with fewer --workers"
            if _OUT_OF_MEMORY in error.lower()
            else f"check --{self.side}-python and --{self.side}-path"
        )
        return WorkerFailure(
            f"paired: the {self.side} worker {self.index} ({self.spec.describe()}) failed at {at}: {error} "
            f"({advice}; its stderr: {self.log})"
        )

    def _stderr_end(self) -> str:
        lines = [line for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        return f"its stderr ends: {lines[-1][:_STDERR_SHOWN]}" if lines else "its stderr is empty"
