"""The admin's name and layout: the app's own header, and lists that get the whole width."""

from django.contrib import admin

admin.site.site_header = "SMS Marketing"
admin.site.site_title = "SMS Marketing"
admin.site.index_title = "Home"
# The home page and the breadcrumbs lead everywhere; the side menu would take a fifth of every list.
admin.site.enable_nav_sidebar = False
