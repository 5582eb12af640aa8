"""The ``nattvandring`` command: the one entry point for operators."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from api.cli_analysis import heatmap, hotspots
from api.cli_errors import exits_on_error
from api.cli_follow_up import follow_up
from api.cli_police import import_police_events
from api.cli_walks import areas, walks
from api.settings import AppSettings
from geo.capabilities import ROLES
from geo.db import connection, migrate
from geo.db.embedded import EmbeddedCluster
from geo.db.guarded import Single
from geo.errors import NattvandringError

DEMO_OSM = "osm_langbro_solberga_west_2020.osm"


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more (debug level).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """nattvandring: situation maps, deviation reports and walk routes for night walks."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = AppSettings()


# -- db ------------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database: the embedded PostGIS, or the server in NATTVANDRING_DATABASE_URL."""


@db.command("start")
@click.pass_obj
@exits_on_error
def db_start(settings: AppSettings) -> None:
    """Create (first time) and start the embedded PostGIS; harmless when it runs already."""
    if not settings.db.embedded:
        url = settings.db.database_url or ""
        with connection.connect(url):
            pass
        click.echo(
            f"NATTVANDRING_DATABASE_URL is set: using {connection.describe_url(url)}; "
            "no embedded cluster is started"
        )
        return
    url = connection.database_url(settings.db)
    click.echo(f"embedded PostGIS running: {connection.describe_url(url)}")
    click.echo(f"data directory: {settings.db.home_dir}")


@db.command("stop")
@click.pass_obj
@exits_on_error
def db_stop(settings: AppSettings) -> None:
    """Stop the embedded PostGIS (fast shutdown)."""
    if not settings.db.embedded:
        click.echo("NATTVANDRING_DATABASE_URL is set: there is no embedded cluster to stop")
        return
    cluster = EmbeddedCluster.from_settings(settings.db)
    click.echo("stopped" if cluster.stop() else "not running")


@db.command("status")
@click.pass_obj
@exits_on_error
def db_status(settings: AppSettings) -> None:
    """Say whether the database runs; exit status 0 when it does, 3 when it does not."""
    if not settings.db.embedded:
        url = settings.db.database_url or ""
        try:
            with connection.connect(url) as conn:
                version = connection.database_health(conn)["postgresql"]
        except NattvandringError as exc:
            click.echo(f"external database: {connection.describe_url(url)}: not reachable ({exc})")
            sys.exit(3)
        click.echo(
            f"external database: {connection.describe_url(url)}: running (PostgreSQL {version})"
        )
        return
    st = EmbeddedCluster.from_settings(settings.db).status()
    if not st.initialised:
        click.echo(
            f"embedded PostGIS: not created yet (data directory {st.data_dir}); "
            "`nattvandring db start` creates it"
        )
        sys.exit(3)
    state = "running" if st.running else "stopped"
    click.echo(f"embedded PostGIS: {state}")
    click.echo(f"  data directory: {st.data_dir}")
    click.echo(f"  PostgreSQL:     {st.version}")
    click.echo(f"  address:        127.0.0.1:{st.port}")
    if st.running:
        click.echo(f"  pid:            {st.pid}")
    else:
        sys.exit(3)


@db.command("url")
@click.pass_obj
@exits_on_error
def db_url(settings: AppSettings) -> None:
    """Print the database URL (with its password) for psql or another program."""
    click.echo(connection.database_url(settings.db, start=False))


@db.command("migrate")
@click.pass_obj
@exits_on_error
def db_migrate(settings: AppSettings) -> None:
    """Apply pending schema migrations (the server also does this at start-up)."""
    url = connection.database_url(settings.db)
    with connection.connect(url, autocommit=True) as conn:
        applied = migrate.migrate(conn)
        version = migrate.schema_version(conn)
    for name in applied:
        click.echo(f"applied {name}")
    click.echo(f"schema is at version {version}")


# -- demo ----------------------------------------------------------------------------------------


@main.group()
def demo() -> None:
    """Demo data for Solberga/Älvsjö."""


