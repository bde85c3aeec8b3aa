"""사업자등록번호 (business registration number): format, check digit and kind of business.

Companies applying for support programmes give their ten-digit number as ``124-81-00998``,
``1248100998`` or with full-width digits; a typo is caught by the check digit before anything is
looked up. The algorithm is the National Tax Service's: the first nine digits weighted by
1,3,7,1,3,7,1,3,5, plus the tens of the ninth digit times five; the tenth digit makes the sum a
multiple of ten.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from aegis_shared.errors import ValidationError

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_SEPARATORS = re.compile(r"[\s\-.]")


def business_number_check_digit(first_nine: str) -> int:
    """The check digit (tenth digit) for the first nine digits of a business number."""
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValidationError("VALID_3020", "a business number's check digit needs exactly nine digits")
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True)) + (digits[8] * 5) // 10
    return (10 - total % 10) % 10


@dataclass(frozen=True, slots=True)
class BusinessNumber:
    """A checked business registration number; ``str()`` gives the usual ``XXX-XX-XXXXX`` form."""

    digits: str

    @property
    def formatted(self) -> str:
        return f"{self.digits[:3]}-{self.digits[3:5]}-{self.digits[5:]}"

    @property
    def kind(self) -> str:
        """What the middle two digits (구분코드) say the holder is."""
        code = int(self.digits[3:5])
        if code <= 79:
            return "individual"  # 개인 과세사업자
        if code >= 90:
            return "individual_tax_exempt"  # 개인 면세사업자
        if code in (81, 86, 87, 88):
            return "corporation"  # 영리법인 본점
        if code == 85:
            return "corporation_branch"  # 영리법인 지점
        if code == 82:
            return "non_profit"  # 비영리법인
        if code == 84:
            return "foreign_corporation"  # 외국법인
        if code == 83:
            return "public_body"  # 국가·지방자치단체
        return "association"  # 80, 89: 법인 아닌 단체 (관리사무소, 종교단체 등)

    def __str__(self) -> str:
        return self.formatted


def parse_business_number(value: str) -> BusinessNumber:
    """Check ``value`` (hyphens, spaces and full-width digits allowed) and return it normalised.

    Raises ``VALID_3020`` saying whether the length or the check digit is wrong.
    """
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if not digits:
        raise ValidationError("VALID_3020", "business registration number is empty")
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError("VALID_3020", "a business registration number holds only digits and hyphens")
    if len(digits) != 10:
        raise ValidationError(
            "VALID_3020", f"a business registration number has 10 digits, got {len(digits)}"
        )
    if business_number_check_digit(digits[:9]) != int(digits[9]):
        raise ValidationError(
            "VALID_3020", "business registration number check digit does not match: a digit is mistyped"
        )
    return BusinessNumber(digits)


def is_valid_business_number(value: str) -> bool:
    try:
        parse_business_number(value)
    except ValidationError:
        return False
    return True
