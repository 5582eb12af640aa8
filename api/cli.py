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
DEMO_OSM = "osm_langbro_solberga_west_2020.osm"


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
        from routes.store import import_osm

        network = import_osm(conn, settings.data_dir / DEMO_OSM)
    if not any(report.changed.values()) and not new_users and not network.changed:
        click.echo("demo data already loaded: nothing changed")
    for table, n in report.changed.items():
        if n:
            click.echo(f"  {table}: {n} row(s) added or changed")
    if network.changed:
        click.echo(f"  street network ({DEMO_OSM}): {network.nodes_added:,} nodes and "
                   f"{network.edges_added:,} edges added")  # fmt: skip
    click.echo("note: the demo's deviation reports are SYNTHETIC (generated, not real reports)")
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
    """Import data: the street network from OpenStreetMap."""


@import_.command("osm")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--area", default=None, help="Keep only the streets within 500 m of this area.")
@click.pass_obj
@_clear_errors
def import_osm_command(settings: AppSettings, path: str, area: str | None) -> None:
    """Import the walkable streets of an .osm or .osm.pbf file (again: changes nothing)."""
    from routes.store import import_osm

    with postgis.connect(postgis.database_url(settings.db), autocommit=True) as conn:
        postgis.migrate(conn)
        report = import_osm(conn, path, area=area,
                            progress=lambda msg: click.echo(f"  {msg}", err=True))  # fmt: skip
    _echo_import(report)


def _echo_import(report: Any) -> None:
    click.echo(f"{report.file_name}: {report.ways_walkable:,} walkable ways of "
               f"{report.ways_read:,}; {report.edges_in_file:,} street edges")  # fmt: skip
    if report.changed:
        click.echo(f"  added {report.nodes_added:,} nodes and {report.edges_added:,} edges; "
                   f"updated {report.edges_updated:,}, removed {report.edges_removed:,}")
    else:
        click.echo("  the network is up to date: nothing changed")


# -- export ---------------------------------------------------------------------------------------


@main.group()
def export() -> None:
    """Exports for collaboration meetings."""


@export.command("meeting")
@click.option("--area", default=None, help="Area slug (default: the app's area).")
@click.option("--since", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--until", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last day (inclusive).")
@click.option("--format", "fmt", default="gpkg", show_default=True,
              type=click.Choice(["gpkg", "geojson", "kml", "csv", "shp", "pdf"]))
@click.option("--profile", default="partner", show_default=True,
              type=click.Choice(["partner", "detail"]))
@click.option("--include-descriptions", is_flag=True, help="Detail profile: with descriptions.")
@click.option("--bucket", default="week", show_default=True, type=click.Choice(["week", "night"]))
@click.option("--user", "email", required=True,
              help="The account the export is made for (audited; its role decides what it may "
                   "have).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file.")
@click.pass_obj
@_clear_errors
def export_meeting(settings: AppSettings, area: str | None, since: Any, until: Any, fmt: str,
                   profile: str, include_descriptions: bool, bucket: str, email: str,
                   out: str) -> None:  # fmt: skip
    """The same files as GET /api/v1/exports/meeting (layers or the PDF report)."""
    from pathlib import Path

    from api import meeting
    from api.accounts import list_users

    req = meeting.Request(area=area or settings.default_area, since=since.date(),
                          until=until.date(), fmt=fmt, profile=profile,
                          include_descriptions=include_descriptions, bucket=bucket)  # fmt: skip
    with postgis.connect(postgis.database_url(settings.db), autocommit=True) as conn:
        user = next((u for u in list_users(conn) if u.email.lower() == email.lower()
                     and not u.disabled), None)  # fmt: skip
        if user is None:
            raise click.BadParameter(f"no enabled user {email}", param_hint="--user")
        result = meeting.export(conn, req, user)
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


# -- heat maps and hot spots ---------------------------------------------------------------------


def _analysis_options(fn: F) -> F:
    for option in reversed([
        click.option("--area", default=None, help="Area slug (default: the app's area)."),
        click.option("--zone", default=None, help="Only this collaboration zone (slug)."),
        click.option("--since", default=None, help="Start, ISO 8601 (default: 90 days ago)."),
        click.option("--until", default=None, help="End, ISO 8601 (default: now)."),
        click.option("--category", multiple=True, help="Category code (repeatable)."),
        click.option("--days", default=None, help="Days of week, e.g. fri-sat or fre-lör."),
        click.option("--hours", default=None, help="Local hours, e.g. 20-02."),
        click.option("--compare", is_flag=True, help="Against the previous period of the same "
                     "length."),
        click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
                     help="Output file."),
    ]):  # fmt: skip
        fn = option(fn)
    return fn


