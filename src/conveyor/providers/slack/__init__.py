"""Airflow's slack provider, through plain HTTP with httpx (the extra ``conveyor[slack]``).

``webhook.py`` posts to an incoming webhook (``SlackWebhookHook``), ``api.py`` calls the
Web API with a token (``SlackHook``: ``chat.postMessage`` and any other method);
``operators.py`` and ``notifiers.py`` only call those two. Both send through the http
provider's client (``providers/http/client.py``).

A webhook's URL is its secret: whatever part of a connection holds it (the password, as
Airflow keeps the token, or the URL's path, which a ``slackwebhook`` connection always
masks) is masked in the try's output, and the hooks register the whole URL too.
"""
