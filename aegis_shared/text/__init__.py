"""Text helpers for Korean public-sector sources: periods, regions, charsets and HTML."""

from aegis_shared.text.charset import CharsetError, charset_from_content_type, decode_body, sniff_charset
from aegis_shared.text.markup import collapse_whitespace, html_to_text, unescape_entities
from aegis_shared.text.period import Period, PeriodError, parse_period
from aegis_shared.text.regions import ALL_REGION_CODES, SIDO_NAMES, region_codes, split_region_prefix

__all__ = [
    "ALL_REGION_CODES",
    "SIDO_NAMES",
    "CharsetError",
    "Period",
    "PeriodError",
    "charset_from_content_type",
    "collapse_whitespace",
    "decode_body",
    "html_to_text",
    "parse_period",
    "region_codes",
    "sniff_charset",
    "split_region_prefix",
    "unescape_entities",
]
