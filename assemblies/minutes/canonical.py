"""Canonical JSON and the hash chain of approved minutes.

The chain hashes data, never PDF bytes: WeasyPrint output changes per render (font subsets,
`/ID`), so two honest renders of the same minutes differ byte for byte.

Canonical form (a subset of RFC 8785 / JCS that is exact for the data we store): UTF-8,
object keys sorted, no insignificant whitespace, non-ASCII characters written as themselves,
strings NFC-normalised, and no floating-point numbers at all (times are ISO 8601 strings in
UTC, counts are integers), so no float formatting question can arise. Keys are ASCII, where
code-point order and JCS's UTF-16 order agree. Any program can recompute a hash with
`json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` and SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

HASH_ALGORITHM = "sha256"
# The first link of each organisation's chain points at this instead of a previous hash.
GENESIS = "0" * 64
FORMAT = "autogestion-minutes/1"

# Reasons the verifier gives (in English: it also runs offline; pages translate them).
ANCHOR_MISMATCH = "does not match the hash recorded when it was approved"
ANCHOR_MISSING = "no record of its approval outside the chain"


class CanonicalError(TypeError):
    pass


def normalize(value: Any) -> Any:
    """Turn Python data into the JSON value the canonical form is made of."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        raise CanonicalError("floats are not allowed in canonical minutes; use integers")
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise CanonicalError("naive datetimes are ambiguous; use aware UTC datetimes")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise CanonicalError("object keys must be strings")
            out[unicodedata.normalize("NFC", k)] = normalize(v)
        return out
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return [normalize(v) for v in value]
    raise CanonicalError(f"cannot put {type(value).__name__} into canonical minutes")


def dumps(value: Any) -> str:
    return json.dumps(
        normalize(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def digest(value: Any) -> str:
    return hashlib.sha256(dumps(value).encode("utf-8")).hexdigest()


def envelope(
    *, content: Mapping[str, Any], approval: Mapping[str, Any], previous_hash: str
) -> dict[str, Any]:
    """What a link of the chain hashes: the minutes, who approved them and when, and the
    previous link. Approvers are inside the hash so they cannot be swapped afterwards."""
    return {
        "format": FORMAT,
        "content": normalize(content),
        "approval": normalize(approval),
        "previous_hash": previous_hash,
    }


def link_hash(
    *, content: Mapping[str, Any], approval: Mapping[str, Any], previous_hash: str
) -> str:
    return digest(envelope(content=content, approval=approval, previous_hash=previous_hash))


@dataclass(frozen=True)
class Link:
    """One stored link as the verifier sees it (whatever the storage)."""

    label: str
    content: str  # the stored canonical JSON text of the content
    approval: str  # the stored canonical JSON text of the approval record
    previous_hash: str
    stored_hash: str
    # The hash as recorded elsewhere when the link was approved (an append-only log). The
    # chain alone cannot catch a rewrite of its newest link, nor tell which of two links was
    # rewritten when one is rehashed: the anchor can. None: no anchor known for this link.
    anchored_hash: str | None = None


@dataclass(frozen=True)
class Problem:
    label: str
    reason: str


def verify_links(links: Iterable[Link], *, anchored: bool = False) -> list[Problem]:
    """Walk a chain in order; each problem names the record that was altered.

    With `anchored`, every link must carry the hash recorded when it was approved: a record
    rewritten and rehashed (the newest included) no longer matches it, and the next link is
    checked against the anchor, so the rewritten record is named, not its successor."""
    problems: list[Problem] = []
    expected_previous = GENESIS
    for link in links:
        # Continue from the hash recorded at approval (or, without one, the stored hash) so
        # one altered record is named once, not every record after it.
        next_previous = link.anchored_hash or link.stored_hash
        try:
            content = json.loads(link.content)
            approval = json.loads(link.approval)
        except (TypeError, ValueError):
            problems.append(Problem(link.label, "stored data is not valid JSON"))
            expected_previous = next_previous
            continue
        if link.previous_hash != expected_previous:
            problems.append(Problem(link.label, "does not point at the previous approved minutes"))
        try:
            recomputed = link_hash(
                content=content, approval=approval, previous_hash=link.previous_hash
            )
        except CanonicalError as exc:
            problems.append(Problem(link.label, f"stored data is not canonical: {exc}"))
        else:
            if recomputed != link.stored_hash:
                problems.append(Problem(link.label, "content or approvals were altered"))
            elif link.anchored_hash is not None and recomputed != link.anchored_hash:
                problems.append(Problem(link.label, ANCHOR_MISMATCH))
        if anchored and link.anchored_hash is None:
            problems.append(Problem(link.label, ANCHOR_MISSING))
        expected_previous = next_previous
    return problems


def verify_document(document: Mapping[str, Any]) -> bool:
    """Offline check of the JSON embedded in a PDF/A file: recompute its own hash."""
    try:
        return (
            link_hash(
                content=document["content"],
                approval=document["approval"],
                previous_hash=document["previous_hash"],
            )
            == document["hash"]
        )
    except (KeyError, CanonicalError, TypeError):
        return False
