"""Korean-aware string normalisation: full-width forms, spacing and bracket labels.

Titles and names from Korean sources mix full-width forms typed on Korean IMEs (``［서울］``,
``２０２６``, the ideographic space U+3000), stray spacing, and leading bracket labels that say
where a notice came from rather than what it is (``[서울]``, ``【공고】``, ``(재공고)``). Dedup
compares titles through these helpers (:mod:`aegis_orchestration.pipeline.dedup`), and services
use the same ones, so "the same text" means one thing across the platform.
"""

from __future__ import annotations

import re
import unicodedata

from aegis_shared.text.markup import collapse_whitespace
from aegis_shared.text.regions import is_region_label

# A bracketed label of up to 40 characters at the start, in any of the bracket pairs Korean
# notices use once full-width forms are folded.
_LEADING_LABEL = re.compile(r"^\s*[\[\(（【<〈]([^\]\)）】>〉]{0,40})[\]\)）】>〉]\s*")
_NOT_WORD = re.compile(r"[\s\W_]+", re.UNICODE)


def fold_width(text: str) -> str:
    """Unicode NFKC: full-width Latin, digits and punctuation become ASCII, the ideographic space a
    space, circled and parenthesised forms plain (``㈜`` → ``(주)``); Hangul syllables are kept
    composed, so text decomposed by macOS file names compares equal too. The Hangul middle dot
    ``ㆍ``, typed for ``·``, becomes ``·`` (NFKC alone turns it into a vowel jamo)."""
    return unicodedata.normalize("NFKC", text.replace("ㆍ", "·"))


def normalise_spacing(text: str) -> str:
    """Full-width forms folded and whitespace runs (tabs, NBSP, U+3000, newlines) made one space."""
    return collapse_whitespace(fold_width(text))


def strip_leading_labels(text: str) -> str:
    """Drop every bracketed label at the start: ``[서울] (재공고) 창업지원`` → ``창업지원``.

    Expects folded text (:func:`fold_width`), so full-width brackets are already ASCII.
    """
    while _LEADING_LABEL.match(text):
        text = _LEADING_LABEL.sub("", text, count=1)
    return text


def strip_region_labels(text: str) -> str:
    """Drop the bracketed labels at the start that name regions alone: ``[서울ㆍ경기] X`` → ``X``.

    One source tags a title with its region and another does not, so such a label says nothing
    about which programme it is; any other label (``(수원시)``, ``[중기부]``) does, and stays.
    """
    while (label := _LEADING_LABEL.match(text)) and is_region_label(label.group(1)):
        text = text[label.end() :]
    return text


def squeeze(text: str) -> str:
    """Spacing, punctuation and underscores removed and Latin letters lower-cased: a comparison key
    in which ``청년 창업-지원`` and ``청년창업지원`` are equal."""
    return _NOT_WORD.sub("", text).lower()
