"""``nattvandring import police-events``: the police's public event notices as context.

From a file in the feed's format (a JSON list, or an archive's ``{"events": [...]}``) or, with
``--url``, from the live feed ``polisen.se/api/events`` where the server has internet. Each
notice is placed by the place names in its text (`geo.police`) and stored once per feed id.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from api.cli_errors import exits_on_error
from api.settings import AppSettings
from geo.db import connection, migrate
from geo.db.police_events import ImportCounts, gazetteer, import_notices
from geo.police import parse_notices

FEED_URL = "https://polisen.se/api/events?locationname=Stockholm"
FEED_TIMEOUT_S = 20.0


def fetch_feed(url: str, *, timeout_s: float = FEED_TIMEOUT_S) -> Any:
    """The live feed's JSON; a `click.ClickException` that says why when it cannot be read
    (no internet, a timeout, not JSON)."""
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked just below)
        url, headers={"User-Agent": "nattvandring (platssamverkan)", "Accept": "application/json"}
    )
    if not url.startswith(("https://", "http://")):
        raise click.ClickException(f"--url must be an http(s) address; got {url!r}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise click.ClickException(
            f"the police's feed {url} could not be read ({reason}); without internet, import a "
            "saved file instead: nattvandring import police-events FILE.json"
        ) from None
    except ValueError as exc:
        raise click.ClickException(f"the feed {url} did not send JSON ({exc})") from None


def echo_counts(label: str, c: ImportCounts) -> None:
    click.echo(
        f"{label}: {c.read} notice(s): {c.added} added, {c.updated} updated, "
        f"{c.unchanged} unchanged; {c.placed} placed by the place names of their text, "
        f"{c.unplaced} unplaced"
    )


@click.command("police-events")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--url",
    "url",
    is_flag=False,
    flag_value=FEED_URL,
    default=None,
    help=f"Read the live feed (default address {FEED_URL}).",
)
@click.option("--timeout", "timeout_s", default=FEED_TIMEOUT_S, show_default=True, type=float)
@click.pass_obj
@exits_on_error
def import_police_events(
    settings: AppSettings, path: str | None, url: str | None, timeout_s: float
) -> None:
    """Import police event notices (polisen.se/api/events format); again: stores each once."""
    if (path is None) == (url is None):
        raise click.UsageError("give either FILE.json or --url")
    if path is not None:
        with Path(path).open(encoding="utf-8") as fh:
            data = json.load(fh)
        source, label = ("archive" if isinstance(data, dict) else "feed"), path
    else:
        assert url is not None
        data, source, label = fetch_feed(url, timeout_s=timeout_s), "feed", url
    notices = parse_notices(data)
    with connection.connect(connection.database_url(settings.db), autocommit=True) as conn:
        migrate.migrate(conn)
        counts = import_notices(conn, notices, gazetteer(conn, settings.data_dir), source=source)
    echo_counts(label, counts)
    click.echo("Händelser: Polisen (polisen.se); placed at district, place or street level only")
