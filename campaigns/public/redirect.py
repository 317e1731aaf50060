"""The short-link redirect: /l/<code> → the target with UTM tags, recording the click."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from campaigns.content.links import is_preview_fetch, link_click, target_error, with_utm
from campaigns.models import Link


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/link_not_found.html", status=404)


@require_safe
def link_redirect(request: HttpRequest, code: str) -> HttpResponse:
    link = Link.objects.select_related("store").filter(code=code).first()
    # A target no longer on the store's allowed hosts is never followed: no open redirect.
    if link is None or target_error(link.store, link.target_url):
        return _not_found(request)
    user_agent = request.headers.get("user-agent", "")
    if request.method == "GET" and not is_preview_fetch(user_agent):
        link_click(link=link, now=timezone.now(), user_agent=user_agent)
    response = HttpResponseRedirect(with_utm(link.target_url, campaign=link.utm_campaign,
                                             content=link.utm_content))
    response["Cache-Control"] = "no-store"  # every tap must reach the app to be counted
    response["Referrer-Policy"] = "no-referrer"
    return response
