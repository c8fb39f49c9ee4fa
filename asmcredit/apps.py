from django.apps import AppConfig


class AsmcreditConfig(AppConfig):
    name = "asmcredit"
    verbose_name = "ASM Credit"

    def ready(self) -> None:
        from asmcredit import signals  # noqa: F401 - connects the receivers
