from django.contrib import admin

from production.models import LogEntry, Product, Shift, Target, WorkCentre

# For the server operator only; members change production data through the app's services.
admin.site.register(WorkCentre)
admin.site.register(Product)
admin.site.register(Shift)
admin.site.register(Target)


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    list_display = ["shift_date", "work_centre", "shift", "product", "version", "current"]
    list_filter = ["organization", "current"]

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
