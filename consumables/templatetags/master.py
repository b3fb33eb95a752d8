"""Template filters of the master-data pages."""

from django import template

from consumables.views.common import person_name

register = template.Library()


@register.filter
def person(user) -> str:
    """A user's full name, else the username; '' for nobody (an import without a user)."""
    return person_name(user)
