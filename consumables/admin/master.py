"""Admin for the consumable master: five codes, package levels (UDI-DI), prices.

Writes that carry a business rule go through services even here: a price version added in
the admin is a proposal (``price_version_propose``) and is decided only by the approve and
reject actions (``price_version_approve`` / ``price_version_reject``), never by editing. A
live item's new insurance class or payment restriction saved here is a mapping change
(``mapping_change_propose``) that a second person decides on its review page.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, Subquery
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from config.exports import export_response
from config.history_admin import HistoryAdmin
from config.i18n import is_english
from config.permissions import has_role
from config.roles import ADMINISTRATOR, PRICING_OFFICE
from consumables.selectors import MASTER_COLUMNS, consumable_master_rows

from ..mappings.models import MappingChange
from ..mappings.services import INSURANCE_FIELDS, mapping_change_propose
from ..models import Consumable, DeviceIdentifier, ExternalPrice, HospitalLabel, PriceVersion
from ..prices import PRICE_PLACES, FourPrices, four_price_violations, prices_in_force
from ..services import price_version_approve, price_version_propose, price_version_reject
from ..udi import CodeParseError, parse_code
from .common import FIELD_LABELS, LabelledFormMixin, column, titled

DI_ISSUERS = {choice.value for choice in DeviceIdentifier.Issuer}

admin.site.site_header = _("医用耗材“五码合一”全流程追溯 · 管理后台")
admin.site.site_title = _("五码合一耗材追溯")
admin.site.index_title = _("主数据管理 / master data")


def scanned_di(text: str) -> tuple[str, str] | None:
    """(issuer, DI) of a scanned or pasted UDI, or None when the text is not a UDI."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        parsed = parse_code(text)
    except (CodeParseError, ValueError):
        return None
    if parsed.issuer in DI_ISSUERS | {"hospital"} and parsed.di:
        return parsed.issuer, parsed.di
    return None


def _smallest_di_subquery():
    return Subquery(
        DeviceIdentifier.objects.filter(consumable=OuterRef("pk"), is_active=True)
        .order_by("units_per_package", "pk")
        .values("udi_di")[:1]
    )


