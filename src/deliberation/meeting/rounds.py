"""The facilitator's round controls and the meeting's status, for the command line."""

from __future__ import annotations

from pathlib import Path

from ..journal.events import ROUND_STEPS
from ..journal.store import Store, StoreState, shown_url
from ..review.model import Review


def open_store(review_dir: Path | str, url: str | None = None) -> Store:
    """The store of the review in ``review_dir`` (its SQLite file unless ``url``)."""
    path = Path(review_dir)
    if path.is_dir():
        path = path / "review.json"
    return Store(path, url)


def step_round(store: Store, action: str, *, actor: str = "facilitator (command line)"
               ) -> StoreState:
    """Reveal, hide or open the next round: one event, as the console's buttons do."""
    if action not in ROUND_STEPS:
        raise ValueError(f"expected one of {', '.join(ROUND_STEPS)}, got {action!r}")
    store.open()
    outcome = store.commit(lambda _: (action, {}), actor=actor)
    return store.state() if outcome is None else outcome.state


def status_lines(store: Store, state: StoreState) -> list[str]:
    """Round, who entered what this round (no numbers), and the log's size and hash."""
    review: Review = state.review
    rounds = review.rounds()
    entered = {p.id: 0 for p in review.participants}
    for estimate in review.estimates:
        if estimate.round == rounds.round and estimate.participant in entered:
            entered[estimate.participant] += 1
    lines = [f"{review.title}",
             f"round {rounds.round}: {'revealed' if rounds.open_revealed else 'blind'}",
             *(f"  {pid}: {count} of {len(review.items)} items estimated this round"
               for pid, count in entered.items()),
             f"store: {shown_url(store.url)}",
             f"event log: {state.n} events, sha256 {state.chain}"]
    return lines
