/*
 * rag-news chat widget: one <script> tag adds a cited-answer chat to any page.
 *
 *   <script src="http://HOST:PORT/widget.js" data-title="Ask the news" async></script>
 *
 * data-title (the button's and the panel's), data-placeholder: texts; data-target="#id": render
 * inside that element instead of a floating button; data-open="true": start opened;
 * data-examples="false": no example chips. Questions over the server's limit (sent with the
 * examples from /api/examples) are not asked: a notice says so and the box keeps them.
 * Everything the server or the documents send is inserted as text (textContent), never as HTML.
 * The conversation is kept in this site's localStorage (one per chat server); each answer has
 * 👍/👎 (POST /api/feedback; the pressed thumb pressed again withdraws the rating with
 * DELETE /api/feedback/<id>) with an optional comment, and a share link (/a/<id>).
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
  var busy = false;
  var maxQuestionChars = null; // the server's RAG_MAX_QUESTION_CHARS, sent with the examples
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

  // The question's length as the server counts it (rag/answer/question.py: control characters,
  // script and style elements and tags out, whitespace runs as one space, in code points), so a
  // refusal here is one it would make.
  function questionLength(question) {
    var cleaned = question
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, " ")
      .replace(/<\s*(script|style)\b[^<>]{0,500}>[\s\S]*?<\s*\/\s*\1\b[^<>]{0,500}>/gi, " ")
      .replace(/<\s*\/?\s*[a-zA-Z][^<>]{0,500}>/g, " ")
      .split(/\s+/).filter(Boolean).join(" ");
    return Array.from(cleaned).length;
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

  // One header per cited document (in the order first cited), then its quotes in document order.
  // Over the passages a refusal lists (the same words as ui/render.py's RELATED_LABEL).
  var RELATED_LABEL = "Closest passages (they don’t answer it)";

  function sourcesList(citations, label) {
    var list = el("div", "sources");
    list.appendChild(el("div", "sources-label", label || "Sources"));
    var groups = [];
    var bySource = {};
    citations.forEach(function (c) {
      if (!bySource[c.source]) {
        bySource[c.source] = { title: c.title || c.source, source: c.source, quotes: [] };
        groups.push(bySource[c.source]);
      }
      bySource[c.source].quotes.push(c);
    });
    groups.forEach(function (group) {
      var doc = el("div", "doc");
      var title = el("a", "doc-title", group.title);
      title.title = group.title;
      title.href = base + "/source/" + String(group.source).split("/").map(encodeURIComponent).join("/");
      title.target = "_blank";
      title.rel = "noopener";
      doc.appendChild(title);
      group.quotes.sort(function (a, b) { return a.start - b.start || a.n - b.n; });
      group.quotes.forEach(function (c) {
        var item = el("details", "source");
        var summary = el("summary");
        summary.appendChild(el("span", "cite c" + ((c.n - 1) % 6), "[" + c.n + "]"));
        summary.appendChild(el("span", "source-quote", c.quote));
        item.appendChild(summary);
        if (c.section) item.appendChild(el("div", "source-section", c.section));
        item.appendChild(el("blockquote", "quote", c.quote));
        var open = el("a", "open-link", "Open in the document ↗");
        open.href = sourceHref(c);
        open.target = "_blank";
        open.rel = "noopener";
        item.appendChild(open);
        doc.appendChild(item);
      });
      list.appendChild(doc);
    });
    return list;
  }

  // The answer's sentences, each with its [n] markers; a sentence ending in ":" starts a list.
  function answerBlocks(text, citations) {
    var known = {};
    citations.forEach(function (c) { known[c.n] = true; });
    var sentences = [];
    var marker = /\[(\d{1,3})\]/g;
    var position = 0;
    var match;
    while ((match = marker.exec(text)) !== null) {
      if (!known[Number(match[1])]) continue;
      var sentence = text.slice(position, marker.lastIndex).trim();
      if (sentences.length && /^\[\d{1,3}\]$/.test(sentence)) sentences[sentences.length - 1] += " " + sentence;
      else sentences.push(sentence);
      position = marker.lastIndex;
    }
    var rest = text.slice(position).trim();
    if (rest) sentences.push(rest);
    for (var i = 0; i < sentences.length - 1; i++) {
      if (/:\s*$/.test(sentences[i].replace(/\[\d{1,3}\]/g, "").trim() + " ")) {
        return { intro: sentences.slice(0, i + 1).join(" "), items: sentences.slice(i + 1) };
      }
    }
    return { intro: sentences.join(" "), items: [] };
  }

  function fillBlocks(container, text, citations) {
    var blocks = answerBlocks(text, citations);
    container.textContent = "";
    var intro = el("p", "para");
    fillAnswer(intro, blocks.intro, citations);
    container.appendChild(intro);
    if (blocks.items.length) {
      var items = el("ul", "list");
      blocks.items.forEach(function (item) {
        var li = el("li");
        fillAnswer(li, item, citations);
        items.appendChild(li);
      });
      container.appendChild(items);
    }
  }

  var SVG = "http://www.w3.org/2000/svg";
  var THUMB = "M7 10v11H3V10h4zm2 11h8.3a2 2 0 0 0 2-1.6l1.4-7A2 2 0 0 0 18.7 10H14l.8-4.2a1.6 " +
    "1.6 0 0 0-2.9-1.2L9 9.5V21z";

  function thumb(down) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    if (down) svg.setAttribute("transform", "rotate(180)");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", THUMB);
    svg.appendChild(path);
    return svg;
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
    var send = el("button", "send", "Ask");
    send.type = "submit";
    form.appendChild(input);
    form.appendChild(send);
    panel.appendChild(form);
    root.appendChild(panel);

    var launcher = el("button", "launcher", config.title);
    launcher.type = "button";
    launcher.title = config.title; // whole, when a long title is ellipsised
    if (!inline) root.appendChild(launcher);

    function setOpen(open) {
      root.classList.toggle("open", open);
      if (open) {
        input.focus();
        showExamples(); // what is indexed now: documents may have changed since the page loaded
      }
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

    // The conversation survives a reload: kept in this site's localStorage, one per chat server.
    var storageKey = "rag-news-widget:" + base;
    var MAX_TURNS = 50;
    var turns = loadTurns();

    function loadTurns() {
      try {
        var saved = JSON.parse(window.localStorage.getItem(storageKey) || "[]");
        return Array.isArray(saved) ? saved.filter(function (t) {
          return t && typeof t.question === "string" && (t.error || (t.answer && typeof t.answer.answer === "string"));
        }).slice(-MAX_TURNS) : [];
      } catch (err) {
        return []; // storage blocked (private mode, sandboxed frame): the chat still works
      }
    }

    function saveTurns() {
      turns = turns.slice(-MAX_TURNS);
      try { window.localStorage.setItem(storageKey, JSON.stringify(turns)); } catch (err) { /* full or blocked */ }
    }

    // The history sent with a question: exactly the answered turns shown.
    function historyOf() {
      var history = [];
      turns.forEach(function (t) {
        if (!t.answer) return;
        history.push({ role: "user", content: t.question });
        history.push({ role: "assistant", content: t.answer.answer });
      });
      return history;
    }

    function kept(payload) {
      return {
        id: payload.id || null, question: payload.question, answer: payload.answer,
        refused: Boolean(payload.refused), citations: payload.citations || [],
        short_answer: payload.short_answer || null, notice: payload.notice || "",
        related: payload.related || [],
      };
    }

    function succeeded(response) {
      if (!response.ok) throw new Error(String(response.status));
    }

    function sendFeedback(turn, rating, comment) {
      return apiFetch(base + "/api/feedback", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ answer_id: turn.answer.id, rating: rating, comment: comment || "" }),
      }).then(succeeded);
    }

    // Takes back the answer's rating and its comment (the answer itself stays stored).
    function withdrawFeedback(turn) {
      var url = base + "/api/feedback/" + encodeURIComponent(turn.answer.id);
      return apiFetch(url, { method: "DELETE" }).then(succeeded);
    }

    // 👍 / 👎, an optional comment, and the answer's share link.
    function actions(turn) {
      var bar = el("div", "actions");
      var note = el("span", "thanks");
      var form = el("form", "comment");
      form.hidden = true;
      var box = el("input", "comment-input");
      box.type = "text";
      box.maxLength = 2000;
      box.setAttribute("aria-label", "Comment on this answer");
      var sendComment = el("button", "comment-send", "Send");
      sendComment.type = "submit";
      form.appendChild(box);
      form.appendChild(sendComment);
      var buttons = {};
      var sending = false; // one rating request at a time: a click meanwhile is ignored

      // The thumbs show the rating the server last confirmed storing.
      function showRating() {
        buttons.up.setAttribute("aria-pressed", String(turn.rating === "up"));
        buttons.down.setAttribute("aria-pressed", String(turn.rating === "down"));
      }

      function rated(rating) {
        note.textContent = "Thanks!";
        box.placeholder = rating === "up" ? "What was good? (optional)" : "What was wrong? (optional)";
        form.hidden = false;
        box.focus();
      }

      function withdrawn() {
        note.textContent = "Rating withdrawn.";
        form.hidden = true;
      }

      function press(rating) {
        if (sending) return;
        sending = true;
        var withdrawing = turn.rating === rating; // the pressed thumb pressed again
        var request = withdrawing ? withdrawFeedback(turn) : sendFeedback(turn, rating, "");
        request.then(function () {
          turn.rating = withdrawing ? null : rating;
          saveTurns();
          if (withdrawing) withdrawn();
          else rated(rating);
        }).catch(function () {
          note.textContent = withdrawing ? "Couldn’t withdraw the rating." : "Couldn’t save the rating.";
        }).finally(function () {
          sending = false;
          showRating();
        });
      }

      ["up", "down"].forEach(function (rating) {
        var button = el("button", "rate " + rating);
        button.type = "button";
        button.title = rating === "up" ? "Good answer" : "Bad answer";
        button.setAttribute("aria-label", button.title);
        button.appendChild(thumb(rating === "down"));
        button.addEventListener("click", function () { press(rating); });
        buttons[rating] = button;
        bar.appendChild(button);
      });
      showRating();
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (sending || !box.value.trim() || !turn.rating) return; // not while a thumb's request runs
        sendFeedback(turn, turn.rating, box.value).then(function () {
          form.hidden = true;
          note.textContent = "Thanks, comment saved.";
        }).catch(function () { note.textContent = "Couldn’t save the comment."; });
      });
      var share = el("a", "share", "Share ↗");
      share.href = base + "/a/" + encodeURIComponent(turn.answer.id);
      share.target = "_blank";
      share.rel = "noopener";
      share.title = "A page with this answer and its sources";
      bar.appendChild(share);
      bar.appendChild(note);
      var wrap = el("div", "feedback");
      wrap.appendChild(bar);
      wrap.appendChild(form);
      return wrap;
    }

    // A finished answer (or refusal) into its bubble.
    function showAnswer(reply, turn) {
      var payload = turn.answer;
      reply.className = "msg bot";
      reply.textContent = "";
      if (payload.refused || !payload.citations.length) {
        reply.className = "msg bot refusal";
        reply.appendChild(el("div", "badge", "Not in the documents"));
        reply.appendChild(el("p", "text", payload.answer.trim()));
        // passages on the subject that don't answer it, listed as such
        if (payload.related && payload.related.length) {
          reply.appendChild(sourcesList(payload.related, RELATED_LABEL));
        }
      } else {
        if (payload.notice) reply.appendChild(el("div", "notice", payload.notice));
        var answerText = payload.answer.trim();
        if (payload.short_answer && payload.short_answer.text) {
          var short = el("p", "short");
          short.appendChild(el("strong", null, payload.short_answer.text));
          reply.appendChild(short);
          // The text opens with the same line (ShortAnswer.lead in rag/models.py): not twice.
          var lead = payload.short_answer.text + " [1]\n\n";
          if (answerText.indexOf(lead) === 0) answerText = answerText.slice(lead.length);
        }
        var text = el("div", "text");
        fillBlocks(text, answerText, payload.citations);
        reply.appendChild(text);
        reply.appendChild(sourcesList(payload.citations));
      }
      if (payload.id) reply.appendChild(actions(turn));
    }

    function showTurn(turn) {
      bubble("user", turn.question);
      var reply = bubble("bot");
      if (turn.answer) showAnswer(reply, turn);
      else showError(reply, turn.error);
    }

    // fetch() fails the same way whether the server is down or refuses this site (CORS). An
    // opaque no-cors request tells them apart: it succeeds whenever the server answers at all.
    function explainFailure() {
      return fetch(base + "/api/health", { mode: "no-cors", cache: "no-store" }).then(
        function () {
          return "This site (" + window.location.origin + ") is not allowed to use the chat " +
            "server at " + base + ". Add " + window.location.origin + " to RAG_ALLOWED_ORIGINS " +
            "on the server and restart it.";
        },
        function () {
          return "Can’t reach the chat server at " + base + ". Is it running?";
        }
      );
    }

    async function ask(question) {
      if (busy || !question.trim()) return;
      busy = true;
      send.disabled = true;
      examples.hidden = true;
      var history = historyOf();
      bubble("user", question);
      var reply = bubble("bot streaming");
      var text = el("p", "text");
      reply.appendChild(text);
      var written = "";
      var failure = null;
      var reached = true; // a server that answered with an error: keep it in the conversation
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
          failure = problem.message || "The server answered " + response.status + ".";
        } else {
          await readEvents(response, function (name, payload) {
            if (name === "reset") {
              written = "";
              text.textContent = "";
            } else if (name === "delta") {
              written += payload.text;
              text.textContent = written;
              scrollDown();
            } else if (name === "done") {
              var turn = { question: question, answer: kept(payload), rating: null };
              turns.push(turn);
              saveTurns();
              showAnswer(reply, turn);
            } else if (name === "error") {
              failure = payload.message || "Answering failed.";
            }
          });
        }
      } catch (err) {
        reached = false;
        failure = await explainFailure();
      } finally {
        if (failure) {
          showError(reply, failure);
          if (reached) {
            turns.push({ question: question, answer: null, error: failure });
            saveTurns();
          }
        }
        reply.classList.remove("streaming");
        busy = false;
        send.disabled = false;
        scrollDown();
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var question = input.value;
      if (busy || !question.trim()) return;
      var length = questionLength(question);
      if (maxQuestionChars && length > maxQuestionChars) {
        // kept whole in the box to shorten; nothing is asked
        showNotice("The question is too long (" + length.toLocaleString("en-US") +
          " characters; the limit is " + maxQuestionChars.toLocaleString("en-US") + "): shorten it.");
        return;
      }
      showNotice(null);
      input.value = "";
      ask(question);
    });
    clear.addEventListener("click", function () {
      turns = [];
      saveTurns();
      Array.prototype.slice.call(messages.querySelectorAll(".msg")).forEach(function (node) {
        node.remove();
      });
      examples.hidden = false;
      input.focus();
    });

    turns.forEach(showTurn);
    if (turns.length) examples.hidden = true;

    var notice = null; // why the server can't be used, shown before anyone asks

    // Shown above the conversation before anything is asked; under it (in view) once there is one.
    function showNotice(message) {
      if (notice) notice.remove();
      notice = message ? el("div", "msg error notice-box", message) : null;
      if (!notice) return;
      if (messages.querySelector(".msg")) {
        messages.appendChild(notice);
        scrollDown();
      } else {
        messages.insertBefore(notice, messages.firstChild);
      }
    }

    // The example questions and the question limit (one request each time the chat opens).
    function showExamples() {
      apiFetch(base + "/api/examples", {})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body) return;  // refused (429, 503): keep the chips and any notice shown
          showNotice(null);
          if (body.max_question_chars) maxQuestionChars = Number(body.max_question_chars);
          if (!config.examples) return;
          examples.replaceChildren();
          body.examples.forEach(function (question) {
            var chip = el("button", "example", question);
            chip.type = "button";
            chip.addEventListener("click", function () { ask(question); });
            examples.appendChild(chip);
          });
        })
        .catch(function () {
          // Say at once why nothing will work, before anyone types a question.
          explainFailure().then(showNotice);
        });
    }

    var container = inline ? document.querySelector(config.target) : null;
    (container || document.body).appendChild(host);
    if (inline || config.open) setOpen(true);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", build);
  else build();
})();
