"""Economy: the double-entry ledger (books, accounts, transactions, lines), with the income
allocation (economy/allocation/) and the revolving loan fund (economy/fund/) models imported
at the bottom."""

from __future__ import annotations

from economy.allocation.models import *  # noqa: E402,F403
from economy.fund.models import *  # noqa: E402,F403
