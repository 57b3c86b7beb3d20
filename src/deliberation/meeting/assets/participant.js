// A participant's page: their own estimates of each item for the open round.
"use strict";

const rows = new Map();     // item id -> {section, inputs, status, ...}
const pending = new Map();  // message id -> {message, item}: sent, not yet acknowledged
let state = null;
const NAMES = { likelihood: "likelihood of ", impact: "impact of ", rationale: "rationale for " };

const socket = meetingSocket(render, answer, (open) => {
  showConnection(open);
  for (const row of rows.values()) {
    for (const input of Object.values(row.inputs)) input.readOnly = !open;
  }
  if (open) {
    // A submission the server may not have received is sent again; its id makes it
    // stored once.
    for (const entry of pending.values()) socket.send(entry.message);
  }
});

function render(next) {
  state = next;
  document.getElementById("title").textContent = next.review.title;
  document.title = "Your estimates: " + next.review.title;
  document.getElementById("who").textContent = "You are " + next.you.name +
    ". Only you see your numbers until the facilitator reveals the round.";
  document.getElementById("round").textContent = "Round " + next.round + ": " +
    (next.revealed ? "revealed, everyone's numbers are shown" : "blind, your numbers are private");
  renderScales(next.scales);
  const list = document.getElementById("items");
  for (const item of next.items) {
    let row = rows.get(item.id);
    if (!row) {
      row = buildRow(item);
      rows.set(item.id, row);
      list.append(row.section);
    }
    updateRow(row, item, next);
  }
  for (const [id, row] of rows) {
    if (!next.items.some((item) => item.id === id)) { row.section.remove(); rows.delete(id); }
  }
}

function renderScales(scales) {
  const box = document.getElementById("scale-tables");
  box.replaceChildren();
  for (const kind of ["likelihood", "impact"]) {
    const body = el("tbody");
    for (const level of scales[kind]) {
      body.append(el("tr", {}, el("td", { text: level.label }), el("td", { text: level.means }),
        el("td", { text: level.description })));
    }
    box.append(el("table", { class: "scale" },
      el("caption", { text: kind + " labels" }),
      el("thead", {}, el("tr", {}, el("th", { text: "label" }), el("th", { text: "means" }),
        el("th", { text: "" }))), body));
  }
}

function field(kind, item, row, listId) {
  const id = "f-" + kind + "-" + item.id;
  const input = el("input", { id, type: "text", autocomplete: "off",
    "aria-label": NAMES[kind] + item.title, "data-kind": kind });
  if (listId) input.setAttribute("list", listId);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); commit(row); }
  });
  input.addEventListener("blur", () => commit(row));
  const label = el("label", { for: id, text: kind });
  return [input, el("div", { class: "field" }, label, input)];
}

function buildRow(item) {
  // shown: the values the page last took from the server or had acknowledged;
  // sent: the values of the last submission (so a blur after Enter sends nothing).
  const row = { item: item.id, inputs: {}, shown: null, sent: null };
  const section = el("section", { class: "item item-" + item.kind, "data-item": item.id });
  row.heading = el("h2");
  row.badge = el("span", { class: "badge" });
  row.heading.append(row.badge, " ", el("span", { class: "item-title" }));
  row.description = el("p", { class: "description" });
  row.questions = el("ul", { class: "questions" });
  const fields = el("div", { class: "fields" });
  for (const kind of ["likelihood", "impact", "rationale"]) {
    const listId = kind === "rationale" ? null : "labels-" + kind;
    const [input, box] = field(kind, item, row, listId);
    row.inputs[kind] = input;
    fields.append(box);
  }
  row.status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  row.earlier = el("p", { class: "earlier" });
  row.spread = el("div", { class: "spread" });
  section.append(row.heading, row.description, row.questions, fields, row.status, row.earlier,
    row.spread);
  row.section = section;
  return row;
}

