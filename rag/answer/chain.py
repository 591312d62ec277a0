"""The question-answering chain: a LangChain Runnable from {"question", "history"} to Answer."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import (
    ensure_config,
    get_callback_manager_for_config,
    patch_config,
)

from rag.answer.extractive import (
    Extraction,
    cite,
    list_items,
    score_sentences,
    select_sentences,
    unsaid,
)
from rag.answer.followup import contextual_query, normalize_history
from rag.answer.generative import GroundingChecker, build_messages, declines
from rag.answer.learned import score_candidates, select_by_probability
from rag.answer.model_stream import LLMTimeout, stream_with_timeout
from rag.answer.question import clean_question, last_answer
from rag.answer.reading import READ_CHUNKS
from rag.answer.scorer import AnswerScorer, RefusalGate, rules_threshold
from rag.answer.short_answer import short_answer
from rag.models import FALLBACK_NOTICE, REFUSAL, Answer, Citation, RetrievedChunk
from rag.retrieval import HybridRetriever, Retrieval, lexical_index, retrieve_as_run
from rag.snapshot import Snapshot


def words(text: str) -> Iterator[Answer]:
    """Stream a finished text word by word."""
    for piece in re.findall(r"\S+\s*", text):
        yield Answer(answer=piece)


class AnswerChain(Runnable[dict[str, Any], Answer]):
    """Retrieve, pick the answering sentences, cite them; refuse when the evidence is weak.

    With a chat model, the model writes the answer from the same passages once the refusal gate
    has passed; its citations are checked, and any failure falls back to the extractive answer.
    """

    def __init__(
        self,
        retriever: HybridRetriever,
        refusal_threshold: float | None = None,
        max_sentences: int = 3,
        max_question_chars: int = 2000,
        max_history_turns: int = 20,
        max_history_chars: int = 4000,
        llm: BaseChatModel | None = None,
        llm_name: str = "",
        llm_timeout_s: float = 30.0,
        llm_total_s: float = 120.0,
        llm_passages: int = 5,
        scorer: AnswerScorer | None = None,
        refusal_gate: RefusalGate = "rules",
    ) -> None:
        self.retriever = retriever
        self.refusal_threshold = refusal_threshold
        self.max_sentences = max_sentences
        self.max_question_chars = max_question_chars
        self.max_history_turns = max_history_turns
        self.max_history_chars = max_history_chars
        self.llm = llm
        self.llm_name = llm_name
        self.llm_timeout_s = llm_timeout_s
        self.llm_total_s = llm_total_s
        self.llm_passages = llm_passages
        self.scorer = scorer  # None: the hand-weighted rules of rag/answer/extractive.py
        # Who decides to refuse when a scorer ranks: the rules' evidence score (measured better
        # on 2022 and the seed set, as good on 2023) or the scorer's calibrated confidence.
        self.refusal_gate = refusal_gate

    def threshold_for(self, snapshot: Snapshot) -> float:
        """The refusal threshold: the one given, else the learned scorer's own when it is the
        refusal gate, else the rules' for the index's size."""
        if self.refusal_threshold is not None:
            return self.refusal_threshold
        if self.scorer is not None and self.refusal_gate == "learned":
            return self.scorer.threshold
        return rules_threshold(snapshot.size)

    def invoke(
        self, input: dict[str, Any] | str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        answer = Answer()
        for chunk in self.stream(input, config, **kwargs):
            answer = answer + chunk
        return answer

    def stream(
        self, input: dict[str, Any] | str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Answer]:
        """Yield the retrieval first, then the answer text piece by piece, then the citations.

        One chain run for callbacks and tracing, with the retriever and the model as its
        children (`config` is passed on to both).
        """
        config = ensure_config(config)
        payload = {"question": input} if isinstance(input, str) else dict(input)
        run = get_callback_manager_for_config(config).on_chain_start(
            None,
            payload,
            name=config.get("run_name") or self.get_name(),
            run_id=config.pop("run_id", None),
        )
        child = patch_config(config, callbacks=run.get_child())
        answer = Answer()
        try:
            for chunk in self._answer(payload, child, **kwargs):
                answer = answer + chunk
                yield chunk
        except BaseException as err:  # GeneratorExit too: the reader stopped early
            run.on_chain_error(err)
            raise
        run.on_chain_end(answer)

    def _answer(
        self, payload: dict[str, Any], config: RunnableConfig, **kwargs: Any
    ) -> Iterator[Answer]:
        started = time.perf_counter()
        question = clean_question(payload.get("question"), self.max_question_chars)
        history = normalize_history(
            payload.get("history"), self.max_history_turns, self.max_history_chars
        )
        k = payload.get("k") or kwargs.get("k") or self.retriever.k
        query, context = contextual_query(question, history)
        # The learned scorer reads more chunks than the k it shows.
        read = max(int(k), READ_CHUNKS) if self.scorer is not None else int(k)
        retrieval = retrieve_as_run(self.retriever, query, read, config)
        retrieved_at = time.perf_counter()
        yield Answer(question=question, retrieved=retrieved_chunks(retrieval)[: int(k)])
        # A follow-up asks for something new: the sentences just quoted cannot answer it again.
        said = last_answer(history) if context else ""
        extraction = self._extract(question, context, retrieval, said, int(k))
        text, citations = REFUSAL, list[Citation]()
        short = None
        related = list[Citation]()
        if extraction.chosen and retrieval.snapshot is not None:
            text, citations = cite(extraction.chosen, retrieval.snapshot)
        elif retrieval.snapshot is not None:
            related = cite(extraction.related, retrieval.snapshot)[1]
        # Short answers ride with the learned scorer: under the rules, the first name in the
        # best sentence is the wrong span too often (measured on the seed set) to lead with.
        if citations and self.scorer is not None and retrieval.snapshot is not None:
            best = citations[0]
            short = short_answer(
                extraction.kind,
                question,
                best.source,
                retrieval.snapshot.document_text(best.source),
                best.start,
                best.end,
            )
            if short is not None:
                text = short.lead() + text
        answered_at = time.perf_counter()
        timings = {
            "retrieve": round((retrieved_at - started) * 1000, 2),
            "answer": round((answered_at - retrieved_at) * 1000, 2),
        }
        if self.llm is not None and citations:  # the gate passed: let the model write it
            extractive = Answer(answer=text, citations=citations, short_answer=short)
            yield from self._generate(
                question, history, retrieval, int(k), extractive, timings, config
            )
        else:
            yield from words(text)
            yield Answer(
                refused=not citations, citations=citations, short_answer=short, related=related
            )
        timings["total"] = round((time.perf_counter() - started) * 1000, 2)
        yield Answer(timings_ms=timings)

    def _extract(
        self,
        question: str,
        context: str,
        retrieval: Retrieval,
        already_said: str = "",
        k: int | None = None,
    ) -> Extraction:
        """The sentences that answer (none: a refusal); `k` chunks are shown (the retriever's k
        unless given), and a scorer reads more."""
        snapshot = retrieval.snapshot
        if snapshot is None or not retrieval.documents:
            return Extraction("other", [], 0.0)
        if self.scorer is not None and self.refusal_gate == "rules":
            # The rules decide whether the archive answers, over the chunks they read at k.
            gate = self._by_rules(question, context, retrieval, already_said, k)
            if (
                not gate.chosen
                or gate.kind in self.scorer.unseen_kinds
                or list_items(gate.chosen[0], gate.chosen[1:], snapshot)
            ):
                # A refusal; a question of a kind the scorer was never trained on (2022 has no
                # "Who is X?" nor why-question); or the rules' answer is a list the document
                # introduces ("The deal aimed to:" and its items): the rules' sentences answer.
                return gate
        if self.scorer is not None:
            kind, scored = score_candidates(
                self.scorer,
                question,
                context,
                retrieval.query_vector,
                retrieval.documents,
                snapshot,
            )
            if already_said:
                scored = scored.subset(unsaid(scored.candidates, already_said))
            if self.refusal_gate == "rules":
                best = select_by_probability(kind, scored, snapshot, -math.inf, self.max_sentences)
                return Extraction(kind, best.chosen, gate.evidence)
            return select_by_probability(
                kind, scored, snapshot, self.threshold_for(snapshot), self.max_sentences
            )
        return self._by_rules(question, context, retrieval, already_said, k)

    def _by_rules(
        self,
        question: str,
        context: str,
        retrieval: Retrieval,
        already_said: str,
        k: int | None,
    ) -> Extraction:
        """The hand-weighted rules' extraction from the chunks shown at k and those moved out."""
        assert retrieval.snapshot is not None
        kind, candidates = score_sentences(
            question,
            context,
            retrieval.query_vector,
            retrieval.top(k or self.retriever.k),
            retrieval.snapshot,
        )
        if already_said:
            candidates = [candidates[i] for i in unsaid(candidates, already_said)]
        threshold = self.threshold_for(retrieval.snapshot)
        return select_sentences(kind, candidates, retrieval.snapshot, threshold, self.max_sentences)

    def _generate(
        self,
        question: str,
        history: list[dict[str, str]],
        retrieval: Retrieval,
        k: int,
        fallback: Answer,
        timings: dict[str, float],
        config: RunnableConfig | None = None,
    ) -> Iterator[Answer]:
        """The model's answer with checked citations, or the extractive `fallback` with a notice.

        The model reads the top passages among the `k` the answer shows, not the further chunks
        a scorer read.
        """
        assert self.llm is not None and retrieval.snapshot is not None
        passages = retrieval.documents[: min(k, self.llm_passages)]
        checker = GroundingChecker(
            passages,
            retrieval.snapshot,
            self.retriever.store.embeddings,
            lexical_index(retrieval.snapshot),
            question=question,
        )
        messages = build_messages(question, history, passages)
        started = time.perf_counter()
        first_piece_at: float | None = None
        pieces = 0
        failure = ""
        written = ""  # the model's own words, before any check
        try:
            for piece in stream_with_timeout(
                self.llm, messages, self.llm_timeout_s, self.llm_total_s, config
            ):
                pieces += 1
                written += piece
                first_piece_at = first_piece_at or time.perf_counter()
                shown = checker.feed(piece)
                if shown:
                    yield Answer(answer=shown)
        except LLMTimeout as err:
            failure = f"timeout: {err}"
        except Exception as err:  # connection refused, provider errors, bad responses
            failure = f"{type(err).__name__}: {str(err)[:200]}"
        tail = checker.finish() if not failure else ""
        if tail:
            yield Answer(answer=tail)
        elapsed = time.perf_counter() - started
        stats: dict[str, Any] = {
            "model": self.llm_name,
            "pieces": pieces,
            "citations_removed": checker.removed,
            "citations_added": checker.added,
            "sentences_unsupported": checker.unsupported,
        }
        if first_piece_at is not None:
            stats["ttft_ms"] = round((first_piece_at - started) * 1000, 1)
            stats["pieces_per_s"] = round(pieces / max(elapsed, 1e-6), 2)
        timings["llm"] = round(elapsed * 1000, 2)
        if not checker.citations and not failure and declines(written):
            # The model read the passages and found no answer: that is a refusal, not a fault.
            stats["declined"] = True
            # What the extractive answer would have quoted is listed as related, not as an answer.
            related = fallback.citations
            yield Answer(reset=True, answer=REFUSAL, refused=True, related=related, llm=stats)
            return
        if not checker.citations:  # nothing grounded (or nothing at all): show the passages
            stats["fallback"] = failure or "no supported sentence in the model's answer"
            yield Answer(reset=True, notice=FALLBACK_NOTICE, llm=stats)
            yield from words(fallback.answer)
            yield Answer(citations=fallback.citations, short_answer=fallback.short_answer)
            return
        verified = checker.verified_text()
        if checker.unsupported or " ".join(checker.text.split()) != verified:
            # Replace the streamed text by its verified sentences: every sentence cites.
            yield Answer(reset=True, answer=verified)
        notice = ""
        if failure:
            stats["failure"] = failure
            notice = "The language model stopped early; the answer may be incomplete."
        yield Answer(citations=checker.citations, notice=notice, llm=stats)


def retrieved_chunks(retrieval: Retrieval) -> list[RetrievedChunk]:
    """The ranked chunks as they appear in answers and reports."""
    return [
        RetrievedChunk(
            chunk_id=d.metadata["chunk_id"],
            source=d.metadata["source"],
            start=d.metadata["start"],
            end=d.metadata["end"],
            score=round(float(d.metadata["score"]), 6),
        )
        for d in retrieval.documents
    ]
