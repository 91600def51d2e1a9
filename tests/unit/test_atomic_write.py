"""Atomic writes, tested in the window atomicity protects: after the temporary file is complete, before it replaces
the target, and when the replacement itself fails.

The seam is os.replace (and os.fsync), which perf.storage.atomic calls for the target: a stand-in takes a snapshot
of both files at the rename, then raises or renames for real. An in-place write of the target never reaches that
seam and changes the target's bytes, so every test here fails for it; so do a temporary in another folder, a rename
before the temporary is flushed and synced, and a temporary without the target's permission bits.
Nothing here measures time: each fault lands at one chosen point.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from perf.core.baselines import Baseline, BaselineEntry, BaselineError, RunInfo
from perf.core.results import CaseKey, Resolution, Timing
from perf.storage.atomic import write_text_atomically
from perf.storage.baseline_codec import render_json, to_json
from perf.storage.baseline_file import load_baseline, remove_entries, rewrite, update_baseline, write_atomically

OLD = "the old version\n" * 1000
# Larger than any stream buffer, so a temporary renamed before its stream is flushed shows fewer bytes than this.
NEW = "".join(f"line {i} of the new version\n" for i in range(20_000))
DEVICE = {"name": "Test GPU", "slug": "test-gpu", "total_memory_bytes": "1024"}


@dataclass(frozen=True)
class Snapshot:
    """Both files as the rename found them: what a reader of either would have read at that moment."""

    temporary: Path
    temporary_bytes: bytes
    temporary_mode: int
    temporary_synced: bool  # fsync()ed before the rename, so a crash after it cannot leave an empty file
    same_device: bool
    target_bytes: bytes | None  # None where there was no target yet


@dataclass
class Seam:
    """os.replace and os.fsync as the writer sees them, recording each call that concerns target."""

    target: Path
    fault: OSError | None = None  # raised in place of the rename, after the snapshot
    snapshots: list[Snapshot] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # "fsync <inode>", "replace": their order


@pytest.fixture
def seam(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Seam:
    watched = Seam(tmp_path / "b.json")
    real_replace, real_fsync = os.replace, os.fsync

    def fsync(fd: int) -> None:
        watched.events.append(f"fsync {os.fstat(fd).st_ino}")
        real_fsync(fd)

    def replace(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
        if Path(destination) != watched.target:
            real_replace(source, destination)
            return
        watched.snapshots.append(_snapshot(watched, Path(source)))
        if watched.fault is not None:
            raise watched.fault
        real_replace(source, destination)
        watched.events.append("replace")

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    return watched


def _snapshot(watched: Seam, temporary: Path) -> Snapshot:
    status, target = temporary.stat(), watched.target
    return Snapshot(
        temporary,
        temporary.read_bytes(),
        stat.S_IMODE(status.st_mode),
        f"fsync {status.st_ino}" in watched.events,
        status.st_dev == target.parent.stat().st_dev,
        target.read_bytes() if target.exists() else None,
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------- write_text_atomically


def test_the_rename_finds_a_complete_synced_temporary_beside_the_target_and_the_old_file_whole(seam: Seam) -> None:
    seam.target.write_text(OLD)
    seam.target.chmod(0o640)
    write_text_atomically(seam.target, NEW)
    (moment,) = seam.snapshots  # one rename, of a temporary onto the target: no in-place write
    assert moment.temporary.parent == seam.target.parent, "the temporary must live beside the target"
    assert moment.same_device
    assert moment.temporary_bytes == NEW.encode(), "renamed before the temporary was completely written"
    assert moment.temporary_synced, "renamed before the temporary was fsync()ed"
    assert moment.temporary_mode == 0o640, "for a moment the file would have had the temporary's mode"
    assert moment.target_bytes == OLD.encode(), "a reader before the rename must see the old file, whole"
    assert seam.target.read_text() == NEW
    assert stat.S_IMODE(seam.target.stat().st_mode) == 0o640
    directory = f"fsync {seam.target.parent.stat().st_ino}"
    assert directory in seam.events[seam.events.index("replace") :], "the rename itself was not made durable"
    assert leftovers(seam.target.parent) == []


def test_a_new_file_is_written_through_a_temporary_with_the_default_mode(seam: Seam) -> None:
    write_text_atomically(seam.target, NEW)
    (moment,) = seam.snapshots
    assert moment.target_bytes is None
    assert moment.temporary_bytes == NEW.encode()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(seam.target.stat().st_mode) == moment.temporary_mode == 0o666 & ~umask


@pytest.mark.parametrize(
    "fault",
    [OSError(errno.EACCES, "Permission denied"), OSError(errno.EXDEV, "Invalid cross-device link")],
    ids=["denied", "cross-device"],
)
def test_a_failed_rename_leaves_the_old_file_and_no_temporary(seam: Seam, fault: OSError) -> None:
    seam.target.write_text(OLD)
    seam.fault = fault
    with pytest.raises(OSError) as raised:
        write_text_atomically(seam.target, NEW)
    assert raised.value is fault
    (moment,) = seam.snapshots
    assert moment.temporary_bytes == NEW.encode(), "the fault is to land after the temporary is complete"
    assert seam.target.read_text() == OLD
    assert leftovers(seam.target.parent) == []


def test_a_fault_after_the_temporary_is_written_and_before_the_rename_leaves_the_old_file(
    seam: Seam, monkeypatch: pytest.MonkeyPatch
) -> None:
    seam.target.write_text(OLD)
    written: list[bytes] = []

    def disk_full(fd: int) -> None:  # fsync comes after the last write and before the rename
        (temporary,) = leftovers(seam.target.parent)
        written.extend([(seam.target.parent / temporary).read_bytes(), seam.target.read_bytes()])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomically(seam.target, NEW)
    assert written == [NEW.encode(), OLD.encode()]  # the temporary complete, the target still the old file
    assert seam.snapshots == []
    assert seam.target.read_text() == OLD
    assert leftovers(seam.target.parent) == []


def test_a_folder_that_cannot_be_synced_after_the_rename_is_no_failed_write(
    seam: Seam, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file is replaced by then: an error would tell the caller the old file is still there.
    seam.target.write_text(OLD)
    real_fsync = os.fsync

    def refuses_folders(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", refuses_folders)
    write_text_atomically(seam.target, NEW)
    assert seam.target.read_text() == NEW
    assert leftovers(seam.target.parent) == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444], ids=oct)
def test_the_target_keeps_its_permission_bits(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "b.json"
    path.write_text(OLD)
    path.chmod(mode)
    write_text_atomically(path, NEW)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text() == NEW


# ---------------------------------------------------------------- the baseline file's operations


def entry(frames: int, run: str) -> BaselineEntry:
    key = CaseKey("attention", "sdpa-math", frames, Resolution(28, 28))
    return BaselineEntry(key, "fp32", Timing(0.25, 0.01, 0.2, 0.3, 5), None, 0.05, 0.02, run)


SEED = Baseline(
    DEVICE, {"r1": RunInfo("t1", "pytest", {})}, {e.key.case_id: e for e in (entry(1, "r1"), entry(2, "r1"))}
)
Operation = Callable[[Path], object]
OPERATIONS: dict[str, Operation] = {
    "write_atomically": lambda path: write_atomically(path, replace(SEED, device={**DEVICE, "name": "renamed"})),
    "update_baseline": lambda path: update_baseline(path, DEVICE, [entry(3, "")], "r2", RunInfo("t2", "pytest", {})),
    "remove_entries": lambda path: remove_entries(path, [entry(2, "r1").key.case_id]),
    "rewrite": lambda path: rewrite(path, lambda b: replace(b, device={**b.device, "name": "renamed"})),
}
# The baseline-level operations turn a failed write into BaselineError; write_atomically lets the OSError through.
FAILURE = {"write_atomically": OSError}


def seeded(path: Path) -> bytes:
    path.write_text(render_json(to_json(SEED)) + "\n")
    return path.read_bytes()


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_baseline_write_replaces_the_whole_file_through_a_temporary(seam: Seam, operation: str) -> None:
    before = seeded(seam.target)
    OPERATIONS[operation](seam.target)
    (moment,) = seam.snapshots
    assert moment.temporary.parent == seam.target.parent
    assert moment.temporary_synced
    assert moment.target_bytes == before
    assert moment.temporary_bytes == seam.target.read_bytes() != before
    assert load_baseline(seam.target) is not None
    assert leftovers(seam.target.parent) == []


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_failed_rename_of_a_baseline_leaves_it_byte_identical(seam: Seam, operation: str) -> None:
    before = seeded(seam.target)
    seam.fault = OSError(errno.EROFS, "Read-only file system")
    with pytest.raises(FAILURE.get(operation, BaselineError), match="Read-only file system"):
        OPERATIONS[operation](seam.target)
    (moment,) = seam.snapshots
    assert moment.target_bytes == before and moment.temporary_bytes != before
    assert seam.target.read_bytes() == before
    assert leftovers(seam.target.parent) == []


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_fault_before_a_baselines_rename_leaves_it_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    path = tmp_path / "b.json"
    before = seeded(path)

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(FAILURE.get(operation, BaselineError), match="No space left on device"):
        OPERATIONS[operation](path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- kill -9 in the window

KILLED_WRITER = """
import os, signal, sys
from pathlib import Path

