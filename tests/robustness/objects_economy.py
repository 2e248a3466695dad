"""Objects of the economy app for the permission matrix, made through its services
(mixed into tests.robustness.objects.Objects: `make_<name>` fills a URL kwarg `<name>`)."""

from __future__ import annotations

from typing import Any


class EconomyObjects:
    w: Any
