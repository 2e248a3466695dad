from django.urls import path  # noqa: F401

from economy.allocation.urls import urlpatterns as allocation_urls
from economy.fund.urls import urlpatterns as fund_urls

app_name = "economy"
# The ledger's pages, then the income allocation's and the revolving fund's.
urlpatterns: list = [] + allocation_urls + fund_urls
