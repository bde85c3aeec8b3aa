"""Small typed helpers every service needs: validators, masking, Korean text, Seoul dates, files.

Encryption and password hashing live in :mod:`aegis_shared.utils.crypto`, imported on its own so
that the log redactor, which imports :mod:`aegis_shared.utils.contacts`, does not load them.
The string helpers are :mod:`aegis_shared.text.normalise`'s, re-exported here: dedup compares
titles with the same functions.
"""

from aegis_shared.text.markup import collapse_whitespace
from aegis_shared.text.normalise import fold_width, normalise_spacing, squeeze, strip_leading_labels
from aegis_shared.utils.contacts import (
    is_valid_email,
    is_valid_phone,
    mask_email,
    mask_phone,
    normalise_email,
    normalise_phone,
)
from aegis_shared.utils.dates import (
    SEOUL,
    d_day,
    days_left,
    now_seoul,
    seoul_day_bounds,
    seoul_today,
    to_seoul,
)
from aegis_shared.utils.files import check_content, guess_mime, safe_filename, sniff_mime
from aegis_shared.utils.validators import (
    BusinessNumber,
    business_number_check_digit,
    is_valid_business_number,
    parse_business_number,
)

__all__ = [
    "SEOUL",
    "BusinessNumber",
    "business_number_check_digit",
    "check_content",
    "collapse_whitespace",
    "d_day",
    "days_left",
    "fold_width",
    "guess_mime",
    "is_valid_business_number",
    "is_valid_email",
    "is_valid_phone",
    "mask_email",
    "mask_phone",
    "normalise_email",
    "normalise_phone",
    "normalise_spacing",
    "now_seoul",
    "parse_business_number",
    "safe_filename",
    "seoul_day_bounds",
    "seoul_today",
    "sniff_mime",
    "squeeze",
    "strip_leading_labels",
    "to_seoul",
]
