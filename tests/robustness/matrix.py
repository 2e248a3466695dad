"""The vocabulary of the permission matrix: outcomes, personas and `Rule`, shared by the
rules of each app (tests/robustness/rules_*.py) and the matrix test."""

from __future__ import annotations

from dataclasses import dataclass, field

PERSONAS = ("anonymous", "charlie", "rosa", "bob", "alice")
Outcomes = frozenset[str]


def _o(*tokens: str) -> Outcomes:
    return frozenset(tokens)


OK = _o("ok")
LOGIN = _o("login")
API_DENY = _o("401", "403")
NOT_FOUND = _o("404")
FORBIDDEN = _o("403")
# An empty POST: refused before any validation, or rejected as invalid (never a 500).
WRITE_TRIED = _o("ok", "400", "flash", "405")
# Refused for lack of a mandate: 403, or the form-error page saying so.
NO_MANDATE = _o("403", "flash", "400")
NO_METHOD = _o("405")


@dataclass(frozen=True)
class Rule:
    names: tuple[str, ...]
    kwargs: dict[str, str] = field(default_factory=dict)
    # org: alice's organisation (charlie and rosa 404); fed: the federation (every member of
    # its organisations sees it); any: every signed-in person; public: everyone.
    scope: str = "org"
    api: bool = False
    # Methods a page view takes (API views are introspected); a write needs a mandate?
    methods: tuple[str, ...] = ("GET", "POST")
    mandate: bool = False
    get: dict[str, Outcomes] = field(default_factory=dict)
    post: dict[str, Outcomes] = field(default_factory=dict)
    # A known deviation, reported to the owner: the test fails once it is fixed.
    known_bug: str = ""

    def expected(self, persona: str, method: str, allowed: set[str]) -> Outcomes:
        overrides = self.get if method == "GET" else self.post
        if persona in overrides:
            return overrides[persona]
        foreign = self.scope == "org" and persona in ("charlie", "rosa")
        if persona == "anonymous" and self.scope != "public":
            return (API_DENY if self.api else LOGIN) | NO_METHOD
        if method not in allowed:
            # The same 405 for everyone leaks nothing; a lookup first may answer 404.
            return NO_METHOD | NOT_FOUND if foreign else NO_METHOD
        if foreign:
            return NOT_FOUND
        if method == "GET":
            return OK
        if self.mandate and persona == "bob":
            return NO_MANDATE
        return WRITE_TRIED


ORG = {"slug": "org.slug"}
API_ORG = {"org": "org.uuid"}
FED = {"slug": "fed.slug"}
A = {"uuid": "assembly"}
VOTE = {"uuid": "voteassembly", "vote": "vote"}
MINUTES = {"uuid": "minutes"}
VERSION = {"uuid": "version"}
ROSTER = {"uuid": "roster"}
ASSIGNMENT = {"uuid": "assignment"}
ENTRY = {"uuid": "entry"}
BOB_NO = {"bob": NO_MANDATE}
BOB_NO_GET = {"bob": FORBIDDEN}
REVIEW_ONLY = {"charlie": NOT_FOUND, "bob": NOT_FOUND, "alice": NOT_FOUND}
REVIEW_ONLY_POST = dict.fromkeys(("charlie", "bob", "alice"), NOT_FOUND | NO_METHOD)
NOT_HOLDER = _o("403", "flash", "400")
