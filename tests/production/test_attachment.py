from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from governance import attachments
from tests.production.conftest import Line


def test_production_report_is_registered_for_agenda_items() -> None:
    kind = attachments.get("production_report")
    assert kind is not None and ("production_report", kind.label) in attachments.choices()


def test_report_attachment_validates_its_parameters(line: Line) -> None:
    kind = attachments.get("production_report")
    assert kind is not None
    org = line.world.org
    assert kind.clean(org, {"start": "2025-03-01", "end": "2025-03-31", "work_centre": "oven"}) == {
        "start": "2025-03-01",
        "end": "2025-03-31",
        "group": "day",
        "work_centre": "oven",
    }
    for bad in (
        {"start": "yesterday", "end": "2025-03-31"},
        {"start": "2025-03-31", "end": "2025-03-01"},
        {"start": "2020-01-01", "end": "2025-03-01"},
        {"start": "2025-03-01", "end": "2025-03-31", "work_centre": "nope"},
    ):
        with pytest.raises(ValidationError):
            kind.clean(org, bad)
    # Another organisation's work centre code is unknown here.
    with pytest.raises(ValidationError):
        kind.clean(
            line.world.other_org,
            {"start": "2025-03-01", "end": "2025-03-31", "work_centre": "oven"},
        )


def test_report_attachment_renders_figures_and_an_svg_chart(line: Line) -> None:
    line.submit(good=380, rework=5, scrap=15)
    kind = attachments.get("production_report")
    assert kind is not None
    html = kind.render(line.world.org, {"start": "2025-03-01", "end": "2025-03-31"})
    assert "<svg" in html, html[:500]
    assert "380" in html
    assert "Horno 1" in html
    assert "<script" not in html
