"""The admin's name and layout: the app's own header, lists that get the whole width, the home page
in the order of daily use (campaigns and flows, the inbox, segments and customers; settings,
background tasks and users last), and VIEW SITE leading to the store's own site (hidden when the
user sees several stores or none)."""

from django.contrib import admin

from customers.admin.scoping import stores_for

admin.site.site_header = "SMS Marketing"
admin.site.site_title = "SMS Marketing"
admin.site.index_title = "Home"
# The home page and the breadcrumbs lead everywhere; the side menu would take a fifth of every list.
admin.site.enable_nav_sidebar = False
admin.site.site_url = None

_each_context = admin.site.each_context


def _store_site(request) -> str | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    sites = list(stores_for(user).exclude(site_url="").values_list("site_url", flat=True)[:2])
    return sites[0] if len(sites) == 1 else None


def each_context(request):
    return {**_each_context(request), "site_url": _store_site(request)}


admin.site.each_context = each_context


# Sections and, inside each, models in the order a marketer reaches for them; the rest keep
# Django's alphabetical order after these.
DAILY_USE = {
    "campaigns": [
        "Campaign", "Flow", "InboundMessage", "MessageTemplate", "Message", "Experiment", "Offer",
        "Keyword", "OfferCode", "FlowRun", "QuietHoursRule", "CreepTerm", "UndeliverableNumber",
        "GuardrailDecision",
    ],
    "customers": [
        "Segment", "Customer", "ImportJob", "ConsentRecord", "Event", "Product", "Category",
        "ProductChange", "ApiKey", "PrivacyLogEntry", "Store",
    ],
    "connections": ["ShopConnection", "WebhookDelivery"],
    "django_q": [],
    "auth": ["User", "Group"],
}  # fmt: skip

_get_app_list = admin.site.get_app_list


def _rank(order: list[str], name: str) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def get_app_list(request, app_label=None):
    apps = _get_app_list(request, app_label)
    sections = list(DAILY_USE)
    for app in apps:
        order = DAILY_USE.get(app["app_label"], [])
        app["models"].sort(key=lambda model: _rank(order, model["object_name"]))
    return sorted(apps, key=lambda app: _rank(sections, app["app_label"]))


admin.site.get_app_list = get_app_list
