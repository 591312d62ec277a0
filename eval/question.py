"""A question of an evaluation set: its fields, RAGAS names for them, and their checks."""

from __future__ import annotations

from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

ALIASES = {"user_input": "question", "ground_truth": "reference"}
ROLES = {"user", "assistant", "system"}
TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0"}


class Question(BaseModel):
    """One question of a set, with what a right answer looks like (RAGAS names accepted)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    question: str = Field(
        "", validation_alias=AliasChoices("question", "user_input"), validate_default=True
    )
    reference: str | None = Field(None, validation_alias=AliasChoices("reference", "ground_truth"))
    reference_contexts: list[str] = Field(default_factory=list)
    reference_sources: list[str] = Field(default_factory=list)
    answerable: bool = True
    history: list[dict[str, str]] = Field(default_factory=list)
    must_include: list[list[str]] = Field(default_factory=list)
    # From `rag feedback export`: a 👎 question whose right answer nobody has written down yet.
    needs_reference: bool = False
    feedback: dict[str, Any] | None = None  # what the user said (rating, comment, answer seen)
    origin: str = ""  # "file, line n": where to point a person when this question is wrong

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            raise problem("must be a non-empty string or number")
        return str(value).strip()

    @field_validator("question", mode="before")
    @classmethod
    def _question(cls, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise problem("missing or empty (also accepted as 'user_input')")
        return value

    @field_validator("reference", mode="before")
    @classmethod
    def _reference(cls, value: Any) -> str | None:
        if value is not None and not isinstance(value, str):
            raise problem("must be a string")
        return (value.strip() or None) if isinstance(value, str) else None

    @field_validator("reference_contexts", "reference_sources", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise problem("must be a list of non-empty strings")
        return list(value)

    @field_validator("answerable", "needs_reference", mode="before")
    @classmethod
    def _boolean(cls, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        raise problem(f"must be true or false, got {value!r}")

    @field_validator("history", mode="before")
    @classmethod
    def _history(cls, value: Any) -> list[dict[str, str]]:
        if not isinstance(value, list):
            raise problem('must be a list of {"role", "content"} messages')
        for number, turn in enumerate(value, 1):
            if (
                not isinstance(turn, dict)
                or turn.get("role") not in ROLES
                or not isinstance(turn.get("content"), str)
            ):
                raise problem(
                    f'message {number} must be {{"role": user|assistant|system, "content": text}}'
                )
        return [{"role": turn["role"], "content": turn["content"]} for turn in value]

    @field_validator("must_include", mode="before")
    @classmethod
    def _groups(cls, value: Any, info: ValidationInfo) -> list[list[str]]:
        """A list of groups of alternatives; a bare string is a group of one."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise problem("must be a list of groups, each a list of alternative strings")
        groups = []
        for number, group in enumerate(value, 1):
            alternatives = [group] if isinstance(group, str) else group
            if (
                not isinstance(alternatives, list)
                or not alternatives
                or not all(isinstance(a, str) and a.strip() for a in alternatives)
            ):
                raise problem(f"group {number} must be a non-empty list of non-empty strings")
            groups.append([a.strip() for a in alternatives])
        if groups and not info.data.get("answerable", True):
            raise problem("an unanswerable question cannot require facts in its answer")
        return groups

    @model_validator(mode="after")
    def _reference_written(self) -> Question:
        if self.needs_reference and (
            self.reference
            or self.reference_contexts
            or self.reference_sources
            or self.must_include
            or not self.answerable
        ):
            raise problem(
                "remove 'needs_reference' once the question has its reference, "
                "must_include, sources or answerable: false"
            )
        return self

    def expected(self) -> dict[str, Any]:
        """What the question file says a right answer contains."""
        return {
            "reference": self.reference,
            "must_include": self.must_include,
            "reference_contexts": self.reference_contexts,
            "reference_sources": self.reference_sources,
        }


def problem(message: str) -> PydanticCustomError:
    """A validation error whose message is exactly `message` (no pydantic prefix)."""
    return PydanticCustomError("question_set", message)


FIELDS = tuple(name for name in Question.model_fields if name != "origin")
