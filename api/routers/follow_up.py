"""The follow-up of walks and costs (JSON, CSV, PDF) and the summary for the councillors."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
