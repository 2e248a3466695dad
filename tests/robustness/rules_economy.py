"""Permission-matrix rules for the economy app's URLs (see test_permission_matrix)."""

from __future__ import annotations

from tests.robustness.matrix import Rule

RULES: list[Rule] = []
