from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductionConfig(AppConfig):
    name = "production"
    verbose_name = _("Production")

    def ready(self) -> None:
        # Assemblies never import production: the report reaches agenda items and minutes
        # through the registry in governance.
        from governance import attachments
        from production.report import ATTACHMENT

        attachments.register(ATTACHMENT)
