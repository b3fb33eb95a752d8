import datetime as dt

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing.api import audit as audit_api
from billing.api import consent as consent_api
from billing.api import his as billing_api
from billing.api import reconciliation as reconciliation_api
from consumables import api as consumables_api
from consumables.submissions import api as supplier_api
from consumables.views import home as consumables_views
from insurance_platform.api import uploads as uploads_api
from inventory.api import decode as decode_api
from inventory.api import scans as inventory_api


class IsoDateConverter:
    """``YYYY-MM-DD`` in a URL; an impossible date does not match (404, never a 500)."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        return dt.date.fromisoformat(value)

    def to_url(self, value) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)


register_converter(IsoDateConverter, "isodate")

api_v1 = [
    path("codes/resolve", consumables_api.CodeResolveApi.as_view(), name="codes-resolve"),
    path("codes/decode", decode_api.CodeDecodeApi.as_view(), name="codes-decode"),
    path("scans", inventory_api.ScanApi.as_view(), name="scans"),
    path("encounters", billing_api.EncounterApi.as_view(), name="encounters"),
    path(
        "encounters/<str:visit_no>/discharge",
        billing_api.DischargeApi.as_view(),
        name="encounter-discharge",
    ),
    path("orders", billing_api.OrderApi.as_view(), name="orders"),
    path("charges", billing_api.ChargeApi.as_view(), name="charges"),
    path("charges/<int:charge_id>/refund", billing_api.RefundApi.as_view(), name="charge-refund"),
    path("consents", consent_api.ConsentApi.as_view(), name="consents"),
    path(
        "encounters/<str:visit_no>/audit",
        audit_api.EncounterAuditApi.as_view(),
        name="encounter-audit",
    ),
    path("reconciliation/runs", reconciliation_api.RunCreateApi.as_view(), name="recon-runs"),
    path(
        "reconciliation/runs/<isodate:date>",
        reconciliation_api.RunDetailApi.as_view(),
        name="recon-run",
    ),
    path(
        "reconciliation/runs/<isodate:date>/variances",
        reconciliation_api.VarianceListApi.as_view(),
        name="recon-variances",
    ),
    path(
        "reconciliation/runs/<isodate:date>/exceptions",
        reconciliation_api.ExceptionListApi.as_view(),
        name="recon-exceptions",
    ),
    path("insurance/uploads", uploads_api.UploadListApi.as_view(), name="insurance-upload-list"),
    path(
        "insurance/uploads/<int:upload_id>/resend",
        uploads_api.UploadResendApi.as_view(),
        name="insurance-upload-resend",
    ),
    path(
        "supplier/products", supplier_api.SupplierProductListApi.as_view(), name="supplier-products"
    ),
    path(
        "supplier/submissions",
        supplier_api.SupplierSubmissionListApi.as_view(),
        name="supplier-submissions",
    ),
    path(
        "supplier/submissions/<int:submission_id>",
        supplier_api.SupplierSubmissionDetailApi.as_view(),
        name="supplier-submission",
    ),
]

urlpatterns = [
    path("", consumables_views.home, name="home"),
    path("admin/", admin.site.urls),
    # django.contrib.auth.urls without the password reset by e-mail: no mail is configured,
    # and a reset page that sends nothing only tells an attacker which addresses exist. An
    # administrator resets a password (admin > users, or manage.py changepassword USERNAME),
    # as the login page says.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' messages (locale/*/djangojs.po) in the user's language.
    path("i18n/js/", JavaScriptCatalog.as_view(packages=["config"]), name="javascript-catalog"),
    path("inventory/", include("inventory.urls")),
    path("billing/", include("billing.urls")),
    path("master/", include("consumables.urls")),
    path("insurance/", include("insurance_platform.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# A page refused for its role says why and which roles it lets in (the API keeps its JSON
# body: DRF answers before this handler). 404 is Django's own view with templates/404.html.
handler403 = "config.error_pages.permission_denied"
