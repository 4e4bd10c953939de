"""Every private wandb SDK internal the kit still uses (server/client.py), pinned: a
new SDK that renames, moves or changes one of them fails here, by name, before a
user's `wandb-kit login` or `configure` breaks.

Where the SDK has a public API the kit uses it (wandb.Api, wandb.init, the GraphQL
documents through HTTP); these internals are the ones `wandb login --host` itself
uses to write settings and .netrc, for which there is no public equivalent.
"""

from __future__ import annotations

import inspect
import netrc

from wandb_local_kit.server import client


def test_the_key_format_check_is_the_sdks_own():
    from wandb.sdk.lib.wbauth.validation import check_api_key

    assert check_api_key("local-" + "a" * 40) is None
    assert isinstance(check_api_key("short"), str)  # a reason, not an exception
    assert client.check_key_format("short") == check_api_key("short")


def test_host_url_normalizes_as_wandb_login_host_does():
    from wandb.sdk.lib import wbauth

    assert wbauth.HostUrl("http://wandb.lab:8080/").url == "http://wandb.lab:8080"
    assert client.sdk_host_url("http://wandb.lab:8080/") == "http://wandb.lab:8080"


def test_settings_files_write_base_url_where_the_sdk_reads_it(tmp_path, monkeypatch):
    from wandb.sdk.lib import settings_file, urls

    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.chdir(tmp_path)
    assert isinstance(urls.DEFAULT_BASE_URL, str) and urls.DEFAULT_BASE_URL.startswith("https")
    assert issubclass(settings_file.SaveSettingsError, Exception)
    files = client.sdk_settings_files()
    for name in ("set", "clear", "save", "all", "_global_path", "_local_path"):
        assert hasattr(files, name), f"the SDK's settings files lost {name}"
    written = client.write_base_url("http://wandb.lab:8080", local=False)
    assert written == tmp_path / "cfg" / "settings"
    assert "base_url = http://wandb.lab:8080" in written.read_text()
    assert client.configured_base_url() == "http://wandb.lab:8080"


def test_netrc_writer_and_path_are_the_sdks(tmp_path, monkeypatch):
    from wandb.sdk.lib import wbauth
    from wandb.sdk.lib.wbauth import wbnetrc

    monkeypatch.setenv("NETRC", str(tmp_path / "n"))
    assert wbnetrc._get_netrc_file_path() == tmp_path / "n"
    assert issubclass(wbauth.WriteNetrcError, Exception)
    assert set(inspect.signature(wbauth.write_netrc_auth).parameters) >= {"host", "api_key"}
    key = "local-" + "b" * 40
    path = client.store_key("http://wandb.lab:8080", key)
    assert path == tmp_path / "n"
    assert netrc.netrc(str(path)).authenticators("wandb.lab:8080")[2] == key
    assert client.netrc_key("http://wandb.lab:8080", {"NETRC": str(path)}) == key


def test_the_admin_bootstrap_documents_are_the_sdks_own():
    from wandb.apis._generated.operations import CREATE_USER_FROM_ADMIN_GQL, GENERATE_API_KEY_GQL

    assert "createUser(" in CREATE_USER_FROM_ADMIN_GQL and "$email" in CREATE_USER_FROM_ADMIN_GQL
    assert "$admin" in CREATE_USER_FROM_ADMIN_GQL
    assert "generateApiKey(" in GENERATE_API_KEY_GQL and "$description" in GENERATE_API_KEY_GQL
    assert "apiKey" in GENERATE_API_KEY_GQL and "name" in GENERATE_API_KEY_GQL
