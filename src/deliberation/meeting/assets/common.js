// The meeting's pages: one websocket to the server, every string set as text (never HTML).
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Connect to /ws + this page's path; reconnect with a growing pause; tell the page.
function meetingSocket(onState, onMessage, onConnection) {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    "/ws" + location.pathname;
  let socket = null;
  let pause = 250;
  const api = {
    open: false,
    send(message) {
      if (!api.open) return false;
      socket.send(JSON.stringify(message));
      return true;
    },
  };
  function connect() {
    socket = new WebSocket(url);
    socket.onopen = () => { api.open = true; pause = 250; onConnection(true); };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "state" || message.type === "console") onState(message);
      else onMessage(message);
    };
    socket.onclose = () => {
      const was = api.open;
      api.open = false;
      onConnection(false, was);
      setTimeout(connect, pause);
      pause = Math.min(pause * 2, 4000);
    };
  }
  connect();
  return api;
}

function showConnection(open) {
  const line = document.getElementById("connection");
  line.textContent = open ? "connected" : "reconnecting… (edits are refused until the server is back)";
  line.className = "connection " + (open ? "online" : "offline");
  document.body.classList.toggle("offline", !open);
}
