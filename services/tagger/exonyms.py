"""Korean spellings of foreign place names, for the gazetteer build (build_gazetteer.py) only.

Each function follows one table of the Korean loanword orthography (외래어 표기법, 문화체육관광부 고시) or
reads characters the Sino-Korean way:
- ``pinyin_to_hangul``: 중국어의 주음 부호와 한글 대조표, over pinyin syllables (pypinyin): 南通 → 난퉁.
- ``romaji_to_hangul``: 일본어의 가나와 한글 대조표, over a Hepburn romanization (GeoNames writes Japanese
  places that way): Arakawa → 아라카와; ``press=True`` gives the spelling many papers use instead
  (word-initial 카/타/치 and 츠: 카츠시카).
- ``sino_korean``: 한자음 of each character (hanja), from the simplified and the traditional forms (opencc):
  沈阳 → 瀋陽 → 심양, 烟台 → 연태 and 煙臺 → 연대.
- ``spanish_to_hangul``: 에스파냐어 자모와 한글 대조표: Cerro Navia → 세로나비아, Itapúa → 이타푸아.
Pure functions of their input; the packages are imported only when called.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = ["", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ", "ㅁ", "ㅂ", "ㅄ",
         "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ"]


def syllable(cho: str, jung: str, jong: str = "") -> str:
    return chr(0xAC00 + (_CHO.index(cho) * 21 + _JUNG.index(jung)) * 28 + _JONG.index(jong))


def add_coda(text: str, jong: str) -> str:
    """Put a final consonant under the last syllable (난 + ㅅ → 낫); a new 으 syllable if it has one."""
    if not text:
        return text
    code = ord(text[-1]) - 0xAC00
    if not 0 <= code < 11172 or code % 28:
        return text + {"ㄴ": "은", "ㅅ": "스"}.get(jong, "")
    return text[:-1] + chr(ord(text[-1]) + _JONG.index(jong))


# ---- Mandarin (pinyin) -----------------------------------------------------------------------------------
_PY_INITIALS = {"b": "ㅂ", "p": "ㅍ", "m": "ㅁ", "f": "ㅍ", "d": "ㄷ", "t": "ㅌ", "n": "ㄴ", "l": "ㄹ", "g": "ㄱ",
                "k": "ㅋ", "h": "ㅎ", "j": "ㅈ", "q": "ㅊ", "x": "ㅅ", "zh": "ㅈ", "ch": "ㅊ", "sh": "ㅅ", "r": "ㄹ",
                "z": "ㅉ", "c": "ㅊ", "s": "ㅆ"}
# final → (vowel, coda, what follows as its own syllables)
_PY_FINALS = {
    "a": ("ㅏ", "", ""), "o": ("ㅗ", "", ""), "e": ("ㅓ", "", ""), "ai": ("ㅏ", "", "이"), "ei": ("ㅔ", "", "이"),
    "ao": ("ㅏ", "", "오"), "ou": ("ㅓ", "", "우"), "an": ("ㅏ", "ㄴ", ""), "en": ("ㅓ", "ㄴ", ""),
    "ang": ("ㅏ", "ㅇ", ""), "eng": ("ㅓ", "ㅇ", ""), "ong": ("ㅜ", "ㅇ", ""), "er": ("ㅓ", "ㄹ", ""),
    "i": ("ㅣ", "", ""), "ia": ("ㅑ", "", ""), "ie": ("ㅖ", "", ""), "iao": ("ㅑ", "", "오"), "iu": ("ㅠ", "", ""),
    "ian": ("ㅖ", "ㄴ", ""), "in": ("ㅣ", "ㄴ", ""), "iang": ("ㅑ", "ㅇ", ""), "ing": ("ㅣ", "ㅇ", ""),
    "iong": ("ㅠ", "ㅇ", ""), "u": ("ㅜ", "", ""), "ua": ("ㅘ", "", ""), "uo": ("ㅝ", "", ""),
    "uai": ("ㅘ", "", "이"), "ui": ("ㅜ", "", "이"), "uan": ("ㅘ", "ㄴ", ""), "un": ("ㅜ", "ㄴ", ""),
    "uang": ("ㅘ", "ㅇ", ""), "v": ("ㅟ", "", ""), "ve": ("ㅞ", "", ""), "van": ("ㅟ", "", "안"),
    "vn": ("ㅟ", "ㄴ", ""),
}
_PY_ZERO = {
    "a": "아", "o": "오", "e": "어", "ai": "아이", "ei": "에이", "ao": "아오", "ou": "어우", "an": "안", "en": "언",
    "ang": "앙", "eng": "엉", "er": "얼", "yi": "이", "ya": "야", "ye": "예", "yo": "요", "yao": "야오", "you": "유",
    "yan": "옌", "yin": "인", "yang": "양", "ying": "잉", "yong": "융", "wu": "우", "wa": "와", "wo": "워",
    "wai": "와이", "wei": "웨이", "wan": "완", "wen": "원", "wang": "왕", "weng": "웡", "yu": "위", "yue": "웨",
    "yuan": "위안", "yun": "윈",
}
# after j, q, x the glide i is written only after x (샤, 셰), and u is ü
_PY_JQ = {"ia": ("ㅏ", "", ""), "ie": ("ㅔ", "", ""), "iao": ("ㅏ", "", "오"), "iu": ("ㅜ", "", ""),
          "ian": ("ㅔ", "ㄴ", ""), "iang": ("ㅏ", "ㅇ", ""), "iong": ("ㅜ", "ㅇ", "")}
_PY_X = {"ia": ("ㅑ", "", ""), "ie": ("ㅖ", "", ""), "iao": ("ㅑ", "", "오"), "iu": ("ㅠ", "", ""),
         "ian": ("ㅖ", "ㄴ", ""), "iang": ("ㅑ", "ㅇ", ""), "iong": ("ㅠ", "ㅇ", "")}
_PY_SYL = re.compile(r"^(zh|ch|sh|[bpmfdtnlgkhjqxrzcs])?([a-z]+)$")


def pinyin_syllable(py: str) -> str | None:
    """One toneless pinyin syllable (ü as v) in Hangul, or None if it is not one."""
    py = py.lower().replace("ü", "v")
    if py in _PY_ZERO:
        return _PY_ZERO[py]
    m = _PY_SYL.match(py)
    if not m or not m.group(1):
        return None
    initial, final = m.groups()
    if initial in ("j", "q", "x"):
        final = {"u": "v", "ue": "ve", "uan": "van", "un": "vn"}.get(final, final)
        spec = (_PY_X if initial == "x" else _PY_JQ).get(final) or _PY_FINALS.get(final)
    elif initial in ("zh", "ch", "sh", "r", "z", "c", "s") and final == "i":
        spec = ("ㅡ", "", "")
    else:
        spec = _PY_FINALS.get(final)
    if spec is None:
        return None
    vowel, coda, rest = spec
    return syllable(_PY_INITIALS[initial], vowel, coda) + rest


def pinyin_to_hangul(syllables: list[str]) -> str | None:
    out = [pinyin_syllable(s) for s in syllables]
    return None if any(o is None for o in out) else "".join(out)  # type: ignore[arg-type]


@cache
def _pinyin():  # type: ignore[no-untyped-def]
    from pypinyin import Style, lazy_pinyin

    return lambda text: lazy_pinyin(text, style=Style.NORMAL, errors="ignore")


def mandarin(hanzi: str) -> str | None:
    """南通 → 난퉁 (pypinyin reads the characters; the table writes them)."""
    syllables = _pinyin()(hanzi)
    return pinyin_to_hangul(syllables) if len(syllables) == len(hanzi) else None


# ---- Sino-Korean ------------------------------------------------------------------------------------------
@cache
def _s2t():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("s2t")


def sino_korean(hanzi: str) -> list[str]:
    """The Sino-Korean readings of a name from its traditional characters, with the initial sound law
    (洛陽 → 낙양): 沈阳 → 瀋陽 → [심양] (沈 alone reads 침); 臺 is read both ways, as usage has it:
    烟台 → 煙臺 → [연대, 연태]."""
    import hanja

    out: dict[str, None] = {}
    traditional = _s2t().convert(hanzi)
    for form in (traditional, traditional.replace("臺", "台")):
        reading = hanja.translate(form, "substitution")
        if re.fullmatch(r"[가-힣]+", reading) and len(reading) == len(hanzi):
            out[reading] = None
    return list(out)


# ---- Japanese (Hepburn) -----------------------------------------------------------------------------------
_KANA_ROWS = {  # consonant → (initial jamo at the start of a word, elsewhere)
    "": ("ㅇ", "ㅇ"), "k": ("ㄱ", "ㅋ"), "g": ("ㄱ", "ㄱ"), "s": ("ㅅ", "ㅅ"), "z": ("ㅈ", "ㅈ"), "j": ("ㅈ", "ㅈ"),
    "t": ("ㄷ", "ㅌ"), "d": ("ㄷ", "ㄷ"), "ch": ("ㅈ", "ㅊ"), "n": ("ㄴ", "ㄴ"), "h": ("ㅎ", "ㅎ"), "f": ("ㅎ", "ㅎ"),
    "b": ("ㅂ", "ㅂ"), "p": ("ㅍ", "ㅍ"), "m": ("ㅁ", "ㅁ"), "r": ("ㄹ", "ㄹ"), "w": ("ㅇ", "ㅇ"), "y": ("ㅇ", "ㅇ"),
    "sh": ("ㅅ", "ㅅ"), "ts": ("ㅆ", "ㅆ"),
}
_PLAIN = {"a": "ㅏ", "i": "ㅣ", "u": "ㅜ", "e": "ㅔ", "o": "ㅗ"}
_GLIDE = {"a": "ㅑ", "u": "ㅠ", "o": "ㅛ", "e": "ㅖ", "i": "ㅣ"}
_ROMAJI = re.compile(r"(ky|gy|ny|hy|by|py|my|ry|sh|ch|ts|[kgszjtdnhfbpmrwy]?)([aiueo])"  # a kana
                     r"|(n|m(?=[bpm]))(?![aiueoy])"  # ん
                     r"|([kgstdbpcfmhjrz])(?=\4|ch)")  # っ


def romaji_to_hangul(romaji: str, press: bool = False) -> str | None:
    """A Hepburn name (macrons allowed, long vowels then dropped, as the orthography does) in Hangul:
    Arakawa → 아라카와, Hokkaidō → 홋카이도, Bunkyō → 분쿄, Katsushika → 가쓰시카 (press: 카츠시카)."""
    text = unicodedata.normalize("NFKD", romaji.lower())
    text = "".join(c for c in text if c.isascii() and c.isalpha())
    text = re.sub(r"(?<=[ou])u(?![aiueo])|(?<=o)o|(?<=i)i", "", text)  # Tōkyō as Toukyou, Niigata: 도쿄, 니가타
    out = ""
    pos = 0
    for m in _ROMAJI.finditer(text):
        if m.start() != pos:
            return None
        pos = m.end()
        cons, vowel, n, sokuon = m.groups()
        if n:
            out = add_coda(out, "ㄴ")
            continue
        if sokuon:
            out = add_coda(out, "ㅅ")
            continue
        initial = not out
        glide = len(cons) == 2 and cons.endswith("y")
        base = cons[0] if glide else cons
        if base == "y":
            jung = _GLIDE[vowel]
        elif base in ("sh", "ch", "j"):
            jung = _GLIDE[vowel] if base == "sh" and vowel != "i" else _PLAIN[vowel]
        elif glide:
            jung = _GLIDE[vowel]
        elif base == "w":
            jung = "ㅘ" if vowel == "a" else _PLAIN[vowel]
        else:
            jung = _PLAIN[vowel]
        if base == "ts":
            out += "츠" if press else "쓰"
            continue
        if base == "s" and vowel == "u":
            out += "스"
            continue
        if base == "z" and vowel == "u":
            out += "즈"
            continue
        cho = _KANA_ROWS[base][0 if initial and not press else 1]
        out += syllable(cho, jung)
    return out if pos == len(text) and out else None


# ---- Spanish ------------------------------------------------------------------------------------------------
_ES_VOWELS = frozenset("aeiou")
_ES_CONS = {"b": "ㅂ", "v": "ㅂ", "d": "ㄷ", "f": "ㅍ", "k": "ㅋ", "l": "ㄹ", "m": "ㅁ", "n": "ㄴ", "p": "ㅍ",
            "r": "ㄹ", "s": "ㅅ", "t": "ㅌ", "z": "ㅅ", "g": "ㄱ", "j": "ㅎ", "x": "ㅎ", "ch": "ㅊ", "ñ": "ㄴ",
            "ll": "ㅇ", "y": "ㅇ", "qu": "ㅋ", "gu": "ㄱ", "c": "ㅋ", "h": ""}
# a consonant that closes a syllable: under it (받침) or as its own syllable with 으
_ES_CODA = {"n": "ㄴ", "m": "ㅁ", "l": "ㄹ"}
_ES_CODA_SYL = {"b": "브", "v": "브", "d": "드", "f": "프", "g": "그", "j": "흐", "p": "프", "r": "르", "s": "스",
                "t": "트", "z": "스", "ch": "치", "x": "스", "k": "크", "c": "크", "h": ""}
_ES_GLIDES = {("i", "a"): "ㅑ", ("i", "e"): "ㅖ", ("i", "o"): "ㅛ", ("i", "u"): "ㅠ"}


def spanish_to_hangul(name: str) -> str | None:
    """Cerro Navia → 세로나비아, Estación Central → 에스타시온센트랄, Valparaíso → 발파라이소, Ñuñoa → 뉴뇨아."""
    text = unicodedata.normalize("NFC", name.lower())
    text = "".join(unicodedata.normalize("NFD", c)[0] if c not in "ñü" else ("ñ" if c == "ñ" else "u")
                   for c in text if c.isalpha() or c in " -")
    words = [w.replace("rr", "r") for w in re.split(r"[ -]+", text) if w]
    try:
        parts = [_es_word(w) for w in words]
    except KeyError:
        return None
    return None if not parts or any(p is None for p in parts) else "".join(parts)  # type: ignore[arg-type]


_ES_UNIT = re.compile(r"ch|ll|qu(?=[ei])|gu(?=[ei])|[bcdfghjklmnñpqrstvxyz]|[aeiou]")


def _es_word(word: str) -> str | None:
    units = _ES_UNIT.findall(word)
    if "".join(units) != word:
        return None
    out = ""
    i = 0
    n = len(units)
    while i < n:
        u = units[i]
        nxt = units[i + 1] if i + 1 < n else ""
        if u in _ES_VOWELS:
            out += syllable("ㅇ", _PLAIN[u])
            i += 1
            continue
        if nxt in _ES_VOWELS:  # consonant + vowel
            if u == "c":
                cho = "ㅅ" if nxt in "ei" else "ㅋ"
            elif u == "g":
                cho = "ㅎ" if nxt in "ei" else "ㄱ"
            elif u == "r" and i == 0:
                cho = "ㄹ"
            else:
                cho = _ES_CONS[u]
            if u == "l" and out and i > 0 and (units[i - 1] in _ES_VOWELS or units[i - 1] in "bcfgkp") \
                    and (ord(out[-1]) - 0xAC00) % 28 == 0:
                out = add_coda(out, "ㄹ")  # l after a vowel or in a cluster: 칠레, 과달라하라, 플로리다
            vowel = _PLAIN[nxt]
            if u in ("ll", "y", "ñ") and nxt != "i":
                vowel = _GLIDE[nxt]
            if u == "gu" and nxt in "ei":
                cho = "ㄱ"
            if u == "h":
                cho = "ㅇ"
            # gua → 과, cua → 콰: u + vowel after g/c/q is one glide
            j = i + 2
            if nxt == "u" and j < n and units[j] in ("a", "e", "i", "o") and u in ("g", "c"):
                vowel = {"a": "ㅘ", "e": "ㅞ", "i": "ㅟ", "o": "ㅝ"}[units[j]]
                j += 1
            elif nxt == "i" and j < n and (nxt, units[j]) in _ES_GLIDES and u not in ("ll", "y", "ñ", "ch", "s", "z"):
                pass  # 이아: Santiago → 산티아고, as the table writes it
            out += syllable(cho or "ㅇ", vowel)
            i = j
            continue
        # consonant not before a vowel: a coda or a syllable of its own
        if u in _ES_CODA and out:
            out = add_coda(out, _ES_CODA[u]) if ord(out[-1]) >= 0xAC00 and (ord(out[-1]) - 0xAC00) % 28 == 0 \
                else out + ("은" if u == "n" else "을" if u == "l" else "음")
        elif u in ("c", "k") and nxt and nxt not in _ES_VOWELS and out and (ord(out[-1]) - 0xAC00) % 28 == 0:
            out = add_coda(out, "ㄱ")  # actor → 악토르
        elif u == "p" and nxt and nxt not in _ES_VOWELS and out and (ord(out[-1]) - 0xAC00) % 28 == 0:
            out = add_coda(out, "ㅂ")  # Concepción → 콘셉시온
        elif u == "y":
            out += "이"
        elif u in ("ll", "ñ"):
            out += "이" if u == "ll" else "니"
        elif u in _ES_CODA_SYL:
            out += _ES_CODA_SYL[u]
        else:
            return None
        i += 1
    return out or None
