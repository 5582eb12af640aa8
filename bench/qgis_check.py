"""QGIS's own OGC API – Features provider (``OAPIF``) against the served app, with a token.

One command (from the repository, after ``make setup``; QGIS installed with
``apt-get install qgis python3-qgis``, which CI does not have)::

    .venv/bin/python bench/qgis_check.py

It serves the app over a database of its own (``nv_qgis``: the demo data, SYNTHETIC
deviations), makes a planner and a partner with bearer tokens, and runs this same file under
the system Python that has PyQGIS (``--qgis-python``, default ``/usr/bin/python3``) with
``QT_QPA_PLATFORM=offscreen``. That part opens each collection as an ``OAPIF`` layer, as a user
does in QGIS's "WFS / OGC API – Features" dialog, with the token in the ``Authorization``
header: through an "API Header" authentication configuration where the QGIS version has that
method, otherwise (QGIS 3.22, Debian 12) through a request preprocessor that adds the same
header to every request QGIS makes. It counts the features, reads the layer's CRS and
compares the count with ``numberMatched`` of the API; exit status 1 when one differs, a
layer does not open, or the partner can open ``deviations``.

Then it downloads the partner's export of the last 90 days as GeoPackage, Shapefile zip and
GeoJSON zip, as an analyst would, and opens the count layers and the hot spots in QGIS with the
files' own styles (the GeoPackage's ``layer_styles``, the ``.qml`` beside each file). The
count layers of the period (``avvikelser_zon``, ``avvikelser_ruta``) are opened as QGIS opens
them, with the style it applies by itself: graduated by ``antal_totalt``, one feature per zone
(or cell). The weeks' layers (``avvikelser_zon_vecka``…) must be graduated too, with QGIS's
temporal setting on (one week at a time: never two features of one zone or cell in a week),
and the hot spots categorised by ``stil`` with a class for the gone ones. QGIS 3.22 forgets a
GeoPackage style's temporal setting when it opens the layer (it resets it from the data
provider afterwards); loading the layer's default style again (Layer Properties → Style →
Default) brings it back, which is what the check does for the weeks' layers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

QGIS_DB = "nv_qgis"
# The accounts the check signs in with: role → organisation.
ACCOUNTS = {"planner": "Älvsjö AIK", "partner": "Polisen"}
COLLECTIONS = ("areas", "zones", "places", "deviations", "deviation-zones", "hotspots")


def _serve_and_check(qgis_python: str) -> int:
    import httpx

    from api.settings import AppSettings
    from bench.common import BENCH_PASSWORD, live_server
    from geo.db import connection, migrate
    from geo.db.accounts import add_user
    from geo.db.demo import load_demo

    settings = AppSettings()
    server = connection.database_url(settings.db)
    connection.ensure_database(server, QGIS_DB)
    url = connection.server_url(server, QGIS_DB)
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        if not conn.execute("SELECT 1 FROM areas LIMIT 1").fetchone():
            load_demo(conn, settings.data_dir)
        for role, org in ACCOUNTS.items():
            email = f"qgis-{role}@example.org"
            if not conn.execute("SELECT 1 FROM users WHERE email = %s", (email,)).fetchone():
                add_user(conn, email, BENCH_PASSWORD, role=role, organisation=org)
    with live_server(url) as base:
        tokens = {}
        for account in ACCOUNTS:
            r = httpx.post(
                f"{base}/api/v1/auth/token",
                data={"username": f"qgis-{account}@example.org", "password": BENCH_PASSWORD},
            )
            r.raise_for_status()
            tokens[account] = r.json()["access_token"]
        expected = {}
        for cid in COLLECTIONS:
            r = httpx.get(
                f"{base}/ogc/collections/{cid}/items",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {tokens['planner']}"},
            )
            r.raise_for_status()
            expected[cid] = r.json()["numberMatched"]
        files = _download_exports(base, tokens["partner"])
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        job = {"base": base, "tokens": tokens, "expected": expected, "files": files}
        done = subprocess.run(
            [qgis_python, __file__, "--pyqgis"],
            input=json.dumps(job),
            text=True,
            env=env,
            check=False,
        )
        return done.returncode


def _download_exports(base: str, token: str) -> dict[str, str]:
    """The partner's export of the last 90 days in the three GIS formats, unpacked: format →
    the directory (zips) or file (GeoPackage) QGIS opens."""
    import tempfile
    import zipfile
    from datetime import date, timedelta

    import httpx

    out = Path(tempfile.mkdtemp(prefix="nv-qgis-export-"))
    today = date.today()
    params = {"area": "solberga", "since": str(today - timedelta(days=90)), "until": str(today)}
    files: dict[str, str] = {}
    for fmt in ("gpkg", "shp", "geojson"):
        r = httpx.get(
            f"{base}/api/v1/exports/meeting",
            params={**params, "format": fmt},
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        r.raise_for_status()
        if fmt == "gpkg":
            path = out / "export.gpkg"
            path.write_bytes(r.content)
            files[fmt] = str(path)
        else:
            folder = out / fmt
            folder.mkdir()
            (out / f"{fmt}.zip").write_bytes(r.content)
            with zipfile.ZipFile(out / f"{fmt}.zip") as zf:
                zf.extractall(folder)
            files[fmt] = str(folder)
    return files


def _check_export_styles(files: dict[str, str]) -> bool:  # pragma: no cover - under PyQGIS
    """The export's count layers and hot spots as QGIS draws them with the files' styles."""
    from qgis.core import (  # type: ignore[import-not-found]
        QgsDateTimeRange,
        QgsFeatureRequest,
        QgsVectorLayer,
        QgsVectorLayerTemporalContext,
    )
    from qgis.PyQt.QtCore import QDate, QDateTime, QTime  # type: ignore[import-not-found]

    ok = True
    for fmt, where in files.items():
        ext = "shp" if fmt == "shp" else "geojson"
        for name in ("avvikelser_zon", "avvikelser_ruta"):
            # As QGIS opens it (its default style: layer_styles, or the .qml beside the file).
            source = f"{where}|layername={name}" if fmt == "gpkg" else f"{where}/{name}.{ext}"
            layer = QgsVectorLayer(source, name, "ogr")
            renderer = layer.renderer()
            kind = renderer.type() if renderer else "none"
            place = "zon" if name == "avvikelser_zon" else "ruta"
            places = [f[place] for f in layer.getFeatures()]
            fine = (
                layer.isValid()
                and kind == "graduatedSymbol"
                and renderer.classAttribute() in ("antal_totalt", "antal_tota")
                and len(places) > 0
                and len(places) == len(set(places))
            )
            ok &= fine
            print(
                f"  {fmt:<8}{name:<22} {len(places):>4} features  {kind} by "
                f"{renderer.classAttribute() if renderer else '-'}, {len(set(places))} "
                f"{place} (one feature each): {'OK' if fine else 'MISSED'}"
            )
        for name in ("avvikelser_zon_vecka", "avvikelser_ruta_vecka", "hotspots"):
            if fmt == "gpkg":
                layer = QgsVectorLayer(f"{where}|layername={name}", name, "ogr")
                _msg, loaded = layer.loadDefaultStyle()
            else:
                layer = QgsVectorLayer(f"{where}/{name}.{ext}", name, "ogr")
                _msg, loaded = layer.loadNamedStyle(f"{where}/{name}.qml")
            renderer = layer.renderer()
            kind = renderer.type() if renderer else "none"
            if name == "hotspots":
                values = [str(c.value()) for c in renderer.categories()] if loaded else []
                fine = layer.isValid() and kind == "categorizedSymbol" and "forsvunnen" in values
                print(
                    f"  {fmt:<8}{name:<22} {layer.featureCount():>4} features  {kind} by "
                    f"{renderer.classAttribute()}, {len(values)} classes incl. forsvunnen: "
                    f"{'OK' if fine else 'MISSED'}"
                )
                ok &= fine
                continue
            temporal = layer.temporalProperties()
            fields = [f.name() for f in layer.fields()]
            start = "period_sta" if fmt == "shp" else "period_start"
            place = "zon" if name.startswith("avvikelser_zon") else "ruta"
            weeks = sorted(
                {
                    f[start].toPyDate() if hasattr(f[start], "toPyDate") else f[start]
                    for f in layer.getFeatures()
                },
                key=str,
            )
            worst = 0
            if temporal.isActive() and weeks:
                for week in weeks:
                    day = QDate.fromString(str(week)[:10], "yyyy-MM-dd")
                    span = QgsDateTimeRange(
                        QDateTime(day, QTime(0, 0)),
                        QDateTime(day.addDays(7), QTime(0, 0)),
                        True,
                        False,
                    )
                    context = QgsVectorLayerTemporalContext()
                    context.setLayer(layer)
                    shown = [
                        f[place]
                        for f in layer.getFeatures(
                            QgsFeatureRequest().setFilterExpression(
                                temporal.createFilterString(context, span)
                            )
                        )
                    ]
                    worst = max(worst, max((shown.count(p) for p in set(shown)), default=0))
            fine = (
                layer.isValid()
                and kind == "graduatedSymbol"
                and renderer.classAttribute() in ("antal_totalt", "antal_tota")
                and temporal.isActive()
                and worst <= 1
                and any(n.startswith("antal_") for n in fields)
            )
            ok &= fine
            print(
                f"  {fmt:<8}{name:<22} {layer.featureCount():>4} features  {kind} by "
                f"{renderer.classAttribute()}, temporal {'on' if temporal.isActive() else 'off'},"
                f" {len(weeks)} periods, at most {worst} feature per {place} and period: "
                f"{'OK' if fine else 'MISSED'}"
            )
    return ok


def _pyqgis() -> int:  # pragma: no cover - runs under the system Python with PyQGIS
    import tempfile

    job = json.loads(sys.stdin.read())
    os.environ.setdefault("QGIS_AUTH_DB_DIR_PATH", tempfile.mkdtemp(prefix="nv-qgis-auth-"))
    from qgis.core import (  # type: ignore[import-not-found]
        Qgis,
        QgsApplication,
        QgsAuthMethodConfig,
        QgsNetworkAccessManager,
        QgsVectorLayer,
    )

    app = QgsApplication([], False)
    app.initQgis()
    print(f"QGIS {Qgis.QGIS_VERSION}")
    auth = QgsApplication.authManager()
    current = {"token": ""}
    authcfg = ""
    if "APIHeader" in auth.authMethodsKeys():
        auth.setMasterPassword("nattvandring-check", True)
        how = "authentication configuration 'API Header'"
    else:
        how = "request preprocessor (QGIS before the 'API Header' method)"

        def add_header(request: object) -> None:
            request.setRawHeader(b"Authorization", f"Bearer {current['token']}".encode())  # type: ignore[attr-defined]

        QgsNetworkAccessManager.setRequestPreprocessor(add_header)
    print(f"  token sent as Authorization: Bearer … through a {how}")

    def open_layer(cid: str, role: str) -> QgsVectorLayer:
        nonlocal authcfg
        current["token"] = job["tokens"][role]
        extra = ""
        if "APIHeader" in auth.authMethodsKeys():
            cfg = QgsAuthMethodConfig("APIHeader")
            cfg.setName(f"nattvandring {role}")
            cfg.setConfig("Authorization", f"Bearer {job['tokens'][role]}")
            auth.storeAuthenticationConfig(cfg)
            authcfg = cfg.id()
            extra = f" authcfg='{authcfg}'"
        uri = f"url='{job['base']}/ogc' typename='{cid}' restrictToRequestBBOX='0'{extra}"
        return QgsVectorLayer(uri, cid, "OAPIF")

    ok = True
    for cid, expected in job["expected"].items():
        layer = open_layer(cid, "planner")
        if not layer.isValid():
            print(f"  {cid:<18} did not open: {layer.error().summary()}")
            ok = False
            continue
        count = sum(1 for _ in layer.getFeatures())
        crs = layer.crs().authid()
        fine = count == expected
        ok &= fine
        print(
            f"  {cid:<18} {count:>6} features (API numberMatched {expected:>6})  CRS {crs:<10} "
            f"fields {len(layer.fields()):>2}  {'OK' if fine else 'MISSED'}"
        )
    partner = open_layer("deviations", "partner")
    refused = not partner.isValid() or sum(1 for _ in partner.getFeatures()) == 0
    print(f"  partner opens deviations: {'refused (OK)' if refused else 'OPENED (MISSED)'}")
    ok &= refused
    print("the partner's export opened in QGIS with its own styles")
    ok &= _check_export_styles(job["files"])
    print("all OK" if ok else "MISSED", flush=True)
    sys.stderr.flush()
    # QGIS 3.22 may crash in exitQgis() without a display: leave with the result instead.
    os._exit(0 if ok else 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qgis-python", default="/usr/bin/python3")
    parser.add_argument("--pyqgis", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pyqgis:
        return _pyqgis()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    return _serve_and_check(args.qgis_python)


if __name__ == "__main__":
    sys.exit(main())
