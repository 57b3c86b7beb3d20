"""The meeting: one review on every participant's own device.

- :mod:`.events`: what each event does to a review (a pure fold).
- :mod:`.store`: the append-only event log (SQLAlchemy: SQLite or PostgreSQL) and
  the review.json it keeps current.
- :mod:`.views`: what each person may see (blinding is decided here, once).
- :mod:`.server`: the HTTP and websocket server, the private links.
- :mod:`.page`: the participant's and the facilitator's pages.
"""
