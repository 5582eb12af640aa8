"""Rasters out as GeoTIFF files, for QGIS, ArcGIS and GDAL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.transform import Affine

from geo.heat import Raster


def write_geotiff(raster: Raster, path: Path, *, tags: dict[str, Any] | None = None) -> None:
    """Write ``raster`` as a single-band float32 GeoTIFF (NaN = no data, deflate-compressed),
    with its unit and ``tags`` (the parameters) in the file's metadata."""
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
        dst.update_tags(unit=raster.unit, **{k: str(v) for k, v in (tags or {}).items()})
        dst.set_band_description(1, f"density ({raster.unit})")
