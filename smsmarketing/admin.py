"""The admin's name and layout: the app's own header, lists that get the whole width, and VIEW SITE
leading to the store's own site (hidden when the user sees several stores or none)."""

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
