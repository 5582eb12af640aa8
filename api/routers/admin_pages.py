"""The admins' pages: users, organisations, agreements, categories and area settings."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
