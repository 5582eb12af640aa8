"""Settings of the web app, read from ``NATTVANDRING_*`` environment variables when constructed."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.settings import DatabaseSettings

REPO_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)


class AppSettings(BaseSettings):
    """Settings of `api.app.create_app` and the CLI.

    ``tile_url`` is the only address outside the app that a page may load from; set it to an
    empty string for no base map (a closed network), or to your own tile server.
    """

    model_config = SettingsConfigDict(env_prefix="NATTVANDRING_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    tile_url: str = OSM_TILES
    tile_attribution: str = OSM_ATTRIBUTION
    data_dir: Path = REPO_DATA_DIR
    default_area: str = "solberga"
    heavy_slots: int | None = None
    """Heavy jobs (route plans, heat maps, exports) at once; one per core (at most 4) if unset."""
    # Strict-Transport-Security (`api.guard`): "auto" when a request came over HTTPS (directly
    # or by a proxy's X-Forwarded-Proto that uvicorn trusts), "on" always, "off" never.
    hsts: Literal["auto", "on", "off"] = "auto"
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    # Load (issue 18 item 4, `api.shedding`): per worker process, requests running at once, how
    # long one more waits for a slot before a 503, and that 503's Retry-After; the processes of
    # `serve` (`--workers`; 0: one per CPU).
    max_in_flight: int = Field(default=16, ge=1)
    queue_wait_ms: int = Field(default=20, ge=0, le=10_000)
    retry_after_s: int = Field(default=5, ge=1, le=3600)
    workers: int = Field(default=0, ge=0, le=64)
    # How long a worker answers the same deviation list again without a query (`api.conditional.
    # FreshAnswers`); 0 turns it off.
    list_fresh_ms: int = Field(default=2000, ge=0, le=15_000)
    # How long a worker trusts a token the database accepted, for the polls `api.fast_list`
    # answers (forgotten at once on any change of a sign-in, `geo.db.auth_notices`); 0: never.
    token_memory_s: int = Field(default=300, ge=0, le=3600)
