"""Soft removal: an item, mitigation or variant taken out of a review keeps its history.

A removed entry leaves its list (``items``, ``mitigations`` or ``variants``) for the
review's ``removed`` list, whole: the entry as it was and where it stood, an item's
estimates of every round (with their places) and every link to it (the mitigations
that targeted an item, the variants that held a mitigation). So the analysis, the
policy and every view, which read only those lists, see the review exactly as if the
entry were gone, and so does any pipeline reading review.json; :func:`restore` puts
everything back where it was.

Both functions change plain review data (parsed JSON) in place, as a workbook edit
does, and raise ValueError in plain words when the change cannot be made.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

Kind = Literal["item", "mitigation", "variant"]
LISTS: dict[str, str] = {"item": "items", "mitigation": "mitigations", "variant": "variants"}


def named(kind: str, entry: dict[str, Any]) -> str:
    """How a message names an entry: its kind and title, "mitigation 'Staged release'"."""
    word = entry.get("kind", kind) if kind == "item" else kind
    return f"{word} {entry.get('title', entry.get('id'))!r}"


def removed_of(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The removed entries of one kind, as they were, latest removal last."""
    return [gone[kind] for gone in data.get("removed", []) if kind in gone]


def taken_ids(data: dict[str, Any], kind: str) -> list[str]:
    """Ids a new entry may not take: those in use and those of removed entries."""
    return [e["id"] for e in data.get(LISTS[kind], [])] + [
        e["id"] for e in removed_of(data, kind)]


def remove(data: dict[str, Any], kind: Kind, entry_id: str, *,
           at: datetime | None = None) -> None:
    """Move the entry to ``removed`` with its estimates and links (see the module)."""
    entries = data.get(LISTS[kind], [])
    position = next((n for n, e in enumerate(entries) if e["id"] == entry_id), None)
    if position is None:
        raise ValueError(f"{kind} {entry_id!r} was removed meanwhile")
    entry = entries[position]
    # In the words review.json is written in (whole seconds, "Z"), so the data a change
    # returns is the data saved.
    when = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    gone: dict[str, Any] = {"at": when, "position": position, kind: entry}
    links: list[dict[str, Any]] = []
    if kind == "item":
        for mitigation in data.get("mitigations", []):  # refused before anything changes
            if mitigation["targets"] == [entry_id]:
                raise ValueError(f"{named('mitigation', mitigation)} targets only this "
                                 f"{entry['kind']}: remove or retarget the mitigation first")
        for mitigation in data.get("mitigations", []):
            if entry_id not in mitigation["targets"]:
                continue
            links.append({"mitigation": mitigation["id"],
                          "position": mitigation["targets"].index(entry_id)})
            mitigation["targets"] = [t for t in mitigation["targets"] if t != entry_id]
        estimates = data.get("estimates", [])
        kept = [n for n, e in enumerate(estimates) if e["item"] == entry_id]
        if kept:
            gone["estimates"] = [estimates[n] for n in kept]
            gone["estimate_positions"] = kept
            data["estimates"] = [e for e in estimates if e["item"] != entry_id]
    elif kind == "mitigation":
        for variant in data.get("variants", []):
            held = variant.get("mitigations", [])
            if entry_id in held:
                links.append({"variant": variant["id"], "position": held.index(entry_id)})
                variant["mitigations"] = [m for m in held if m != entry_id]
    else:
        decision = data.get("decision") or {}
        if decision.get("variant") == entry_id:
            raise ValueError(f"the decision chose {named('variant', entry)}: change the "
                             "decision first")
    if links:
        gone["links"] = links
    data[LISTS[kind]] = entries[:position] + entries[position + 1:]
    data.setdefault("removed", []).append(gone)


def restore(data: dict[str, Any], kind: Kind, entry_id: str) -> None:
    """Put a removed entry back where it stood, with its estimates and links."""
    removed = data.get("removed", [])
    index = next((n for n in range(len(removed) - 1, -1, -1)
                  if removed[n].get(kind, {}).get("id") == entry_id), None)
    if index is None:
        raise ValueError(f"{kind} {entry_id!r} is not among the removed ones")
    gone = removed[index]
    needs = {"mitigation": ("targets", "item"), "variant": ("mitigations", "mitigation")}
    if kind in needs:
        key, needed = needs[kind]
        for gone_needed in removed_of(data, needed):
            if gone_needed["id"] in gone[kind].get(key, []):
                raise ValueError(f"restore {named(needed, gone_needed)} first: "
                                 f"{named(kind, gone[kind])} holds it")
    entries = data.setdefault(LISTS[kind], [])
    if any(e["id"] == entry_id for e in entries):
        raise ValueError(f"a {kind} with the id {entry_id!r} exists already")
    entries.insert(min(gone.get("position", len(entries)), len(entries)), gone[kind])
    estimates = data.setdefault("estimates", [])
    for position, estimate in zip(gone.get("estimate_positions", []), gone.get("estimates", []),
                                  strict=False):
        estimates.insert(min(position, len(estimates)), estimate)
    # Links are put back into the holders whether they are in use or removed themselves.
    holders = {(k, e["id"]): e for k in ("mitigation", "variant")
               for e in data.get(LISTS[k], []) + removed_of(data, k)}
    for link in gone.get("links", []):
        holder_kind = "mitigation" if "mitigation" in link else "variant"
        holder = holders.get((holder_kind, link[holder_kind]))
        if holder is None:
            continue  # the holder was deleted outright since; nothing to link back to
        key = "targets" if holder_kind == "mitigation" else "mitigations"
        held = holder.setdefault(key, [])
        if entry_id not in held:
            held.insert(min(link.get("position", len(held)), len(held)), entry_id)
    del removed[index]
    if not removed:
        del data["removed"]
