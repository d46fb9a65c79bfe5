// Her command box on the board: the same commands and answers as in her Telegram chat.
// Keyboard-first: type, Enter; ↑ and ↓ walk her last commands (kept for this browser tab).
(function () {
  "use strict";
  const form = document.getElementById("command-form");
  if (!form) return;
  const input = document.getElementById("command-input");
  const output = document.getElementById("command-output");
  const KEY = "priem-commands";
  const history = JSON.parse(sessionStorage.getItem(KEY) || "[]");
  let cursor = history.length;

  function show(text, isError) {
    output.hidden = false;
    output.textContent = text;
    output.classList.toggle("error", Boolean(isError));
  }

  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowUp" && cursor > 0) {
      cursor -= 1;
      input.value = history[cursor];
      event.preventDefault();
    } else if (event.key === "ArrowDown" && cursor < history.length) {
      cursor += 1;
      input.value = history[cursor] || "";
      event.preventDefault();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    history.push(text);
    sessionStorage.setItem(KEY, JSON.stringify(history.slice(-50)));
    cursor = history.length;
    form.querySelector("button").disabled = true;
    try {
      const res = await fetch("/desk/api/command", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
        body: JSON.stringify({ text }),
      });
      if (!res.ok) {
        show(form.dataset.failed + " (" + res.status + ")", true);
        return;
      }
      const answer = await res.json();
      show(answer.replies.map((r) => r.text).join("\n\n"), answer.error);
      if (!answer.error) input.value = "";
    } catch (err) {
      show(form.dataset.failed, true);
    } finally {
      form.querySelector("button").disabled = false;
      input.focus();
    }
  });
})();
