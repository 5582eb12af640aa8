"""``nattvandring walks import`` (the log of earlier seasons) and ``nattvandring areas
set-contacts`` (whom walkers call during a walk)."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli_errors import exits_on_error
from api.settings import AppSettings
from geo.db import connection, migrate


@click.group()
def walks() -> None:
    """Walks (pass): bring in the log of earlier seasons."""


@walks.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--area", default=None, help="Area slug of the walks (default: the app's area).")
@click.pass_obj
@exits_on_error
def walks_import(settings: AppSettings, path: Path, area: str | None) -> None:
    """Import a CSV log of walks that took place: date, start, end, organisation, walkers and
    optional notes (English or Swedish headers, comma or semicolon). A repeated import stores
    each walk once; refused rows are listed with the reason."""
    from datetime import UTC, datetime

    from geo.db import areas
    from geo.db.walk_schedule import import_walk_log
    from geo.walks import read_walk_log

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.BadParameter("the file is not UTF-8 text", param_hint="PATH") from None
    with connection.connect(connection.database_url(settings.db), autocommit=True) as conn:
        migrate.migrate(conn)
        slug = area or settings.default_area
        areas.area_id(conn, slug)
        zone = conn.execute("SELECT time_zone FROM areas WHERE slug = %s", (slug,)).fetchone()
        assert zone is not None
        read = read_walk_log(text, now=datetime.now(UTC), time_zone=str(zone[0]))
        stored = import_walk_log(conn, read.taken, area=slug)
    refused = sorted([*read.refused, *stored.refused], key=lambda r: r.line)
    taken = len(read.taken) - len(stored.refused)
    click.echo(
        f"{path.name}: took {taken} row(s): {stored.stored} walk(s) stored, "
        f"{stored.existing} stored before; refused {len(refused)} row(s)"
    )
    for row in refused:
        click.echo(f"  line {row.line}: {row.reason}")


@click.group()
def areas() -> None:
    """Areas (stadsdelar): their settings."""


@areas.command("set-contacts")
@click.argument("slug")
@click.option("--field-worker", default=None, help="The field worker on duty, e.g. 08-508 250 00.")
@click.option("--police", default=None, help="The police (default 114 14).")
@click.option("--emergency", default=None, help="Emergencies (default 112).")
@click.pass_obj
@exits_on_error
def areas_set_contacts(
    settings: AppSettings,
    slug: str,
    field_worker: str | None,
    police: str | None,
    emergency: str | None,
) -> None:
    """Set the numbers walkers of the area call during a walk (shown as tel: links)."""
    from geo.db.walk_views import set_area_contacts

    with connection.connect(connection.database_url(settings.db), autocommit=True) as conn:
        migrate.migrate(conn)
        numbers = set_area_contacts(
            conn, slug, field_worker=field_worker, police=police, emergency=emergency
        )
    click.echo(
        f"{slug}: field worker {numbers['field_worker'] or '(not set)'}, "
        f"police {numbers['police']}, emergency {numbers['emergency']}"
    )
