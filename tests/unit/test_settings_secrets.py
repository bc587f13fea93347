"""Outside development no service starts on a secret from the repository."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from shared.settings import DEFAULT_JWT_SECRET, DEFAULT_PSEUDONYM_KEY, Settings

STRONG = "k" * 40


def test_development_runs_on_the_repository_secrets() -> None:
    settings = Settings(environment="development")
    assert settings.jwt_secret == DEFAULT_JWT_SECRET
    assert settings.pseudonym_key.get_secret_value() == DEFAULT_PSEUDONYM_KEY


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_elsewhere_the_default_secrets_are_refused_naming_what_to_set(environment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(environment=environment)
    message = str(caught.value)
    assert f"ENVIRONMENT={environment} needs its own secrets" in message
    assert "JWT_SECRET (or set JWT_JWKS_URL)" in message and "PSEUDONYM_KEY" in message


def test_the_pseudonym_key_is_its_own_secret() -> None:
    with pytest.raises(ValidationError, match="PSEUDONYM_KEY"):
        Settings(environment="production", jwt_secret=STRONG, pseudonym_key=SecretStr(STRONG))
    with pytest.raises(ValidationError, match="PSEUDONYM_KEY"):
        Settings(environment="production", jwt_secret=STRONG, pseudonym_key=SecretStr("short"))
    ok = Settings(environment="production", jwt_secret=STRONG, pseudonym_key=SecretStr("p" * 40))
    assert "p" * 40 not in repr(ok)  # a secret never shows in a repr or a log line


def test_with_jwks_the_jwt_secret_is_not_needed() -> None:
    Settings(
        environment="production",
        jwt_jwks_url="https://idp.example.gov.cn/.well-known/jwks.json",
        pseudonym_key=SecretStr("p" * 40),
    )


def test_the_pseudonym_does_not_depend_on_the_jwt_secret() -> None:
    from services.intake import service
    from shared import settings as settings_module

    def with_keys(jwt: str, key: str) -> str | None:
        settings = settings_module.Settings(jwt_secret=jwt, pseudonym_key=SecretStr(key))
        return service.requester_ref(settings, "13900001111")

    assert with_keys("a" * 40, "p" * 40) == with_keys("b" * 40, "p" * 40)
    assert with_keys("a" * 40, "p" * 40) != with_keys("a" * 40, "q" * 40)
