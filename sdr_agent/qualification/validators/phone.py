"""Phone numbers, read with the lead's region (BR for pt-BR, US for en) and returned as E.164."""
from __future__ import annotations

import phonenumbers

from .result import REJECTED, ParseResult, accepted

DEFAULT_REGIONS = {"pt": "BR", "en": "US"}


def region_for(language: str) -> str:
    """The region a national number is read in: the tag's own region ("en-GB"), else a default."""
    primary, _, region = language.partition("-")
    if len(region) == 2 and region.isalpha():
        return region.upper()
    return DEFAULT_REGIONS.get(primary.lower(), "US")


def parse(text: str, language: str) -> ParseResult:
    """The first valid phone number in the text, as E.164."""
    for match in phonenumbers.PhoneNumberMatcher(text, region_for(language), leniency=phonenumbers.Leniency.VALID):
        return accepted(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
    return REJECTED
