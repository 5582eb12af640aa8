"""The ``nattvandring`` command: the one entry point for operators."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from api.settings import AppSettings
from geo import postgis
from geo.cluster import EmbeddedCluster
from geo.errors import NattvandringError

F = TypeVar("F", bound=Callable[..., Any])


def _clear_errors(fn: F) -> F:
    """Turn our errors into one line on stderr and exit status 1 (no traceback)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NattvandringError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


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
@_clear_errors
def db_start(settings: AppSettings) -> None:
    """Create (first time) and start the embedded PostGIS; harmless when it runs already."""
    if not settings.db.embedded:
        url = settings.db.database_url or ""
        with postgis.connect(url):
            pass
        click.echo(
            f"NATTVANDRING_DATABASE_URL is set: using {postgis.describe_url(url)}; "
            "no embedded cluster is started"
        )
        return
    url = postgis.database_url(settings.db)
    click.echo(f"embedded PostGIS running: {postgis.describe_url(url)}")
    click.echo(f"data directory: {settings.db.home_dir}")


@db.command("stop")
@click.pass_obj
@_clear_errors
def db_stop(settings: AppSettings) -> None:
    """Stop the embedded PostGIS (fast shutdown)."""
    if not settings.db.embedded:
        click.echo("NATTVANDRING_DATABASE_URL is set: there is no embedded cluster to stop")
        return
    cluster = EmbeddedCluster.from_settings(settings.db)
    click.echo("stopped" if cluster.stop() else "not running")


@db.command("status")
@click.pass_obj
@_clear_errors
def db_status(settings: AppSettings) -> None:
    """Say whether the database runs; exit status 0 when it does, 3 when it does not."""
    if not settings.db.embedded:
        url = settings.db.database_url or ""
        try:
            with postgis.connect(url) as conn:
                version = conn.execute("SHOW server_version").fetchone()
        except NattvandringError as exc:
            click.echo(f"external database: {postgis.describe_url(url)}: not reachable ({exc})")
            sys.exit(3)
        click.echo(f"external database: {postgis.describe_url(url)}: running "
                   f"(PostgreSQL {version[0] if version else '?'})")  # fmt: skip
        return
    st = EmbeddedCluster.from_settings(settings.db).status()
    if not st.initialised:
        click.echo(f"embedded PostGIS: not created yet (data directory {st.data_dir}); "
                   "`nattvandring db start` creates it")  # fmt: skip
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
@_clear_errors
def db_url(settings: AppSettings) -> None:
    """Print the database URL (with its password) for psql or another program."""
    click.echo(postgis.database_url(settings.db, start=False))


@db.command("migrate")
@click.pass_obj
@_clear_errors
def db_migrate(settings: AppSettings) -> None:
    """Apply pending schema migrations (the server also does this at start-up)."""
    url = postgis.database_url(settings.db)
    with postgis.connect(url, autocommit=True) as conn:
        applied = postgis.migrate(conn)
        row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    for name in applied:
        click.echo(f"applied {name}")
    click.echo(f"schema is at version {row[0] if row else 0}")


# -- demo ----------------------------------------------------------------------------------------


@main.group()
def demo() -> None:
    """Demo data for Solberga/Älvsjö."""


@demo.command("load")
@click.option(
    "--refresh",
    is_flag=True,
    help="Replace the synthetic deviations with a history that ends now.",
)
@click.pass_obj
@_clear_errors
def demo_load(settings: AppSettings, refresh: bool) -> None:
    """Load the Solberga/Älvsjö demo data (idempotent: a second run changes nothing)."""
    from api.accounts import add_demo_users
    from geo.demo_store import load_demo

    url = postgis.database_url(settings.db)
    with postgis.connect(url, autocommit=True) as conn:
        postgis.migrate(conn)
        click.echo(f"loading demo data from {settings.data_dir} …")
        report = load_demo(conn, settings.data_dir, refresh_deviations=refresh)
        new_users = add_demo_users(conn)
    if not any(report.changed.values()) and not new_users:
        click.echo("demo data already loaded: nothing changed")
    for table, n in report.changed.items():
        if n:
            click.echo(f"  {table}: {n} row(s) added or changed")
    click.echo("note: the demo's deviation reports are SYNTHETIC (generated, not real reports)")
    if new_users:
        click.echo("demo users (the passwords are shown only now; only their hashes are stored):")
        for user, password in new_users:
            click.echo(f"  {user.role:<8} {user.email}  password: {password}")
    else:
        click.echo(
            "demo users exist already; `nattvandring users password EMAIL` sets a new password"
        )


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
@click.option("--role", required=True, type=click.Choice(["walker", "planner", "partner", "admin"]))
@click.option("--org", "organisation", required=True, help="Organisation (created if new).")
@click.pass_obj
@_clear_errors
def users_add(settings: AppSettings, email: str, role: str, organisation: str) -> None:
    """Add a user; the password is read from stdin (or prompted for), never from arguments."""
    from api.accounts import add_user

    password = _read_password()
    url = postgis.database_url(settings.db)
    with postgis.connect(url, autocommit=True) as conn:
        postgis.migrate(conn)
        user = add_user(conn, email, password, role=role, organisation=organisation)
    click.echo(f"added {user.email} ({user.role}, {user.organisation})")


@users.command("list")
@click.pass_obj
@_clear_errors
def users_list(settings: AppSettings) -> None:
    """List the users."""
    from api.accounts import list_users

    with postgis.connect(postgis.database_url(settings.db), autocommit=True) as conn:
        for u in list_users(conn):
            state = "  (disabled)" if u.disabled else ""
            click.echo(f"{u.email}\t{u.role}\t{u.organisation}{state}")


@users.command("password")
@click.argument("email")
@click.pass_obj
@_clear_errors
def users_password(settings: AppSettings, email: str) -> None:
    """Set a new password (read from stdin or prompted for); ends the user's sign-ins."""
    from api.accounts import set_password

    password = _read_password()
    with postgis.connect(postgis.database_url(settings.db), autocommit=True) as conn:
        set_password(conn, email, password)
    click.echo(f"new password set for {email}")


@users.command("disable")
@click.argument("email")
@click.pass_obj
@_clear_errors
def users_disable(settings: AppSettings, email: str) -> None:
    """Disable a user; their sign-ins end at once."""
    from api.accounts import disable_user

    with postgis.connect(postgis.database_url(settings.db), autocommit=True) as conn:
        disable_user(conn, email)
    click.echo(f"disabled {email}")


# -- serve ---------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default 8000).")
@click.pass_obj
@_clear_errors
def serve(settings: AppSettings, host: str | None, port: int | None) -> None:
    """Serve the web app and API (starts the embedded PostGIS when needed)."""
    import uvicorn

    from api.app import create_app

    host = host or settings.host
    port = port or settings.port
    url = postgis.database_url(settings.db)
    click.echo(f"database: {postgis.describe_url(url)}")
    click.echo(f"serving nattvandring on http://{host}:{port} (API docs: /docs); Ctrl+C stops")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


if __name__ == "__main__":
    main()
