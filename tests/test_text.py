"""Text normalisation, sentence splitting and refusal of unspeakable text (table-driven)."""

import pytest

from workbench.errors import ConfigError, WorkbenchError
from workbench.speech.text import (
    EmptyTextError,
    TextConfig,
    TooLongTextError,
    cardinal,
    clean_punctuation,
    normalize,
    ordinal,
    prepare_text,
    split_sentences,
    year,
)

NORMALIZE_CASES = [
    # numbers
    ("I have 3 cats.", "I have three cats."),
    ("It costs 1,234 points", "It costs one thousand two hundred and thirty-four points"),
    ("Pi is 3.14", "Pi is three point one four"),
    ("It is -5 outside", "It is minus five outside"),
    # ordinals
    ("She came 21st", "She came twenty-first"),
    ("the 2nd and 3rd time", "the second and third time"),
    # years and decades
    ("born in 1999", "born in nineteen ninety-nine"),
    ("since 2005", "since two thousand and five"),
    ("music of the 1980s", "music of the nineteen eighties"),
    # dates
    ("On 2024-03-05 we met", "On March fifth twenty twenty-four we met"),
    ("Due 12/25/2023", "Due December twenty-fifth twenty twenty-three"),
    ("March 5, 2024", "March fifth twenty twenty-four"),
    ("on 5 March", "on the fifth of March"),
    # times
    ("at 10:30", "at ten thirty"),
    ("at 7:05 pm", "at seven oh five p m"),
    ("at 6:00", "at six o'clock"),
    ("then 9 a.m.", "then nine a m."),
    # currency and percentages
    ("It was $3.50", "It was three dollars and fifty cents"),
    ("only $1", "only one dollar"),
    ("just $0.01", "just one cent"),
    ("£2 each", "two pounds each"),
    ("€1.5 million", "one point five million euros"),
    ("up 12.5%", "up twelve point five percent"),
    # units
    ("5 km away", "five kilometers away"),
    ("1 kg of rice", "one kilogram of rice"),
    ("a 3.5kg bag", "a three point five kilograms bag"),
    # abbreviations
    ("Dr. Smith and Mrs. Jones", "doctor Smith and missus Jones"),
    ("e.g. apples, i.e. fruit", "for example apples, that is fruit"),
    ("pears etc.", "pears et cetera."),
    ("St. Louis on Main St.", "Saint Louis on Main street."),
    ("No. 5", "number five"),
    # symbols
    ("Tom & Jerry", "Tom and Jerry"),
    ("2 + 2 = 4", "two plus two equals four"),
    ("mail me @ home", "mail me at home"),
    ("20°C today", "twenty degrees celsius today"),
    # punctuation
    ("Really?!?", "Really?"),
    ('He said "hello" and left', "He said hello and left"),
    ("a (small) test", "a, small, test"),
    ("wait -- what", "wait, what"),
    ("it's well-known", "it's well-known"),
    ("stars ***here***", "stars here"),
    ("Hi 🙂 there", "Hi there"),
    ("  spaced    out  ", "spaced out"),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALIZE_CASES)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(("fn", "arg", "expected"), [
    (cardinal, 0, "zero"), (cardinal, 1_000_000, "one million"), (cardinal, "2,500", "two thousand five hundred"),
    (cardinal, "0.5", "zero point five"), (ordinal, 1, "first"), (ordinal, 100, "one hundredth"),
    (year, 1066, "ten sixty-six"), (year, 2000, "two thousand"),
])
def test_number_words(fn, arg, expected):
    assert fn(arg) == expected


@pytest.mark.parametrize(("text", "sentences"), [
    ("Hello there. How are you? Fine!", ["Hello there.", "How are you?", "Fine!"]),
    ("no mark at the end", ["no mark at the end."]),
    ("trailing comma,", ["trailing comma."]),
    ("One. . Two.", ["One.", "Two."]),
    ("", []),
])
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


def test_prepare_text_normalises_then_splits():
    assert prepare_text("Dr. Smith paid $3.50. He left at 10:30!") == [
        "doctor Smith paid three dollars and fifty cents.", "He left at ten thirty!"]


@pytest.mark.parametrize(("text", "error", "match"), [
    ("", EmptyTextError, "empty"),
    ("   \n ", EmptyTextError, "empty"),
    ("!!!???", EmptyTextError, "only punctuation"),
    ("🙂🎉🙂", EmptyTextError, "only punctuation"),
    ("a" * 20_000, TooLongTextError, "20000 characters"),
    ("word " + "b" * 60, TooLongTextError, "60 letters"),
])
def test_prepare_text_refuses_unspeakable_text(text, error, match):
    with pytest.raises(error, match=match) as info:
        prepare_text(text)
    assert isinstance(info.value, WorkbenchError)


def test_limit_counts_spelled_out_numbers():
    cfg = TextConfig(max_chars=40)
    assert prepare_text("12", cfg) == ["twelve."]
    with pytest.raises(TooLongTextError, match="spelled out"):  # 5 characters in, 44 out
        prepare_text("12345", cfg)


def test_clean_punctuation_keeps_prosody_marks_only():
    assert clean_punctuation("a; b: c, d. e? f! <g> {h}") == "a; b: c, d. e? f! g, h,"


@pytest.mark.parametrize("kwargs", [{"max_chars": 0}, {"max_word_chars": 0}, {"max_chars": 10, "max_word_chars": 20}])
def test_text_config_validates(kwargs):
    with pytest.raises(ConfigError):
        TextConfig(**kwargs)
