"""python manage.py import_master [consumables.csv] [--departments departments.csv]
[--suppliers suppliers.csv] [--user NAME]"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from consumables.importing import ImportFileError, import_master


class Command(BaseCommand):
    help = (
        "导入或更新耗材、科室、供应商主数据（CSV 或 XLSX）/ Load or update the consumable "
        "master, departments and suppliers from CSV or XLSX files (columns: docs/contract.md); "
        "departments, then suppliers, then consumables, in one transaction. A bad row is "
        "reported with its line number and loads nothing of itself; the rest loads. Exit "
        "status: 0 all rows loaded; 2 some rows "
        "were refused (the others loaded); 1 nothing loaded (file missing or unreadable, "
        "unknown --user, or the database refused the load)."
    )

    def add_arguments(self, parser):
        parser.add_argument("consumables", nargs="?", help="consumables.csv / .xlsx")
        parser.add_argument("--departments", help="departments.csv / .xlsx (code,name,kind)")
        parser.add_argument(
            "--suppliers",
            help="suppliers.csv / .xlsx (code,name,credit_code,license_no), loaded before the "
            "consumables",
        )
        parser.add_argument(
            "--user",
            help="username recorded as proposer of price changes and in the history "
            "(default: the system user 'import_master')",
        )

    def handle(self, *args, **options):
        if not any(options[name] for name in ("consumables", "departments", "suppliers")):
            raise CommandError(
                "请指定耗材文件、--departments 或 --suppliers / "
                "give a consumables file, --departments or --suppliers"
            )
        user = None
        if options["user"]:
            try:
                user = get_user_model().objects.get_by_natural_key(options["user"])
            except get_user_model().DoesNotExist as exc:
                raise CommandError(
                    f"用户 {options['user']} 不存在 / no user named {options['user']}"
                ) from exc
        try:
            report = import_master(
                consumables_path=options["consumables"],
                departments_path=options["departments"],
                suppliers_path=options["suppliers"],
                user=user,
            )
        except ImportFileError as exc:
            raise CommandError(f"{exc.message} / {exc.message_en}") from exc
        for line in report.lines():
            self.stdout.write(line)
        if report.failed:
            raise CommandError("导入失败，未写入任何数据 / import failed, nothing was written")
        if report.errors:
            raise CommandError(
                f"{report.rows_refused} 行未导入 / {report.rows_refused} rows were refused",
                returncode=2,
            )
