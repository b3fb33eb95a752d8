from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from config import roles
from config.permissions import has_role, may_open

# The home page's tiles: (section, [(URL name, label, audience)]). Whether a user sees a
# tile is asked of the page it links to (config.permissions.may_open: that view's own gate),
# never of a second table here, so no tile leads to a 403. ``audience`` may only narrow it
# further, for a page open to every account that is nobody's daily work.
HOME_TILES = (
    (
        _("病区 / Wards"),
        (
            ("billing-bedside", _("床旁扫码 / Bedside scanning"), None),
            ("billing-daily-list-ward", _("一日清单 / Daily itemised lists"), None),
            ("billing-audit", _("出院预审核 / Pre-discharge audit"), None),
        ),
    ),
    (
        _("财务 / Finance"),
        (
            ("billing-finance", _("财务看板 / Finance dashboard"), None),
            ("billing-finance-month", _("财务月报 / Month view"), None),
            (
                "billing-finance-theatre",
                _("每日手术室高值耗材报表 / Theatres' high-value daily report"),
                None,
            ),
            ("billing-finance-people", _("问题人员排名 / Findings by person"), None),
            ("billing-finance-four-price", _("四价统一报表 / Four-price report"), None),
        ),
    ),
    (
        _("库房 / Stores"),
        (
            ("inventory:receive", _("入库扫码 / Receiving"), None),
            ("inventory:issue", _("出库配送 / Issuing to wards"), None),
            ("inventory:stock", _("库存 / Stock on hand"), None),
            ("inventory:history", _("追溯 / Movement history"), None),
            ("inventory:stocktake-list", _("盘点 / Stocktake"), None),
            ("inventory:recall-list", _("召回 / Recalls"), None),
        ),
    ),
    (
        _("采购与物价 / Procurement & pricing"),
        (
            ("master:staging", _("对码工作区 / Code-conflict workspace"), None),
            ("master:mapping-list", _("对码变更审核 / Mapping changes"), None),
            ("master:submission-list", _("供应商提交审核 / Supplier submissions"), None),
            ("master:supplier-products", _("供应商供货品种 / Supplier products"), None),
            ("master:price-list", _("调价审核 / Price proposals"), None),
            ("master:price-lists", _("挂网价/集采价目录 / Platform & VBP prices"), None),
            ("inventory:master-check", _("主数据检查 / Master data check"), None),
        ),
    ),
    (
        _("供应商 / Suppliers"),
        (("master:supplier-home", _("供应商平台 / Supplier platform"), None),),
    ),
    (
        _("主数据 / Master data"),
        (
            (
                "admin:consumables_consumable_changelist",
                _("耗材主数据 / Consumable master"),
                None,
            ),
            ("admin:consumables_priceversion_changelist", _("价格版本 / Price versions"), None),
            # Open to every account (integrators read it with a token); on the home page
            # only for the administrator, who wires HIS/HRP.
            ("api-docs", _("接口文档 / API docs"), (roles.ADMINISTRATOR,)),
        ),
    ),
)


def home_sections(request) -> list[tuple[str, list[tuple[str, str]]]]:
    """The sections and tiles (label, URL) ``request.user`` may open; empty sections left out."""
    sections = []
    for title, tiles in HOME_TILES:
        shown = []
        for name, label, audience in tiles:
            url = reverse(name)
            if may_open(request, url) and (audience is None or has_role(request.user, *audience)):
                shown.append((label, url))
        if shown:
            sections.append((title, shown))
    return sections


@login_required
def home(request):
    return render(request, "home.html", {"sections": home_sections(request)})
