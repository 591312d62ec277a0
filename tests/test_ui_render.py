"""Rendering of answers, sources, refusals and errors: cited, readable, and inert for any text."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rag.models import REFUSAL, Answer, Citation, ShortAnswer
from rag.web import render
from rag.web.render import (
    RELATED_LABEL,
    answer_text_html,
    escape_text,
    quote_in_context,
    render_answer,
    render_error,
    render_partial,
    render_question,
    render_refusal,
    source_url,
)

HOSTILE = [
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    "[click me](javascript:alert(1))",
    '<a href="javascript:alert(1)">link</a> **bold** `code` $x^2$ # heading',
    "line one\n\nline two\n- item <b>",
]


class TagCollector(HTMLParser):
    """Every tag and attribute in a fragment, to check what markup it really contains."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(fragment: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(fragment)
    collector.close()
    return collector


def citation(n: int, start: int, end: int, text: str, **extra: str) -> Citation:
    fields = {"source": "news/a.txt", "title": "A title", "section": "A section", "chunk_id": "c1"}
    fields.update(extra)
    return Citation(n=n, start=start, end=end, quote=text[start:end], **fields)


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_has_no_markup_and_reads_back_literally(text: str) -> None:
    out = escape_text(text)
    assert parse(out).tags == [("br", {})] * out.count("<br>")
    # no Markdown syntax survives either: links, emphasis, code, maths, headings
    bare = re.sub(r"&#\d+;", "", out.replace("<br>", ""))
    assert not re.search(r"[\[\]()*`$#<>:]", bare)
    assert html.unescape(out.replace("<br>", "\n")) == text.replace("\r\n", "\n")


def test_answer_markers_become_chips_linking_to_the_cited_span() -> None:
    document = "Alpha is first. Beta is second. Gamma is third."
    cites = [citation(1, 0, 15, document), citation(2, 16, 31, document)]
    out = answer_text_html("Alpha is first. [1] Beta is second. [2]", cites)
    links = [attrs for tag, attrs in parse(out).tags if tag == "a"]
    assert [link["href"] for link in links] == [
        "/source/news/a.txt?start=0&end=15#cite",
        "/source/news/a.txt?start=16&end=31#cite",
    ]
    assert links[0]["class"] == "rag-cite rag-c0" and links[1]["class"] == "rag-cite rag-c1"
    assert "Alpha is first." in (links[0]["title"] or "")
    assert all(link["target"] == "_blank" for link in links)


def test_numbers_that_are_not_our_citations_stay_text() -> None:
    document = "It was updated [3] later."
    out = answer_text_html("It was updated [3] later. [1]", [citation(1, 0, 25, document)])
    assert len([t for t, _ in parse(out).tags if t == "a"]) == 1
    assert "&#91;3&#93;" in out


def test_source_url_is_percent_encoded_and_stable() -> None:
    assert source_url("dir/a b?.txt", 3, 9) == "/source/dir/a%20b%3F.txt?start=3&end=9#cite"
    assert source_url("x.txt") == "/source/x.txt"


def test_quote_in_context_cuts_at_words_and_marks_the_ends() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    start = text.index("word100")
    end = start + len("word100")
    before, quote, after = quote_in_context(text, start, end, width=40)
    assert quote == "word100"
    assert before.startswith("…word") and after.endswith("…")
    assert before[1:] + quote + after[:-1] in text
    assert quote_in_context("short text", 0, 5) == ("", "short", " text")


def test_finished_answer_shows_each_source_with_title_section_and_quote_in_context() -> None:
    document = "Intro sentence here. The cited <b>claim</b> is true. Outro sentence follows."
    start = document.index("The cited")
    end = document.index("Outro") - 1
    answer = Answer(
        question="q",
        answer="The cited <b>claim</b> is true. [1]",
        citations=[citation(1, start, end, document)],
    )
    out = render_answer(answer, {"news/a.txt": document})
    parsed = parse(out)
    tags = [tag for tag, _ in parsed.tags]
    assert "b" not in tags and "script" not in tags
    assert tags.count("details") == 1 and "summary" in tags and "mark" in tags
    text = "".join(parsed.text)
    assert "A title" in text and "A section" in text
    assert "Intro sentence here. The cited <b>claim</b> is true. Outro sentence follows." in text
    marked = re.search(r"<mark>(.*?)</mark>", out)
    assert marked and html.unescape(marked.group(1)) == document[start:end]
    assert "\n" not in out  # one HTML block: Markdown must not get a chance to parse inside


def test_refusal_is_styled_apart_from_answers() -> None:
    refused = render_answer(Answer(question="q", answer=REFUSAL, refused=True), {})
    assert 'class="rag-msg rag-refusal"' in refused
    assert "Not in the documents" in refused and "rag-sources" not in refused
    assert html.unescape(parse(refused).text[-1]) == REFUSAL
    assert render_refusal(REFUSAL) == refused


