from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The composition root as an app only so that Django finds its management commands (seed_demo)."""

    name = "config"
    label = "config"
