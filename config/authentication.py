"""API token authentication that reads the user's roles in the same query.

DRF's ``TokenAuthentication`` reads the token with its user; the first role check then
reads the user's groups. A bedside scan pays for both on every request, so this reads
token, user and group names in one statement (one row per group, a LEFT JOIN) and hands
the names to ``config.permissions`` so no role check queries again in the request.
"""

from django.db.models import F
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .permissions import remember_roles


class TokenWithRolesAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        rows = list(
            self.get_model()
            .objects.select_related("user")
            .annotate(role_name=F("user__groups__name"))
            .filter(key=key)
        )
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token = rows[0]
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        remember_roles(token.user, {row.role_name for row in rows if row.role_name})
        return (token.user, token)
