"""The Connections page offers the connection types the providers declare, no other list:
its type choices and its form's labels come from ``providers/registry.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import make_settings, token_clients
from conveyor.providers import registry
from conveyor.store.engine import Store
from conveyor.web.app import create_app


def test_the_connections_page_offers_the_registry_s_types(tmp_path: Path, store: Store) -> None:
    settings = make_settings(tmp_path, tmp_path / "dags", store.url)
    app_store = Store(store.url)
    clients = token_clients(create_app(settings, app_store), store)
    try:
        page = clients["admin"].get("/admin/connections")
        assert page.status_code == 200, page.text[:500]
        datalist = re.search(r'<datalist id="conn-types">(.*?)</datalist>', page.text, re.S)
        assert datalist is not None
        offered = re.findall(r'<option value="([^"]+)"', datalist[1])
        assert offered == list(registry.connection_types())
        forms = re.search(r'<script type="application/json" id="conn-forms">(.*?)</script>',
                          page.text, re.S)  # fmt: skip
        assert forms is not None
        declared = json.loads(forms[1])
        assert declared["mysql"]["fields"]["port"]["placeholder"] == "3306"
        assert "password" in declared["google_cloud_platform"]["hidden"]
        # Below op, the page is refused as the API refuses it.
        refused = clients["viewer"].get("/admin/connections")
        assert refused.status_code == 403
        assert "This page needs the &#39;op&#39; role" in refused.text
    finally:
        for client in clients.values():
            client.close()
        app_store.dispose()
