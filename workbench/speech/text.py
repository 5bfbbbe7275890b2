"""Text processing before synthesis: normalisation to speakable words, sentence splitting, punctuation.

Speech engines read "Dr. Smith paid $3.50 on 5/3/2024 at 10:30" their own, often wrong, ways. ``normalize``
turns numbers, ordinals, dates, times, currency, percentages, units, abbreviations and symbols into words
(numbers through the ``num2words`` library), keeps the sentence punctuation that shapes prosody
(``. , ? ! ; :``) and drops the rest (quotes, brackets, emoji). ``split_sentences`` cuts normalised text into
sentences, and ``prepare_text`` does both and refuses text that cannot be spoken with a ``TextError``.

Every rule is a pure function of its input; the rule tables are data, tested row by row.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..config import _JsonConfig
from ..errors import ConfigError, WorkbenchError


class TextError(WorkbenchError, ValueError):
    """Text that cannot be spoken: empty, only punctuation or symbols, or too long."""


class EmptyTextError(TextError):
    """Nothing speakable is left after normalisation."""


class TooLongTextError(TextError):
    """More characters (or a longer 'word') than the configured limit."""


@dataclass(frozen=True)
class TextConfig(_JsonConfig):
    """Limits of what ``prepare_text`` accepts.

    Parameters
    ----------
    max_chars : int
        Longest input, in characters (before and after normalisation); about 70 s of speech at 1000.
    max_word_chars : int
        Longest run of letters without a space (longer runs are not words an engine can say).
    """

    max_chars: int = 1000
    max_word_chars: int = 40

    def __post_init__(self) -> None:
        if not 1 <= self.max_chars <= 100_000:
            raise ConfigError(f"max_chars={self.max_chars} must be in [1, 100000].")
        if not 1 <= self.max_word_chars <= self.max_chars:
            raise ConfigError(f"max_word_chars={self.max_word_chars} must be in [1, max_chars={self.max_chars}].")


# ----------------------------------------------------------------------------------------- tables
ABBREVIATIONS: dict[str, str] = {  # matched case-sensitively, with their full stop
    "Mr.": "mister", "Mrs.": "missus", "Ms.": "miz", "Dr.": "doctor", "Prof.": "professor", "Jr.": "junior",
    "Sr.": "senior", "Ave.": "avenue", "Rd.": "road", "Mt.": "mount", "Capt.": "captain", "Gen.": "general",
    "Lt.": "lieutenant", "Sgt.": "sergeant", "Jan.": "January", "Feb.": "February", "Aug.": "August",
    "Sept.": "September", "Oct.": "October", "Nov.": "November", "Dec.": "December", "etc.": "et cetera",
    "e.g.": "for example", "i.e.": "that is", "vs.": "versus", "approx.": "approximately", "dept.": "department",
    "No.": "number", "no.": "number", "a.m.": "a m", "p.m.": "p m",
}
TITLES = frozenset({"Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Mt.", "Capt.", "Gen.", "Lt.", "Sgt.", "No.", "no."})
UNITS: dict[str, tuple[str, str]] = {  # after a number: singular, plural
    "km": ("kilometer", "kilometers"), "m": ("meter", "meters"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "kg": ("kilogram", "kilograms"), "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"), "l": ("liter", "liters"), "ml": ("milliliter", "milliliters"),
    "mi": ("mile", "miles"), "ft": ("foot", "feet"), "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"), "h": ("hour", "hours"), "hr": ("hour", "hours"), "min": ("minute", "minutes"),
    "s": ("second", "seconds"), "ms": ("millisecond", "milliseconds"), "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"), "dB": ("decibel", "decibels"), "mph": ("mile per hour", "miles per hour"),
    "km/h": ("kilometer per hour", "kilometers per hour"), "GB": ("gigabyte", "gigabytes"),
    "MB": ("megabyte", "megabytes"),
}
CURRENCIES: dict[str, tuple[str, str, str, str]] = {  # symbol: unit singular/plural, cent singular/plural
    "$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", "sen", "sen"),
}
SYMBOLS: dict[str, str] = {
    "&": " and ", "%": " percent ", "+": " plus ", "=": " equals ", "@": " at ", "#": " number ",
    "°C": " degrees celsius ", "°F": " degrees fahrenheit ", "°": " degrees ", "×": " times ", "÷": " divided by ",
    "<": " less than ", ">": " greater than ", "~": " about ", "/": " ", "½": " one half ", "¼": " one quarter ",
    "¾": " three quarters ",
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
KEEP_PUNCTUATION = ".,?!;:'-"


# ---------------------------------------------------------------------------------------- numbers
def cardinal(n: int | float | str) -> str:
    """``1234`` -> "one thousand two hundred and thirty-four" (no commas; decimals read digit by digit)."""
    from num2words import num2words

    text = str(n).replace(",", "")
    if text.startswith("-"):
        return "minus " + cardinal(text[1:])
    if "." in text:
        whole, frac = text.split(".", 1)
        head = num2words(int(whole or "0"))
        return (f"{head} point " + " ".join(num2words(int(d)) for d in frac)).replace(",", "") if frac else head
    return num2words(int(text)).replace(",", "")


def ordinal(n: int | str) -> str:
    """``21`` -> "twenty-first"."""
    from num2words import num2words

    return num2words(int(n), to="ordinal").replace(",", "")


def year(n: int | str) -> str:
    """``1999`` -> "nineteen ninety-nine", ``2005`` -> "two thousand and five"."""
    from num2words import num2words

    return num2words(int(n), to="year").replace(",", "")


def _money(symbol: str, amount: str, scale: str = "") -> str:
    unit1, units, cent1, cents = CURRENCIES[symbol]
    amount = amount.replace(",", "")
    if scale:  # "$1.5 million" -> "one point five million dollars"
        return f"{cardinal(amount)} {scale} {units}"
    whole, _, frac = amount.partition(".")
    n_whole = int(whole or "0")
    n_frac = int((frac + "00")[:2]) if frac else 0
    parts = []
    if n_whole or not n_frac:
        parts.append(f"{cardinal(n_whole)} {unit1 if n_whole == 1 else units}")
    if n_frac:
        parts.append(f"{cardinal(n_frac)} {cent1 if n_frac == 1 else cents}")
    return " and ".join(parts)


def _clock(h: str, m: str, suffix: str | None) -> str:
    hour, minute = int(h), int(m)
    if hour > 24 or minute > 59:
        return f"{cardinal(hour)} {cardinal(minute)}"
    if minute == 0:
        words = f"{cardinal(hour)} o'clock" if not suffix else cardinal(hour)
    elif minute < 10:
        words = f"{cardinal(hour)} oh {cardinal(minute)}"
    else:
        words = f"{cardinal(hour)} {cardinal(minute)}"
    if suffix:
        words += " " + " ".join(suffix.lower().replace(".", ""))
    return words


def _decade(yr: str) -> str:
    """``1990`` -> "nineteen nineties"."""
    head, _, last = year(yr).rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}".strip()


def _date(month: int, day: int, yr: str | None) -> str:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return ""
    words = f"{MONTHS[month - 1]} {ordinal(day)}"
    return f"{words} {year(yr)}" if yr else words


# --------------------------------------------------------------------------------------- the rules
_MONTH_RE = "|".join(MONTHS)
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_RULES: list[tuple[re.Pattern, object]] = [
    # ISO dates 2024-03-05, then US dates 3/5/2024 (month first)
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), lambda m: _date(int(m[2]), int(m[3]), m[1]) or m[0]),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"), lambda m: _date(int(m[1]), int(m[2]), m[3]) or m[0]),
    # "March 5, 2024", "March 5th", "5 March 2024"
    (re.compile(rf"\b({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b"),
     lambda m: f"{m[1]} {ordinal(m[2])}" + (f" {year(m[3])}" if m[3] else "")),
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})(?:,?\s+(\d{{4}}))?\b"),
     lambda m: f"the {ordinal(m[1])} of {m[2]}" + (f" {year(m[3])}" if m[3] else "")),
    # times 10:30, 7:05 pm, 9 a.m.
    (re.compile(r"\b(\d{1,2}):(\d{2})(?:\s*([ap]\.?m\.?))?(?![\d:])", re.I), lambda m: _clock(m[1], m[2], m[3])),
    (re.compile(r"\b(\d{1,2})\s*([ap]\.m\.|[ap]m\b)", re.I), lambda m: _clock(m[1], "0", m[2])),
    # currency $3.50, £2, €1.5 million
    (re.compile(rf"([$£€¥])\s?({_NUM})(?:\s+(thousand|million|billion|trillion))?"), lambda m: _money(m[1], m[2], m[3] or "")),
    # percentages, ordinals, years after "in/since/by/until/from", decades
    (re.compile(rf"({_NUM})\s?%"), lambda m: f"{cardinal(m[1])} percent"),
    (re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.I), lambda m: ordinal(m[1])),
    (re.compile(r"\b(in|since|by|until|from|year|of|during|before|after)\s+(1[1-9]\d\d|20\d\d)\b", re.I),
     lambda m: f"{m[1]} {year(m[2])}"),
    (re.compile(r"\b(1[1-9]\d0|20\d0)s\b"), lambda m: _decade(m[1])),
    # numbers with units (5 km, 3.5kg)
    (re.compile(rf"(?<![\w.])(-?{_NUM})\s?({'|'.join(sorted(map(re.escape, UNITS), key=len, reverse=True))})\b"),
     lambda m: f"{cardinal(m[1])} {UNITS[m[2]][0] if m[1] in ('1', '1.0') else UNITS[m[2]][1]}"),
    # negative numbers, then all remaining numbers
    (re.compile(rf"(?<![\w])-({_NUM})\b"), lambda m: f"minus {cardinal(m[1])}"),
    (re.compile(_NUM), lambda m: f" {cardinal(m[0])} "),
]


def expand_abbreviations(text: str) -> str:
    """Replace the abbreviations of ``ABBREVIATIONS`` (with their full stop) by words."""
    def ending(words: str, is_title: bool):
        # the abbreviation's full stop also ends the sentence at the end of the text or before a capital
        # (but a title such as "Dr." before a capital is followed by a name)
        return lambda m: words + ("." if re.match(r"\s*$" if is_title else r"\s*$|\s+[A-Z]", m.string[m.end():]) else "")

    for abbr, words in sorted(ABBREVIATIONS.items(), key=lambda kv: len(kv[0]), reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(abbr)}", ending(words, abbr in TITLES), text)
    # "St." is "Saint" before a capitalised name and "street" otherwise
    text = re.sub(r"\bSt\.(?=\s+[A-Z][a-z])", "Saint", text)
    return re.sub(r"\bSt\.", ending("street", False), text)


def expand_numbers(text: str) -> str:
    """Dates, times, currency, percentages, ordinals, years, units and plain numbers -> words."""
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)  # type: ignore[arg-type]
    return text


def expand_symbols(text: str) -> str:
    """Symbols of ``SYMBOLS`` -> words (after numbers, so "%" and "$" were read with their number)."""
    for sym, words in sorted(SYMBOLS.items(), key=lambda kv: len(kv[0]), reverse=True):
        text = text.replace(sym, words)
    return text


def clean_punctuation(text: str) -> str:
    """Keep letters, digits and ``. , ? ! ; : ' -``; brackets and dashes become commas; drop the rest.

    Repeated punctuation collapses to its first mark ("?!?" -> "?"), and spaces are normalised.
    """
    text = re.sub(r"[()\[\]{}]|\s[-–—]+\s|[–—]", ", ", text)
    text = re.sub(r"[\"“”‘’`]", lambda m: "'" if m[0] in "‘’`" else " ", text)
    text = "".join(c if (c.isalnum() or c.isspace() or c in KEEP_PUNCTUATION) else " " for c in text)
    text = re.sub(r"(?<![\w])'|'(?![\w])", " ", text)  # quotes, not apostrophes
    text = re.sub(r"\s+-|-\s+", " ", text)
    text = re.sub(r"\s+([.,?!;:])", r"\1", text)
    text = re.sub(r"([.,?!;:])[.,?!;:]+", r"\1", text)
    text = re.sub(r"^[\s.,?!;:]+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def normalize(text: str) -> str:
    """Turn raw text into speakable words with sentence punctuation (pure; never raises).

    Parameters
    ----------
    text : str
        Anything a person might type.

    Returns
    -------
    str
        Words and ``. , ? ! ; : ' -`` only; may be empty (``prepare_text`` turns that into an error).

    Examples
    --------
    >>> normalize("Dr. Smith paid $3.50 at 10:30.")
    'doctor Smith paid three dollars and fifty cents at ten thirty.'
    """
    text = unicodedata.normalize("NFKC", text).replace("\u00a0", " ")
    text = expand_abbreviations(text)
    text = expand_numbers(text)
    text = expand_symbols(text)
    return clean_punctuation(text)


def split_sentences(text: str) -> list[str]:
    """Cut normalised text into sentences at ``. ? !`` (each kept with its mark); a last sentence with no
    mark gets a full stop."""
    parts = [p.strip() for p in re.split(r"(?<=[.?!])\s+", text) if p.strip()]
    out = []
    for p in parts:
        if not re.search(r"[^\W\d_]", p):
            continue  # a stray mark between sentences
        out.append(p if p[-1] in ".?!" else p.rstrip(",;:") + ".")
    return out


def prepare_text(text: str, cfg: TextConfig = TextConfig()) -> list[str]:
    """Check, normalise and split text for synthesis.

    Parameters
    ----------
    text : str
    cfg : TextConfig
        Length limits.

    Returns
    -------
    list of str
        At least one normalised sentence.

    Raises
    ------
    TooLongTextError
        More than ``cfg.max_chars`` characters, or a letter run longer than ``cfg.max_word_chars``.
    EmptyTextError
        Nothing speakable: empty, whitespace, or only punctuation, symbols or emoji.
    """
    n = len(text.strip())
    if n > cfg.max_chars:
        raise TooLongTextError(f"The text has {n} characters, over the {cfg.max_chars}-character limit; "
                               "split it into shorter passages.")
    if n == 0:
        raise EmptyTextError("The text is empty; type a sentence to say.")
    norm = normalize(text)
    if not re.search(r"[^\W\d_]", norm):
        raise EmptyTextError(f"Nothing speakable in {text[:40]!r}: it holds only punctuation, symbols or emoji; "
                             "type words.")
    if len(norm) > cfg.max_chars:
        raise TooLongTextError(f"The text grows to {len(norm)} characters once numbers are spelled out, over the "
                               f"{cfg.max_chars}-character limit; shorten it.")
    longest = max(re.findall(r"[^\W\d_]+", norm), key=len)
    if len(longest) > cfg.max_word_chars:
        raise TooLongTextError(f"'{longest[:20]}…' is a run of {len(longest)} letters with no space, longer than "
                               f"{cfg.max_word_chars}; that is not a word an engine can say.")
    return split_sentences(norm)
