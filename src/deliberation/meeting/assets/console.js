// The facilitator's console: round controls, who has entered what, the pooled numbers.
"use strict";

const socket = meetingSocket(render, (message) => {
  if (message.type === "refused") alert(message.message);
}, showConnection);

for (const action of ["reveal", "hide", "next-round"]) {
  document.getElementById(action).addEventListener("click", () => {
    socket.send({ type: "round", action, id: newId() });
  });
}

function render(view) {
  document.getElementById("title").textContent = view.review.title;
  document.getElementById("round").textContent = "Round " + view.round + ": " +
    (view.revealed ? "revealed" : "blind") + ", " + view.estimates_this_round +
    " estimate(s) entered this round";
  document.getElementById("next-round").textContent = "Start round " + (view.round + 1);
  const body = document.querySelector("#tradeoffs tbody");
  body.replaceChildren();
  const numbers = view.numbers;
  if (numbers && numbers.variants) {
    for (const v of numbers.variants) {
      body.append(el("tr", { "data-variant": v.id }, el("th", { text: v.title }),
        el("td", { text: v.p_extreme_bad }), el("td", { text: v.p_extreme_good }),
        el("td", { text: v.p_catastrophe }), el("td", { text: v.mean })));
    }
  }
  document.getElementById("numbers-note").textContent = numbers && numbers.error
    ? "The numbers cannot be computed: " + numbers.error
    : (view.numbers_current ? "Up to date: pooled over every participant's latest round." : "updating…");
  const head = document.querySelector("#entered thead");
  head.replaceChildren(el("tr", {}, el("th", { text: "item" }),
    ...view.participants.map((p) => el("th", { text: p.name }))));
  const rows = document.querySelector("#entered tbody");
  rows.replaceChildren();
  for (const item of view.items) {
    const cells = view.participants.map((p) => {
      const shown = item.shown.find((e) => e.participant === p.id && e.round === view.round);
      const rounds = item.entered[p.id] || [];
      const text = shown ? shown.likelihood + " × " + shown.impact
        : (rounds.includes(view.round) ? "✓ entered" : "—");
      return el("td", { text });
    });
    rows.append(el("tr", { "data-item": item.id }, el("th", { text: item.title }), ...cells));
  }
  const links = document.getElementById("links");
  links.replaceChildren(...view.participants.map((p) =>
    el("li", {}, p.name + ": ", el("code", { text: view.links[p.id] || "" }))));
}
