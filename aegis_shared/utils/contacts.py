"""Korean phone numbers and e-mail addresses: how they are recognised, validated and masked.

One module for every place that handles contact details, so they cannot drift apart: the log
redactor finds them in free text with :data:`EMAIL_IN_TEXT` and :data:`PHONE_IN_TEXT`, the MSS
connector masks the contact person's ``writerEmail``/``writerPhone`` with :func:`mask_email` and
:func:`mask_phone` before anything is stored, and services check user input with
:func:`normalise_phone` and :func:`normalise_email`.

Input typed on Korean keyboards often carries full-width forms (``０１０－１２３４－５６７８``,
``ｋｉｍ＠ｋｏｒｅａ．ｋｒ``) or the international ``+82`` prefix; both are normalised before
checking. Error messages never repeat the value: it is personal data, and messages reach logs.
"""

from __future__ import annotations

import re
import unicodedata

from aegis_shared.errors import ValidationError

# E-mail addresses and Korean phone numbers as they appear inside free text (log lines,
# exception messages). Deliberately a little wider than the validators below: masking one
# string too many in a log is harmless, missing one is a leak.
_EMAIL_LOCAL = r"[A-Za-z0-9._%+\-]+"
_EMAIL_DOMAIN = r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
EMAIL_IN_TEXT = re.compile(f"{_EMAIL_LOCAL}@{_EMAIL_DOMAIN}")
# Mobile 010/011/016-019, Seoul 02, regional 0[3-6]x, internet 070, with or without hyphens, dots
# or spaces. Latin letters and digits may not touch either end, so content hashes and long ids are
# left alone; Hangul may (``연락처010-1234-5678``).
PHONE_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])(?:01[016789]|02|0[3-6][1-5]|070)[-. ]?\d{3,4}[-. ]?\d{4}(?![0-9A-Za-z])"
)

# Area codes in use (KCC numbering plan): Seoul 02, then the regional codes of the provinces.
_REGIONAL_CODES = frozenset(
    {"031", "032", "033", "041", "042", "043", "044", "051", "052", "053", "054", "055"}
    | {"061", "062", "063", "064"}
)
_MOBILE = re.compile(r"(010)(\d{4})(\d{4})|(01[16789])(\d{3,4})(\d{4})")
_SEOUL = re.compile(r"(02)(\d{3,4})(\d{4})")
_REGIONAL = re.compile(r"(0\d\d)(\d{3,4})(\d{4})")
_INTERNET = re.compile(r"(070)(\d{4})(\d{4})")
_FREECALL = re.compile(r"(080)(\d{3})(\d{4})")
# Company hotlines (대표번호) such as 1588-1234: eight digits, no area code.
_HOTLINE = re.compile(r"(1[568]\d\d)(\d{4})")
_PHONE_SEPARATORS = re.compile(r"[\s\-.()]")

_EMAIL = re.compile(f"(?P<local>{_EMAIL_LOCAL})@(?P<domain>{_EMAIL_DOMAIN})")
_MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit
_MAX_LOCAL_LENGTH = 64

_DIGIT = re.compile(r"\d")


def _phone_digits(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip()
    if text.startswith("+82"):
        # +82 10-1234-5678 and +82 (0)2-123-4567 both drop the trunk 0; put it back.
        rest = _PHONE_SEPARATORS.sub("", text[3:])
        text = "0" + rest.removeprefix("0")
    return _PHONE_SEPARATORS.sub("", text)


def normalise_phone(value: str) -> str:
    """A Korean phone number in its usual hyphenated form: ``01012345678`` → ``010-1234-5678``.

    Accepts mobile (010, and the older 011/016–019), Seoul (02), the regional area codes, internet
    (070) and free-call (080) numbers, and company hotlines (``1588-1234``); hyphens, dots, spaces,
    brackets, full-width digits and ``+82`` are accepted. Anything else raises ``VALID_3021``.
    """
    digits = _phone_digits(value)
    if not digits.isdigit():
        raise ValidationError("VALID_3021", "a phone number holds only digits, hyphens, dots and spaces")
    for pattern in (_MOBILE, _SEOUL, _INTERNET, _FREECALL, _HOTLINE):
        match = pattern.fullmatch(digits)
        if match:
            return "-".join(group for group in match.groups() if group)
    match = _REGIONAL.fullmatch(digits)
    if match and match.group(1) in _REGIONAL_CODES:
        return "-".join(match.groups())
    if digits.startswith("0") and len(digits) in (9, 10, 11):
        raise ValidationError("VALID_3021", "not a Korean phone number: unknown area or mobile code")
    raise ValidationError("VALID_3021", f"not a Korean phone number: {len(digits)} digits, expected 8 to 11")


def is_valid_phone(value: str) -> bool:
    try:
        normalise_phone(value)
    except ValidationError:
        return False
    return True


def normalise_email(value: str) -> str:
    """An e-mail address checked and normalised: trimmed, full-width forms folded, domain lower-cased.

    The local part keeps its case (RFC 5321 lets servers treat it as case-sensitive). Raises
    ``VALID_3022`` naming what is wrong, never the address itself.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    if text.count("@") != 1:
        raise ValidationError("VALID_3022", "an e-mail address has exactly one @")
    match = _EMAIL.fullmatch(text)
    if not match:
        raise ValidationError(
            "VALID_3022", "not an e-mail address: expected name@domain.tld in Latin letters and digits"
        )
    local, domain = match.group("local"), match.group("domain")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise ValidationError("VALID_3022", "an e-mail address's name may not start, end or repeat a dot")
    if len(local) > _MAX_LOCAL_LENGTH or len(text) > _MAX_EMAIL_LENGTH:
        raise ValidationError("VALID_3022", "e-mail address too long")
    if any(label.startswith("-") or label.endswith("-") for label in domain.split(".")):
        raise ValidationError("VALID_3022", "an e-mail domain label may not start or end with a hyphen")
    return f"{local}@{domain.lower()}"


def is_valid_email(value: str) -> bool:
    try:
        normalise_email(value)
    except ValidationError:
        return False
    return True


def mask_email(value: str) -> str:
    """``staff7@korea.kr`` → ``s***@korea.kr``: the organisation stays visible, the person does not."""
    local, at, domain = value.strip().partition("@")
    if not at or not local or not domain:
        return "***" if value.strip() else value
    return f"{local[0]}***@{domain}"


def mask_phone(value: str) -> str:
    """``044-204-7001`` → ``044-204-****``: the last four digits (the person's line) are masked."""
    positions = [m.start() for m in _DIGIT.finditer(value)][-4:]
    chars = list(value)
    for position in positions:
        chars[position] = "*"
    return "".join(chars)
