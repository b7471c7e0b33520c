"""`prm jobs list|run|history` as typed, and their mistakes."""

from __future__ import annotations

from tests.jobs.conftest import seed, seed_dormant_signing


def test_list_shows_the_three_jobs_and_their_schedules(cli):
    out = cli("jobs", "list", env={"PRM_SCORECARD_CRON": "0 8 * * tue"})
    assert out.exit_code == 0, out.output
    for name in ("next-actions", "weekly-scorecards", "coaching-alerts", "0 8 * * tue"):
        assert name in out.output


def test_dry_run_prints_each_message_and_needs_no_token(cli, engine):
    seed(engine)
    seed_dormant_signing(engine)
    out = cli("jobs", "run", "weekly-scorecards", "--dry-run", "--as-of", "2026-11-02T09:00Z")
    assert out.exit_code == 0, out.output
    assert "→ UMGRA [scorecard" in out.output and "Weekly partner scorecard" in out.output
    assert "would_send 2" in out.output
    history = cli("jobs", "history")
    assert "weekly-scorecards" not in history.output  # a dry run leaves no trace


def test_mistakes_get_one_line(cli):
    assert "unknown job" in cli("jobs", "run", "nudges", "--dry-run").output
    out = cli("jobs", "run", "next-actions", "--as-of", "soon", "--dry-run")
    assert out.exit_code == 2 and "--as-of" in out.output
    out = cli("jobs", "run", "next-actions", env={"SLACK_BOT_TOKEN": ""})
    assert out.exit_code == 2 and "SLACK_BOT_TOKEN" in out.output
    out = cli("jobs", "list", env={"PRM_QUIET_HOURS": "late"})
    assert out.exit_code == 2 and "HH:MM-HH:MM" in out.output


def test_prm_kpi_nudge_lift_after_a_run(cli, jobs):
    import json
    from datetime import UTC, datetime

    from tests.builders import Store

    jobs.run("next-actions", datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    Store(jobs.engine).event("deal.registered", "2026-11-03T09:00:00Z", "globex", "globex-ja")
    out = cli("kpi", "nudge_lift", "--format", "json", "--as-of", "2026-11-10")
    assert out.exit_code == 0, out.output
    lift = json.loads(out.output)
    # Two Tokyo reps nudged; the deal-registration nudge was followed by a deal.
    assert lift["nudged"] == {"reps": 2, "completed": 1, "rate": 0.5}
    assert lift["holdout"]["reps"] == 0 and lift["lift"] is None
    # The experiment readout's parts are there, empty where the data cannot say anything.
    assert lift["ci95"] is None and lift["verdict"] == "not_enough_data" and lift["n"] == 2
    assert lift["srm"]["expected_holdout_share"] == 0.1 and "p_value" in lift["srm"]