sys.path.insert(0, sys.argv[4])
from test_atomic_write import OPERATIONS

target, point, operation = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
real_replace, real_fsync = os.replace, os.fsync


def replace(source, destination):  # the temporary is complete and synced; its rename never comes
    if Path(destination) == target:
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(source, destination)


def fsync(fd):  # the temporary's bytes are on disk, not yet renamed
    real_fsync(fd)
    os.kill(os.getpid(), signal.SIGKILL)


os.replace, os.fsync = (replace, real_fsync) if point == "rename" else (real_replace, fsync)
OPERATIONS[operation](target)
print("the writer was not killed")
"""


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("point", ["rename", "synced"])
def test_kill_9_between_the_complete_temporary_and_the_rename_leaves_the_old_file(
    tmp_path: Path, point: str, operation: str
) -> None:
    """The writer dies (under the file lock) at the chosen point, so no cleanup runs: the temporary stays, complete,
    and the baseline is the old file, whole. The kernel released the lock: the same operation then goes through."""
    path = tmp_path / "b.json"
    before = seeded(path)
    script = tmp_path / "writer.py"
    script.write_text(KILLED_WRITER)
    argv = [sys.executable, str(script), str(path), point, operation, str(Path(__file__).parent)]
    done = subprocess.run(argv, capture_output=True, check=False)
    assert done.returncode == -signal.SIGKILL, (done.stdout, done.stderr)
    assert path.read_bytes() == before
    assert load_baseline(path) == SEED
    (stray,) = leftovers(tmp_path)
    OPERATIONS[operation](path)
    assert (tmp_path / stray).read_bytes() == path.read_bytes() != before, "killed before the temporary was complete"
