from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project package as an app: its management commands and signal receivers."""

    name = "config"
    label = "config"
    verbose_name = "项目配置 / project"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .middleware import stamp_login

        user_logged_in.connect(stamp_login, dispatch_uid="config.stamp_login")
