"""The consumables admin: master data (``master``) and the review workflows
(``workflows``), both on the labels and columns of ``common``; importing the package
registers them all (Django's admin autodiscovery imports ``consumables.admin``)."""

from . import master, workflows  # noqa: F401  (registers the model admins)
from .common import FIELD_LABELS, LabelledFormMixin, column, titled

__all__ = ["FIELD_LABELS", "LabelledFormMixin", "column", "titled"]
