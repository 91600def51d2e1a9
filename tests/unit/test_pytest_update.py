"""What an update admits as baseline entries is judged on the backend that actually ran, not on the case's name."""

from __future__ import annotations

from perf.core.results import CaseKey, CaseResult, Outcome, Resolution, Timing
from perf.pytest_plugin.state import MeasuredCase
from perf.pytest_plugin.update import refusals_of

FLASH = CaseKey("attention", "sdpa-flash", 1, Resolution(28, 28))
TIMED = CaseResult(FLASH, Outcome.OK, "fp32", Timing(0.1, 0.0, 0.1, 0.1, 5))


def test_a_case_measured_with_its_own_backend_is_admitted() -> None:
    assert refusals_of({FLASH.case_id: MeasuredCase(TIMED, "sdpa-flash")}, {"attention"}) == {FLASH.case_id: ""}


def test_a_case_measured_with_another_backend_is_refused_naming_both() -> None:
    refusals = refusals_of({FLASH.case_id: MeasuredCase(TIMED, "sdpa-math")}, {"attention"})
    assert refusals[FLASH.case_id].startswith("measured sdpa-math under the name sdpa-flash (--substitute-backend)")
