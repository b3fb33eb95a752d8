"""``python manage.py load_demo``: a believable demo hospital, loaded idempotently.

Departments and the consumable catalogue go through the same import functions as a real
hospital's files (``import_department_rows``, ``import_consumable_rows``); users, inpatients
and doctor orders are created if missing. Then the month before today is played through the
services and reconciled night by night (``billing.demo_history``; ``--no-history`` skips it),
and today's stock is received and issued. Running it again changes nothing but the demo
users' passwords, which are set back to the demo password; the month, once built, is kept.
"""

from __future__ import annotations

import datetime as dt
import time
import unicodedata

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from billing import demo_history
from billing.models import (
    ChargeLine,
    ChargeRefund,
    DoctorOrder,
    Encounter,
    ExceptionRow,
    Patient,
    ReconciliationRun,
    Use,
)
from config import roles
from config.roles import ROLES
from consumables import demo_data
from consumables.importing import import_consumable_rows, import_department_rows
from consumables.models import Consumable, DeviceIdentifier, ExternalPrice, PriceVersion
from consumables.prices import FourPrices, four_price_violations, with_prices_in_force
from inventory.demo import link_demo_supplier, load_demo_stock
from organisation.models import Department

LOGIN_URL = "http://127.0.0.1:8000/admin/"
SITE_LOGIN_URL = "http://127.0.0.1:8000/accounts/login/"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A plain-text table that lines up with Chinese (double-width) characters."""
    widths = [max(_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(_pad(str(h), w) for h, w in zip(header, widths, strict=True)), line]
    out += ["  ".join(_pad(str(c), w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return [row.rstrip() for row in out]


class Command(BaseCommand):
    help = (
        "载入演示医院（科室、各角色用户、耗材五码与价格、住院患者与医嘱），可重复执行 / "
        "load the demo hospital (idempotent)"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-history",
            action="store_true",
            help=(
                "不生成近 30 天的历史业务与对账 / skip the month of history (master data, "
                "users, inpatients and today's stock only)"
            ),
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        items = demo_data.catalogue()
        with transaction.atomic():
            self.heading("科室 / departments")
            report = import_department_rows(demo_data.department_rows())
            self.report(report)

            self.heading("用户与角色 / users and roles")
            users = self.load_users()

            self.heading(f"耗材目录 / consumable catalogue（价格生效 {demo_data.BASE_PRICE_DATE}）")
            importer = users.get("admin")
            report = import_consumable_rows(demo_data.consumable_rows(items), user=importer)
            self.report(report)
            self.heading(
                f"平台价格公告 / platform price announcement（{demo_data.PRICE_UPDATE_DATE}，"
                "用于演示四价不一致）"
            )
            report = import_consumable_rows(demo_data.price_update_rows(items), user=importer)
            self.report(report)

            self.heading("住院患者与医嘱 / inpatients and doctor orders")
            self.load_inpatients(items)

            if not options["no_history"]:
                self.heading(
                    f"近 {demo_history.HISTORY_DAYS} 天的业务与每日对账 / the last "
                    f"{demo_history.HISTORY_DAYS} days of activity, reconciled nightly"
                )
                self.load_history(items, users)

            self.heading("库存：入库与配送 / stock: receipts and issues (经扫码服务 / via scans)")
            counts = load_demo_stock(items, storekeeper=users["store01"])
            self.stdout.write(
                f"新记录扫码 {counts['recorded']}，重放（已存在）{counts['replayed']} / "
                f"scans recorded {counts['recorded']}, replayed {counts['replayed']}"
            )
            supplied = link_demo_supplier(items, supplier_user=users["supplier01"])
            self.stdout.write(
                f"供应商 supplier01 → GYS01，供货品种 {supplied} / supplier01 speaks for GYS01, "
                f"{supplied} products"
            )
        self.summary(users, time.monotonic() - started)

    # ------------------------------------------------------------------ output helpers

    def heading(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"== {text}"))

    def report(self, report) -> None:
        for line in report.lines():
            if not line.rstrip().endswith(": 0"):  # the counters that moved, and the errors
                self.stdout.write(line)
        if report.failed or report.errors:
            raise CommandError(
                "演示数据导入出错（见上）/ the demo data did not import cleanly (see above)"
            )

    # ------------------------------------------------------------------ users

    def load_users(self) -> dict:
        User = get_user_model()
        for app_role, perms in demo_data.ROLE_PERMISSIONS.items():
            group, _ = Group.objects.get_or_create(name=app_role)
            group.permissions.add(*self.permissions(perms))
        for role in ROLES:
            Group.objects.get_or_create(name=role)
        departments = {d.code: d for d in Department.objects.all()}
        password = make_password(demo_data.DEMO_PASSWORD)  # hashed once: hashing is slow
        users = {}
        self.user_rows = []
        created = kept = 0
        for spec in demo_data.DEMO_USERS:
            user = User.objects.filter(username=spec.username).first()
            is_demo = user is None or user.email == spec.email
            if user is None:
                user = User(username=spec.username, email=spec.email)
                created += 1
            # An interface account speaks through its token only, as one made by
            # ``manage.py integration_token``: no password, no admin.
            api_only = spec.role == roles.INTEGRATION
            if is_demo:
                user.first_name = spec.full_name
                if not api_only:
                    user.password = password
                elif user.has_usable_password():
                    user.set_unusable_password()
                user.is_active = True
                user.is_staff = not api_only and (spec.staff or spec.superuser)
                user.is_superuser = spec.superuser
                user.save()
            else:
                kept += 1
            user.groups.add(Group.objects.get(name=spec.role))
            department = departments.get(spec.department) if spec.department else None
            if department and not department.members.filter(pk=user.pk).exists():
                department.members.add(user)
            users[spec.username] = user
            self.user_rows.append(
                [
                    spec.username,
                    ROLES[spec.role],
                    f"{department.code} {department.name}" if department else "—",
                    (
                        f"无密码，令牌 / token: manage.py drf_create_token {spec.username}"
                        if api_only
                        else demo_data.DEMO_PASSWORD
                        if is_demo
                        else "（已有账号，未修改密码）"
                    ),
                    (
                        "接口 /api/v1/"
                        if api_only
                        else "/accounts/login/ + 管理后台 /admin/"
                        if user.is_staff
                        else "/accounts/login/"
                    ),
                ]
            )
        self.stdout.write(
            f"演示用户 {len(demo_data.DEMO_USERS)} 个（新建 {created}，"
            f"已有非演示账号未改密码 {kept}）"
        )
        return users

    @staticmethod
    def permissions(names: list[str]) -> list[Permission]:
        found = []
        for name in names:
            app_label, codename = name.split(".", 1)
            qs = Permission.objects.filter(content_type__app_label=app_label)
            if codename != "*":
                qs = qs.filter(codename=codename)
            found.extend(qs)
        return found

    # ------------------------------------------------------------------ inpatients

    def load_inpatients(self, items) -> None:
        departments = {d.code: d for d in Department.objects.all()}
        live_orders = set(
            Consumable.objects.filter(is_active=True).values_list("order_code", flat=True)
        )
        today = timezone.localdate()
        midnight = timezone.make_aware(dt.datetime.combine(today, dt.time(8, 0)))
        new_encounters = new_orders = 0
        for case in demo_data.inpatients(items):
            patient, _ = Patient.objects.get_or_create(
                patient_id=case.patient_id, defaults={"name": case.patient_name}
            )
            admitted = (
                midnight
                - dt.timedelta(days=case.days_ago)
                + dt.timedelta(minutes=case.minute_of_morning)
            )
            encounter, made = Encounter.objects.get_or_create(
                visit_no=case.visit_no,
                defaults={
                    "patient": patient,
                    "insurance_type": case.insurance_type,
                    "department": departments[case.department],
                    "admitted_at": admitted,
                },
            )
            new_encounters += made
            for order in case.orders:
                if order.order_code not in live_orders:
                    continue
                _, made = DoctorOrder.objects.get_or_create(
                    order_id=order.order_id,
                    defaults={
                        "encounter": encounter,
                        "order_code": order.order_code,
                        "quantity": order.quantity,
                        "ordered_at": encounter.admitted_at
                        + dt.timedelta(hours=order.hours_after_admission),
                        "doctor": order.doctor,
                    },
                )
                new_orders += made
        self.stdout.write(f"新增就诊 {new_encounters}，新增医嘱 {new_orders}")

    # ------------------------------------------------------------------ history

    def load_history(self, items, users) -> None:
        started = time.monotonic()
        counts = demo_history.build_history(items, users)
        if counts is None:
            self.stdout.write("历史已存在，未重复生成 / the history is there already: unchanged")
            return
        scans = sum(v for k, v in counts.items() if k.startswith("scan:"))
        self.stdout.write(
            f"扫码 {scans}（使用 {counts['scan:use']}），HIS 计费 {counts['his:charge']}，"
            f"HIS 退费 {counts['his:refund']}，手术 "
            f"{sum(v for k, v in counts.items() if k.startswith('case:'))}，"
            f"盘点 {counts['stocktake']}，对账 {counts['reconciliation']} 天"
            f"（用时 {time.monotonic() - started:.1f} 秒）/ scans {scans}, HIS charges "
            f"{counts['his:charge']}, refunds {counts['his:refund']}, stocktakes "
            f"{counts['stocktake']}, days reconciled {counts['reconciliation']}"
        )

    # ------------------------------------------------------------------ summary

    def summary(self, users, seconds: float) -> None:
        self.heading("登录 / log in")
        self.stdout.write(
            f"登录 / log in: {SITE_LOGIN_URL}（首页列出该角色可用的页面 / the home page lists "
            "the role's pages）"
        )
        self.stdout.write(f"管理后台（主数据、审核）/ admin (master data, reviews): {LOGIN_URL}")
        self.stdout.write(f"演示密码 / demo password: {demo_data.DEMO_PASSWORD}")
        for line in table(["用户名", "角色", "科室", "密码", "入口"], self.user_rows):
            self.stdout.write(line)

        self.heading("数量 / counts")
        kinds = dict(Department.objects.values_list("kind").annotate(n=Count("pk")).order_by())
        now = timezone.now()
        prices = with_prices_in_force(Consumable.objects.filter(is_active=True), now).values(
            "platform_price", "vbp_price", "purchase_price", "charge_price"
        )
        misaligned = sum(
            1
            for p in prices
            if four_price_violations(
                FourPrices(
                    platform=p["platform_price"],
                    vbp=p["vbp_price"],
                    purchase=p["purchase_price"],
                    charge=p["charge_price"],
                )
            )
        )
        rows = [
            [
                "科室：库房 / 病区 / 手术室",
                f"{kinds.get('store', 0)} / {kinds.get('ward', 0)} / {kinds.get('theatre', 0)}",
            ],
            ["用户", str(get_user_model().objects.count())],
            ["耗材（在用）", str(Consumable.objects.filter(is_active=True).count())],
            [
                "  其中高值 / 低值",
                f"{Consumable.objects.filter(value_class='high').count()} / "
                f"{Consumable.objects.filter(value_class='low').count()}",
            ],
            ["UDI-DI（包装层级）", str(DeviceIdentifier.objects.count())],
            ["挂网价/集采价记录", str(ExternalPrice.objects.count())],
            [
                "已批准价格版本",
                str(PriceVersion.objects.filter(status=PriceVersion.Status.APPROVED).count()),
            ],
            ["当前四价不一致的耗材", str(misaligned)],
            [
                "使用 / 计费行 / 退费",
                f"{Use.objects.count()} / {ChargeLine.objects.count()} / "
                f"{ChargeRefund.objects.count()}",
            ],
            [
                "对账天数 / 异常",
                f"{ReconciliationRun.objects.filter(status='succeeded').count()} / "
                f"{ExceptionRow.objects.count()}",
            ],
            [
                "患者 / 就诊 / 医嘱",
                f"{Patient.objects.count()} / {Encounter.objects.count()} / "
                f"{DoctorOrder.objects.count()}",
            ],
        ]
        for line in table(["项目", "数量"], rows):
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(f"演示医院已就绪（用时 {seconds:.1f} 秒）/ demo ready")
        )