def _moment(text: str | None, name: str) -> Any:
    from datetime import UTC, datetime

    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 date or time", param_hint=name
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _selection(settings: AppSettings, kw: dict[str, Any], *, margin_m: float) -> Any:
    from datetime import UTC, datetime, timedelta

    from geo.analysis import Window
    from geo.deviation_store import select_points
    from geo.timeofweek import parse_days, parse_hours

    until = _moment(kw["until"], "--until") or datetime.now(UTC)
    since = _moment(kw["since"], "--since") or until - timedelta(days=90)
    window = Window(since, until, parse_days(kw["days"]), parse_hours(kw["hours"]), kw["days"],
                    kw["hours"])  # fmt: skip
    area = kw["area"] or settings.default_area
    first = window.previous().since if kw["compare"] else since
    with postgis.connect(postgis.database_url(settings.db), autocommit=True) as conn:
        selection = select_points(conn, area=area, zone=kw["zone"], since=first, until=until,
                                  categories=list(kw["category"]) or None, margin_m=margin_m)
    return selection, window


@main.command()
@_analysis_options
@click.option("--bandwidth-m", default=150.0, show_default=True, type=click.FloatRange(10, 2000))
@click.option("--cell-m", default=25.0, show_default=True, type=click.FloatRange(5, 500))
@click.option("--kernel", default="gaussian", show_default=True,
              type=click.Choice(["gaussian", "quartic"]))
@click.option("--half-life-days", default=None, type=click.FloatRange(min=0, min_open=True))
@click.pass_obj
@_clear_errors
def heatmap(settings: AppSettings, **kw: Any) -> None:
    """A heat map (kernel density, reports per km² per week) as .png, .geojson or .tif."""
    import json
    from pathlib import Path

    from geo import heat, heat_image, isopleths
    from geo.analysis import HeatParams, heat_map

    out = Path(kw["out"])
    if out.suffix.lower() not in (".png", ".geojson", ".tif", ".tiff"):
        raise click.BadParameter("the file must end in .png, .geojson or .tif", param_hint="--out")
    params = HeatParams(bandwidth_m=kw["bandwidth_m"], cell_m=kw["cell_m"], kernel=kw["kernel"],
                        half_life_days=kw["half_life_days"])  # fmt: skip
    margin = 4 * params.bandwidth_m if params.kernel == "gaussian" else params.bandwidth_m
    selection, window = _selection(settings, kw, margin_m=margin)
    raster = heat_map(selection, window, params)
    if kw["compare"]:
        raster = heat.difference(raster, heat_map(selection, window.previous(), params))
    described = {**window.describe(), **params.describe(), "area": selection.area,
                 "region": selection.region_name}  # fmt: skip
    if out.suffix.lower() == ".png":
        ramp = "RdBu" if kw["compare"] else "YlOrRd"
        png, bounds, legend = heat_image.raster_png(raster, ramp=ramp)
        out.write_bytes(png)
        click.echo(f"bounds (lat/lon): {bounds}; colour scale 0–{legend['max']:.3g} {raster.unit}")
    elif out.suffix.lower() == ".geojson":
        if kw["compare"]:
            raise click.BadParameter("a comparison has no isopleths: write .png or .tif",
                                     param_hint="--out")  # fmt: skip
        fc = isopleths.isopleths_geojson(raster)
        fc["parameters"] = described
        out.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    else:
        from maps.geotiff import write_geotiff

        write_geotiff(raster, out, tags=described)
    click.echo(f"wrote {out} ({raster.width}×{raster.height} cells of {params.cell_m:g} m, "
               f"{raster.crs}, {raster.unit})")  # fmt: skip


@main.command()
@_analysis_options
@click.option("--cell-m", default=100.0, show_default=True, type=click.FloatRange(25, 1000))
@click.option("--shape", default="square", show_default=True, type=click.Choice(["square", "hex"]))
@click.option("--all-cells", is_flag=True, help="Also the cells that are not significant.")
@click.pass_obj
@_clear_errors
def hotspots(settings: AppSettings, **kw: Any) -> None:
    """Hot spots (Getis-Ord Gi* with FDR) as GeoJSON polygons."""
    import json
    from pathlib import Path

    from geo.analysis import HotSpotParams, hot_spot_map

    out = Path(kw["out"])
    if out.suffix.lower() != ".geojson":
        raise click.BadParameter("the file must end in .geojson", param_hint="--out")
    params = HotSpotParams(cell_m=kw["cell_m"], shape=kw["shape"],
                           significant_only=not kw["all_cells"])  # fmt: skip
    selection, window = _selection(settings, kw, margin_m=0)
    fc = hot_spot_map(selection, window, params, compare_previous=kw["compare"])
    fc["parameters"] = {**window.describe(), **params.describe(), "area": selection.area}
    out.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    hot = sum(1 for f in fc["features"] if f["properties"]["class"] > 0)
    click.echo(f"wrote {out}: {len(fc['features'])} cells ({hot} hot)")


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
