"""Demo data of the other apps, without governance importing them: each app registers its
seeder in AppConfig.ready, and `seed_demo` runs them in registration order after the
governance network, in the same transaction.

A seeder gets the seeded random generator, whether the small demo was asked for, and
`network`: what the governance seed made (federation, organisations, memberships by
organisation, the demo people by username)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol


class Seeder(Protocol):
    def __call__(
        self, *, rng: random.Random, small: bool, network: dict[str, Any]
    ) -> dict[str, int]: ...


_SEEDERS: dict[str, Callable[..., dict[str, int]]] = {}
# Extra demo logins an app's seeder creates (username -> what the person is), printed by
# seed_demo and `make run` beside the governance ones; same password.
LOGINS: dict[str, str] = {}


def register(
    name: str, seeder: Callable[..., dict[str, int]], logins: dict[str, str] | None = None
) -> None:
    _SEEDERS[name] = seeder
    LOGINS.update(logins or {})


def seeders() -> list[tuple[str, Callable[..., dict[str, int]]]]:
    return list(_SEEDERS.items())
