from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.content.meter import Measure, audience_stats, encoding_and_segments, gsm_friendly, measure

# Published limits (GSM 03.38; Twilio "What the heck is a segment?"): 160 GSM-7 characters fit in
# one segment, 153 per segment once concatenated; 70 UCS-2 units, 67 once concatenated.


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_segments_follow_160_and_153(length, segments):
    result = measure("a" * length)
    assert (result.encoding, result.units, result.segments) == ("GSM-7", length, segments)


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_segments_follow_70_and_67(length, segments):
    result = measure("ł" * length)
    assert (result.encoding, result.units, result.segments) == ("UCS-2", length, segments)


def test_the_empty_text_takes_no_segment():
    assert measure("").segments == 0


def test_every_gsm7_basic_character_stays_gsm7():
    basic = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà"
    assert measure(basic).encoding == "GSM-7"
    assert measure(basic).units == len(basic)


@pytest.mark.parametrize("char", list("^{}\\[~]|€") + ["\f"])
def test_extension_characters_count_two(char):
    result = measure(f"a{char}b")
    assert (result.encoding, result.units, result.extension_chars) == ("GSM-7", 4, (char,))


def test_eighty_euro_signs_fill_exactly_one_segment():
    assert measure("€" * 80).segments == 1
    assert measure("€" * 80 + "a").segments == 2


def test_an_escape_pair_is_never_split_across_segments():
    # 306 septets: two full segments by arithmetic, but the € would straddle the boundary.
    assert measure("a" * 152 + "€" + "a" * 152).segments == 3
    assert measure("a" * 306).segments == 2


@pytest.mark.parametrize(
    ("char", "suggestion"),
    [("\u201c", '"'), ("\u201d", '"'), ("\u2018", "'"), ("\u2019", "'"), ("\u2013", "-"), ("\u2014", "-"),
     ("\u2026", "..."), ("\u00a0", " "), ("\u200b", ""), ("ç", "Ç"), ("á", "a"), ("ê", "e")],
)
def test_smart_punctuation_forces_ucs2_and_has_a_suggested_replacement(char, suggestion):
    result = measure(f"Your cart{char}is saved")
    assert result.encoding == "UCS-2"
    assert [(c.char, c.suggestion) for c in result.unicode_chars] == [(char, suggestion)]


def test_gsm_friendly_replaces_what_it_can_and_keeps_emoji():
    text = "It\u2019s back \u2014 \u201cLinen\u201d\u2026 ✅"
    assert gsm_friendly(text) == "It's back - \"Linen\"... ✅"
    assert measure(gsm_friendly("It\u2019s back \u2014 now")).encoding == "GSM-7"


def test_the_seed_checkmark_makes_the_text_ucs2():
    result = measure("It's back ✅ Linen Shirt is in stock again.")
    assert result.encoding == "UCS-2"
    assert result.unicode_chars[0].name == "WHITE HEAVY CHECK MARK"
    assert result.unicode_chars[0].suggestion is None
    assert result.units == len("It's back ✅ Linen Shirt is in stock again.")


def test_an_emoji_outside_the_bmp_counts_as_a_surrogate_pair():
    assert measure("😀").units == 2
    assert measure("😀" * 35).segments == 1
    assert measure("😀" * 36).segments == 2


def test_a_surrogate_pair_is_never_split_across_segments():
    assert measure("a" * 66 + "😀" + "a" * 66).segments == 3
    assert measure("ł" * 134).segments == 2


def test_one_emoji_turns_a_one_segment_gsm7_text_into_three_ucs2_segments():
    # As Twilio's and Telnyx's docs warn: the emoji switches the whole text to UCS-2 (67 units a part).
    text = "a" * 151 + "😀"
    assert measure(text[:-1] + "a").segments == 1
    assert measure(text).segments == 3


def test_audience_stats_summarise_segments_and_cost():
    template = Measure("GSM-7", 100, 100, 1)
    bodies = ["a" * 100, "a" * 150, "a" * 200, "a" * 400, "ł" * 60]
    stats = audience_stats(bodies, template=template, price_per_segment=Decimal("0.0079"))
    assert (stats.min_segments, stats.median_segments, stats.max_segments) == (1, 1, 3)
    assert stats.total_segments == 1 + 1 + 2 + 3 + 1
    assert stats.longer_share == pytest.approx(2 / 5)
    assert stats.ucs2_share == pytest.approx(1 / 5)
    assert stats.estimated_cost == Decimal("0.06")  # 8 segments × $0.0079
    assert stats.histogram == {1: 3, 2: 1, 3: 1}


def test_the_outbox_stores_the_segments_the_meter_counts():
    # 306 septets would fit two segments of 153, but the "€" escape pair cannot straddle them
    body = "a" * 152 + "€" + "a" * 152

    assert measure(body).segments == 3
    assert encoding_and_segments(body) == ("gsm7", 3)
    assert encoding_and_segments("a" * 151 + "€" + "a" * 153) == ("gsm7", 2)
