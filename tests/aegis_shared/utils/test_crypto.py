"""Fernet encryption with key rotation and Argon2id password hashing."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from aegis_shared.config import Settings
from aegis_shared.errors import AegisError
from aegis_shared.utils.crypto import (
    Encryptor,
    generate_key,
    hash_password,
    password_needs_rehash,
    verify_password,
)

BUSINESS_NUMBER = "124-81-00998"
CONTACT = "담당자 김지우 010-1234-5678"


def test_text_round_trips_and_the_token_hides_it() -> None:
    encryptor = Encryptor([generate_key()])
    token = encryptor.encrypt(CONTACT)
    assert "010" not in token and "김지우" not in token
    assert encryptor.decrypt(token) == CONTACT
    assert encryptor.encrypt(CONTACT) != token  # a fresh IV each time
    assert encryptor.decrypt_bytes(encryptor.encrypt(b"\x00\xff")) == b"\x00\xff"


def test_a_tampered_token_or_another_key_is_refused() -> None:
    encryptor = Encryptor([generate_key()])
    token = encryptor.encrypt(BUSINESS_NUMBER)
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    for bad, other in ((tampered, encryptor), (token, Encryptor([generate_key()]))):
        with pytest.raises(AegisError) as caught:
            other.decrypt(bad)
        assert caught.value.code == "VALID_3024"


def test_expired_tokens_are_refused_when_a_max_age_is_given() -> None:
    encryptor = Encryptor([generate_key()])
    token = encryptor.encrypt(BUSINESS_NUMBER)
    assert encryptor.decrypt(token, max_age_seconds=60) == BUSINESS_NUMBER
    time.sleep(1.1)
    with pytest.raises(AegisError) as caught:
        encryptor.decrypt(token, max_age_seconds=0)
    assert caught.value.code == "VALID_3024"


def test_key_rotation_keeps_old_tokens_readable_and_moves_them_to_the_new_key() -> None:
    old_key, new_key = generate_key(), generate_key()
    old_token = Encryptor([old_key]).encrypt(BUSINESS_NUMBER)
    rotated_setting = Encryptor.from_setting(SecretStr(f"{new_key}, {old_key}"))
    assert rotated_setting.decrypt(old_token) == BUSINESS_NUMBER
    moved = rotated_setting.rotate(old_token)
    assert Encryptor([new_key]).decrypt(moved) == BUSINESS_NUMBER


def test_keys_come_from_settings_and_bad_keys_are_named_by_position_only() -> None:
    key = generate_key()
    encryptor = Encryptor.from_setting(Settings(encryption_keys=key).encryption_keys)
    assert encryptor.decrypt(encryptor.encrypt("ok")) == "ok"
    with pytest.raises(AegisError) as caught:
        Encryptor.from_setting(Settings().encryption_keys)
    assert caught.value.code == "SYS_7020" and "AEGIS_ENCRYPTION_KEYS" in caught.value.message
    with pytest.raises(AegisError) as caught:
        Encryptor([key, "not-a-real-fernet-key"])
    assert caught.value.code == "SYS_7023" and "#2" in caught.value.message
    assert "not-a-real" not in str(caught.value)


def test_passwords_hash_with_argon2id_and_verify() -> None:
    stored = hash_password("창업지원2026!")
    assert stored.startswith("$argon2id$") and "창업지원" not in stored
    assert verify_password(stored, "창업지원2026!")
    assert not verify_password(stored, "창업지원2026")
    assert hash_password("창업지원2026!") != stored  # salted
    assert not password_needs_rehash(stored)


def test_weak_hashes_need_rehash_and_corrupt_ones_are_a_coded_error() -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    assert verify_password(weak, "pw") and password_needs_rehash(weak)
    for corrupt in ("plain-text-password", "$argon2id$v=19$m=65536,t=3,p=4$abc$def"):
        with pytest.raises(AegisError) as caught:
            verify_password(corrupt, "pw")
        assert caught.value.code == "AUTH_1020"
    with pytest.raises(AegisError) as caught:
        password_needs_rehash("plain-text-password")
    assert caught.value.code == "AUTH_1020"
    with pytest.raises(AegisError) as caught:
        hash_password("")
    assert caught.value.code == "VALID_3025"
