import pytest

from caredoor.config.env import ConfigError, load


def test_defaults_are_the_embedded_setup(tmp_path):
    config = load({}, base_dir=tmp_path)
    assert config.database_url is None and config.redis_url is None
    assert config.data_dir == tmp_path / "var"
    assert config.debug is True and config.production is False
    assert config.port == 8000


def test_urls_switch_to_services(tmp_path):
    config = load(
        {
            "DATABASE_URL": "postgres://u:p@db.internal:5432/caredoor",
            "REDIS_URL": "redis://cache:6379/0",
            "PORT": "9000",
        },
        base_dir=tmp_path,
    )
    assert config.database_url.startswith("postgres://")
    assert config.redis_url == "redis://cache:6379/0"
    assert config.port == 9000


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://db/x", "DATABASE_URL: expected a URL starting with"),
        ("DATABASE_URL", "postgres://", "DATABASE_URL: the URL has no host"),
        ("DATABASE_URL", "postgres://db:notaport/x", "DATABASE_URL: the URL has a malformed port"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL: expected a URL starting with"),
        ("EMAIL_URL", "http://mail", "EMAIL_URL: expected a URL starting with"),
        ("DEBUG", "maybe", "DEBUG: expected one of"),
        ("PORT", "eighty", "PORT: expected a whole number"),
        ("PORT", "70000", "PORT: expected a number from 1 to 65535"),
        ("CAREDOOR_ENV", "staging", "CAREDOOR_ENV: expected development, production or test"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: expected one of"),
    ],
)
def test_malformed_values_name_the_variable(tmp_path, name, value, message):
    with pytest.raises(ConfigError) as excinfo:
        load({name: value}, base_dir=tmp_path)
    assert str(excinfo.value).startswith(message)
    assert excinfo.value.name == name


def test_production_demands_real_secrets(tmp_path):
    with pytest.raises(ConfigError, match=r"^SECRET_KEY:"):
        load({"CAREDOOR_ENV": "production"}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"^FIELD_ENCRYPTION_KEYS:"):
        load({"CAREDOOR_ENV": "production", "SECRET_KEY": "x" * 40}, base_dir=tmp_path)
    config = load(
        {"CAREDOOR_ENV": "production", "SECRET_KEY": "x" * 40, "FIELD_ENCRYPTION_KEYS": "k1,k2"},
        base_dir=tmp_path,
    )
    assert config.production and not config.debug
    assert config.field_encryption_keys == ["k1", "k2"]


def test_start_up_stops_with_the_message(tmp_path):
    """The settings module itself refuses to load with a malformed variable."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DATABASE_URL": "mysql://nope",
        "CAREDOOR_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "caredoor.config.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DATABASE_URL: expected a URL starting with" in result.stderr


def test_production_settings_turn_on_secure_cookies(tmp_path):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "CAREDOOR_ENV": "production",
        "SECRET_KEY": "s" * 50,
        "FIELD_ENCRYPTION_KEYS": "uWsG7Sbq1gZS3l7tD7kLx5xqvFQv8yq4dXfE2pQp3bA=",
        "CAREDOOR_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "caredoor.config.settings",
    }
    code = (
        "import django;django.setup();from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.DEBUG)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "True", "True", "False"]