@demo.command("load")
@click.option(
    "--refresh",
    is_flag=True,
    help="Replace the synthetic deviations and walk season with ones around now.",
)
@click.pass_obj
@exits_on_error
def demo_load(settings: AppSettings, refresh: bool) -> None:
    """Load the Solberga/Älvsjö demo data (idempotent: a second run changes nothing)."""
    from geo.db.accounts import add_demo_users
    from geo.db.demo import load_demo

    url = connection.database_url(settings.db)
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        click.echo(f"loading demo data from {settings.data_dir} …")
        report = load_demo(conn, settings.data_dir, refresh_deviations=refresh)
        new_users = add_demo_users(conn)
        from routes.network_io import import_osm

        network = import_osm(conn, settings.data_dir / DEMO_OSM)
        from geo.db.demo import load_demo_police

        # Placed again now that the streets are there (an unchanged placement writes nothing).
        report.changed.update(
            {
                k: report.changed.get(k, 0) + v
                for k, v in load_demo_police(conn, settings.data_dir).changed.items()
            }
        )
        from geo.db.demo_season import load_demo_season

        season = load_demo_season(conn, settings.data_dir, refresh=refresh)
        report.changed.update(season.changed)
        from geo.db.demo_history import load_demo_grant_reports, load_demo_history

        for part in (
            load_demo_history(conn, settings.data_dir),
            load_demo_grant_reports(conn, settings.data_dir),
        ):
            report.changed.update(part.changed)
    if not any(report.changed.values()) and not new_users and not network.changed:
        click.echo("demo data already loaded: nothing changed")
    for table, n in report.changed.items():
        if n:
            click.echo(f"  {table}: {n} row(s) added or changed")
    if network.changed:
        click.echo(
            f"  street network ({DEMO_OSM}): {network.nodes_added:,} nodes and "
            f"{network.edges_added:,} edges added"
        )
    click.echo(
        "note: the demo's deviation reports and walks are SYNTHETIC (generated, not real reports)"
    )
    if new_users:
        click.echo("demo users (the passwords are shown only now; only their hashes are stored):")
        for user, password in new_users:
            click.echo(f"  {user.role:<8} {user.email}  password: {password}")
    else:
        click.echo(
            "demo users exist already; `nattvandring users password EMAIL` sets a new password"
        )


# -- import ---------------------------------------------------------------------------------------


@main.group("import")
def import_() -> None:
    """Import data: the street network from OpenStreetMap, the police's event notices."""


import_.add_command(import_police_events)


@import_.command("osm")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--area", default=None, help="Keep only the streets within 500 m of this area.")
@click.pass_obj
@exits_on_error
def import_osm_command(settings: AppSettings, path: str, area: str | None) -> None:
    """Import the walkable streets of an .osm or .osm.pbf file (again: changes nothing)."""
    import time

    from routes.network_io import import_osm

    start = time.monotonic()

    def progress(msg: str) -> None:
        click.echo(f"  {time.monotonic() - start:6.1f} s  {msg}", err=True)

    with connection.connect(connection.database_url(settings.db), autocommit=True) as conn:
        migrate.migrate(conn)
        report = import_osm(conn, path, area=area, progress=progress)
    _echo_import(report)
    click.echo(f"  in {time.monotonic() - start:.1f} s")


def _echo_import(report: Any) -> None:
    click.echo(
        f"{report.file_name}: {report.ways_walkable:,} walkable ways of "
        f"{report.ways_read:,}; {report.edges_in_file:,} street edges"
    )
    if report.changed:
        click.echo(
            f"  added {report.nodes_added:,} nodes and {report.edges_added:,} edges; "
            f"updated {report.edges_updated:,}, removed {report.edges_removed:,}"
        )
    else:
        click.echo("  the network is up to date: nothing changed")


# -- export ---------------------------------------------------------------------------------------


@main.group()
def export() -> None:
    """Exports for collaboration meetings."""


