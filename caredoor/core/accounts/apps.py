from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "caredoor.core.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from caredoor.core.accounts import hooks

        hooks.connect()
