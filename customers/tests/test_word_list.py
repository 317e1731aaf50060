"""Lists of words (a store's link domains) are edited as words, not as JSON."""

from __future__ import annotations

import json

import pytest

from customers.admin.widgets import WordListWidget
from customers.models import Store


def test_the_words_are_shown_and_read_back_as_a_list():
    widget = WordListWidget()

    html = widget.render("domains", json.dumps(["shop.example.com", "help.example.com"]))
    read = widget.value_from_datadict({"domains": "shop.example.com,  help.example.com ,"}, {}, "domains")

    assert 'value="shop.example.com, help.example.com"' in html and "[" not in html.split("value=")[1][:3]
    assert json.loads(read) == ["shop.example.com", "help.example.com"]


@pytest.mark.django_db
def test_the_store_page_shows_its_link_domains_as_words(admin_client):
    store = Store.objects.create(slug="s", brand_name="S", allowed_link_domains=["shop.example.com"])

    page = admin_client.get(f"/admin/customers/store/{store.pk}/change/").content.decode()

    assert 'name="allowed_link_domains" value="shop.example.com"' in page