@export.command("meeting")
@click.option("--area", default=None, help="Area slug (default: the app's area).")
@click.option("--since", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option(
    "--until", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day (inclusive)."
)
@click.option(
    "--format",
    "fmt",
    default="gpkg",
    show_default=True,
    type=click.Choice(["gpkg", "geojson", "kml", "csv", "shp", "pdf", "html"]),
)
@click.option(
    "--profile", default="partner", show_default=True, type=click.Choice(["partner", "detail"])
)
@click.option("--include-descriptions", is_flag=True, help="Detail profile: with descriptions.")
@click.option("--bucket", default="week", show_default=True, type=click.Choice(["week", "night"]))
@click.option(
    "--user",
    "email",
    required=True,
    help="The account the export is made for (audited; its role decides what it may have).",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file.")
@click.pass_obj
@exits_on_error
def export_meeting(
    settings: AppSettings,
    area: str | None,
    since: Any,
    until: Any,
    fmt: str,
    profile: str,
    include_descriptions: bool,
    bucket: str,
    email: str,
    out: str,
) -> None:
    """The same files as GET /api/v1/exports/meeting (layers or the PDF report)."""
    from pathlib import Path

    from api import meeting
    from geo.db.accounts import list_users

    req = meeting.Request(
        area=area or settings.default_area,
        since=since.date(),
        until=until.date(),
        fmt=fmt,
        profile=profile,
        include_descriptions=include_descriptions,
        bucket=bucket,
    )
    with connection.connect(connection.database_url(settings.db), autocommit=True) as conn:
        user = next(
            (u for u in list_users(conn) if u.email.lower() == email.lower() and not u.disabled),
            None,
        )
        if user is None:
            raise click.BadParameter(f"no enabled user {email}", param_hint="--user")
        result = meeting.export(Single(conn), req, user)
    Path(out).write_bytes(result.content)
    rows = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    click.echo(f"wrote {out} ({len(result.content):,} bytes, SHA-256 {result.sha256}); {rows}")
    click.echo(f"audit row {result.audit_id}")


# -- users ---------------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Accounts: walkers, planners, partners and admins."""


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\n")


@users.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", "organisation", required=True, help="Organisation (created if new).")
@click.pass_obj
@exits_on_error
def users_add(settings: AppSettings, email: str, role: str, organisation: str) -> None:
    """Add a user; the password is read from stdin (or prompted for), never from arguments."""
    from geo.db.accounts import add_user

    password = _read_password()
    url = connection.database_url(settings.db)
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        user = add_user(conn, email, password, role=role, organisation=organisation)
    click.echo(f"added {user.email} ({user.role}, {user.organisation})")


@users.command("list")
@click.pass_obj
@exits_on_error
def users_list(settings: AppSettings) -> None:
    """List the users."""
    from geo.db.accounts import list_users

    with connection.connect(connection.database_url(settings.db), autocommit=True) as conn:
        for u in list_users(conn):
            state = "  (disabled)" if u.disabled else ""
            click.echo(f"{u.email}\t{u.role}\t{u.organisation}{state}")


@users.command("password")
@click.argument("email")
@click.pass_obj
@exits_on_error
def users_password(settings: AppSettings, email: str) -> None:
    """Set a new password (read from stdin or prompted for); ends the user's sign-ins."""
    from geo.db.accounts import set_password

    password = _read_password()
    with connection.connect(connection.database_url(settings.db), autocommit=True) as conn:
        set_password(conn, email, password)
    click.echo(f"new password set for {email}")


@users.command("disable")
@click.argument("email")
@click.pass_obj
@exits_on_error
def users_disable(settings: AppSettings, email: str) -> None:
    """Disable a user; their sign-ins end at once."""
    from geo.db.accounts import disable_user

    with connection.connect(connection.database_url(settings.db), autocommit=True) as conn:
        disable_user(conn, email)
    click.echo(f"disabled {email}")


main.add_command(heatmap)
main.add_command(hotspots)
main.add_command(walks)
main.add_command(areas)
main.add_command(follow_up)


# -- serve ---------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default 8000).")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(0, 64),
    help="Worker processes (default NATTVANDRING_WORKERS, else 0: one per CPU).",
)
@click.pass_obj
@exits_on_error
def serve(settings: AppSettings, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the web app and API (starts the embedded PostGIS when needed)."""
    import os

    import uvicorn

    from api.app import create_app

    host = host or settings.host
    port = port or settings.port
    n = workers if workers is not None else settings.workers
    n = n or os.cpu_count() or 1
    url = connection.database_url(settings.db)
    click.echo(f"database: {connection.describe_url(url)}")
    click.echo(
        f"serving nattvandring on http://{host}:{port} with {n} worker process"
        f"{'es' if n > 1 else ''} (API docs: /docs); Ctrl+C stops"
    )
    if n == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    # The workers are new processes that build the app from the environment
    # (`api.app.worker_app`): they are given the database found here, so that none of them
    # starts the embedded cluster, and the migrations run once, here, before they start.
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
    os.environ["NATTVANDRING_DATABASE_URL"] = url
    uvicorn.run(
        "api.app:worker_app", factory=True, workers=n, host=host, port=port, log_level="info"
    )


if __name__ == "__main__":
    main()
