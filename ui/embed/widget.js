/*
 * rag-news chat widget: one <script> tag adds a cited-answer chat to any page.
 *
 *   <script src="http://HOST:PORT/widget.js" data-title="Ask the news" async></script>
 *
 * data-title, data-placeholder: texts; data-target="#id": render inside that element instead of
 * a floating button; data-open="true": start opened; data-examples="false": no example chips.
 * Everything the server or the documents send is inserted as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !window.fetch || !Element.prototype.attachShadow) return;
  var base = script.src.replace(/\/widget\.js(?:[?#].*)?$/, "");
  var data = script.dataset;
  var config = {
    title: data.title || "Ask the news",
    placeholder: data.placeholder || "Ask a question about the news…",
    target: data.target || "",
    open: data.open === "true",
    examples: data.examples !== "false",
  };
  var history = [];
  var busy = false;
  var token = null; // a short-lived page token, fetched only when the server asks for one (401)

  // fetch() that, when the server needs a key (RAG_API_KEYS), gets a page token and retries once.
  async function apiFetch(url, options) {
    function send() {
      var headers = Object.assign({}, options.headers);
      if (token) headers.authorization = "Bearer " + token;
      return fetch(url, Object.assign({}, options, { headers: headers }));
    }
    var response = await send();
    if (response.status !== 401) return response;
    var issued = await fetch(base + "/api/token", { method: "POST" });
    if (!issued.ok) return response;
    token = (await issued.json()).token;
    return send();
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function sourceHref(c) {
    var path = String(c.source).split("/").map(encodeURIComponent).join("/");
    return base + "/source/" + path + "?start=" + Number(c.start) + "&end=" + Number(c.end) + "#cite";
  }

  function citeLink(c, label) {
    var link = el("a", "cite c" + ((c.n - 1) % 6), label);
    link.href = sourceHref(c);
    link.target = "_blank";
    link.rel = "noopener";
    link.title = c.title + (c.section ? " — " + c.section : "") + ": “" + c.quote + "”";
    return link;
  }

  // The answer text with every [n] as a chip linking to the cited passage.
  function fillAnswer(container, text, citations) {
    var byNumber = {};
    citations.forEach(function (c) { byNumber[c.n] = c; });
    container.textContent = "";
    var marker = /\[(\d{1,3})\]/g;
    var last = 0;
    var match;
    while ((match = marker.exec(text)) !== null) {
      var c = byNumber[Number(match[1])];
      if (!c) continue;
      container.appendChild(document.createTextNode(text.slice(last, match.index)));
      container.appendChild(citeLink(c, "[" + c.n + "]"));
      last = marker.lastIndex;
    }
    container.appendChild(document.createTextNode(text.slice(last)));
  }

  function sourcesList(citations) {
    var list = el("div", "sources");
    list.appendChild(el("div", "sources-label", "Sources"));
    citations.forEach(function (c) {
      var item = el("details", "source");
      var summary = el("summary");
      summary.appendChild(el("span", "cite c" + ((c.n - 1) % 6), "[" + c.n + "]"));
      summary.appendChild(el("span", "source-title", c.title || c.source));
      if (c.section) summary.appendChild(el("span", "source-section", c.section));
      item.appendChild(summary);
      item.appendChild(el("blockquote", "quote", c.quote));
      var open = el("a", "open-link", "Open in the document ↗");
      open.href = sourceHref(c);
      open.target = "_blank";
      open.rel = "noopener";
      item.appendChild(open);
      list.appendChild(item);
    });
    return list;
  }

  // Server-sent events over fetch (EventSource cannot POST): calls onEvent(name, payload).
  async function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      var frames = buffer.split("\n\n");
      buffer = frames.pop();
      frames.forEach(function (frame) {
        var name = "message";
        var payload = "";
        frame.split("\n").forEach(function (line) {
          if (line.indexOf("event:") === 0) name = line.slice(6).trim();
          else if (line.indexOf("data:") === 0) payload += line.slice(5).trim();
        });
        if (payload) onEvent(name, JSON.parse(payload));
      });
    }
  }

  function build() {
    var host = el("div");
    host.className = "rag-news-widget";
    var shadow = host.attachShadow({ mode: "open" });
    var sheet = el("link");
    sheet.rel = "stylesheet";
    sheet.href = base + "/widget.css";
    shadow.appendChild(sheet);
    var inline = Boolean(config.target);
    var root = el("div", "root " + (inline ? "inline" : "floating"));
    root.style.visibility = "hidden"; // until the stylesheet arrives
    sheet.addEventListener("load", function () { root.style.visibility = ""; });
    shadow.appendChild(root);

    var panel = el("section", "panel");
    panel.setAttribute("aria-label", config.title);
    var header = el("header", "header");
    var heading = el("div", "heading");
    heading.appendChild(el("div", "title", config.title));
    heading.appendChild(el("div", "subtitle", "Answers quote the documents · [n] opens the source"));
    header.appendChild(heading);
    var clear = el("button", "icon clear", "↺");
    clear.type = "button";
    clear.title = "New conversation";
    header.appendChild(clear);
    var close = el("button", "icon close", "×");
    close.type = "button";
    close.title = "Close";
    if (!inline) header.appendChild(close);
    panel.appendChild(header);

    var messages = el("div", "messages");
    messages.setAttribute("aria-live", "polite");
    var examples = el("div", "examples");
    messages.appendChild(examples);
    panel.appendChild(messages);

    var form = el("form", "form");
    var input = el("input", "input");
    input.type = "text";
    input.placeholder = config.placeholder;
    input.setAttribute("aria-label", "Your question");
    input.maxLength = 2000;
    var send = el("button", "send", "Ask");
    send.type = "submit";
    form.appendChild(input);
    form.appendChild(send);
    panel.appendChild(form);
    root.appendChild(panel);

    var launcher = el("button", "launcher", "Ask the news");
    launcher.type = "button";
    if (!inline) root.appendChild(launcher);

    function setOpen(open) {
      root.classList.toggle("open", open);
      if (open) input.focus();
    }
    launcher.addEventListener("click", function () { setOpen(!root.classList.contains("open")); });
    close.addEventListener("click", function () { setOpen(false); });

    function scrollDown() { messages.scrollTop = messages.scrollHeight; }

    function bubble(kind, text) {
      var node = el("div", "msg " + kind);
      if (text !== undefined) node.appendChild(el("p", "text", text));
      messages.appendChild(node);
      scrollDown();
      return node;
    }

    function showError(node, message) {
      node.className = "msg error";
      node.textContent = "";
      node.appendChild(el("div", "badge", "Couldn’t answer"));
      node.appendChild(el("p", "text", message));
    }

    async function ask(question) {
      if (busy || !question.trim()) return;
      busy = true;
      send.disabled = true;
      examples.hidden = true;
      bubble("user", question);
      var reply = bubble("bot streaming");
      var text = el("p", "text");
      reply.appendChild(text);
      var written = "";
      try {
        // the server reads only the last exchange for a follow-up (and caps the history)
        var recent = history.slice(-4).map(function (m) {
          return { role: m.role, content: m.content.slice(0, 4000) };
        });
        var response = await apiFetch(base + "/api/ask/stream", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ question: question, history: recent }),
        });
        if (!response.ok) {
          var problem = await response.json().catch(function () { return {}; });
          showError(reply, problem.message || "The server answered " + response.status + ".");
          return;
        }
        await readEvents(response, function (name, payload) {
          if (name === "reset") {
            written = "";
            text.textContent = "";
          } else if (name === "delta") {
            written += payload.text;
            text.textContent = written;
            scrollDown();
          } else if (name === "done") {
            reply.classList.remove("streaming");
            if (payload.refused || !payload.citations.length) {
              reply.className = "msg bot refusal";
              reply.insertBefore(el("div", "badge", "Not in the documents"), text);
              text.textContent = payload.answer.trim();
            } else {
              if (payload.notice) reply.insertBefore(el("div", "notice", payload.notice), text);
              fillAnswer(text, payload.answer.trim(), payload.citations);
              reply.appendChild(sourcesList(payload.citations));
            }
            history.push({ role: "user", content: payload.question });
            history.push({ role: "assistant", content: payload.answer });
          } else if (name === "error") {
            showError(reply, payload.message || "Answering failed.");
          }
        });
      } catch (err) {
        showError(reply, "Can’t reach the chat server. Please try again.");
      } finally {
        reply.classList.remove("streaming");
        busy = false;
        send.disabled = false;
        scrollDown();
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var question = input.value;
      input.value = "";
      ask(question);
    });
    clear.addEventListener("click", function () {
      history = [];
      Array.prototype.slice.call(messages.querySelectorAll(".msg")).forEach(function (node) {
        node.remove();
      });
      examples.hidden = false;
      input.focus();
    });

    if (config.examples) {
      apiFetch(base + "/api/examples", {})
        .then(function (response) { return response.ok ? response.json() : { examples: [] }; })
        .then(function (body) {
          body.examples.forEach(function (question) {
            var chip = el("button", "example", question);
            chip.type = "button";
            chip.addEventListener("click", function () { ask(question); });
            examples.appendChild(chip);
          });
        })
        .catch(function () { /* examples are optional */ });
    }

    var container = inline ? document.querySelector(config.target) : null;
    (container || document.body).appendChild(host);
    if (inline || config.open) setOpen(true);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", build);
  else build();
})();
