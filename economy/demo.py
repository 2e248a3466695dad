"""Demo data for this app, loaded by `manage.py seed_demo` after the governance network
(registered in AppConfig.ready through governance.demo)."""

from __future__ import annotations

import random
from typing import Any


def seed(*, rng: random.Random, small: bool, network: dict[str, Any]) -> dict[str, int]:
    return {}
