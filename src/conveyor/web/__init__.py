"""The web server: REST API, UI pages and login, built by :func:`conveyor.web.app.create_app`."""
