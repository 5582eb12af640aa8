"""``nattvandring follow-up``: the follow-up of walks and costs (or a programme's summary) as
JSON, CSV or PDF, the same files as ``GET /api/v1/follow-up``; every file is audited."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli_errors import exits_on_error
from api.settings import AppSettings
from geo.db import connection, migrate
from geo.db.guarded import Single


@click.command("follow-up")
@click.option("--area", default=None, help="Area slug (the summary's programme).")
@click.option("--since", default=None, help="First local date (YYYY-MM-DD).")
@click.option("--until", default=None, help="Last local date, inclusive (YYYY-MM-DD).")
@click.option(
    "--by",
    default="agreement",
    show_default=True,
    type=click.Choice(["agreement", "organisation", "month", "area"]),
)
@click.option("--organisation", default=None, help="Only this organisation (and those part of it).")
@click.option(
    "--format", "fmt", default="json", show_default=True, type=click.Choice(["json", "csv", "pdf"])
)
@click.option(
    "--summary", is_flag=True, help="The programme summary of --area instead (json or pdf)."
)
@click.option(
    "--user",
    "email",
    default=None,
    help="The account the file is made for (audited); without it the audit row names the CLI.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Output file (default: standard output; a PDF needs a file).",
)
@click.pass_obj
@exits_on_error
def follow_up(
    settings: AppSettings,
    area: str | None,
    since: str | None,
    until: str | None,
    by: str,
    organisation: str | None,
    fmt: str,
    summary: bool,
    email: str | None,
    output: Path | None,
) -> None:
    """Walks approved, cost, walker-nights, youths met and flags per agreement, organisation,
    month or area (walks by their local date), or with --summary a programme's agreements and
    totals before and during the IOP."""
    from api import follow_up as files
    from geo.capabilities import Capability
    from geo.db.accounts import list_users

    if fmt == "pdf" and output is None:
        raise click.BadParameter("a PDF needs --output FILE", param_hint="--output")
    if summary and (area is None or fmt == "csv"):
        raise click.BadParameter("--summary needs --area and json or pdf", param_hint="--summary")
    with connection.connect(connection.database_url(settings.db), autocommit=True) as conn:
        migrate.migrate(conn)
        user_id = None
        if email is not None:
            wanted = email.lower()
            found = [u for u in list_users(conn) if u.email.lower() == wanted and not u.disabled]
            user = found[0] if found else None
            if user is None:
                raise click.BadParameter(f"no enabled user {email}", param_hint="--user")
            if not user.can(Capability.FOLLOW_UP):
                raise click.BadParameter(
                    f"{email} ({user.role}) may not read the follow-up", param_hint="--user"
                )
            user_id = user.id
        if summary:
            assert area is not None
            result = files.summary_export(
                Single(conn), area=area, user_id=user_id, via="cli", fmt=fmt
            )
        else:
            q = files.make_query(
                by=by, since=since, until=until, organisation=organisation, area=area
            )
            result = files.export(Single(conn), q, fmt=fmt, user_id=user_id, via="cli")
    if output is None:
        click.echo(result.content.decode("utf-8"), nl=False)
        return
    output.write_bytes(result.content)
    note = " (SYNTETISKA DEMODATA)" if result.data.get("synthetic") else ""
    click.echo(
        f"wrote {output} ({len(result.content):,} bytes, SHA-256 {result.sha256}){note}; "
        f"audit row {result.audit_id}"
    )
