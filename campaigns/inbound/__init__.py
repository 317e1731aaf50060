"""What customers send: Twilio's webhooks, keywords, double opt-in, conversations and their own
preferences.

May import reports, sending, content, models and customers.
"""
