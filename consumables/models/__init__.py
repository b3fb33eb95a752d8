"""The models of the consumables app: the master (``master``: consumables, their device
identifiers, prices, in-hospital labels) and the workflow models that live beside their
features (mapping changes, the conflict workspace, supplier submissions), imported here so
that Django (and the migrations) see them as models of this app. Modules of this app that
the models themselves import (``submissions.models``, ``staging.conflicts``) import
``consumables.models.master``, never this package.
"""

from ..mappings.models import MappingChange
from ..staging.models import ConflictSnapshot, StagingImport, StagingRow, StagingSource
from ..submissions.models import SubmissionDI, SupplierProduct, SupplierSubmission
from .master import (
    Consumable,
    DeviceIdentifier,
    ExternalPrice,
    HospitalLabel,
    PriceVersion,
    Sequence,
    take_sequence,
)

__all__ = [
    "ConflictSnapshot",
    "Consumable",
    "DeviceIdentifier",
    "ExternalPrice",
    "HospitalLabel",
    "MappingChange",
    "PriceVersion",
    "Sequence",
    "StagingImport",
    "StagingRow",
    "StagingSource",
    "SubmissionDI",
    "SupplierProduct",
    "SupplierSubmission",
    "take_sequence",
]
