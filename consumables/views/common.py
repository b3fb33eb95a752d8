"""What the master-data pages share: refusals as messages, downloads of every list, uploads
of import files."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.utils.translation import gettext as _

from config.errors import DomainError
from config.exports import FORMATS, export_response
from config.i18n import pair
from consumables.importing.tables import CSV_SUFFIXES, XLSX_SUFFIXES

EXPORT_LIMIT = 100_000


def person_name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def review_cells(record) -> dict:
    """A reviewed record's (``reviews.models.Reviewed``) cells of an export row: who proposed
    it and when, who decided, when and why."""
    return {
        "proposed_by": person_name(record.proposed_by), "proposed_at": record.proposed_at,
        "decided_by": person_name(record.decided_by), "decided_at": record.decided_at,
        "decision_reason": record.decision_reason,
    }  # fmt: skip


def refused(request, error: DomainError) -> None:
    """A domain error as a message: Chinese, the English, and the stable code (the English
    alone on an English page)."""
    text = pair(error.message, error.message_en)
    messages.error(request, _("%(message)s（%(code)s）") % {"message": text, "code": error.code})


def wants_export(request) -> str | None:
    """``?export=xlsx|csv``: the format asked for, else None (an unknown one is a 404)."""
    fmt = request.GET.get("export")
    if fmt is None:
        return None
    if fmt not in FORMATS:
        raise Http404("unknown export format")
    return fmt


def download(rows, columns, filename: str, fmt: str):
    """A list as a spreadsheet for people (labelled headings)."""
    return export_response(rows, columns, filename, fmt, header="label")


@contextmanager
def uploaded_file(upload):
    """An uploaded CSV/XLSX saved to a temporary file with its suffix (``read_table``
    chooses the reader by suffix); removed afterwards. Raises DomainError for another type
    or a file over ``UPLOAD_MAX_IMPORT_BYTES``."""
    suffix = Path(upload.name or "").suffix.lower()
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        raise DomainError("UNREADABLE_FILE")
    limit = settings.UPLOAD_MAX_IMPORT_BYTES
    if upload.size > limit:
        raise DomainError("FILE_TOO_LARGE", megabytes=limit // (1024 * 1024))
    with tempfile.TemporaryDirectory(prefix="wuma-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        yield path
