"""The nudge experiment's statistics (bot.kpi.experiment) on simulated experiments with
known effects: the always-valid interval covers the true lift, a zero effect is rarely
called significant, even when someone looks every week, and the sample-ratio check
catches a broken split. Seeded: the same runs every time."""

from __future__ import annotations

import random

import pytest

from bot.kpi.experiment import MIN_ARM, Arm, readout, srm_check

SHARE = 0.1  # the holdout share, as configured by default
BASE = 0.30  # the control arm's conversion


def experiment(rng: random.Random, n: int, effect: float) -> tuple[Arm, Arm]:
    """n reps, each held out with probability SHARE; conversion BASE (+effect if nudged)."""
    nt = ct = nc = cc = 0
    for _ in range(n):
        if rng.random() < SHARE:
            nc += 1
            cc += rng.random() < BASE
        else:
            nt += 1
            ct += rng.random() < BASE + effect
    return Arm(nt, ct), Arm(nc, cc)


@pytest.mark.parametrize("effect", [0.0, 0.10])
def test_the_interval_covers_the_true_lift(effect):
    rng = random.Random(13 + int(effect * 100))
    runs, covered, significant = 400, 0, 0
    for _ in range(runs):
        treated, control = experiment(rng, 1500, effect)
        r = readout(treated, control, SHARE)
        low, high = r["ci95"]["low"], r["ci95"]["high"]
        covered += low <= effect <= high
        significant += low > 0 or high < 0
    assert covered / runs >= 0.90
    if effect == 0:
        assert significant / runs <= 0.05  # the zero effect: called significant ≤ 5 %
    else:
        assert significant / runs > 0.10  # and a real one is found now and then at n=1500


def test_weekly_looks_stay_honest():
    """Eight weekly looks at a growing experiment with no effect: the share of runs in
    which *any* look claims an effect stays under 10 % (a fixed 95 % interval checked
    eight times would claim one in roughly 20 % of runs)."""
    rng = random.Random(2026)
    runs, fooled = 300, 0
    for _ in range(runs):
        treated, control = Arm(0, 0), Arm(0, 0)
        claimed = False
        for _week in range(8):
            t, c = experiment(rng, 250, 0.0)
            treated = Arm(treated.reps + t.reps, treated.converted + t.converted)
            control = Arm(control.reps + c.reps, control.converted + c.converted)
            r = readout(treated, control, SHARE)
            claimed |= r["verdict"] in ("helps", "hurts")
        fooled += claimed
    assert fooled / runs <= 0.10


def test_a_clear_effect_is_called_with_enough_data():
    rng = random.Random(7)
    treated, control = experiment(rng, 20_000, 0.10)
    r = readout(treated, control, SHARE)
    assert r["verdict"] == "helps" and r["ci95"]["low"] > 0
    assert r["relative_lift"] == pytest.approx(r["lift"] / control.rate)


def test_too_little_data_says_so():
    r = readout(Arm(50, 20), Arm(MIN_ARM - 1, 3), SHARE)
    assert r["verdict"] == "not_enough_data" and r["n"] == 50 + MIN_ARM - 1
    empty = readout(Arm(0, 0), Arm(0, 0), SHARE)
    assert empty["lift"] is None and empty["ci95"] is None and empty["verdict"] == "not_enough_data"


def test_the_sample_ratio_check():
    assert srm_check(900, 100, SHARE)["ok"] is True
    broken = srm_check(800, 200, SHARE)
    assert broken["ok"] is False and broken["p_value"] < 0.001
    assert readout(Arm(800, 300), Arm(200, 10), SHARE)["verdict"] == "split_off"
    assert srm_check(0, 0, SHARE)["ok"] is None
