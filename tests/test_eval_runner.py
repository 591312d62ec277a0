"""The evaluation runner on a small corpus built in a tmp dir, through the real chain and index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rag.answer.scorer import rules_threshold
from rag.app import Pipeline
from rag.evaluation.dataset import QuestionSetError, load_questions
from rag.evaluation.report_md import render_markdown
from rag.evaluation.runner import run_questions
from rag.evaluation.summary import METRICS
from tests.conftest import MakePipeline

HARBOUR = """Elmsworth Opens Its New Harbour Bridge
The town of Elmsworth opened its new harbour bridge on Saturday after four years of building work.
The bridge is 412 metres long and carries two lanes of traffic and a cycle path.
Engineers from the firm Halden & Roe designed the steel arch, which rises 38 metres above the water.
The old ferry service, which ran for ninety years, will stop at the end of the month.
Local shop owners said they expect more visitors from the northern villages.
The council paid for most of the project with a regional grant and a local bond.
Traffic on the coast road fell by a third in the first weekend, according to early counts.
"""

ORCHARD = """Kestrel Valley Orchard Festival Crowns a New Apple
The Kestrel Valley orchard festival ended on Sunday with a surprise winner.
A small family farm took the top prize with an apple variety called Morrow Gold.
The festival was first organised in 1987 by the valley's growers' cooperative.
Mayor Ilse Varga opened this year's festival and praised the volunteers.
More than six thousand visitors tasted cider, pressed juice and apple cake over the weekend.
Judges said the Morrow Gold apple was crisp, sweet and unusually late to ripen.
"""

COUNCIL = """Council Approves Library Hours
The town council approved longer opening hours for the public library on Tuesday.
From next month the library will open at eight in the morning on weekdays.
Councillors also agreed to replace the roof of the reading room before winter.
"""

QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "bridge-length",
        "question": "How long is the new harbour bridge in Elmsworth?",
        "reference": "The bridge is 412 metres long.",
        "reference_contexts": [
            "The bridge is 412 metres long and carries two lanes of traffic and a cycle path."
        ],
        "must_include": [["412"]],
    },
    {
        "id": "apple-winner",
        "question": "Which apple variety won the top prize at the Kestrel Valley festival?",
        "reference": "An apple variety called Morrow Gold won the top prize.",
        "reference_sources": ["orchard.md"],  # stored as reports/orchard.md: a suffix is enough
        "must_include": [["Morrow Gold"]],
    },
    {
        "id": "festival-founded",
        "question": "When was it first organised?",
        "history": [
            {"role": "user", "content": "Who opened the Kestrel Valley orchard festival?"},
            {"role": "assistant", "content": "Mayor Ilse Varga opened it."},
        ],
        "reference_contexts": [
            "The festival was first organised in 1987 by the valley's growers' cooperative."
        ],
        "must_include": [["1987"]],
    },
    {"id": "mars", "question": "What is the population of Mars?", "answerable": False},
]


def write_corpus(root: Path) -> Path:
    """Three short articles, one in a subfolder; returns the docs folder."""
    docs = root / "docs"
    (docs / "reports").mkdir(parents=True)
    (docs / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    (docs / "reports" / "orchard.md").write_text(ORCHARD, encoding="utf-8")
    (docs / "council.txt").write_text(COUNCIL, encoding="utf-8")
    return docs


def write_questions(path: Path, rows: list[dict[str, Any]] = QUESTIONS) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def small_pipeline(tmp_path: Path, make_pipeline: MakePipeline) -> Pipeline:
    pipeline = make_pipeline(write_corpus(tmp_path), chunk_chars=200)
    pipeline.ingest()
    return pipeline


def test_runner_scores_every_question_through_the_chain(
    small_pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = load_questions(write_questions(tmp_path / "q.jsonl"))
    calls: list[dict[str, Any]] = []
    real_invoke = small_pipeline.chain.invoke

    def spy(payload: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(payload)
        return real_invoke(payload, *args, **kwargs)

    monkeypatch.setattr(small_pipeline.chain, "invoke", spy)
    seen: list[str] = []
    report = run_questions(small_pipeline, questions, k=3, on_answer=lambda q: seen.append(q.id))

    assert seen == [q["id"] for q in QUESTIONS]
    assert [c["question"] for c in calls] == [q["question"] for q in QUESTIONS]
    assert calls[2]["history"] == QUESTIONS[2]["history"] and all(c["k"] == 3 for c in calls)
    assert set(report) == {"metrics", "config", "per_question"}
    assert set(report["metrics"]) == set(METRICS)
    assert report["config"]["documents"] == 3 and report["config"]["k"] == 3
    # What answered, as the answers were given: by default the learned scorer ranks and the
    # rules decide to refuse, at the rules' threshold for this index.
    config = report["config"]
    assert (config["answer_scorer"], config["refusal_gate"]) == ("learned", "rules")
    assert config["refusal_threshold"] == round(rules_threshold(config["chunks"]), 4)
    assert "ranked by learned · refusal gate rules at " in render_markdown(report)

    by_id = {q["id"]: q for q in report["per_question"]}
    apple = by_id["apple-winner"]
    # the gold source is the second document, named by a path suffix
    assert apple["retrieved"][0]["source"] == "reports/orchard.md"
    assert apple["first_relevant_rank"] == 1 and apple["scores"]["hit@1"] == 1.0
    assert apple["gold_spans"] == [] and apple["scores"]["context_recall"] == 1.0
    follow_up = by_id["festival-founded"]
    assert {s["source"] for s in follow_up["gold_spans"]} == {"reports/orchard.md"}
    text = (tmp_path / "docs" / "reports" / "orchard.md").read_text(encoding="utf-8")
    span = follow_up["gold_spans"][0]
    assert text[span["start"] : span["end"]] == QUESTIONS[2]["reference_contexts"][0]
    assert follow_up["first_relevant_rank"] is not None
    assert by_id["bridge-length"]["retrieved"][0]["source"] == "harbour.txt"


def test_per_question_records_agree_with_the_answers(
    small_pipeline: Pipeline, tmp_path: Path
) -> None:
    questions = load_questions(write_questions(tmp_path / "q.jsonl"))
    report = run_questions(small_pipeline, questions, k=3)
    for record in report["per_question"]:
        scores = record["scores"]
        assert record["latency_ms"] > 0 and len(record["retrieved"]) == 3
        for citation in record["citations"]:
            source = tmp_path / "docs" / citation["source"]
            quote = source.read_text(encoding="utf-8")[citation["start"] : citation["end"]]
            assert quote == citation["quote"]
        if record["citations"]:
            assert scores["citation_validity"] == 1.0
        if record["answerable"]:
            assert scores["false_refusal_rate"] == float(record["refused"])
            assert scores["refusal_accuracy"] is None
            assert scores["hit@1"] <= scores["hit@3"] <= scores["hit@k"]
            found = scores["must_include"] == 1.0
            assert found == (not record["refused"] and not record["missing"])
        else:
            assert scores["refusal_accuracy"] == float(record["refused"])
            assert scores["hit@1"] is None and scores["must_include"] is None
        assert record["passed"] == (not record["failures"])
    # both branches above ran, and the citation checks had citations to check
    assert [r["answerable"] for r in report["per_question"]] == [True, True, True, False]
    assert sum(bool(r["citations"]) for r in report["per_question"]) >= 2
    answered = [r for r in report["per_question"] if r["answerable"] and not r["refused"]]
    metric = report["metrics"]["false_refusal_rate"]
    assert metric == pytest.approx(1 - len(answered) / 3, abs=1e-4)


def test_deeper_ranking_counts_for_hit_at_3_and_mrr_when_k_is_1(
    small_pipeline: Pipeline, tmp_path: Path
) -> None:
    questions = load_questions(write_questions(tmp_path / "q.jsonl"))
    report = run_questions(small_pipeline, questions, k=1)
    ranked = {}
    for record in report["per_question"]:
        assert len(record["retrieved"]) == 1
        rank = record["first_relevant_rank"]
        if record["answerable"] and rank is not None:
            ranked[record["id"]] = rank
            assert record["scores"]["hit@k"] == float(rank == 1)
            assert record["scores"]["hit@3"] == float(rank <= 3)
            assert record["scores"]["mrr@10"] == pytest.approx(1 / rank, abs=1e-4)
    # Every answerable question has its gold passage within depth 10, and at least one only
    # below the single answer chunk: the case this test is about (hit@3 and MRR from the deeper
    # ranking, not from the k=1 answer chunks). The served order puts each article's first chunk
    # before any second one, so the festival's founding (its article's second chunk) ranks 4th.
    assert sorted(ranked) == ["apple-winner", "bridge-length", "festival-founded"]
    assert any(rank > 1 for rank in ranked.values()), ranked


def test_unknown_gold_source_is_an_input_error(small_pipeline: Pipeline, tmp_path: Path) -> None:
    rows = [{"id": "x", "question": "Where is the bridge?", "reference_sources": ["bridges.txt"]}]
    questions = load_questions(write_questions(tmp_path / "bad.jsonl", rows))
    with pytest.raises(QuestionSetError, match=r"bad\.jsonl, line 1, field 'reference_sources'"):
        run_questions(small_pipeline, questions)


def test_too_long_question_names_its_line(small_pipeline: Pipeline, tmp_path: Path) -> None:
    rows = [QUESTIONS[0], {"id": "long", "question": "why " * 600}]
    questions = load_questions(write_questions(tmp_path / "long.jsonl", rows))
    with pytest.raises(
        QuestionSetError, match=r"long\.jsonl, line 2, field 'question': .*too long"
    ):
        run_questions(small_pipeline, questions)


@pytest.mark.parametrize(
    ("scorer", "gate", "recorded"),
    [("rules", "learned", ("rules", "rules")), ("learned", "learned", ("learned", "learned"))],
)
def test_the_report_records_the_effective_ranking_and_refusal_gate(
    make_pipeline: MakePipeline, tmp_path: Path, scorer: str, gate: str, recorded: tuple[str, str]
) -> None:
    """Without the learned scorer the rules decide to refuse, whatever RAG_REFUSAL_GATE says."""
    pipeline = make_pipeline(write_corpus(tmp_path), answer_scorer=scorer, refusal_gate=gate)
    pipeline.ingest()
    questions = load_questions(write_questions(tmp_path / "q.jsonl", QUESTIONS[-1:]))
    config = run_questions(pipeline, questions)["config"]
    assert (config["answer_scorer"], config["refusal_gate"]) == recorded
    assert config["refusal_threshold"] == round(
        pipeline.chain.threshold_for(pipeline.store.require_snapshot()), 4
    )
