"""Question-set loading: JSONL, CSV, RAGAS aliases, and errors that name file, line and field."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from rag.evaluation.dataset import QuestionSetError, load_questions


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, *rows: object) -> Path:
    return write(path, "".join(json.dumps(row) + "\n" for row in rows))


def test_jsonl_with_every_field(tmp_path: Path) -> None:
    row = {
        "id": 7,
        "question": "What was he lining up support for?",
        "reference": "A 30-day freeze.",
        "reference_contexts": ["Witkoff spent days lining up support for a 30-day freeze"],
        "reference_sources": ["a.txt"],
        "answerable": True,
        "history": [{"role": "user", "content": "Who is Witkoff?"}],
        "must_include": [["30-day", "thirty-day"], "freeze"],
    }
    (question,) = load_questions(jsonl(tmp_path / "q.jsonl", row))
    assert question.id == "7" and question.question == row["question"]
    assert question.reference == "A 30-day freeze." and question.reference_sources == ["a.txt"]
    assert question.history == [{"role": "user", "content": "Who is Witkoff?"}]
    assert question.must_include == [["30-day", "thirty-day"], ["freeze"]]
    assert question.origin == f"{tmp_path / 'q.jsonl'}, line 1"


def test_defaults_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", '\n{"question": "Who?"}\n\n{"question": "Why?"}\n')
    first, second = load_questions(path)
    assert (first.id, second.id) == ("line-2", "line-4")
    assert first.answerable and first.history == [] and first.reference is None


def test_ragas_field_names_are_aliases(tmp_path: Path) -> None:
    row = {
        "user_input": "Who withdrew?",
        "ground_truth": "Rubio and Witkoff.",
        "reference_contexts": ["passage"],
        "response": "an earlier run's answer",  # a RAGAS export's run fields are ignored
        "retrieved_contexts": ["x"],
    }
    (question,) = load_questions(jsonl(tmp_path / "ragas.jsonl", row))
    assert question.question == "Who withdrew?" and question.reference == "Rubio and Witkoff."
    assert question.reference_contexts == ["passage"]


def test_alias_conflicting_with_its_field(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "q.jsonl", {"question": "Who?", "user_input": "Why?"})
    with pytest.raises(QuestionSetError, match=r"line 1, field 'user_input': conflicts"):
        load_questions(path)


def test_csv_with_lists_and_simple_syntax(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.csv",
        "id,user_input,reference,reference_contexts,reference_sources,answerable,must_include\n"
        'a,Who withdrew?,Rubio.,"[""p1"", ""p2""]",one.txt; two.txt,yes,"Rubio; reject|refused"\n'
        'b,"A question\nover two lines?",,,,no,\n'
        'c,Plain passage?,,"Just one, passage.",,,"[[""x"", ""y""]]"\n',
    )
    a, b, c = load_questions(path)
    assert a.reference_contexts == ["p1", "p2"] and a.reference_sources == ["one.txt", "two.txt"]
    assert a.must_include == [["Rubio"], ["reject", "refused"]] and a.answerable
    assert b.question == "A question\nover two lines?" and not b.answerable and b.reference is None
    assert c.reference_contexts == ["Just one, passage."] and c.must_include == [["x", "y"]]
    assert [q.origin[-6:] for q in (a, b, c)] == ["line 2", "line 3", "line 5"]  # b spans 3-4


def test_csv_error_names_the_record_start_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.csv",
        'id,question,answerable\na,"Two\nlines?",true\nb,Next?,maybe\n',
    )
    with pytest.raises(QuestionSetError) as err:
        load_questions(path)
    assert str(err.value) == (
        f"{path}, line 4, field 'answerable': must be true or false, got 'maybe'"
    )


def test_malformed_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", '{"question": "Fine?"}\n{"question": "Broken?",}\n')
    with pytest.raises(QuestionSetError, match=r"q\.jsonl, line 2: not valid JSON"):
        load_questions(path)


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        ({"id": "x"}, "question", "missing or empty"),
        ({"question": "  "}, "question", "missing or empty"),
        ({"question": "Q?", "must_include": [["ok"], []]}, "must_include", "group 2"),
        ({"question": "Q?", "must_include": 5}, "must_include", "list of groups"),
        ({"question": "Q?", "reference_contexts": [1]}, "reference_contexts", "non-empty strings"),
        ({"question": "Q?", "reference": ["a"]}, "reference", "must be a string"),
        ({"question": "Q?", "answerable": "perhaps"}, "answerable", "true or false"),
        ({"question": "Q?", "history": [{"role": "bot", "content": "x"}]}, "history", "message 1"),
        ({"question": "Q?", "history": "earlier"}, "history", "list of"),
        ({"question": "Q?", "id": ""}, "id", "non-empty"),
        (
            {"question": "Q?", "answerable": False, "must_include": ["x"]},
            "must_include",
            "unanswerable",
        ),
    ],
)
def test_bad_field_names_file_line_and_field(
    tmp_path: Path, row: dict[str, object], field: str, problem: str
) -> None:
    path = jsonl(tmp_path / "set.jsonl", {"question": "A good one?"}, row)
    with pytest.raises(QuestionSetError) as err:
        load_questions(path)
    message = str(err.value)
    assert message.startswith(f"{path}, line 2, field '{field}': ") and problem in message


def test_duplicate_ids(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "q.jsonl", {"id": "a", "question": "1?"}, {"id": "a", "question": "2?"})
    with pytest.raises(
        QuestionSetError, match=r"line 2, field 'id': duplicate id 'a' \(first on line 1\)"
    ):
        load_questions(path)


def test_not_an_object_empty_missing_and_unsupported(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match="line 1: expected a JSON object, got list"):
        load_questions(write(tmp_path / "list.jsonl", '["Who?"]\n'))
    with pytest.raises(QuestionSetError, match="no questions found"):
        load_questions(write(tmp_path / "empty.jsonl", "\n\n"))
    with pytest.raises(QuestionSetError, match="cannot read question file"):
        load_questions(tmp_path / "missing.jsonl")
    with pytest.raises(QuestionSetError, match=r"use \.jsonl or \.csv"):
        load_questions(write(tmp_path / "q.txt", "Who?"))


def test_unknown_field_warns_with_a_suggestion(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = jsonl(
        tmp_path / "q.jsonl",
        {"question": "Q?", "must_inclde": ["x"]},
        {"question": "R?", "must_inclde": ["y"]},
    )
    with caplog.at_level(logging.WARNING, logger="eval"):
        (first, _) = load_questions(path)
    assert first.must_include == []
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1  # once per field name, not per line
    assert (
        "line 1: ignoring unknown field 'must_inclde' (did you mean 'must_include'?)" in warnings[0]
    )
