"""One masking for contact details: the MSS connector, the validators and the log redactor agree."""

from __future__ import annotations

import pytest

from aegis_orchestration.sources import mss
from aegis_shared.logging import mask_text
from aegis_shared.utils import mask_email, mask_phone, normalise_email, normalise_phone


def test_the_connector_masks_with_the_shared_functions() -> None:
    assert {"writerEmail": mask_email, "writerPhone": mask_phone} == mss.MASKED_FIELDS
    item = {"writerEmail": "kim.jiwoo@korea.kr", "writerPhone": "044-204-7781", "title": "창업지원"}
    assert mss.mask_contacts(item) == {
        "writerEmail": "k***@korea.kr",
        "writerPhone": "044-204-****",
        "title": "창업지원",
    }


@pytest.mark.parametrize(
    "phone", ["010-1234-5678", "01012345678", "02-123-4567", "031.123.4567", "070 4321 8765"]
)
def test_every_valid_mobile_and_regional_number_is_masked_in_logs(phone: str) -> None:
    normalise_phone(phone)  # a number the validator accepts...
    masked = mask_text(f"연락처{phone} 로 문의")
    assert masked == "연락처[PHONE] 로 문의"  # ...is one the redactor finds in free text
    assert mask_phone(phone).endswith("****") and mask_phone(phone)[:-4] == phone[:-4]


@pytest.mark.parametrize("email", ["staff7@korea.kr", "founder+bizinfo@startup.co.kr", "a.b-c@mss.go.kr"])
def test_every_valid_email_is_masked_in_logs(email: str) -> None:
    normalise_email(email)
    assert mask_text(f"담당자 이메일: {email}") == "담당자 이메일: [EMAIL]"
    local, domain = email.split("@")
    assert mask_email(email) == f"{local[0]}***@{domain}"


def test_masks_of_odd_values_reveal_nothing() -> None:
    assert mask_email("담당자") == "***"
    assert mask_email("") == ""
    assert mask_phone("내선 7781") == "내선 ****"
