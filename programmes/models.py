"""Programmes: territory, activities and attendance, community actions, catalysts, presence;
the indicator models (programmes/indicators/) are imported at the bottom."""

from __future__ import annotations

from programmes.indicators.models import *  # noqa: E402,F403