def _money(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def _quantized(prices: FourPrices) -> FourPrices:
    """Prices at 4 places whatever the database returned (SQLite gives long decimals)."""

    def q(value):
        return None if value is None else Decimal(value).quantize(PRICE_PLACES)

    return FourPrices(
        platform=q(prices.platform),
        vbp=q(prices.vbp),
        purchase=q(prices.purchase),
        charge=q(prices.charge),
    )


def domain_error_text(error: DomainError) -> str:
    """A DomainError as one Chinese sentence for a person, with each four-price violation
    (in English on an English page)."""
    if is_english():
        parts = [error.message_en or error.message]
        violations = (error.detail or {}).get("violations") or []
        parts += [v.get("message_en") or v.get("code", "") for v in violations]
        return ": ".join(parts[:1] + ["; ".join(parts[1:])] if violations else parts)
    parts = [error.message]
    violations = (error.detail or {}).get("violations") or []
    if violations:
        parts.append("；".join(v.get("message", v.get("code", "")) for v in violations))
        platform = error.detail.get("platform_price")
        vbp = error.detail.get("vbp_price")
        parts.append(f"（挂网价 {platform or '无'}，集采价 {vbp or '无'}）")
    return "：".join(parts[:2]) + "".join(parts[2:])


# ---------------------------------------------------------------- consumables and their DIs


class DeviceIdentifierForm(forms.ModelForm):
    """A DI is checked by the same parser the scanners use; the issuer follows from it."""

    class Meta:
        model = DeviceIdentifier
        fields = (
            "consumable",
            "udi_di",
            "issuer",
            "units_per_package",
            "package_level",
            "is_active",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "issuer" in self.fields:
            self.fields["issuer"].required = False
            self.fields["issuer"].help_text = _("留空则按条码自动识别 / detected from the code")

    def clean(self):
        cleaned = super().clean()
        raw = cleaned.get("udi_di")
        if not raw:
            return cleaned
        try:
            parsed = parse_code(raw)
        except CodeParseError as error:
            self.add_error("udi_di", _("无法识别的 UDI：%(message)s") % {"message": error.message})
            return cleaned
        if parsed.issuer not in DI_ISSUERS or not parsed.di:
            self.add_error("udi_di", _("不是 UDI-DI（GS1、MA、AHM 或 HIBC）/ not a UDI-DI"))
            return cleaned
        cleaned["udi_di"] = parsed.di
        issuer = cleaned.get("issuer")
        if issuer and issuer != parsed.issuer:
            self.add_error(
                "issuer",
                _("条码属于 %(upper)s，与所选发码机构不符 / issuer mismatch")
                % {"upper": parsed.issuer.upper()},
            )
        cleaned["issuer"] = parsed.issuer
        return cleaned


class DeviceIdentifierInline(LabelledFormMixin, admin.TabularInline):
    model = DeviceIdentifier
    form = DeviceIdentifierForm
    fields = ("udi_di", "issuer", "units_per_package", "package_level", "is_active")
    extra = 0
    can_delete = False  # a DI in use is retired (在用 off), never deleted
    verbose_name = _("UDI-DI（包装层级）")
    verbose_name_plural = _("UDI-DI（包装层级）/ package levels")


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeviceIdentifierReadOnlyInline(_ReadOnlyInline):
    """A live item's package levels: a DI is linked or retired through a mapping change."""

    model = DeviceIdentifier
    fields = ("udi_di", "issuer", "units_per_package", "package_level", "is_active")
    readonly_fields = fields
    verbose_name = DeviceIdentifierInline.verbose_name
    verbose_name_plural = DeviceIdentifierInline.verbose_name_plural


class PriceVersionInline(_ReadOnlyInline):
    model = PriceVersion
    fields = (
        "purchase_price",
        "charge_price",
        "effective_from",
        "status_column",
        "origin_column",
        "proposed_by_column",
        "decided_by_column",
        "decided_at_column",
        "reason",
    )
    readonly_fields = fields
    status_column = column("status", choices=True)
    origin_column = column("origin", choices=True)
    proposed_by_column = column("proposed_by")
    decided_by_column = column("decided_by")
    decided_at_column = column("decided_at")
    ordering = ("-effective_from", "-pk")
    verbose_name_plural = _("价格版本（采购价/收费价）/ price versions")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("proposed_by", "decided_by")


class ExternalPriceInline(_ReadOnlyInline):
    model = ExternalPrice
    fields = ("kind", "price", "effective_from", "source")
    readonly_fields = fields
    ordering = ("kind", "-effective_from")
    verbose_name_plural = _("平台价格（挂网价/集采价）/ platform prices")


# The fields of a live item that change only through a two-person review: the codes, the
# insurance class and the payment restriction through a mapping change (consumables.mappings),
# the hospital prices through a price version. The material code is the item's identity and
# never changes. The codes are read-only here; the insurance terms are edited in the form, and
# a save that changes them proposes a mapping change instead of writing them. Either way a
# save (or a history revert) writes the values the database holds.
REVIEWED_FIELDS = (
    "material_code",
    "charge_code",
    "order_code",
    "insurance_code",
    *INSURANCE_FIELDS,
)
FIVE_CODES = ("material_code", "charge_code", "order_code", "insurance_code")


def _terms_in_database(pk) -> dict:
    return Consumable.objects.filter(pk=pk).values(*INSURANCE_FIELDS).first() or {}


class ConsumableForm(forms.ModelForm):
    """The consumable form with the reason for a change of a live item's insurance terms
    (the proposal's reason); the terms themselves are checked by ``Consumable.clean``
    (``insurance.insurance_terms_problem``)."""

    insurance_change_reason = forms.CharField(
        label=_("变更原因 / reason for the change"), max_length=500, required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("改动医保支付类别或限定支付条件时必填 / required when the insurance terms "
                    "change"),
    )  # fmt: skip

    def proposed_terms(self) -> dict | None:
        """The insurance terms this save proposes for a live item, or None when they are the
        ones the database holds (or the item is new)."""
        if self.instance.pk is None or not all(n in self.cleaned_data for n in INSURANCE_FIELDS):
            return None
        given = {n: (self.cleaned_data[n] or "").strip() for n in INSURANCE_FIELDS}
        return None if given == _terms_in_database(self.instance.pk) else given

    def clean(self):
        data = super().clean()
        if self.proposed_terms() and not (data.get("insurance_change_reason") or "").strip():
            self.add_error(
                "insurance_change_reason",
                _("改动医保支付类别或限定支付条件须填写变更原因 / give the reason for the change"),
            )
        return data


@admin.register(Consumable)
class ConsumableAdmin(LabelledFormMixin, HistoryAdmin):
    """The consumable master. On a new item the codes and DIs are entered here; on an item
    that exists they are shown read-only with a link to propose a change for review, and a
    save (or a history revert) keeps whatever codes the database holds."""

    list_display = (
        "material_code",
        "name",
        "spec",
        "charge_code",
        "order_code",
        "insurance_code",
        "smallest_udi_di",
        "value_class",
        "tracking",
        "billed_by",
        "is_active",
    )
    list_display_links = ("material_code", "name")
    search_fields = (
        "material_code",
        "charge_code",
        "order_code",
        "insurance_code",
        "device_identifiers__udi_di",
        "name",
        "spec",
        "manufacturer",
    )
    search_help_text = _(
        "按物资编码、计费编码、医嘱编码、医保编码、UDI（可直接粘贴扫码内容）或名称/规格/厂家查找"
    )
    list_filter = ("value_class", "tracking", "chargeable", "billed_by", "insurance_class",
                   "is_active", "category")  # fmt: skip
    list_per_page = 50
    form = ConsumableForm
    readonly_fields = ("prices_in_force", "created_at_column", "updated_at_column")
    created_at_column = column("created_at")
    updated_at_column = column("updated_at")
    fieldsets = (
        (
            _("五码 / five codes"),
            {
                "fields": ("material_code", "charge_code", "order_code", "insurance_code"),
                "description": _(
                    "UDI-DI 在下方“包装层级”中维护 / UDI-DIs are the package levels below."
                ),
            },
        ),
        (
            _("基本信息 / item"),
            {
                "fields": ("name", "spec", "unit", "manufacturer", "registration_no", "category"),
            },
        ),
        (
            _("管理方式 / handling"),
            {
                "fields": ("value_class", "tracking", "chargeable", "billed_by", "is_active"),
            },
        ),
        (
            _("医保支付 / insurance payment"),
            {"fields": ("insurance_class", "insurance_restriction")},
        ),
        (_("价格 / prices"), {"fields": ("prices_in_force",)}),
        (None, {"fields": ("created_at_column", "updated_at_column")}),
    )
    inlines = (DeviceIdentifierInline, PriceVersionInline, ExternalPriceInline)
    actions = ("export_xlsx", "export_csv")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(smallest_udi_di=_smallest_di_subquery())

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        codes, item, handling, insurance, *rest = self.fieldsets
        title, options = codes
        insurance_title, insurance_options = insurance
        insurance_fields = (*insurance_options["fields"], "insurance_change_reason",
                            "insurance_review")  # fmt: skip
        return (
            (title, {**options, "fields": (*FIVE_CODES, "propose_code_change")}),
            item,
            handling,
            (insurance_title, {**insurance_options, "fields": insurance_fields}),
            *rest,
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = (*self.readonly_fields, "propose_code_change", "insurance_review")
        return readonly if obj is None else (*FIVE_CODES, *readonly)

    def get_inlines(self, request, obj):
        package_levels = DeviceIdentifierInline if obj is None else DeviceIdentifierReadOnlyInline
        return (package_levels, PriceVersionInline, ExternalPriceInline)

    def save_model(self, request, obj, form, change):
        # Read-only fields are left out of the form, but a history revert saves a whole old
        # instance, and the insurance terms are in the form but change only on review: the
        # reviewed fields are always taken from the database.
        terms = form.proposed_terms() if change and hasattr(form, "proposed_terms") else None
        if change:
            current = Consumable.objects.filter(pk=obj.pk).values(*REVIEWED_FIELDS).first()
            for name, value in (current or {}).items():
                setattr(obj, name, value)
        super().save_model(request, obj, form, change)
        if terms:
            self._propose_terms(request, obj, terms, form.cleaned_data["insurance_change_reason"])

    def _propose_terms(self, request, obj, terms: dict, reason: str) -> None:
        try:
            proposal = mapping_change_propose(
                consumable=obj, reason=reason, proposed_by=request.user, **terms
            )
        except DomainError as error:
            self.message_user(request, domain_error_text(error), messages.ERROR)
            return
        self.message_user(
            request,
            format_html(
                '{} <a href="{}">#{}</a>',
                _(
                    "医保支付类别/限定支付条件的变更已提交审核，须由第二人批准后生效："
                    " / the new insurance terms await a second person's approval:"
                ),
                reverse("master:mapping-detail", args=[proposal.pk]),
                proposal.pk,
            ),
            messages.WARNING,
        )

    @admin.display(description=_("审核 / review"))
    def insurance_review(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        waiting = MappingChange.objects.filter(
            consumable=obj, status=MappingChange.Status.PROPOSED
        ).order_by("pk")
        pending = [c for c in waiting if set(c.changes) & set(INSURANCE_FIELDS)]
        links = format_html_join(
            " ", '<a href="{}">#{}</a>',
            ((reverse("master:mapping-detail", args=[c.pk]), c.pk) for c in pending),
        )  # fmt: skip
        return format_html(
            "{} {}",
            _(
                "改动医保支付类别或限定支付条件即提交对码变更，须经第二人审核后生效。"
                " / A change of the insurance terms is proposed and applies after a second "
                "person's review."
            ),
            format_html("{} {}", _("待审核 / awaiting review:"), links) if pending else "",
        )

    @admin.display(description=_("变更编码 / change the codes"))
    def propose_code_change(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("master:mapping-new") + "?" + urlencode({"material_code": obj.material_code})
        return format_html(
            '{} <a href="{}">{}</a>',
            _(
                "在用耗材的编码与 UDI-DI 须经第二人审核后变更。"
                " / A live item's codes and UDI-DIs change only after a second person's review."
            ),
            url,
            _("提出对码变更 / propose a code change"),
        )

    @admin.display(description=_("UDI-DI（最小包装）"), ordering="smallest_udi_di")
    def smallest_udi_di(self, obj):
        return getattr(obj, "smallest_udi_di", None) or "—"

    def get_search_results(self, request, queryset, search_term):
        """The usual search, plus: a scanned UDI (GS1 with AIs, MA...) finds its consumable."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        scanned = scanned_di(search_term)
        if scanned is None:
            return found, may_have_duplicates
        issuer, di = scanned
        if issuer == "hospital":
            owners = HospitalLabel.objects.filter(label=di).values("consumable_id")
        else:
            owners = DeviceIdentifier.objects.filter(udi_di=di).values("consumable_id")
        return queryset.filter(Q(pk__in=found.values("pk")) | Q(pk__in=owners)), False

    @admin.display(description=_("现行四价 / prices in force"))
    def prices_in_force(self, obj):
        if obj.pk is None:
            return "—"
        now = timezone.now()
        prices = _quantized(prices_in_force(obj.pk, now))
        violations = four_price_violations(prices)
        propose_url = reverse("admin:consumables_priceversion_add") + f"?consumable={obj.pk}"
        verdict = (
            format_html_join(
                "", '<li style="color:#ba2121">{}</li>', ((v.message,) for v in violations)
            )
            if violations
            else format_html('<li style="color:#2a7a2a">{}</li>', _("符合四价统一"))
        )
        return format_html(
            _(
                "挂网价 {} · 集采价 {} · 采购价 {} · 收费价 {}<ul>{}</ul>"
                '<a href="{}">申请调价 / propose a price change</a>'
            ),
            _money(prices.platform),
            _money(prices.vbp),
            _money(prices.purchase),
            _money(prices.charge),
            verdict,
            propose_url,
        )

    def _export(self, queryset, fmt):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return export_response(
            consumable_master_rows(queryset), MASTER_COLUMNS, f"耗材主数据-{stamp}", fmt
        )

    @admin.action(description=_("导出 Excel（导入格式）/ export XLSX"), permissions=["view"])
    def export_xlsx(self, request, queryset):
        return self._export(queryset, "xlsx")

    @admin.action(description=_("导出 CSV（导入格式）/ export CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        return self._export(queryset, "csv")


@admin.register(DeviceIdentifier)
class DeviceIdentifierAdmin(LabelledFormMixin, HistoryAdmin):
    form = DeviceIdentifierForm
    list_display = (
        "udi_di",
        "issuer",
        "units_per_package",
        "package_level",
        "consumable_column",
        "is_active",
    )
    consumable_column = column("consumable")
    list_filter = ("issuer", "is_active")
    search_fields = ("udi_di", "consumable__material_code", "consumable__name")
    list_select_related = ("consumable",)
    autocomplete_fields = ("consumable",)

    # A DI is one of its item's five codes: it is entered with a new item (the package levels
    # on the item's add form) and linked to or retired from a live item by a mapping change
    # decided by a second person (/master/mappings/). Here it is only looked up.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        scanned = scanned_di(search_term)
        if scanned is None or scanned[0] == "hospital":
            return found, may_have_duplicates
        return queryset.filter(Q(pk__in=found.values("pk")) | Q(udi_di=scanned[1])), False


@admin.register(ExternalPrice)
class ExternalPriceAdmin(LabelledFormMixin, HistoryAdmin):
    list_display = ("consumable_column", "kind", "price", "effective_from", "source")
    consumable_column = column("consumable")
    list_filter = ("kind",)
    search_fields = ("consumable__material_code", "consumable__charge_code", "consumable__name")
    list_select_related = ("consumable",)
    autocomplete_fields = ("consumable",)
    date_hierarchy = "effective_from"

    def has_delete_permission(self, request, obj=None):
        # Published prices are history: a correction is a new row from a later date.
        return False


# ---------------------------------------------------------------- price versions


def _external_at_version(kind: str):
    return Subquery(
        ExternalPrice.objects.filter(
            consumable=OuterRef("consumable_id"),
            kind=kind,
            effective_from__lte=OuterRef("effective_from"),
        )
        .order_by("-effective_from")
        .values("price")[:1]
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("驳回原因 / reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@admin.register(PriceVersion)
class PriceVersionAdmin(LabelledFormMixin, HistoryAdmin):
    """Pricing office's review of price changes (价格调整双审核).

    Versions are never edited: a proposal is decided by the approve or reject action (by a
    second person); to change a proposal, reject it and propose again.
    """

    list_display = (
        "consumable_column",
        "purchase_price",
        "charge_price",
        "platform_at",
        "vbp_at",
        "four_price",
        "effective_from",
        "status_column",
        "origin_column",
        "proposed_by_column",
        "decided_by_column",
        "decided_at_column",
    )
    list_filter = (
        ("status", titled(admin.ChoicesFieldListFilter, FIELD_LABELS["status"])),
        ("origin", titled(admin.ChoicesFieldListFilter, FIELD_LABELS["origin"])),
    )
    search_fields = (
        "consumable__material_code",
        "consumable__charge_code",
        "consumable__name",
        "reason",
    )
    list_select_related = ("consumable", "proposed_by", "decided_by")
    autocomplete_fields = ("consumable",)
    actions = ("approve_selected", "reject_selected")
    add_fields = ("consumable", "purchase_price", "charge_price", "effective_from", "reason")
    view_fields = (
        "consumable_column",
        "purchase_price",
        "charge_price",
        "four_price_check",
        "effective_from",
        "requested_effective_from_column",
        "status_column",
        "origin_column",
        "reason",
        "proposed_by_column",
        "proposed_at_column",
        "decided_by_column",
        "decided_at_column",
        "decision_reason_column",
    )
    consumable_column = column("consumable")
    status_column = column("status", choices=True)
    origin_column = column("origin", choices=True)
    proposed_by_column = column("proposed_by")
    proposed_at_column = column("proposed_at")
    decided_by_column = column("decided_by")
    decided_at_column = column("decided_at")
    decision_reason_column = column("decision_reason")
    requested_effective_from_column = column("requested_effective_from")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                platform_at_price=_external_at_version(ExternalPrice.Kind.PLATFORM),
                vbp_at_price=_external_at_version(ExternalPrice.Kind.VBP),
            )
        )

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.view_fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("effective_from", timezone.now())
        return initial

    def has_change_permission(self, request, obj=None):
        # The change list needs it for its actions; a single version is view-only.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request):
        return has_role(request.user, PRICING_OFFICE, ADMINISTRATOR)

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied(_("价格版本不可修改 / price versions are not editable"))
        created = price_version_propose(
            consumable=obj.consumable,
            purchase_price=obj.purchase_price,
            charge_price=obj.charge_price,
            effective_from=obj.effective_from,
            reason=obj.reason,
            proposed_by=request.user,
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            _("已提交调价申请（%(consumable)s），须由第二人审核后生效。")
            % {"consumable": obj.consumable},
            messages.INFO,
        )
        return super().response_add(request, obj, post_url_continue)

    # -- columns

    @admin.display(description=_("挂网价 / platform"), ordering="platform_at_price")
    def platform_at(self, obj):
        return _money(getattr(obj, "platform_at_price", None))

    @admin.display(description=_("集采价 / VBP"), ordering="vbp_at_price")
    def vbp_at(self, obj):
        return _money(getattr(obj, "vbp_at_price", None))

    @admin.display(description=_("四价统一 / aligned"), boolean=True)
    def four_price(self, obj):
        return not four_price_violations(
            FourPrices(
                platform=getattr(obj, "platform_at_price", None),
                vbp=getattr(obj, "vbp_at_price", None),
                purchase=obj.purchase_price,
                charge=obj.charge_price,
            )
        )

    @admin.display(description=_("四价校验 / four-price check"))
    def four_price_check(self, obj):
        at = obj.effective_from
        if obj.status == PriceVersion.Status.PROPOSED:
            at = max(obj.requested_effective_from or obj.effective_from, timezone.now())
        external = _quantized(prices_in_force(obj.consumable_id, at))
        violations = four_price_violations(
            FourPrices(
                platform=external.platform,
                vbp=external.vbp,
                purchase=obj.purchase_price,
                charge=obj.charge_price,
            )
        )
        verdict = (
            format_html_join(
                "", '<li style="color:#ba2121">{}</li>', ((v.message,) for v in violations)
            )
            if violations
            else format_html('<li style="color:#2a7a2a">{}</li>', _("符合四价统一"))
        )
        return format_html(
            _("挂网价 {} · 集采价 {}（{} 时点）<ul>{}</ul>"),
            _money(external.platform),
            _money(external.vbp),
            timezone.localtime(at).strftime("%Y-%m-%d %H:%M"),
            verdict,
        )

    # -- actions

    @admin.action(description=_("批准 / approve"), permissions=["approve"])
    def approve_selected(self, request, queryset):
        approved = 0
        for version in queryset.select_related("consumable").order_by("pk"):
            try:
                price_version_approve(version=version, approver=request.user)
            except DomainError as error:
                self.message_user(
                    request,
                    _("%(consumable)s：%(domain_error_text)s")
                    % {
                        "consumable": version.consumable,
                        "domain_error_text": domain_error_text(error),
                    },
                    messages.ERROR,
                )
            else:
                approved += 1
        if approved:
            self.message_user(
                request,
                _("已批准 %(approved)s 条调价申请。") % {"approved": approved},
                messages.SUCCESS,
            )

    @admin.action(description=_("驳回 / reject"), permissions=["approve"])
    def reject_selected(self, request, queryset):
        versions = list(queryset.select_related("consumable").order_by("pk"))
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": _("驳回调价申请 / reject price proposals"),
                "opts": self.model._meta,
                "versions": versions,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/consumables/priceversion/reject_confirmation.html", context
            )
        rejected = 0
        for version in versions:
            try:
                price_version_reject(
                    version=version, approver=request.user, note=form.cleaned_data["reason"]
                )
            except DomainError as error:
                self.message_user(
                    request,
                    _("%(consumable)s：%(domain_error_text)s")
                    % {
                        "consumable": version.consumable,
                        "domain_error_text": domain_error_text(error),
                    },
                    messages.ERROR,
                )
            else:
                rejected += 1
        if rejected:
            self.message_user(
                request,
                _("已驳回 %(rejected)s 条调价申请。") % {"rejected": rejected},
                messages.SUCCESS,
            )
        return None


@admin.register(HospitalLabel)
class HospitalLabelAdmin(LabelledFormMixin, admin.ModelAdmin):
    list_display = ("label", "consumable_column", "lot", "expiry", "udi_di", "created_at_column")
    consumable_column = column("consumable")
    created_at_column = column("created_at")
    search_fields = ("label", "udi_di", "lot", "consumable__material_code", "consumable__name")
    list_select_related = ("consumable",)
    autocomplete_fields = ("consumable",)
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        # A printed label is stuck on a unit: its text never changes.
        if obj:
            return ("label", "consumable_column", "created_at_column")
        return ("created_at_column",)

    def get_fields(self, request, obj=None):
        if obj:
            return ("label", "consumable_column", "lot", "expiry", "udi_di", "created_at_column")
        return ("label", "consumable", "lot", "expiry", "udi_di")


# The review workflows' models (supplier products, mapping changes, staging imports).
