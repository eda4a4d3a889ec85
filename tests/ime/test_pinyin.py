"""The pinyin engine (terminal_ui.ime) on the real dictionary: names and sentences
typed as a citizen would, by full pinyin and by initials, choosing candidates page
by page; Traditional output; name fields; the service search; hostile input."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from kiosk.demo.issuer import DEMO_CITIZENS
from terminal_ui.ime import Composer, Lexicon, find_table, tokenize
from terminal_ui.ime.search import Entry, search

# (words, pinyin) — twenty sentences a citizen could type at a kiosk: complaints,
# questions, addresses; words separated by spaces (initials are typed a word at a
# time, as people use them). Pinyin written by hand, one syllable per character.
SENTENCES = [
    ("今天 天气 很 好", "jin tian tian qi hen hao"),
    ("我 要 交 水费", "wo yao jiao shui fei"),
    ("我的 银行卡 丢了", "wo de yin hang ka diu le"),
    ("请问 社保 怎么 查询", "qing wen she bao zen me cha xun"),
    ("公交卡 余额 不足", "gong jiao ka yu e bu zu"),
    ("我 想 预约 办理 居住证", "wo xiang yu yue ban li ju zhu zheng"),
    ("路灯 坏了 很久 没有 人 修", "lu deng huai le hen jiu mei you ren xiu"),
    ("小区 门口 的 垃圾 没 人 清理", "xiao qu men kou de la ji mei ren qing li"),
    ("建议 增加 公交车 班次", "jian yi zeng jia gong jiao che ban ci"),
    ("医保 报销 需要 什么 材料", "yi bao bao xiao xu yao shen me cai liao"),
    ("楼下 的 噪音 太大了", "lou xia de zao yin tai da le"),
    ("自来水 有 很重 的 味道", "zi lai shui you hen zhong de wei dao"),
    ("谢谢 你们 的 帮助", "xie xie ni men de bang zhu"),
    ("附近 的 公园 什么时候 开放", "fu jin de gong yuan shen me shi hou kai fang"),
    ("我家 住在 人民路 十八 号", "wo jia zhu zai ren min lu shi ba hao"),
    ("老人 可以 免费 坐 公交 吗", "lao ren ke yi mian fei zuo gong jiao ma"),
    ("孩子 上学 需要 办 什么 手续", "hai zi shang xue xu yao ban shen me shou xu"),
    ("停车位 太少 了", "ting che wei tai shao le"),
    ("电梯 经常 出 故障", "dian ti jing chang chu gu zhang"),
    ("希望 早日 解决 这个 问题", "xi wang zao ri jie jue zhe ge wen ti"),
]
# The demo citizens' names (the clerk's and technician's titles dropped), by pinyin.
NAMES = {
    "张伟": "zhang wei",
    "李娜": "li na",
    "王秀英": "wang xiu ying",
    "赵䶮": "zhao yan",
    "阿依古丽": "a yi gu li",
    "买买提": "mai mai ti",
    "陈静": "chen jing",
    "周强": "zhou qiang",
}
MAX_PAGES = 12  # how far a patient citizen pages through the bar for one choice
PATIENCE = 3  # pages looked at before typing more of an abbreviated word


@pytest.fixture(scope="session")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return Lexicon.compiled(find_table(), tmp_path_factory.mktemp("pinyin"))


def type_text(lexicon: Lexicon, target: str, letters: str, *, script: str = "hans",
              context: str = "", max_pages: int = MAX_PAGES) -> tuple[str, int]:  # fmt: skip
    """Type ``letters``, then choose, page by page, the longest candidate that
    continues ``target``; returns the committed text and the taps on the bar."""
    c = Composer(lexicon, script=script, context=context)  # type: ignore[arg-type]
    for ch in letters:
        c.type(ch)
    done, taps = "", 0
    while c.active:
        made = "".join(x.text for x in c.chosen)
        want = target[len(made) :]
        for _page in range(max_pages):
            page = c.page()
            fits = [x for x in page.candidates if want.startswith(x.text)]
            if fits:
                pick = max(fits, key=lambda x: len(x.text))
                taps += 1
                done = c.choose(pick) or ""
                break
            assert page.has_next, f"{target!r}: {want!r} not offered for {letters!r}"
            c.next_page()
            taps += 1
        else:
            raise AssertionError(f"{target!r}: {want!r} not within {max_pages} pages")
    return done, taps


def spelled(syllables: list[str]) -> str:
    """Pinyin as written: an apostrophe before a syllable starting with a, o or e
    (yu'e, not yue), no other separators."""
    return "".join(("'" + s if i and s[0] in "aoe" else s) for i, s in enumerate(syllables))


def initials(pinyin: str) -> str:
    return "".join(s[0] for s in pinyin.split())


def by_initials(lexicon: Lexicon, word: str, pinyin: str, *, context: str = "",
                script: str = "hans") -> tuple[str, int]:  # fmt: skip
    """Type ``word`` by the initials of its syllables; when it is not on the first
    pages, spell one more syllable out, as people do with abbreviated pinyin
    ("sf", then "shuif"). Returns the text and how many syllables were spelled."""
    syl = pinyin.split()
    for spelled_out in range(len(syl) + 1):
        letters = spelled(syl[:spelled_out]) + "".join(s[0] for s in syl[spelled_out:])
        try:
            return type_text(lexicon, word, letters, context=context, script=script,
                             max_pages=PATIENCE)[0], spelled_out  # fmt: skip
        except AssertionError:
            continue
    raise AssertionError(f"{word!r} not found even in full pinyin")


def test_covers_gb2312_with_frequencies(lexicon: Lexicon) -> None:
    gb = set()
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                gb.add(bytes([hi, lo]).decode("gb2312"))
    assert len(gb) == 6763
    missing = sorted(gb - lexicon.characters())
    assert not missing, missing[:20]
    # Frequencies: the common reading of a common character outranks a rare one.
    tokens = tokenize("de", lexicon.syllables)
    first = [c.text for c in lexicon.words(tokens, "hans")[:3]]
    assert "的" in first, first


def test_demo_names_are_the_names_on_the_cards() -> None:
    on_cards = "".join(p.name for p in DEMO_CITIZENS)
    assert all(ch in on_cards for name in NAMES for ch in name)


@pytest.mark.parametrize("name", list(NAMES))
def test_names_by_full_pinyin_and_initials(lexicon: Lexicon, name: str) -> None:
    py = NAMES[name]
    assert type_text(lexicon, name, spelled(py.split()), context="name")[0] == name
    got, spelled_out = by_initials(lexicon, name, py, context="name")
    assert got == name
    assert spelled_out <= len(py.split()) // 2, spelled_out


def test_a_name_field_puts_surnames_first(lexicon: Lexicon) -> None:
    c = Composer(lexicon, context="name")
    for ch in "zhao":
        c.type(ch)
    singles = [x.text for x in c.candidates() if x.length == 1]
    assert singles[0] == "赵", singles[:5]
    c.choose(next(x for x in c.candidates() if x.text == "赵"))  # nothing left: committed
    c2 = Composer(lexicon, context="name", at_field_start=False)
    for ch in "yan":
        c2.type(ch)
    assert "䶮" in [x.text for x in c2.page().candidates] or "䶮" in [
        x.text for x in c2.candidates()[:12]
    ]


@pytest.mark.parametrize(("words", "py"), SENTENCES, ids=[s[0] for s in SENTENCES])
def test_sentences_by_full_pinyin_and_by_initials(lexicon: Lexicon, words: str, py: str) -> None:
    text = words.replace(" ", "")
    syllables = py.split()
    assert len(syllables) == len(text)
    full, full_taps = type_text(lexicon, text, spelled(syllables))
    assert full == text
    # The whole sentence in one go: at most a choice per word, never one per character.
    assert full_taps <= len(words.split()), full_taps
    typed, at, spelled_out = "", 0, 0
    for word in words.split():
        got, n = by_initials(lexicon, word, " ".join(syllables[at : at + len(word)]))
        typed, at, spelled_out = typed + got, at + len(word), spelled_out + n
    assert typed == text
    # Most words are found by their initials alone.
    assert spelled_out <= len(words.split()) // 2, spelled_out


def test_initials_nh_is_nihao_first(lexicon: Lexicon) -> None:
    c = Composer(lexicon)
    c.type("n")
    c.type("h")
    assert c.page().candidates[0].text == "你好"


def test_traditional_output(lexicon: Lexicon) -> None:
    assert type_text(lexicon, "我的銀行卡丟了", "wodeyinhangkadiule", script="hant")[0] == (
        "我的銀行卡丟了"
    )
    assert by_initials(lexicon, "張偉", "zhang wei", script="hant", context="name")[0] == "張偉"
    c = Composer(lexicon, script="hant")
    for ch in "nihao":
        c.type(ch)
    assert c.page().candidates[0].text == "你好"


def test_paging_and_delete(lexicon: Lexicon) -> None:
    c = Composer(lexicon, page_size=5, page_chars=12)
    c.type("s")
    first = c.page()
    assert first.number == 0 and first.has_next and not first.has_previous
    assert sum(len(x.text) + 1 for x in first.candidates) <= 12 or len(first.candidates) == 1
    c.next_page()
    second = c.page()
    assert second.number == 1 and second.has_previous
    assert not set(x.text for x in first.candidates) & set(x.text for x in second.candidates)
    c.previous_page()
    assert c.page() == first
    for ch in "hui":
        c.type(ch)
    assert c.page().number == 0  # a new letter starts from the first page
    assert c.choose(next(x for x in c.candidates() if x.text == "水")) == "水"
    assert not c.active  # "shui" was all there was: committed


def test_delete_undoes_a_choice_then_letters(lexicon: Lexicon) -> None:
    c = Composer(lexicon)
    for ch in "shuifei":
        c.type(ch)
    c.choose(next(x for x in c.candidates() if x.text == "水"))
    assert c.preedit == "水fei"
    assert c.delete() and c.preedit == "shui'fei"
    assert c.delete() and c.letters == "shuife"
    for _ in range(6):
        assert c.delete()
    assert not c.delete() and not c.active


def test_tokenize() -> None:
    syl = {"xi", "an", "xian", "zhang", "wei", "ni", "hao", "a"}
    assert [t.text for t in tokenize("xian", syl)] == ["xian"]
    assert [t.text for t in tokenize("xi'an", syl)] == ["xi", "an"]
    assert [(t.text, t.whole) for t in tokenize("zhangw", syl)] == [("zhang", True), ("w", False)]
    assert [(t.text, t.whole) for t in tokenize("nh", syl)] == [("n", False), ("h", False)]
    assert tokenize("", syl) == [] and tokenize("'''", syl) == []


@pytest.mark.parametrize("junk", ["iiii", "vvvvvvvvvvvv", "'a'", "q" * 200, "zzzzzzzzzzzzzzz"])
def test_hostile_letters_never_crash(lexicon: Lexicon, junk: str) -> None:
    c = Composer(lexicon)
    for ch in junk:
        c.type(ch)
    c.page()
    c.commit()
    assert not c.active


def test_hostile_table_lines_are_skipped() -> None:
    lines = ["你\tni\t100\n", "bad line\n", "好\thao\tnan\n", "x\t\t5\n", "好\thao\t-1\n",
             "好\thao\t50\n", "你好\tni hao\t20\n", "# comment\n", "\n",
             "坏\th\x00i\t3\n"]  # fmt: skip
    lx = Lexicon.from_lines(lines)
    assert lx.characters() == {"你", "好"}
    c = Composer(lx)
    for ch in "nh":
        c.type(ch)
    assert c.page().candidates[0].text == "你好"


def test_service_search_by_initials(lexicon: Lexicon) -> None:
    entries = [Entry("balance", "余额查询"), Entry("water", "水费"), Entry("topup", "银行卡充值"),
               Entry("bike", "开通公共自行车"), Entry("water_t", "水費"),
               Entry("water_en", "Water bill")]  # fmt: skip

    def ids(q: str) -> list[str]:
        return [e.id for e in search(lexicon, q, entries)]

    assert ids("sf") == ["water", "water_t"]
    assert ids("ye") == ["balance"]  # "ye" is a syllable, but here two initials
    assert ids("yhk") == ids("yinhang") == ["topup"]  # 行 read hang, not xing
    assert ids("zxc") == ["bike"]
    assert ids("water") == ["water_en"]
    assert ids("") == [e.id for e in entries]
    assert ids("qqqq") == []


def test_compiled_file_is_rebuilt_when_torn_corrupt_or_stale(tmp_path: Path) -> None:
    table = tmp_path / "table.txt"
    table.write_text("你\tni\t100\n好\thao\t50\n你好\tni hao\t20\n", encoding="utf-8")
    cache = tmp_path / "cache"
    first = Lexicon.compiled(table, cache)
    assert first.words(tokenize("nh", first.syllables), "hans")[0].text == "你好"
    compiled = cache / "pinyin.sqlite3"
    for damage in (b"", b"SQLite format 3\x00" + b"\xff" * 300, b"not a database at all"):
        compiled.write_bytes(damage)  # a torn write, a corrupted page, something else
        again = Lexicon.compiled(table, cache)
        assert again.words(tokenize("nihao", again.syllables), "hans")[0].text == "你好"
    table.write_text("你\tni\t100\n嗎\tma\t50\n", encoding="utf-8")  # the package changed
    changed = Lexicon.compiled(table, cache)
    assert changed.characters() == {"你", "嗎", "吗"}
    assert not list(cache.glob("*.tmp"))  # no temporary file left behind


# The demo catalog's city services by the initials a citizen would type ("sb" → 社保).
@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
@pytest.mark.parametrize(
    ("typed", "service"),
    [
        ("sb", "social_security"),
        ("shebao", "social_security"),
        ("gjj", "housing_fund"),
        ("rqf", "gas_bill"),
        ("jtwf", "traffic_fines"),
        ("bjjd", "application_progress"),
    ],
)
def test_city_services_by_initials(
    lexicon: Lexicon,
    lang: str,
    typed: str,
    service: str,
) -> None:
    from kiosk.demo.catalog import DEMO_CATALOG

    entries = [Entry(s["id"], s["names"][lang]) for s in DEMO_CATALOG["services"]]
    found = [e.id for e in search(lexicon, typed, entries)]
    # Among the first two: a polyphone may match another name as well (费 is also
    # read bì, so "sb" finds 水费 too), and polyphones never hide a service.
    assert service in found[:2], found
