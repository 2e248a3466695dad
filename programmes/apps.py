from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgrammesConfig(AppConfig):
    name = "programmes"
    verbose_name = _("Programmes")

    def ready(self) -> None:
        from governance import demo as gov_demo
        from programmes import demo

        gov_demo.register("programmes", demo.seed)
