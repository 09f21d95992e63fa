from django.contrib import admin

from caredoor.core.notifications.models import Delivery, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "brand", "portal", "kind", "read_at")
    list_filter = ("kind", "portal")
    raw_id_fields = ("user",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("key", "state", "attempts", "claimed_at", "sent_at", "error")
    list_filter = ("state", "kind")
    search_fields = ("key",)
    raw_id_fields = ("user",)
