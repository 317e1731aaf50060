"""The admin home in the order of daily use: campaigns and flows first, users last."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_the_home_page_leads_with_campaigns_and_ends_with_users(admin_client):
    page = admin_client.get("/admin/").content.decode()

    rows = ["campaigns-campaign", "campaigns-flow", "campaigns-inboundmessage", "customers-segment"]
    rows += ["customers-customer", "customers-store", "django_q-schedule", "auth-user"]
    found = [page.index(f'id="{row}"') for row in rows]
    assert found == sorted(found)
