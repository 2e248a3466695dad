"""REST API of the economy app: thin function views, explicit In/Out serializers."""

from __future__ import annotations

from django.urls import path  # noqa: F401

from economy.allocation.api import urlpatterns as allocation_api
from economy.fund.api import urlpatterns as fund_api

# The ledger's endpoints, then the income allocation's and the revolving fund's.
urlpatterns: list = [] + allocation_api + fund_api
