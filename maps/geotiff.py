"""Rasters out as GeoTIFF files, for QGIS, ArcGIS and GDAL, with a QGIS colour map beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import rasterio
from matplotlib.colors import to_hex
from rasterio.enums import ColorInterp
from rasterio.transform import Affine

from geo.heat import Raster
from maps.heat_image import colormap

STOPS = 9


def _tag(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def raster_qml(raster: Raster, *, ramp: str = "YlOrRd") -> str:
    r"""A QGIS style (QML) for the raster's band: a pseudocolour ramp of `STOPS` stops from 0 to
    the maximum (YlOrRd), or symmetric around 0 for a difference (``ramp="RdBu"``).

    >>> r = Raster(np.array([[0.0, 2.0], [np.nan, 4.0]]), (25, 0, 670000, 0, -25, 6580000))
    >>> doc = ET.fromstring(raster_qml(r).split("\n", 1)[1])
    >>> doc.find(".//rasterrenderer").get("type")
    'singlebandpseudocolor'
    >>> len(doc.findall(".//colorrampshader/item"))
    9
    """
    values = raster.values[np.isfinite(raster.values)]
    top = float(np.abs(values).max()) if values.size else 1.0
    top = top or 1.0
    low = -top if ramp == "RdBu" else 0.0
    cmap = colormap(ramp)
    root = ET.Element("qgis", version="3.22.16-Białowieża", styleCategories="Symbology")
    pipe = ET.SubElement(root, "pipe")
    renderer = ET.SubElement(
        pipe,
        "rasterrenderer",
        type="singlebandpseudocolor",
        band="1",
        opacity="0.8",
        classificationMin=f"{low:g}",
        classificationMax=f"{top:g}",
        alphaBand="-1",
        nodataColor="",
    )
    shader = ET.SubElement(renderer, "rastershader")
    ramp_el = ET.SubElement(
        shader,
        "colorrampshader",
        colorRampType="INTERPOLATED",
        classificationMode="1",
        clip="0",
        minimumValue=f"{low:g}",
        maximumValue=f"{top:g}",
    )
    for i in range(STOPS):
        t = i / (STOPS - 1)
        value = low + t * (top - low)
        ET.SubElement(
            ramp_el,
            "item",
            value=f"{value:.6g}",
            color=to_hex(cmap(t)),
            alpha="255",
            label=f"{value:.3g} {raster.unit}",
        )
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )


def write_geotiff(
    raster: Raster, path: Path, *, tags: dict[str, Any] | None = None, ramp: str = "YlOrRd"
) -> Path:
    """Write ``raster`` as a single-band float32 GeoTIFF (NaN = no data, deflate-compressed),
    with its unit and ``tags`` (the parameters; those without a value left out, never
    ``None``) in the file's metadata, and its colour map as ``<name>.qml`` beside it (QGIS
    applies it when it opens the file). Returns the QML's path."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=raster.width,
        height=raster.height,
        count=1,
        dtype="float32",
        crs=raster.crs,
        transform=Affine(*raster.transform),
        nodata=np.nan,
        compress="deflate",
    ) as dst:
        dst.write(raster.values.astype(np.float32), 1)
        kept = {k: _tag(v) for k, v in (tags or {}).items() if v is not None and v != []}
        dst.update_tags(unit=raster.unit, colour_ramp=ramp, **kept)
        dst.set_band_description(1, f"density ({raster.unit})")
        # A float band has no palette; it is a grey band that the .qml colours.
        dst.colorinterp = [ColorInterp.gray]
    style = Path(path).with_suffix(".qml")
    style.write_text(raster_qml(raster, ramp=ramp), encoding="utf-8")
    return style
