"""The store page's signup form section: its texts and colours with a live preview, the tag to
paste on the store's site, and a printable poster (QR code to the signup page, "Text JOIN to …")."""

from __future__ import annotations

import segno
from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

from customers.admin.scoping import StoreScopedInline, stores_for
from customers.connections.models import SignupEmbed
from customers.models import Store

COLOUR = forms.TextInput(attrs={"type": "color"})


def embed_tag(store: Store) -> str:
    source = settings.PUBLIC_BASE_URL + static("js/signup-embed.js")
    return f'<script src="{source}" data-store="{store.slug}" async></script>'


class SignupEmbedForm(forms.ModelForm):
    class Meta:
        model = SignupEmbed
        fields = SignupEmbed.SETTINGS
        widgets = {
            "background_colour": COLOUR,
            "text_colour": COLOUR,
            "button_colour": COLOUR,
            "button_text_colour": COLOUR,
            "consent_wording": forms.Textarea(attrs={"rows": 3, "cols": 80}),
        }


class SignupEmbedInline(StoreScopedInline, admin.StackedInline):
    model = SignupEmbed
    form = SignupEmbedForm
    store_path = "store"
    can_delete = False
    max_num = 1
    verbose_name = verbose_name_plural = "Signup form on the store's site"
    readonly_fields = ["tag", "preview"]
    fieldsets = [
        (None, {"fields": ["tag", ("enabled", "display", "delay_seconds")]}),
        (
            "Texts",
            {
                "fields": [
                    "headline",
                    "text",
                    "button_label",
                    ("question", "question_label"),
                    "consent_wording",
                    "thanks_text",
                ]
            },
        ),
        (
            "Colours",
            {"fields": [("background_colour", "text_colour", "button_colour", "button_text_colour")]},
        ),
        ("Preview", {"fields": ["preview"]}),
    ]

    class Media:
        js = ["js/signup-embed.js", "customers/embed_preview.js"]

    @admin.display(description="Paste on your site")
    def tag(self, embed: SignupEmbed) -> str:
        if not embed.store_id:
            return "Save the store first."
        poster = reverse("admin:customers_store_poster", args=[embed.store_id])
        return format_html(
            '<code style="user-select:all">{}</code><br><a href="{}" target="_blank">Printable poster '
            "(QR code and keyword)</a>",
            embed_tag(embed.store),
            poster,
        )

    @admin.display(description="How it looks")
    def preview(self, embed: SignupEmbed) -> str:
        consent = embed.consent_wording or ""
        return format_html(
            '<div id="embed-preview" data-consent="{}" style="padding:16px;background:#eef1f4;'
            'border-radius:8px">Preview</div>',
            consent,
        )


def poster_view(request: HttpRequest, store_id: int) -> HttpResponse:
    store = get_object_or_404(stores_for(request.user), pk=store_id)
    join_url = settings.PUBLIC_BASE_URL + reverse("public:signup", args=[store.slug])
    qr = segno.make(join_url, error="m")
    context = {
        "store": store,
        "join_url": join_url,
        "qr": qr.svg_inline(scale=10, dark="#111", border=2),
        "number": store.from_number,
        "title": f"Poster: {store}",
    }
    return TemplateResponse(request, "admin/customers/store/poster.html", context)
