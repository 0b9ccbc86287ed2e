// Simulator chat: posts the lead's message to /simulator/send, which signs it like Twilio
// and runs it through the real webhook; the bot's replies come back as bubbles.
(function () {
  "use strict";
  const chat = document.getElementById("chat");
  const text = document.getElementById("text");
  const phone = document.getElementById("phone");
  const language = document.getElementById("language");
  const openingLines = JSON.parse(document.getElementById("opening-lines").textContent);
  const token = document.querySelector('meta[name="csrf-token"]').content;
  let started = false;

  function bubble(kind, body) {
    const item = document.createElement("li");
    item.className = "msg " + kind;
    const inner = document.createElement("div");
    inner.className = "bubble";
    inner.textContent = body;  // textContent: the bot may echo what the lead typed
    item.appendChild(inner);
    chat.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function suggestOpening() {
    if (!started) {
      text.value = openingLines[language.value] || "";
    }
  }

  async function send(event) {
    event.preventDefault();
    const body = text.value.trim();
    if (!body) {
      return;
    }
    started = true;
    bubble("inbound", body);
    text.value = "";
    try {
      const response = await fetch("/simulator/send", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ phone: phone.value, text: body }),
      });
      const data = await response.json();
      if (!response.ok) {
        bubble("error", data.error || "Error " + response.status);
        return;
      }
      data.replies.forEach(function (reply) { bubble("outbound", reply); });
    } catch (error) {
      bubble("error", "The server did not answer: " + error);
    }
  }

  language.addEventListener("change", suggestOpening);
  document.getElementById("composer").addEventListener("submit", send);
  suggestOpening();
  text.focus();
})();
