"""``manage.py integration_token NAME [--rotate]``: an API account for one integration.

Each interface (HIS, HRP, the supplier platform...) gets its own user in the
``integration`` role with its own DRF token, so one can be revoked without the others and
the ledger shows which system wrote what. The account has no password: it cannot log in to
pages (and ``IntegrationApiOnlyMiddleware`` refuses them even if someone gives it one).
"""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from config import roles

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$")


def integration_username(name: str) -> str:
    return f"integration-{name.lower()}"


@transaction.atomic
def integration_token_issue(*, name: str, rotate: bool = False) -> tuple[str, bool]:
    """The token of integration ``name`` (created with its account when new); ``rotate``
    replaces an existing token. Returns ``(key, created)``."""
    user, created = get_user_model().objects.get_or_create(
        username=integration_username(name),
        defaults={"first_name": f"{name} 接口 / interface"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get_or_create(name=roles.INTEGRATION)[0])
    if rotate:
        Token.objects.filter(user=user).delete()
    token, token_created = Token.objects.get_or_create(user=user)
    return token.key, created or token_created


class Command(BaseCommand):
    help = "为一个外部系统（HIS、HRP…）创建接口账号与令牌 / API token for one integration"

    def add_arguments(self, parser):
        parser.add_argument("name", help="HIS, HRP, ... (letters, digits, - and _)")
        parser.add_argument(
            "--rotate", action="store_true", help="作废旧令牌并签发新令牌 / replace the token"
        )

    def handle(self, *args, name, rotate, **options):
        if not NAME.match(name):
            raise CommandError(f"接口名称无效 / invalid integration name: {name!r}")
        key, created = integration_token_issue(name=name, rotate=rotate)
        state = "新令牌 / new token" if created else "现有令牌 / existing token"
        self.stderr.write(f"{integration_username(name)}: {state}")
        self.stdout.write(key)
