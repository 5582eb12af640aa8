"""The situation map on a phone at night (issue 14): bytes and time to the first report marker.

    .venv/bin/python bench/night_map.py [--runs 5]

Debian's Chromium (Playwright) on a 360 × 740 screen, throttled through the DevTools protocol as
DevTools' "Slow 4G" preset (562.5 ms round trip, 1.44 Mbit/s down, 675 kbit/s up) with the CPU
4× slower, against a live ``nattvandring serve`` over a database of its own, ``nv_night``, with
the demo data (its synthetic deviations refreshed to end now). Without a tile server (base-map
tiles are not counted), as the issue measured.

Cold: a new browser profile (no HTTP cache, no service worker), already signed in (the session
cookie is set before the page opens), opens ``/``. Warm: the same profile opens ``/`` again (its
HTTP cache and service worker in place). The throttling applies to the page's requests and to
the service worker's (those it makes for the page: on a phone, a page that the worker fetches
waits for the network as much as one fetched without it). Figures are medians of ``--runs``:
the bytes the page transferred (headers and bodies as sent, compressed) and the time from
navigation start to the first deviation marker on the map (the page's bytes only: what the
worker fetches for it is not counted). Goals: ≤ 150 KB cold, first marker ≤ 2.0 s cold and
≤ 0.8 s warm. Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NIGHT_DB = "nv_night"
PASSWORD = "night-benchmark-not-secret"
EMAIL = "bench-night-walker@example.org"
SLOW_4G = {
    "offline": False,
    "latency": 562.5,
    "downloadThroughput": 1.44e6 / 8,
    "uploadThroughput": 675e3 / 8,
}
CPU_SLOWDOWN = 4
# Records when the first marker is drawn (an init script: the page's CSP does not apply to it)
# and says so on the console: the benchmark waits for that message, so that nothing of
# Playwright's runs in the page while it loads (``page.wait_for_function`` would inject
# Playwright's own script, about 150 ms of a 4×-throttled main thread, and poll every frame).
# The observer looks only at the nodes added and their subtrees (a querySelector over the
# whole page for every batch costs the parser time too).
FIRST_MARKER_LOG = "nv-first-marker"
FIRST_MARKER = """
new MutationObserver((records, observer) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType === 1 && (node.matches("path.nv-deviation") ||
                                  node.querySelector("path.nv-deviation"))) {
        window.__nvFirstMarker = performance.now();
        observer.disconnect();
        console.debug("nv-first-marker");  // FIRST_MARKER_LOG
        return;
      }
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


def _database() -> str:
    from api.settings import AppSettings
    from geo.db import connection, migrate
    from geo.db.accounts import add_user
    from geo.db.demo import load_demo

    settings = AppSettings()
    server = connection.database_url(settings.db)
    connection.ensure_database(server, NIGHT_DB)
    url = connection.server_url(server, NIGHT_DB)
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        load_demo(conn, settings.data_dir, refresh_deviations=True)
        if not conn.execute("SELECT 1 FROM users WHERE email = %s", (EMAIL,)).fetchone():
            add_user(conn, EMAIL, PASSWORD, role="walker", organisation="Älvsjö AIK")
    return url


def _session_cookie(base: str) -> dict[str, Any]:
    import httpx

    from api.guard import SESSION_COOKIE

    r = httpx.post(
        f"{base}/login",
        data={"username": EMAIL, "password": PASSWORD, "next": "/"},
        headers={"Origin": base},
    )
    value = r.cookies.get(SESSION_COOKIE)
    if not value:
        raise SystemExit(f"sign-in failed: {r.status_code} {r.text[:200]}")
    return {"name": SESSION_COOKIE, "value": value, "url": base}


def _open(page: Any, cdp: Any, base: str) -> tuple[float, float]:
    """Open ``/`` and return (KB transferred, seconds to the first marker)."""
    sizes: dict[str, float] = {}
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]),
    )
    with page.expect_console_message(lambda m: m.text == FIRST_MARKER_LOG, timeout=60_000):
        page.goto(f"{base}/", wait_until="commit")
    first_s = page.evaluate("window.__nvFirstMarker") / 1000
    page.wait_for_load_state("networkidle", timeout=60_000)
    return sum(sizes.values()) / 1000, first_s


def _from_kept_copy(page: Any) -> bool:
    """Whether the page opened from the service worker's kept copy (its serverTiming says so)."""
    return bool(
        page.evaluate(
            "performance.getEntriesByType('navigation')[0].serverTiming"
            ".some((t) => t.name === 'nv-cache')"
        )
    )


def _throttled(context: Any, page: Any) -> Any:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    return cdp


def _throttle_worker(browser: Any) -> Any:
    """Throttle the service worker's own requests as the page's (a page's DevTools session
    does not reach them): its target, through a browser session (returned: detach it after)."""
    session = browser.new_browser_cdp_session()
    workers = [
        t for t in session.send("Target.getTargets")["targetInfos"] if t["type"] == "service_worker"
    ]
    if not workers:
        raise SystemExit("no service worker to throttle")
    ids = itertools.count(1)
    for worker in workers:
        attached = session.send(
            "Target.attachToTarget", {"targetId": worker["targetId"], "flatten": False}
        )
        for method, params in (
            ("Network.enable", {}),
            ("Network.emulateNetworkConditions", SLOW_4G),
        ):
            message = json.dumps({"id": next(ids), "method": method, "params": params})
            session.send(
                "Target.sendMessageToTarget",
                {"sessionId": attached["sessionId"], "message": message},
            )
    return session


def main() -> int:
    from playwright.sync_api import sync_playwright

    from api.server_process import served
    from bench.common import report
    from tests.browser import PHONE, launch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = _database()
    cold_kb, cold_s, warm_kb, warm_s = [], [], [], []
    with served(url) as base, sync_playwright() as p:
        browser = launch(p)
        cookie = _session_cookie(base)
        for run in range(args.runs):
            context = browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
            context.add_cookies([cookie])  # type: ignore[list-item]
            context.add_init_script(FIRST_MARKER)
            page = context.new_page()
            kb, s = _open(page, _throttled(context, page), base)
            cold_kb.append(kb)
            cold_s.append(s)
            # The service worker takes over and keeps its copies; then the warm visit.
            page.wait_for_selector("body[data-offline-ready]", state="attached", timeout=60_000)
            page.wait_for_timeout(1000)
            page.close()
            worker = _throttle_worker(browser)
            page = context.new_page()
            kb, s = _open(page, _throttled(context, page), base)
            kept = _from_kept_copy(page)
            worker.detach()
            warm_kb.append(kb)
            warm_s.append(s)
            context.close()
            print(
                f"  run {run + 1}: cold {cold_kb[-1]:.1f} KB, first marker {cold_s[-1]:.2f} s; "
                f"warm {warm_kb[-1]:.1f} KB, first marker {warm_s[-1]:.2f} s"
                f"{' (the kept page)' if kept else ' (the page from the network)'}",
                flush=True,
            )
        browser.close()
    med = statistics.median
    print(f"night map, Slow 4G + {CPU_SLOWDOWN}× CPU, 360 × 740, median of {args.runs}:")
    ok = report("bytes transferred, cold", med(cold_kb), 150, "KB", higher_is_better=False)
    ok &= report("first report marker, cold", med(cold_s), 2.0, "s", higher_is_better=False)
    ok &= report("first report marker, warm", med(warm_s), 0.8, "s", higher_is_better=False)
    print(f"  (bytes transferred, warm: {med(warm_kb):.1f} KB)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
