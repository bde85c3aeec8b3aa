"""사업자등록번호, phone and e-mail validation with the inputs Korean users actually type."""

from __future__ import annotations

import pytest

from aegis_shared.errors import AegisError
from aegis_shared.utils import (
    business_number_check_digit,
    is_valid_business_number,
    is_valid_email,
    is_valid_phone,
    normalise_email,
    normalise_phone,
    parse_business_number,
)

# Published numbers of well-known companies (삼성전자, 네이버, 카카오) and a sole proprietor pattern.
REAL_NUMBERS = ["124-81-00998", "220-81-62517", "120-81-47521"]


@pytest.mark.parametrize("number", REAL_NUMBERS)
def test_real_business_numbers_pass_the_check_digit(number: str) -> None:
    parsed = parse_business_number(number)
    assert str(parsed) == number
    assert parsed.kind == "corporation"  # 81: 영리법인 본점


@pytest.mark.parametrize(
    "typed",
    ["1248100998", "124 81 00998", "１２４－８１－００９９８", " 124-81-00998 ", "124.81.00998"],
)
def test_business_number_as_typed_is_normalised(typed: str) -> None:
    assert parse_business_number(typed).formatted == "124-81-00998"


def test_one_mistyped_digit_fails_the_check_digit() -> None:
    # Every single-digit change of a real number breaks its check digit.
    for position in (0, 4, 8, 9):
        digits = list("1248100998")
        digits[position] = str((int(digits[position]) + 1) % 10)
        with pytest.raises(AegisError) as caught:
            parse_business_number("".join(digits))
        assert caught.value.code == "VALID_3020"
        assert "check digit" in caught.value.message


@pytest.mark.parametrize(
    ("bad", "reason"),
    [("124-81-0099", "got 9"), ("124-81-009981", "got 11"), ("124-8l-00998", "only digits"), ("", "empty")],
)
def test_wrong_length_or_letters_say_so(bad: str, reason: str) -> None:
    with pytest.raises(AegisError) as caught:
        parse_business_number(bad)
    assert caught.value.code == "VALID_3020" and reason in caught.value.message
    assert not is_valid_business_number(bad)


def test_check_digit_and_kind_of_business() -> None:
    assert business_number_check_digit("124810099") == 8
    assert business_number_check_digit("220816251") == 7
    # The middle two digits (구분코드) say who holds the number.
    kinds = {
        "01": "individual",
        "90": "individual_tax_exempt",
        "82": "non_profit",
        "85": "corporation_branch",
    }
    for code, kind in kinds.items():
        first_nine = f"123{code}4567"
        number = f"{first_nine}{business_number_check_digit(first_nine)}"
        assert parse_business_number(number).kind == kind


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("010-1234-5678", "010-1234-5678"),
        ("01012345678", "010-1234-5678"),
        ("010 1234 5678", "010-1234-5678"),
        ("０１０－１２３４－５６７８", "010-1234-5678"),  # full-width, as a Korean IME types it
        ("+82 10-1234-5678", "010-1234-5678"),
        ("+82-2-2100-3399", "02-2100-3399"),
        ("(02) 123-4567", "02-123-4567"),
        ("02.2100.3399", "02-2100-3399"),
        ("044-204-7001", "044-204-7001"),  # 세종 (중소벤처기업부)
        ("064-710-2114", "064-710-2114"),  # 제주
        ("011-234-5678", "011-234-5678"),
        ("070-4321-8765", "070-4321-8765"),
        ("080-123-4567", "080-123-4567"),
        ("1588-1234", "1588-1234"),  # 대표번호
        ("1357", None),
        ("010-1234-567", None),
        ("099-123-4567", None),  # no such area code
        ("010-1234-abcd", None),
        ("", None),
    ],
)
def test_phone_numbers(typed: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(AegisError) as caught:
            normalise_phone(typed)
        assert caught.value.code == "VALID_3021"
        assert not is_valid_phone(typed)
    else:
        assert normalise_phone(typed) == expected
        assert is_valid_phone(typed)


def test_phone_error_never_repeats_the_number() -> None:
    with pytest.raises(AegisError) as caught:
        normalise_phone("099-8765-4321")
    assert "8765" not in str(caught.value) and "unknown area" in caught.value.message


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("staff7@korea.kr", "staff7@korea.kr"),
        (" Kim.JiWoo@MSS.GO.KR ", "Kim.JiWoo@mss.go.kr"),  # the domain is case-insensitive, the name not
        ("ｋｉｍ＠ｋｏｒｅａ．ｋｒ", "kim@korea.kr"),  # full-width from a Korean IME
        ("founder+bizinfo@startup.co.kr", "founder+bizinfo@startup.co.kr"),
    ],
)
def test_email_addresses_are_normalised(typed: str, expected: str) -> None:
    assert normalise_email(typed) == expected
    assert is_valid_email(typed)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("담당자@korea.kr", "Latin letters"),
        ("kim@@korea.kr", "exactly one @"),
        ("kim.korea.kr", "exactly one @"),
        ("kim@korea", "Latin letters"),
        (".kim@korea.kr", "dot"),
        ("kim..lee@korea.kr", "dot"),
        ("kim@-korea.kr", "hyphen"),
        ("k" * 65 + "@korea.kr", "too long"),
    ],
)
def test_invalid_email_addresses_say_why(bad: str, reason: str) -> None:
    with pytest.raises(AegisError) as caught:
        normalise_email(bad)
    assert caught.value.code == "VALID_3022" and reason in caught.value.message
    assert "korea.kr" not in caught.value.message
    assert not is_valid_email(bad)
