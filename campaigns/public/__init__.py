"""Pages the public reaches: the signup page, the preference page, the short-link redirect.

May import inbound, content, models and customers; never the admin.
"""
