"""`prm`: every command group registered in one place."""

from __future__ import annotations

import typer

from bot.cli import (
    db_cmd,
    demo_cmd,
    import_cmd,
    install_link_cmd,
    jobs_cmd,
    kpi_cmd,
    partners_cmd,
    serve_cmd,
    slack_cmd,
)
from bot.core.logs import install_log_redaction

app = typer.Typer(
    name="prm",
    help="Chat-ops PRM: import partner activity and read the five process KPIs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _before_every_command() -> None:
    # Before any command logs anything (prm serve, prm scheduler, prm jobs, …): no log
    # record of this process may carry a token, a capability URL or a personal link.
    install_log_redaction()


app.add_typer(db_cmd.app, name="db")
app.command("import")(import_cmd.import_file)
app.command("kpi")(kpi_cmd.kpi)
app.add_typer(demo_cmd.app, name="demo")
app.command("serve")(serve_cmd.serve)
app.add_typer(slack_cmd.app, name="slack")
app.add_typer(jobs_cmd.app, name="jobs")
app.add_typer(partners_cmd.app, name="partners")
partners_cmd.app.command("install-link")(install_link_cmd.install_link)
app.command("scheduler")(jobs_cmd.scheduler)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
