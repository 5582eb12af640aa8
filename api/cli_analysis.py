"""``nattvandring heatmap`` and ``nattvandring hotspots``: the analyses of the API as files."""

from __future__ import annotations

from typing import Any

import click

from api.cli_errors import F, exits_on_error
from api.settings import AppSettings
from geo.db import connection


def _analysis_options(fn: F) -> F:
    for option in reversed(
        [
            click.option("--area", default=None, help="Area slug (default: the app's area)."),
            click.option("--zone", default=None, help="Only this collaboration zone (slug)."),
            click.option("--since", default=None, help="Start, ISO 8601 (default: 90 days ago)."),
            click.option("--until", default=None, help="End, ISO 8601 (default: now)."),
            click.option("--category", multiple=True, help="Category code (repeatable)."),
            click.option("--days", default=None, help="Days of week, e.g. fri-sat or fre-lör."),
            click.option("--hours", default=None, help="Local hours, e.g. 20-02."),
            click.option(
                "--compare", is_flag=True, help="Against the previous period of the same length."
            ),
            click.option(
                "--out", "out", required=True, type=click.Path(dir_okay=False), help="Output file."
            ),
        ]
    ):
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
    from geo.db.deviations import select_points
    from geo.timeofweek import parse_days, parse_hours

    until = _moment(kw["until"], "--until") or datetime.now(UTC)
    since = _moment(kw["since"], "--since") or until - timedelta(days=90)
    window = Window(
        since, until, parse_days(kw["days"]), parse_hours(kw["hours"]), kw["days"], kw["hours"]
    )
    area = kw["area"] or settings.default_area
    first = window.previous().since if kw["compare"] else since
    with connection.connect(connection.database_url(settings.db), autocommit=True) as conn:
        selection = select_points(
            conn,
            area=area,
            zone=kw["zone"],
            since=first,
            until=until,
            categories=list(kw["category"]) or None,
            margin_m=margin_m,
        )
    return selection, window


@click.command()
@_analysis_options
@click.option("--bandwidth-m", default=150.0, show_default=True, type=click.FloatRange(10, 2000))
@click.option("--cell-m", default=25.0, show_default=True, type=click.FloatRange(5, 500))
@click.option(
    "--kernel", default="gaussian", show_default=True, type=click.Choice(["gaussian", "quartic"])
)
@click.option("--half-life-days", default=None, type=click.FloatRange(min=0, min_open=True))
@click.pass_obj
@exits_on_error
def heatmap(settings: AppSettings, **kw: Any) -> None:
    """A heat map (kernel density, reports per km² per week) as .png, .geojson or .tif."""
    import json
    from pathlib import Path

    from geo import heat, isopleths
    from geo.analysis import HeatParams, heat_map
    from maps import heat_image

    out = Path(kw["out"])
    if out.suffix.lower() not in (".png", ".geojson", ".tif", ".tiff"):
        raise click.BadParameter("the file must end in .png, .geojson or .tif", param_hint="--out")
    params = HeatParams(
        bandwidth_m=kw["bandwidth_m"],
        cell_m=kw["cell_m"],
        kernel=kw["kernel"],
        half_life_days=kw["half_life_days"],
    )
    margin = 4 * params.bandwidth_m if params.kernel == "gaussian" else params.bandwidth_m
    selection, window = _selection(settings, kw, margin_m=margin)
    raster = heat_map(selection, window, params)
    if kw["compare"]:
        raster = heat.difference(raster, heat_map(selection, window.previous(), params))
    described = {
        **window.describe(),
        **params.describe(),
        "area": selection.area,
        "region": selection.region_name,
    }
    if out.suffix.lower() == ".png":
        ramp = "RdBu" if kw["compare"] else "YlOrRd"
        png, bounds, legend = heat_image.raster_png(raster, ramp=ramp)
        out.write_bytes(png)
        click.echo(f"bounds (lat/lon): {bounds}; colour scale 0–{legend['max']:.3g} {raster.unit}")
    elif out.suffix.lower() == ".geojson":
        if kw["compare"]:
            raise click.BadParameter(
                "a comparison has no isopleths: write .png or .tif", param_hint="--out"
            )
        fc = isopleths.isopleths_geojson(raster)
        fc["parameters"] = described
        out.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    else:
        from maps.geotiff import write_geotiff

        style = write_geotiff(
            raster, out, tags=described, ramp="RdBu" if kw["compare"] else "YlOrRd"
        )
        click.echo(f"colour map for QGIS: {style}")
    click.echo(
        f"wrote {out} ({raster.width}×{raster.height} cells of {params.cell_m:g} m, "
        f"{raster.crs}, {raster.unit})"
    )


@click.command()
@_analysis_options
@click.option("--cell-m", default=100.0, show_default=True, type=click.FloatRange(25, 1000))
@click.option("--shape", default="square", show_default=True, type=click.Choice(["square", "hex"]))
@click.option("--all-cells", is_flag=True, help="Also the cells that are not significant.")
@click.pass_obj
@exits_on_error
def hotspots(settings: AppSettings, **kw: Any) -> None:
    """Hot spots (Getis-Ord Gi* with FDR) as GeoJSON polygons."""
    import json
    from pathlib import Path

    from geo.analysis import HotspotParams, hotspot_map

    out = Path(kw["out"])
    if out.suffix.lower() != ".geojson":
        raise click.BadParameter("the file must end in .geojson", param_hint="--out")
    params = HotspotParams(
        cell_m=kw["cell_m"], shape=kw["shape"], significant_only=not kw["all_cells"]
    )
    selection, window = _selection(settings, kw, margin_m=0)
    fc = hotspot_map(selection, window, params, compare_previous=kw["compare"])
    fc["parameters"] = {**window.describe(), **params.describe(), "area": selection.area}
    out.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    hot = sum(1 for f in fc["features"] if f["properties"]["class"] > 0)
    click.echo(f"wrote {out}: {len(fc['features'])} cells ({hot} hot)")
