from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EconomyConfig(AppConfig):
    name = "economy"
    verbose_name = _("Economy")

    def ready(self) -> None:
        from economy import demo
        from governance import demo as gov_demo

        gov_demo.register("economy", demo.seed)
