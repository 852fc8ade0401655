"""SecretStore: credentials in the OS keyring only.

Two groups:
- the real keyring (Secret Service over D-Bus, gnome-keyring in CI): skipped only when there
  is no D-Bus session bus and SPARKTRAINER_REQUIRE_KEYRING is not set (`bash .ci/test` sets it
  and runs the tests inside `.ci/keyring-session`);
- backends that must be refused (fail, null, empty chainer, plaintext file) and input checks:
  these need no D-Bus and run everywhere.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, null
from keyring.errors import KeyringLocked

from trainer_runtime.secrets import (
    MASK,
    SECRET_NAMES_ENV,
    KeyringUnavailable,
    Redactor,
    SecretStore,
    usable_backend,
    validate_name,
)
from trainer_runtime.secrets.store import INDEX_KEY

REQUIRE_ENV = "SPARKTRAINER_REQUIRE_KEYRING"
TOKEN = "hf_" + "x1Y2z3" * 6


@pytest.fixture(autouse=True)
def _restore_keyring():
    before = keyring.get_keyring()
    yield
    keyring.set_keyring(before)


# ---------------------------------------------------------------------------------------
# Backends that must be refused
# ---------------------------------------------------------------------------------------


# keyring registers every backend class it sees and may pick one on detection: every class
# here says `viable = False` so that only `keyring.set_keyring` in these tests ever uses it.


class PlaintextKeyring(KeyringBackend):
    """Like keyrings.alt.file.PlaintextKeyring: secrets in a JSON file, readable by anyone."""

    priority = 0.5  # type: ignore[assignment]
    viable = False  # type: ignore[assignment]

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def _load(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service, username):
        return self._load().get(f"{service}/{username}")

    def set_password(self, service, username, password):
        data = self._load()
        data[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service, username):
        data = self._load()
        data.pop(f"{service}/{username}", None)
        self.path.write_text(json.dumps(data))


PlaintextKeyring.__module__ = "keyrings.alt.file"  # what a user with keyrings.alt installed gets


class LockedSecretService(SecretService.Keyring):
    """The Secret Service answering as it does when the collection stays locked."""

    viable = False  # type: ignore[assignment]

    def get_password(self, service, username):
        raise KeyringLocked("Failed to unlock the collection!")

    set_password = delete_password = get_password  # type: ignore[assignment]


def chainer_of(*members: KeyringBackend) -> chainer.ChainerBackend:
    """A chainer over exactly ``members`` (the real one chains whatever is installed)."""
    cls = type("TestChainer", (chainer.ChainerBackend,), {"backends": list(members), "viable": False})
    return cls()


def _all_operations(store: SecretStore):
    return [
        ("set", lambda: store.set("HF_TOKEN", TOKEN)),
        ("get", lambda: store.get("HF_TOKEN")),
        ("delete", lambda: store.delete("HF_TOKEN")),
        ("names", store.names),
        ("worker_environment", store.worker_environment),
        ("redactor", store.redactor),
        ("check", store.check),
    ]


@pytest.mark.parametrize(
    "backend, words",
    [
        (fail.Keyring(), ["keyring.backends.fail.Keyring", "cannot store"]),
        (null.Keyring(), ["keyring.backends.null.Keyring", "cannot store"]),
        (chainer_of(), ["chainer", "no keyring backend at all"]),
    ],
    ids=["fail", "null", "empty-chainer"],
)
def test_unusable_backend_is_refused(backend, words):
    keyring.set_keyring(backend)
    store = SecretStore(service=f"sparktrainer-test-{uuid.uuid4().hex}")
    for op, call in _all_operations(store):
        with pytest.raises(KeyringUnavailable) as err:
            call()
        msg = str(err.value)
        assert msg.startswith("No usable OS keyring:"), op
        assert "gnome-keyring" in msg and "dbus-launch" in msg, op  # says what to install/start
        for w in words:
            assert w in msg, (op, w, msg)


def test_plaintext_backend_is_refused_and_nothing_is_written(tmp_path):
    secrets_file = tmp_path / "keyring_pass.cfg"
    backend = PlaintextKeyring(secrets_file)
    keyring.set_keyring(backend)
    store = SecretStore(service="sparktrainer-test")
    for op, call in _all_operations(store):
        with pytest.raises(KeyringUnavailable, match="keeps secrets in a file") as err:
            call()
        assert "keyrings.alt.file.PlaintextKeyring" in str(err.value), op
        assert "refuses file-based keyrings" in str(err.value), op
    assert not secrets_file.exists()


def test_plaintext_backend_is_never_read(tmp_path):
    secrets_file = tmp_path / "keyring_pass.cfg"
    secrets_file.write_text(json.dumps({"sparktrainer/HF_TOKEN": TOKEN}))
    keyring.set_keyring(PlaintextKeyring(secrets_file))
    with pytest.raises(KeyringUnavailable):
        SecretStore().get("HF_TOKEN")
    with pytest.raises(KeyringUnavailable):
        SecretStore().worker_environment()
    assert json.loads(secrets_file.read_text()) == {"sparktrainer/HF_TOKEN": TOKEN}


def test_chainer_of_only_plaintext_is_refused(tmp_path):
    secrets_file = tmp_path / "keyring_pass.cfg"
    keyring.set_keyring(chainer_of(PlaintextKeyring(secrets_file)))
    with pytest.raises(KeyringUnavailable, match="only keyrings.alt.file.PlaintextKeyring"):
        SecretStore().set("HF_TOKEN", TOKEN)
    assert not secrets_file.exists()


def test_secret_service_without_dbus_is_refused(monkeypatch, tmp_path):
    # Forced SecretService backend, but the session bus address leads nowhere.
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-bus")
    keyring.set_keyring(SecretService.Keyring())
    store = SecretStore(service="sparktrainer-test")
    with pytest.raises(KeyringUnavailable, match=r"could not \w+ a credential") as err:
        store.set("HF_TOKEN", TOKEN)
    assert "dbus-launch" in str(err.value)
    with pytest.raises(KeyringUnavailable, match="could not read a credential"):
        store.names()


def test_no_bus_is_named_in_the_message(monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(KeyringUnavailable, match="DBUS_SESSION_BUS_ADDRESS is not set"):
        SecretStore().names()


def test_locked_collection_error_is_keyring_unavailable():
    keyring.set_keyring(LockedSecretService())
    with pytest.raises(KeyringUnavailable, match="unlock it") as err:
        SecretStore().set("HF_TOKEN", TOKEN)
    assert isinstance(err.value.__cause__, KeyringLocked)


# ---------------------------------------------------------------------------------------
# Input checks: before any keyring call, so they hold even with no keyring at all
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "hf_token", "1TOKEN", "_TOKEN", "MY-TOKEN", "MY TOKEN", "TÖKEN", "A" * 65, INDEX_KEY, None],
)
def test_bad_names_are_value_errors(name):
    keyring.set_keyring(fail.Keyring())
    store = SecretStore()
    for call in (lambda: store.set(name, TOKEN), lambda: store.get(name), lambda: store.delete(name)):
        with pytest.raises(ValueError, match="not a valid credential name"):
            call()


@pytest.mark.parametrize("name", ["PATH", "LD_PRELOAD", "PYTHONPATH", SECRET_NAMES_ENV, "MASTER_ADDR"])
def test_reserved_names_are_value_errors(name):
    with pytest.raises(ValueError, match="workers need that environment variable"):
        validate_name(name)


@pytest.mark.parametrize("name", ["HF_TOKEN", "WANDB_API_KEY", "OPENAI_API_KEY", "A", "MY_KEY_2", "A" * 64])
def test_good_names(name):
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "value, words",
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("abc", "shorter than"),
        ("tok\nen", "line break"),
        ("a\x00bcd", "NUL"),
    ],
)
def test_bad_values_are_value_errors(value, words):
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(ValueError, match=words):
        SecretStore().set("HF_TOKEN", value)


# ---------------------------------------------------------------------------------------
# The real OS keyring
# ---------------------------------------------------------------------------------------


def _need_real_keyring() -> None:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") and not os.environ.get(REQUIRE_ENV):
        pytest.skip(
            "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset), so no OS keyring: run "
            f"`bash .ci/keyring-session .venv/bin/python -m pytest ...`, or set {REQUIRE_ENV}=1 "
            "to make this a failure"
        )


@pytest.fixture
def real_store():
    _need_real_keyring()
    keyring.core.init_backend()  # detect afresh: the OS keyring, as the app would get it
    backend = usable_backend()  # KeyringUnavailable here fails the test: CI requires a keyring
    store = SecretStore(service=f"sparktrainer-test-{uuid.uuid4().hex[:12]}")
    yield store
    keyring.set_keyring(backend)  # a test may have pointed keyring elsewhere
    for name in store.names():
        store.delete(name)
    assert backend.get_password(store.service, INDEX_KEY) is None


def _secret_service_items(service: str) -> dict[str, str]:
    """What the Secret Service itself holds for ``service``, read without the keyring library."""
    import secretstorage

    conn = secretstorage.dbus_init()
    try:
        items = secretstorage.search_items(conn, {"service": service})
        return {i.get_attributes()["username"]: i.get_secret().decode() for i in items}
    finally:
        conn.close()


@pytest.mark.keyring
def test_round_trip_in_the_os_keyring(real_store):
    store = real_store
    assert store.names() == []
    store.set("HF_TOKEN", TOKEN)
    store.set("MY_SERVICE_KEY", "custom-secret-value")
    assert store.get("HF_TOKEN") == TOKEN
    assert store.get("MY_SERVICE_KEY") == "custom-secret-value"
    assert store.get("WANDB_API_KEY") is None
    assert store.names() == ["HF_TOKEN", "MY_SERVICE_KEY"]

    # The values and the index of names really are in the Secret Service.
    items = _secret_service_items(store.service)
    assert items["HF_TOKEN"] == TOKEN
    assert items["MY_SERVICE_KEY"] == "custom-secret-value"
    assert json.loads(items[INDEX_KEY]) == ["HF_TOKEN", "MY_SERVICE_KEY"]
    assert TOKEN not in items[INDEX_KEY]

    # Another instance (another process, later) sees the same names.
    assert SecretStore(service=store.service).names() == ["HF_TOKEN", "MY_SERVICE_KEY"]


@pytest.mark.keyring
def test_replace_and_delete(real_store):
    store = real_store
    store.set("WANDB_API_KEY", "first-value")
    store.set("WANDB_API_KEY", "second-value")
    assert store.get("WANDB_API_KEY") == "second-value"
    assert store.names() == ["WANDB_API_KEY"]
    assert store.delete("WANDB_API_KEY") is True
    assert store.delete("WANDB_API_KEY") is False
    assert store.get("WANDB_API_KEY") is None
    assert store.names() == []
    assert _secret_service_items(store.service) == {}  # the index entry went with the last name


@pytest.mark.keyring
def test_worker_environment_and_redaction(real_store):
    store = real_store
    store.set("HF_TOKEN", TOKEN)
    store.set("OPENAI_API_KEY", "sk-openai-value-123")
    env = store.worker_environment()
    assert env == {
        "HF_TOKEN": TOKEN,
        "OPENAI_API_KEY": "sk-openai-value-123",
        SECRET_NAMES_ENV: "HF_TOKEN,OPENAI_API_KEY",
    }
    line = f"Authorization: Bearer {TOKEN} / key=sk-openai-value-123"
    expected = f"Authorization: Bearer {MASK} / key={MASK}"
    assert Redactor.from_environ(env)(line) == expected  # what the worker does
    assert store.redactor()(line) == expected  # what the daemon does


@pytest.mark.keyring
def test_empty_store_worker_environment(real_store):
    assert real_store.worker_environment() == {SECRET_NAMES_ENV: ""}
    assert not real_store.redactor()


@pytest.mark.keyring
def test_known_credential_missing_from_index_is_listed(real_store):
    store = real_store
    store.set("HF_TOKEN", TOKEN)
    keyring.set_password(store.service, "WANDB_API_KEY", "wandb-written-elsewhere")  # index not updated
    assert store.names() == ["HF_TOKEN", "WANDB_API_KEY"]
    assert json.loads(keyring.get_password(store.service, INDEX_KEY)) == ["HF_TOKEN", "WANDB_API_KEY"]


@pytest.mark.keyring
def test_corrupt_index_is_rebuilt(real_store):
    store = real_store
    keyring.set_password(store.service, INDEX_KEY, "{not json")
    keyring.set_password(store.service, "HF_TOKEN", TOKEN)
    assert store.names() == ["HF_TOKEN"]
    store.set("MY_KEY", "my-value-1")
    assert store.names() == ["HF_TOKEN", "MY_KEY"]


@pytest.mark.keyring
def test_chainer_uses_the_os_keyring_not_plaintext(real_store, tmp_path):
    secrets_file = tmp_path / "keyring_pass.cfg"
    # Plaintext first: the chainer itself would write there; the store must not.
    keyring.set_keyring(chainer_of(PlaintextKeyring(secrets_file), SecretService.Keyring()))
    real_store.set("HF_TOKEN", TOKEN)
    assert real_store.get("HF_TOKEN") == TOKEN
    assert _secret_service_items(real_store.service)["HF_TOKEN"] == TOKEN
    assert not secrets_file.exists()


@pytest.fixture
def locked_collection():
    """A throwaway gnome-keyring collection (made and unlocked without a prompt through
    gnome-keyring's internal interface), so locking it leaves the user's keyring alone."""
    import secretstorage
    from jeepney.wrappers import DBusErrorResponse
    from secretstorage.util import DBusAddressWrapper, format_secret, open_session

    conn = secretstorage.dbus_init()
    internal = DBusAddressWrapper(
        "/org/freedesktop/secrets", "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface", conn
    )
    password = format_secret(open_session(conn), uuid.uuid4().hex.encode(), "text/plain")
    label = f"sparktrainer-test-{uuid.uuid4().hex[:8]}"
    try:
        (path,) = internal.call(
            "CreateWithMasterPassword",
            "a{sv}(oayays)",
            {"org.freedesktop.Secret.Collection.Label": ("s", label)},
            password,
        )
    except DBusErrorResponse as err:
        conn.close()
        pytest.skip(f"the Secret Service is not gnome-keyring, cannot make a test collection: {err}")
    collection = secretstorage.Collection(conn, path)
    try:
        yield collection
    finally:
        internal.call("UnlockWithMasterPassword", "o(oayays)", path, password)
        collection.delete()
        conn.close()


@pytest.mark.keyring
def test_locked_collection_is_keyring_unavailable(real_store, locked_collection):
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        pytest.skip("a desktop session could show an unlock prompt; the headless case is what we test")
    backend = SecretService.Keyring()
    backend.preferred_collection = locked_collection.collection_path
    keyring.set_keyring(backend)
    real_store.set("HF_TOKEN", TOKEN)  # unlocked: works
    assert real_store.get("HF_TOKEN") == TOKEN
    locked_collection.lock()
    with pytest.raises(KeyringUnavailable, match="unlock it"):
        real_store.get("HF_TOKEN")
    with pytest.raises(KeyringUnavailable):
        real_store.set("WANDB_API_KEY", "some-value")
