"""python manage.py import_denials FILE [--user NAME]"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from consumables.importing.report import ImportFileError
from insurance_platform.services.denials import import_denials


class Command(BaseCommand):
    help = (
        "导入医保中心拒付明细（CSV 或 XLSX）/ Load the insurance centre's denials (CSV or "
        "XLSX; columns: 结算ID or 住院号, 项目编码, 拒付金额, 拒付原因, 月份) and match each to "
        "its charges and our findings. A bad row is reported with its line and loads nothing "
        "of itself; the rest loads. The same file twice is refused. Exit status: 0 all rows "
        "loaded; 2 some rows were refused (the others loaded); 1 nothing loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="denials.csv / .xlsx")
        parser.add_argument("--user", help="username recorded as the importer")

    def handle(self, *args, file, user=None, **options):
        importer = None
        if user:
            try:
                importer = get_user_model().objects.get_by_natural_key(user)
            except get_user_model().DoesNotExist as exc:
                raise CommandError(f"用户 {user} 不存在 / no user named {user}") from exc
        try:
            report = import_denials(path=file, user=importer)
        except ImportFileError as exc:
            raise CommandError(f"{exc.message} / {exc.message_en}") from exc
        except DatabaseError as exc:
            raise CommandError(f"导入失败，未写入任何数据 / nothing was written: {exc}") from exc
        for line in report.lines():
            self.stdout.write(line)
        if report.errors:
            if not report.loaded:
                raise CommandError("没有可导入的行 / no row could be loaded")
            raise CommandError(
                f"{report.rows_refused} 行未导入 / {report.rows_refused} rows were refused",
                returncode=2,
            )
