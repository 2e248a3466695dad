"""Models of this part of the app; imported at the bottom of the app's models.py, so they
belong to that app (its migrations, its admin)."""

from __future__ import annotations
