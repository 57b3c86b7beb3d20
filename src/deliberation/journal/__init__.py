"""The journal: a review's append-only log of changes (events), and the store that keeps it.

Below the workbook and the meeting server, which both write through it: the store is
the truth during a meeting, and review.json is rewritten from it after every event.
"""