def test_a_refusal_shows_its_related_passages_under_their_own_label() -> None:
    document = "Intro sentence here. Zelensky said <no> to the deal. Outro sentence follows."
    start = document.index("Zelensky")
    end = document.index(" Outro")
    passage = Citation(
        n=1,
        source="a.txt",
        title="A title",
        section="",
        chunk_id="c",
        start=start,
        end=end,
        quote=document[start:end],
    )
    refused = Answer(question="q", answer=REFUSAL, refused=True, related=[passage])
    out = render_answer(refused, {"a.txt": document})
    assert 'class="rag-msg rag-refusal"' in out and "Not in the documents" in out
    text = html.unescape("".join(parse(out).text))
    assert RELATED_LABEL in text and "Sources" not in text
    assert "Zelensky said <no> to the deal." in text  # the quote, escaped as text
    assert "<no>" not in out
    assert 'href="/source/a.txt' in out


def test_the_widget_labels_related_passages_as_the_chat_does() -> None:
    widget = (Path(render.__file__).parent / "embed" / "widget.js").read_text(encoding="utf-8")
    assert f'var RELATED_LABEL = "{RELATED_LABEL}";' in widget


def test_errors_and_questions_render_as_text() -> None:
    error = render_error("<img src=x onerror=alert(1)>")
    assert 'class="rag-msg rag-error"' in error
    assert [t for t, _ in parse(error).tags] == ["div", "div", "p"]
    question = render_question("[x](javascript:alert(1)) <script>")
    assert [t for t, _ in parse(question).tags] == ["div"]
    assert "".join(parse(question).text) == "[x](javascript:alert(1)) <script>"


def test_partial_answer_shows_plain_chips_while_streaming() -> None:
    out = render_partial("First part. [1] Second")
    assert "rag-streaming" in out
    assert [t for t, _ in parse(out).tags] == ["div", "p", "span"]


def test_sources_are_grouped_by_document_in_document_order_and_lists_are_lists() -> None:
    doc_a = "The deal aimed to:\nRecognize Crimea\nFreeze the lines\nAid Ukraine"
    doc_b = "Another article entirely."
    spans = [(0, 18), (19, 35), (36, 52), (53, 64)]
    cites = [citation(n, s, e, doc_a) for n, (s, e) in enumerate(spans, 1)]
    cites[2], cites[3] = cites[3], cites[2]  # cited out of document order
    cites[2] = cites[2].model_copy(update={"n": 3})
    cites[3] = cites[3].model_copy(update={"n": 4})
    other = citation(5, 0, 7, doc_b).model_copy(update={"source": "news/b.txt", "title": "B"})
    text = (
        "The deal aimed to: [1] Recognize Crimea [2] Aid Ukraine [3] Freeze the lines [4] Also. [5]"
    )
    out = render_answer(
        Answer(question="q", answer=text, citations=[*cites, other]),
        {"news/a.txt": doc_a, "news/b.txt": doc_b},
    )
    assert out.count('class="rag-doc-title"') == 2  # one header per article, not per citation
    first_doc = out.split('class="rag-doc"')[1]
    numbers = re.findall(r"rag-cite rag-c\d\">\[(\d)\]", html.unescape(first_doc))
    assert numbers == ["1", "2", "4", "3"]  # the article's quotes in document order
    items = re.findall(r"<li>(.*?)</li>", out)
    assert len(items) == 4 and "Recognize Crimea" in html.unescape(items[0])
    assert "The deal aimed to:" in html.unescape(out.split("<ul")[0])


def test_short_answer_is_bold_only_when_it_is_its_span() -> None:
    document = "Talks collapsed on 23 April in London."
    quote = citation(1, 0, len(document), document)
    right = ShortAnswer(text="23 April", source="news/a.txt", start=19, end=27)
    wrong = right.model_copy(update={"text": "24 April"})
    for short, shown in ((right, True), (wrong, False)):
        answer = Answer(
            question="q", answer=document + " [1]", citations=[quote], short_answer=short
        )
        out = render_answer(answer, {"news/a.txt": document})
        assert ("<strong>" in out) is shown
        assert (f"<strong>{short.text}</strong>" in out) is shown


def test_a_bold_short_answer_is_not_repeated_as_the_answer_s_first_line() -> None:
    """The chain leads the answer text with the short answer ("23 April [1]", for `rag ask` and
    API readers); where it is shown in bold, that line is not shown a second time."""
    document = "Talks collapsed on 23 April in London."
    quote = citation(1, 0, len(document), document)
    short = ShortAnswer(text="23 April", source="news/a.txt", start=19, end=27)
    answer = Answer(
        question="When did the talks collapse?",
        answer=f"{short.lead()}{document} [1]",
        citations=[quote],
        short_answer=short,
    )
    out = render_answer(answer, {"news/a.txt": document})
    block = out.split('class="rag-text"')[1].split('class="rag-sources"')[0]
    text = html.unescape(re.sub(r"<[^>]*>", "", block))  # what is read, not the chips' titles
    assert "<strong>23 April</strong>" in out and text.count("23 April") == 1
    # Not shown in bold (not its span of the document): the line stays, nothing is lost.
    stale = answer.model_copy(update={"short_answer": short.model_copy(update={"start": 0})})
    out = render_answer(stale, {"news/a.txt": document})
    block = out.split('class="rag-text"')[1].split('class="rag-sources"')[0]
    assert "<strong>" not in out and re.sub(r"<[^>]*>", "", block).count("23 April") == 2
