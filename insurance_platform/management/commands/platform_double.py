"""``manage.py platform_double [--port 8010]``: run the platform double in the foreground."""

from django.conf import settings
from django.core.management.base import BaseCommand

from insurance_platform.double import PlatformDouble


class Command(BaseCommand):
    help = "Run the national insurance platform double (医保平台模拟) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.INSURANCE_PLATFORM_DOUBLE_PORT)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, host, port, **options):
        double = PlatformDouble(
            fixmedins_code=settings.INSURANCE_FIXMEDINS_CODE,
            secret=settings.INSURANCE_PLATFORM_SECRET,
            host=host,
            port=port,
        )
        self.stdout.write(
            f"platform double at {double.url}{'' if double.secret else ' (unsigned)'}"
        )
        try:
            double.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            double.server.server_close()
