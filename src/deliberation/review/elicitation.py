"""The blind (Delphi) rounds of an elicitation: which round is open, which are revealed.

Expert-elicitation practice (IDEA, SHELF, Delphi) has each estimate of a round made
independently and kept private until the facilitator reveals the round. This is that
state as the review stores it (``review.json``'s ``elicitation``), with the transitions
the workbook, the meeting server and ``deliberation meeting`` apply to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=True)


class Elicitation(_Model):
    """The blind (Delphi) rounds: which round is open, and which rounds are revealed.

    While ``blind``, the estimates of a round not in ``revealed`` are private: each
    participant sees only their own, and no view shows them by participant. The pooled
    numbers use every participant's latest round, revealed or not.
    """

    round: int = Field(default=1, ge=1)
    blind: bool = True
    revealed: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)

    @field_validator("revealed", mode="before")
    @classmethod
    def _legacy_flag(cls, value: Any, info: ValidationInfo) -> Any:
        # Workbooks before 0.2 wrote ``"revealed": true|false`` for the open round only;
        # earlier rounds were shown.
        if isinstance(value, bool):
            current = int(info.data.get("round", 1))
            return list(range(1, current + (1 if value else 0)))
        return value

    def hidden(self, round_: int) -> bool:
        """Whether estimates of ``round_`` are private to their participant."""
        return self.blind and round_ not in self.revealed

    @property
    def open_revealed(self) -> bool:
        """Whether the open round's estimates are shown to everyone."""
        return not self.hidden(self.round)

    @classmethod
    def implied(cls, estimate_rounds: Iterable[int]) -> Elicitation:
        """The state of a review that has none: it carries on from its latest round, and
        everything already in the file is revealed (it was typed in the open)."""
        rounds = sorted(set(estimate_rounds))
        return cls(round=rounds[-1] if rounds else 1, revealed=rounds)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Elicitation:
        """The state of review data (a dict as in review.json), stored or implied."""
        stored = data.get("elicitation")
        if isinstance(stored, Mapping):
            return cls.model_validate(stored)
        return cls.implied(int(e.get("round", 1)) for e in data.get("estimates", []))

    def reveal(self) -> Elicitation:
        """The open round's estimates shown to everyone."""
        return self.model_copy(update={"revealed": sorted({*self.revealed, self.round})})

    def hide(self) -> Elicitation:
        """The open round's estimates private again (a blind round)."""
        return self.model_copy(update={
            "blind": True, "revealed": [r for r in self.revealed if r != self.round]})

    def next_round(self) -> Elicitation:
        """A new blind round opens; earlier rounds keep their state."""
        return self.model_copy(update={"round": self.round + 1})

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
