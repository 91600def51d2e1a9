"""What a paired worker does with each command: one case built through the suite's registries, warmed up and timed
one synchronized forward at a time, as perf.measure.case times it under pytest."""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from perf.backends.registry import BACKENDS
from perf.core.catalog import parse_case_id
from perf.hardware.device import select_device
from perf.hardware.fingerprint import fingerprint, vggt_revision
from perf.measure.case import unavailable_reason
from perf.measure.timing import RoundPolicy, synchronized, warm_up
from perf.paired.protocol import Bye, Command, Prepare, Quit, Ready, Reply, Round, Skipped, Timed, Warm, Warmed
from perf.tools.slowdown import calibrated_work
from perf.workloads.registry import WORKLOADS
from perf.workloads.runtime import Runtime
from perf.workloads.vggt import VggtModels


class SessionError(Exception):
    """A command the worker cannot follow (a round of a case it has not prepared): answered as a failure."""


@dataclass
class _Case:
    """The prepared case: its timed run, the backend's activation held open until the next case, its trial's work."""

    case_id: str
    run: Callable[[], None]
    active: contextlib.ExitStack
    slowdown: float


class Session:
    """One worker's state: its device, its models (one resident at a time) and the case it holds."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.device = select_device()
        self.runtime = Runtime(self.device, VggtModels(self.device, None))
        self.clock = clock
        self._case: _Case | None = None
        self._environment: dict[str, str] | None = None

    def handle(self, command: Command) -> Reply:
        if isinstance(command, Prepare):
            return self.prepare(command)
        if isinstance(command, Warm):
            return self.warm(command)
        if isinstance(command, Round):
            return Timed(command.case_id, self._timed(self._held(command.case_id).run))
        assert isinstance(command, Quit)
        self.release()
        return Bye()

    def prepare(self, command: Prepare) -> Reply:
        """The case built once: its inputs on the device, its backend activated (and kept so until the next)."""
        self.release()
        key = parse_case_id(command.case_id)
        workload, backend = WORKLOADS[key.workload], BACKENDS[key.backend]
        if reason := unavailable_reason(workload, backend, self.runtime):
            return Skipped(command.case_id, reason)
        prepared = workload.prepare(key, self.runtime)
        active = contextlib.ExitStack()
        active.enter_context(backend.activate())
        self._case = _Case(command.case_id, synchronized(prepared.forward, self.device), active, command.slowdown)
        return Ready(command.case_id, prepared.dtype, self.environment())

    def warm(self, command: Warm) -> Warmed:
        """Warmed up as the suite warms a case; a trial's work is calibrated to its fraction of one steady forward
        after that (the forward this side times), then added to each forward."""
        case = self._held(command.case_id)
        warm_up(case.run, RoundPolicy(warmup_s=command.warmup_s, max_time_s=command.max_time_s))
        forward_s = self._timed(case.run)
        added_s = 0.0
        if case.slowdown > 0:
            work, added_s = calibrated_work(self.device, case.slowdown * forward_s)
            case.run = _followed_by(case.run, work, self.device)
            case.run()  # the added work's first run is no round either
        return Warmed(command.case_id, forward_s, added_s)

    def release(self) -> None:
        """The held case's backend deactivated and its tensors dropped."""
        if self._case is not None:
            self._case.active.close()
            self._case = None

    def environment(self) -> dict[str, str]:
        if self._environment is None:
            self._environment = fingerprint(self.device, imported_vggt_revision())
        return self._environment

    def _held(self, case_id: str) -> _Case:
        if self._case is None or self._case.case_id != case_id:
            held = self._case.case_id if self._case else "none"
            raise SessionError(f"case {case_id} is not prepared (this worker holds {held}): send prepare first")
        return self._case

    def _timed(self, run: Callable[[], None]) -> float:
        started = self.clock()
        run()
        return self.clock() - started


def _followed_by(run: Callable[[], None], work: Callable[[], None], device: torch.device) -> Callable[[], None]:
    def slowed() -> None:
        run()
        work()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return slowed


def imported_vggt_revision() -> str:
    """The revision of the vggt this interpreter imports: the installed distribution's (vggt_revision) where that
    is what imports, else the git commit of the checkout it imports from (a --base-path or --head-path), with its
    folder, so two checkouts read as two values; '' without vggt."""
    spec = importlib.util.find_spec("vggt")
    if spec is None:
        return ""
    if spec.origin is not None:
        package = Path(spec.origin).resolve().parent
    elif spec.submodule_search_locations:  # a namespace package: a checkout's vggt/ without __init__.py
        package = Path(next(iter(spec.submodule_search_locations))).resolve()
    else:
        return ""
    try:
        installed = importlib.metadata.distribution("vggt").locate_file("vggt/__init__.py")
        if Path(str(installed)).resolve().parent == package:
            return vggt_revision()
    except importlib.metadata.PackageNotFoundError:
        pass
    return f"{_checkout_commit(package.parent)} {package.parent}".strip()


def _checkout_commit(folder: Path) -> str:
    """folder's HEAD commit, with -dirty for uncommitted changes, where folder is a git work tree's top; else ''."""

    def git(*arguments: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(folder), *arguments], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    top = git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != folder.resolve():
        return ""  # a folder inside another repository (the suite's .peer) is no checkout of vggt
    dirty = "-dirty" if git("status", "--porcelain", "--untracked-files=no") else ""
    return git("rev-parse", "HEAD") + dirty
