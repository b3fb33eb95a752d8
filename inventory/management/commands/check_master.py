"""python manage.py check_master [--format text|json]

Lists what in the master data would stop the hospital working (``inventory.setup_check``):
each finding's kind, the object (code, name) and what to do. Exit status 1 when there is
anything to fix, 0 when there is nothing.
"""

import json
import sys

from django.core.management.base import BaseCommand

from inventory.setup_check import master_check


class Command(BaseCommand):
    help = (
        "检查主数据能否支撑医院运行 / Check that the master data can run the hospital: "
        "chargeable items without a charge code or an approved charge price, DIs of retired "
        "items or not linked, restricted items without their condition, suppliers without a "
        "licence number, wards and theatres without staff. Exit status 1 when anything is found."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args, **options):
        sections = master_check()
        total = sum(section.count for section in sections)
        if options["format"] == "json":
            self.stdout.write(json.dumps(_as_json(sections, total), ensure_ascii=False, indent=2))
        else:
            self._write_text(sections, total)
        if total:
            sys.exit(1)

    def _write_text(self, sections, total):
        for section in sections:
            if not section.count:
                continue
            kind = section.kind
            self.stdout.write(f"{kind.code} ({section.count}): {kind.label}")
            self.stdout.write(f"  {kind.action}")
            for finding in section.findings:
                self.stdout.write(f"  {finding.code}\t{finding.name}")
        if total:
            self.stdout.write(f"问题合计 / findings: {total}")
        else:
            self.stdout.write("主数据检查通过，未发现问题 / master data check: nothing found")


def _as_json(sections, total) -> dict:
    return {
        "total": total,
        "counts": {section.kind.code: section.count for section in sections},
        "findings": [
            {
                "kind": finding.kind,
                "label": str(section.kind.label),
                "object": {
                    "type": str(section.kind.object_label),
                    "code": finding.code,
                    "name": finding.name,
                },
                "action": str(section.kind.action),
                "admin_url": finding.url,
            }
            for section in sections
            for finding in section.findings
        ],
    }
