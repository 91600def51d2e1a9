"""The one rule of what may become a baseline entry, applied alike by --update-baselines and by a conversion."""

from __future__ import annotations

from collections.abc import Collection

from perf.core.results import CaseKey, Outcome


def baseline_refusal(
    key: CaseKey,
    measured_backend: str,
    outcome: Outcome,
    reason: str,
    suspect: str,
    known_workloads: Collection[str],
) -> str:
    """Why a measured case may not become a baseline entry, in words; "" when it may.

    Only a case measured with its own backend (no --substitute-backend), whose outcome is ok, whose clocks were not
    held down (perf.hardware.clocks) and whose workload is still registered becomes an entry.
    """
    if measured_backend != key.backend:
        return (
            f"measured {measured_backend} under the name {key.backend} (--substitute-backend): "
            "a substituted measurement never becomes a baseline"
        )
    if outcome is not Outcome.OK:
        because = f": {reason}" if reason else ""
        return f"outcome {outcome.value}{because}; only measured cases become baselines"
    if suspect:
        return f"suspect: {suspect}; rerun it on a GPU that is not throttled"
    if key.workload not in known_workloads:
        return f"workload {key.workload!r} is not registered: no test measures it any more"
    return ""
