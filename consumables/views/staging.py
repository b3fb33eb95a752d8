"""Pages: the code-conflict workspace (对码工作区). Import HRP/HIS exports, see every conflict
and its count over time, fix rows one by one, promote clean materials. Procurement's work."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from config import roles
from config.errors import DomainError
from config.permissions import role_required
from consumables.staging import selectors
from consumables.staging.conflicts import KINDS, conflict_summary
from consumables.staging.fixes import staging_row_exclude, staging_row_fix, staging_row_restore
from consumables.staging.loading import EDITABLE, staging_import
from consumables.staging.models import StagingImport, StagingRow, StagingSource
from consumables.staging.promotion import staging_promote
from consumables.views.common import download, refused, uploaded_file, wants_export

PROCUREMENT = (roles.PROCUREMENT, roles.ADMINISTRATOR)
PER_PAGE = 50


class ImportForm(forms.Form):
    source = forms.ChoiceField(label=_("来源 / Source"), choices=StagingSource.choices)
    file = forms.FileField(label=_("文件（CSV 或 XLSX）/ File (CSV or XLSX)"))
    replace = forms.BooleanField(
        label=_("替换该来源之前的待处理行 / Replace this source's pending rows"),
        required=False,
        initial=True,
    )


class RowForm(forms.Form):
    material_code = forms.CharField(max_length=200, required=False)
    charge_code = forms.CharField(max_length=200, required=False)
    order_code = forms.CharField(max_length=200, required=False)
    insurance_code = forms.CharField(max_length=200, required=False)
    udi_di = forms.CharField(max_length=200, required=False, strip=False)
    units_per_package = forms.CharField(max_length=12, required=False)
    package_level = forms.CharField(max_length=200, required=False)
    note = forms.CharField(max_length=300, required=False)


@role_required(*PROCUREMENT)
def workspace(request):
    fmt = wants_export(request)
    if fmt and request.GET.get("list") == "imports":
        return download(selectors.import_rows(), selectors.IMPORT_COLUMNS, "对码导入记录", fmt)
    if fmt:
        return download(selectors.snapshot_rows(), selectors.SNAPSHOT_COLUMNS, "冲突统计", fmt)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with uploaded_file(data["file"]) as file_path:
                batch = staging_import(
                    path=file_path,
                    source=data["source"],
                    user=request.user,
                    file_name=data["file"].name,
                    replace=data["replace"],
                )
        except DomainError as error:
            refused(request, error)
        else:
            messages.success(
                request,
                _(
                    "已载入 %(rows_loaded)s 行，%(count)s 行未载入 / %(rows_loaded)s rows staged, "
                    "%(count)s refused"
                )
                % {"rows_loaded": batch.rows_loaded, "count": len(batch.errors)},
            )
            return redirect("master:staging-import", pk=batch.pk)
    summary = conflict_summary()
    series = selectors.snapshot_series()
    peak = max([s.total for s in series] or [0]) or 1
    return render(
        request,
        "consumables/staging/workspace.html",
        {
            "form": form,
            "summary": summary,
            "kinds": [(code, kind, summary.counts[code]) for code, kind in KINDS.items()],
            "series": [(s, round(100 * s.total / peak)) for s in series],
            "recent": selectors.recent_snapshots(),
            "imports": StagingImport.objects.select_related("imported_by")[:20],
        },
    )


@role_required(*PROCUREMENT)
def import_detail(request, pk: int):
    batch = get_object_or_404(StagingImport.objects.select_related("imported_by"), pk=pk)
    fmt = wants_export(request)
    if fmt:
        columns = [("line", _("行号 / line")), ("code", _("错误代码 / code")),
                   ("message", _("原因 / reason"))]  # fmt: skip
        return download(batch.errors, columns, f"未载入行-{batch.pk}", fmt)
    return render(request, "consumables/staging/import.html", {"batch": batch})


@role_required(*PROCUREMENT)
def kind_page(request, kind: str):
    if kind not in KINDS:
        raise Http404("unknown kind")
    fmt = wants_export(request)
    if fmt:
        return download(selectors.export_rows(kind), selectors.ROW_COLUMNS, f"冲突-{kind}", fmt)
    count = conflict_summary().counts[kind]
    paginator = Paginator(range(count), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "consumables/staging/kind.html",
        {
            "kind": KINDS[kind],
            "count": count,
            "page": page,
            "conflicts": selectors.conflict_page(kind, page=page.number, per_page=PER_PAGE),
            "editable": EDITABLE,
        },
    )


def _back(request, row: StagingRow):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(reverse("master:staging"))


@require_POST
@role_required(*PROCUREMENT)
def row_action(request, pk: int):
    row = get_object_or_404(StagingRow, pk=pk)
    form = RowForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("输入有误 / invalid input"))
        return _back(request, row)
    data = form.cleaned_data
    action = request.POST.get("action")
    try:
        if action == "fix":
            values = {name: data[name] for name in EDITABLE if name in request.POST}
            row = staging_row_fix(row=row, values=values, user=request.user, note=data["note"])
            if row.problems:
                messages.warning(
                    request,
                    _("已保存，但仍有问题 / saved, still: %(problems)s")
                    % {"problems": row.problems},
                )
            else:
                messages.success(request, _("已修正 %(where)s / fixed") % {"where": row.where})
        elif action == "exclude":
            staging_row_exclude(row=row, user=request.user, note=data["note"])
            messages.success(request, _("已排除 %(where)s / excluded") % {"where": row.where})
        elif action == "restore":
            staging_row_restore(row=row, user=request.user)
            messages.success(request, _("已恢复 %(where)s / restored") % {"where": row.where})
        else:
            messages.error(request, _("未知操作 / unknown action"))
    except DomainError as error:
        refused(request, error)
    return _back(request, row)


@require_POST
@role_required(*PROCUREMENT)
def promote(request):
    # Promoting writes the live master: it must be asked for (all clean, or named ones).
    codes = [c for c in request.POST.getlist("material_code") if c]
    if not codes and request.POST.get("scope") != "all":
        messages.error(request, _("请选择要入主数据的物资 / choose what to promote"))
        return redirect("master:staging")
    result = staging_promote(user=request.user, material_codes=codes or None)
    messages.success(
        request,
        _(
            "已入主数据 %(promoted)s 种，%(refused)s 种未入，%(proposals)s 项编码变更待审核 / "
            "%(promoted)s promoted, %(refused)s refused, %(proposals)s mapping changes to review"
        )
        % {
            "promoted": len(result.promoted),
            "refused": len(result.refused),
            "proposals": result.proposals,
        },
    )
    if result.suppliers_promoted or result.suppliers_refused:
        messages.success(
            request,
            _(
                "供应商已入主数据 %(promoted)s 家，%(refused)s 家未入 / suppliers: "
                "%(promoted)s promoted, %(refused)s refused"
            )
            % {
                "promoted": len(result.suppliers_promoted),
                "refused": len(result.suppliers_refused),
            },
        )
    refusals = [*result.suppliers_refused.items(), *result.refused.items()]
    for code, reason in refusals[:20]:
        messages.warning(request, f"{code}: {reason}")
    return redirect("master:staging")


@role_required(*PROCUREMENT)
def rows_page(request):
    """Every staging row, filtered by status, source or any code: the workspace as a list."""
    rows = StagingRow.objects.select_related("batch")
    status = request.GET.get("status") or StagingRow.Status.PENDING
    if status in StagingRow.Status.values:
        rows = rows.filter(status=status)
    source = request.GET.get("source")
    if source in StagingSource.values:
        rows = rows.filter(source=source)
    q = (request.GET.get("q") or "").strip()
    if q:
        rows = rows.filter(
            Q(material_code=q) | Q(charge_code=q) | Q(order_code=q) | Q(insurance_code=q)
            | Q(udi_di=q) | Q(name__contains=q)
        )
    rows = rows.order_by("source", "batch_id", "line")
    fmt = wants_export(request)
    if fmt:
        return download(
            ({"file": r.batch.file_name, **{c: getattr(r, c) for c, _ in ROWS_COLUMNS[1:]}}
             for r in rows.iterator(chunk_size=2000)),
            ROWS_COLUMNS, "对码数据行", fmt,
        )  # fmt: skip
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "consumables/staging/rows.html",
        {"page": page, "status": status, "source": source, "q": q,
         "statuses": StagingRow.Status.choices, "sources": StagingSource.choices,
         "pager_query": urlencode({"status": status, "source": source or "", "q": q})},
    )  # fmt: skip


ROWS_COLUMNS = [
    ("file", _("文件 / file")),
    ("line", _("行号 / line")),
    ("source", _("来源 / source")),
    ("status", _("状态 / status")),
    ("material_code", "物资编码"),
    ("charge_code", "计费编码"),
    ("order_code", "医嘱编码"),
    ("insurance_code", "医保耗材编码"),
    ("udi_di", "UDI-DI"),
    ("units_per_package", "包装数量"),
    ("name", "名称"),
    ("spec", "规格型号"),
    ("problems", _("数据问题 / problems")),
    ("note", _("处理说明 / note")),
    ("promotion_error", _("入主数据失败原因 / promotion refused")),
]

urlpatterns = [
    path("", workspace, name="staging"),
    path("imports/<int:pk>/", import_detail, name="staging-import"),
    path("kinds/<str:kind>/", kind_page, name="staging-kind"),
    path("rows/", rows_page, name="staging-rows"),
    path("rows/<int:pk>/", row_action, name="staging-row"),
    path("promote/", promote, name="staging-promote"),
]
