"""The nudge experiment's statistics, pure functions: a two-arm readout of conversion
rates with an always-valid 95 % interval for the lift and a sample-ratio check.

Why always-valid: the scorecard shows the lift every Monday, and a manager who looks
every week and acts the first time an ordinary 95 % interval excludes zero is wrong far
more often than 5 % of the time. A *confidence sequence* holds at every look at once:
with probability 95 % it covers the true lift at all sample sizes simultaneously, so
peeking weekly does not inflate false positives. We use the asymptotic normal-mixture
confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas ("Time-uniform
central limit theory", 2021): for an estimate with per-unit variance σ² after n units,

    half-width = sqrt( 2 (n σ² ρ² + 1) / (n² ρ²) · log( sqrt(n σ² ρ² + 1) / α ) )

with ρ fixed in advance (tuned to be tightest around `TUNED_N` units), never chosen
from the data. It is wider than a fixed-horizon interval (about 1.5× at `TUNED_N`): the
price of looking as often as one likes.

The sample-ratio check compares the arms' sizes with the configured split (χ², one degree
of freedom): a mismatch means assignment or logging is broken, and no lift can be trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ALPHA = 0.05
TUNED_N = 1000  # the sample size the interval is tightest around (fixed up front)
MIN_ARM = 20  # fewer reps than this in either arm: "not enough data yet"
SRM_P = 0.001  # a sample-ratio p-value below this: the split is broken


@dataclass(frozen=True)
class Arm:
    reps: int
    converted: int

    @property
    def rate(self) -> float | None:
        return self.converted / self.reps if self.reps else None


def srm_check(treated: int, control: int, control_share: float) -> dict[str, Any]:
    """χ² goodness of fit of the arm sizes against the configured split."""
    n = treated + control
    if n == 0 or not 0 < control_share < 1:
        return {"expected_holdout_share": control_share, "observed_holdout_share": None,
                "chi2": None, "p_value": None, "ok": None}  # fmt: skip
    expected_c = n * control_share
    expected_t = n - expected_c
    chi2 = (control - expected_c) ** 2 / expected_c + (treated - expected_t) ** 2 / expected_t
    p = math.erfc(math.sqrt(chi2 / 2))
    return {
        "expected_holdout_share": control_share,
        "observed_holdout_share": control / n,
        "chi2": chi2,
        "p_value": p,
        "ok": p >= SRM_P,
    }


def _rho2(control_share: float) -> float:
    """ρ², fixed before any data: tightest at TUNED_N units of a lift whose per-unit
    variance is the worst case (rates of ½) for this split."""
    c = -2 * math.log(ALPHA) + math.log(-2 * math.log(ALPHA) + 1)
    share = min(max(control_share, 1e-6), 1 - 1e-6)
    worst = 0.25 * (1 / share + 1 / (1 - share))
    return c / (TUNED_N * worst)


def confidence_sequence(
    treated: Arm, control: Arm, control_share: float
) -> tuple[float, float] | None:
    """The always-valid 95 % interval of rate(treated) − rate(control); None when an arm
    is empty."""
    if not treated.reps or not control.reps:
        return None
    pt, pc = treated.converted / treated.reps, control.converted / control.reps
    n = treated.reps + control.reps
    # Per-unit variance of the difference (n · Var[p̂t − p̂c]); a floor keeps an arm with
    # 0 % or 100 % from claiming certainty it does not have.
    floor = 1 / (4 * n)
    var_t = max(pt * (1 - pt), floor) / treated.reps
    var_c = max(pc * (1 - pc), floor) / control.reps
    sigma2 = n * (var_t + var_c)
    rho2 = _rho2(control_share)
    v = n * sigma2 * rho2
    half = math.sqrt(2 * (v + 1) / (n * n * rho2) * math.log(math.sqrt(v + 1) / ALPHA))
    centre = pt - pc
    return centre - half, centre + half


def readout(treated: Arm, control: Arm, control_share: float) -> dict[str, Any]:
    """Counts, lift (absolute, in rate points as a fraction; relative), the interval,
    the sample-ratio check and a verdict: `not_enough_data`, `split_off`, `helps`,
    `hurts` or `unclear`."""
    pt, pc = treated.rate, control.rate
    lift = None if pt is None or pc is None else pt - pc
    relative = None if lift is None or not pc else lift / pc
    interval = confidence_sequence(treated, control, control_share)
    srm = srm_check(treated.reps, control.reps, control_share)
    if treated.reps < MIN_ARM or control.reps < MIN_ARM:
        verdict = "not_enough_data"
    elif srm["ok"] is False:
        verdict = "split_off"
    elif interval is not None and interval[0] > 0:
        verdict = "helps"
    elif interval is not None and interval[1] < 0:
        verdict = "hurts"
    else:
        verdict = "unclear"
    return {
        "lift": lift,
        "relative_lift": relative,
        "ci95": None
        if interval is None
        else {"low": interval[0], "high": interval[1], "method": "always-valid"},
        "srm": srm,
        "n": treated.reps + control.reps,
        "min_arm": MIN_ARM,
        "verdict": verdict,
    }