function ensureDatalists(scales) {
  for (const kind of ["likelihood", "impact"]) {
    let list = document.getElementById("labels-" + kind);
    if (!list) { list = el("datalist", { id: "labels-" + kind }); document.body.append(list); }
    list.replaceChildren(...scales[kind].map((level) => el("option", { value: level.label })));
  }
}

function updateRow(row, item, next) {
  ensureDatalists(next.scales);
  row.badge.textContent = item.kind;
  row.heading.querySelector(".item-title").textContent = item.title;
  for (const kind of ["likelihood", "impact", "rationale"]) {
    row.inputs[kind].setAttribute("aria-label", NAMES[kind] + item.title);
  }
  row.description.textContent = item.description;
  row.questions.replaceChildren(...item.questions.map((q) => el("li", { text: q })));
  const mine = item.mine[String(next.round)];
  const focused = Object.values(row.inputs).includes(document.activeElement);
  const untouched = row.shown === null || valuesOf(row).key === row.shown;
  const inFlight = Array.from(pending.values()).some((entry) => entry.row === row);
  if (!focused && untouched && !inFlight) {
    for (const kind of ["likelihood", "impact", "rationale"]) {
      row.inputs[kind].value = mine ? mine[kind] : "";
    }
    row.shown = valuesOf(row).key;
    row.sent = mine ? row.shown : null;
  }
  const earlier = Object.entries(item.mine).filter(([r]) => Number(r) < next.round)
    .map(([r, e]) => "your round " + r + ": likelihood " + e.likelihood + ", impact " + e.impact);
  row.earlier.textContent = earlier.join("; ");
  row.spread.replaceChildren();
  const spread = item.spread[String(next.round)];
  if (next.revealed && spread) {
    const list = el("ul");
    for (const entry of spread) {
      list.append(el("li", { text: entry.participant + ": likelihood " + entry.likelihood +
        ", impact " + entry.impact + (entry.rationale ? " (" + entry.rationale + ")" : "") }));
    }
    row.spread.append(el("h3", { text: "Everyone's estimates, round " + next.round }), list);
  }
}

function valuesOf(row) {
  const values = {};
  for (const kind of ["likelihood", "impact", "rationale"]) values[kind] = row.inputs[kind].value;
  return { values, key: JSON.stringify(values) };
}

function commit(row) {
  const { values, key } = valuesOf(row);
  if (key === row.sent || key === row.shown) return;
  if (!socket.open) {
    row.status.textContent = "not saved: the server is not reachable, reconnecting…";
    row.status.className = "status error";
    return;
  }
  if (!values.likelihood.trim() || !values.impact.trim()) {
    row.status.textContent = "Enter both a likelihood and an impact: the estimate is saved once both are there.";
    row.status.className = "status";
    return;
  }
  const message = { type: "estimate", id: newId(), item: row.item, ...values };
  pending.set(message.id, { message, row, key });
  row.sent = key;
  row.status.textContent = "saving…";
  row.status.className = "status";
  socket.send(message);
}

function answer(message) {
  const entry = pending.get(message.id);
  if (!entry) return;
  pending.delete(message.id);
  const row = entry.row;
  if (message.type === "ack") {
    row.shown = entry.key;
    // how the server read the entries, in the workbook's words ("read as 5,000 to
    // 20,000", "you say 1 in 20 to 1 in 5"): text only, never markup
    const read = message.read || {};
    const said = ["likelihood", "impact"].filter((kind) => read[kind])
      .map((kind) => kind + " " + read[kind]);
    row.status.textContent = "saved ✓" + (said.length ? " · " + said.join(" · ") : "");
    row.status.className = "status saved";
    for (const input of Object.values(row.inputs)) input.classList.remove("invalid");
  } else {
    row.sent = null;
    row.status.textContent = "not saved: " + message.message;
    row.status.className = "status error";
    const input = row.inputs[message.field];
    if (input) input.classList.add("invalid");
  }
}
