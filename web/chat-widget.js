/*
 * Chat widget for the assistant, on Rasa's socket.io channel.
 *
 * Load socket.io.min.js and this file, then call
 *   RasaChat.start({ rasaUrl: "https://bot.example.com" });
 *
 * Options: rasaUrl (the Rasa server; default this host, port 5005), title,
 * storage ("session": the chat lasts while the browser tab is open, the default;
 * "local": until the customer clears the site's data), token (needed when the
 * server has CHAT_JWT_SECRET: a JWT whose `sub` is the customer's conversation
 * id, or a function returning one or a promise of one, called on every connect
 * so that a short-lived token is renewed), transports (["websocket"] skips HTTP
 * long-polling, so replicas behind a load balancer need no sticky sessions).
 *
 * A reload keeps the conversation: Rasa runs with session_persistence, so the
 * stored session id is sent in "session_request" and the server carries on the
 * same conversation. With a token the conversation is the token's: a stored one
 * of someone else (another customer logged in on this browser) is refused, and
 * the widget forgets it, transcript included, and starts the token's. The widget
 * keeps its own transcript beside the session id, because reading it back from
 * Rasa would need the HTTP API's token in a public page.
 * Bot text is shown as plain text (no Markdown, no HTML).
 *
 * The widget's own texts (launcher, placeholder, buttons, status lines) follow
 * the page's language (<html lang="zh-CN"> gives Chinese) or the `language`
 * option ("en" or "zh"); the assistant's replies follow the customer's messages.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "rasa-chat";
  var MAX_ENTRIES = 200;
  var TYPING_TIMEOUT_MS = 30000;
  var TEXTS = {
    en: {
      title: "Customer service",
      launcher: "Chat with us",
      close: "Close chat",
      conversation: "Conversation",
      typing: "The assistant is typing",
      placeholder: "Type your message\u2026",
      send: "Send",
      yourMessage: "Your message",
      you: "You: ",
      assistant: "Assistant: ",
      suggestions: "Suggested replies",
      connecting: "Connecting\u2026",
      reconnecting: "Connection lost. Reconnecting\u2026",
      retrying: "Can't reach the assistant right now. Retrying\u2026",
      failed: "The chat could not be started. Please reload the page.",
    },
    zh: {
      title: "在线客服",
      launcher: "联系客服",
      close: "关闭对话",
      conversation: "对话记录",
      typing: "客服正在输入",
      placeholder: "请输入您的问题\u2026",
      send: "发送",
      yourMessage: "您的消息",
      you: "您：",
      assistant: "客服：",
      suggestions: "推荐回复",
      connecting: "正在连接\u2026",
      reconnecting: "连接已断开，正在重新连接\u2026",
      retrying: "暂时无法连接客服，正在重试\u2026",
      failed: "对话无法启动，请刷新页面。",
    },
  };

  function textsFor(language) {
    var wanted = (language || document.documentElement.lang || "en").toLowerCase();
    return wanted.indexOf("zh") === 0 ? TEXTS.zh : TEXTS.en;
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text) node.textContent = text;
    return node;
  }

  function loadState(store) {
    try {
      var saved = JSON.parse(store.getItem(STORAGE_KEY));
      if (saved && Array.isArray(saved.transcript)) return saved;
    } catch (error) {
      // Unreadable or missing: start a new conversation.
    }
    return { sessionId: null, open: false, transcript: [] };
  }

  function buildDom(title, T) {
    var root = element("div", { class: "rasa-chat" });
    var launcher = element("button", {
      type: "button",
      class: "rasa-chat__launcher",
      "aria-expanded": "false",
      "aria-controls": "rasa-chat-panel",
    }, T.launcher);
    var panel = element("section", {
      id: "rasa-chat-panel",
      class: "rasa-chat__panel",
      role: "dialog",
      "aria-labelledby": "rasa-chat-title",
    });
    panel.hidden = true;
    var header = element("header", { class: "rasa-chat__header" });
    var close = element("button", {
      type: "button",
      class: "rasa-chat__close",
      "aria-label": T.close,
    }, "\u00d7");
    header.append(element("h2", { id: "rasa-chat-title" }, title), close);
    var log = element("ol", {
      class: "rasa-chat__log",
      role: "log",
      "aria-live": "polite",
      "aria-label": T.conversation,
      tabindex: "0",
    });
    var typing = element("p", { class: "rasa-chat__typing", role: "status" });
    typing.append(
      element("span", { class: "rasa-chat__sr" }, T.typing),
      element("span", { class: "rasa-chat__dots", "aria-hidden": "true" })
    );
    typing.hidden = true;
    var status = element("p", { class: "rasa-chat__status", role: "status" });
    status.hidden = true;
    var form = element("form", { class: "rasa-chat__form" });
    var input = element("input", {
      id: "rasa-chat-input",
      type: "text",
      autocomplete: "off",
      placeholder: T.placeholder,
    });
    var sendButton = element("button", { type: "submit", class: "rasa-chat__send" }, T.send);
    sendButton.disabled = true;
    form.append(
      element("label", { for: "rasa-chat-input", class: "rasa-chat__sr" }, T.yourMessage),
      input,
      sendButton
    );
    panel.append(header, log, typing, status, form);
    root.append(panel, launcher);
    return {
      root: root, launcher: launcher, panel: panel, close: close, log: log,
      typing: typing, status: status, form: form, input: input, sendButton: sendButton,
    };
  }

  function start(options) {
    var T = textsFor(options && options.language);
    var config = Object.assign({ title: T.title, storage: "session" }, options);
    var rasaUrl = config.rasaUrl || location.protocol + "//" + location.hostname + ":5005";
    var store = config.storage === "local" ? window.localStorage : window.sessionStorage;
    var state = loadState(store);
    var ui = buildDom(config.title, T);
    var socket = null;
    var ready = false; // true once the server confirmed the session: messages can go
    var typingTimer = null;

    function save() {
      state.transcript = state.transcript.slice(-MAX_ENTRIES);
      store.setItem(STORAGE_KEY, JSON.stringify(state));
    }

    function setReady(flag) {
      ready = flag;
      ui.sendButton.disabled = !flag;
    }

    function setStatus(text) {
      ui.status.textContent = text;
      ui.status.hidden = !text;
    }

    function setTyping(on) {
      clearTimeout(typingTimer);
      ui.typing.hidden = !on;
      if (on) typingTimer = setTimeout(setTyping, TYPING_TIMEOUT_MS, false);
      ui.log.scrollTop = ui.log.scrollHeight;
    }

    function clearQuickReplies() {
      ui.log.querySelectorAll(".rasa-chat__replies").forEach(function (group) {
        group.remove();
      });
    }

    function render(entry, withButtons) {
      var item = element("li", { class: "rasa-chat__message rasa-chat__message--" + entry.from });
      var bubble = element("p", { class: "rasa-chat__bubble" });
      bubble.append(
        element("span", { class: "rasa-chat__sr" }, entry.from === "user" ? T.you : T.assistant),
        document.createTextNode(entry.text)
      );
      item.append(bubble);
      if (withButtons && entry.buttons && entry.buttons.length) {
        var group = element("div", {
          class: "rasa-chat__replies",
          role: "group",
          "aria-label": T.suggestions,
        });
        entry.buttons.forEach(function (button) {
          var choice = element("button", { type: "button" }, button.title);
          choice.addEventListener("click", function () {
            send(button.payload, button.title);
            ui.input.focus(); // the clicked button is gone: keep the focus in the chat
          });
          group.append(choice);
        });
        item.append(group);
      }
      ui.log.append(item);
      ui.log.scrollTop = ui.log.scrollHeight;
    }

    function add(entry) {
      state.transcript.push(entry);
      save();
      render(entry, true);
    }

    function send(message, shownAs) {
      if (!ready || !message.trim()) return false;
      clearQuickReplies();
      add({ from: "user", text: shownAs || message });
      socket.emit("user_uttered", { message: message, session_id: state.sessionId });
      setTyping(true);
      return true;
    }

    function socketOptions() {
      var options = {};
      if (config.transports) options.transports = config.transports;
      if (config.token) {
        options.auth = function (callback) {
          var token = typeof config.token === "function" ? config.token() : config.token;
          Promise.resolve(token).then(
            function (value) { callback({ token: value }); },
            function () { callback({}); } // refused by the server: the status says so
          );
        };
      }
      return options;
    }

    function forgetConversation() {
      state.sessionId = null;
      state.transcript = [];
      save();
      ui.log.replaceChildren();
    }

    function connect() {
      if (socket) return;
      setStatus(T.connecting);
      socket = window.io(rasaUrl, socketOptions());
      var restarting = false;
      socket.on("connect", function () {
        // Also after a reconnect: joins the conversation's room again.
        socket.emit("session_request", { session_id: state.sessionId });
      });
      socket.on("session_confirm", function (sessionId) {
        state.sessionId = sessionId;
        save();
        setReady(true);
        setStatus("");
      });
      socket.on("session_refused", function () {
        // The stored conversation is not the token's: it belongs to someone else.
        forgetConversation();
        restarting = true;
      });
      socket.on("disconnect", function (reason) {
        setReady(false);
        setTyping(false);
        setStatus(T.reconnecting);
        // socket.io does not reconnect after the server closed the socket itself.
        if (restarting && reason === "io server disconnect") {
          restarting = false;
          socket.connect();
        }
      });
      socket.on("connect_error", function () {
        setStatus(
          socket.active
            ? T.retrying
            : T.failed
        );
      });
      socket.on("bot_uttered", function (message) {
        var buttons = (message.quick_replies || message.buttons || []).map(function (b) {
          return { title: b.title, payload: b.payload };
        });
        if (!message.text && !buttons.length) return;
        setTyping(false);
        add({ from: "bot", text: message.text || "", buttons: buttons });
      });
    }

    function setOpen(open) {
      state.open = open;
      save();
      ui.panel.hidden = !open;
      ui.launcher.setAttribute("aria-expanded", String(open));
      if (open) {
        connect();
        ui.log.scrollTop = ui.log.scrollHeight;
        ui.input.focus();
      } else {
        ui.launcher.focus();
      }
    }

    ui.launcher.addEventListener("click", function () {
      setOpen(ui.panel.hidden);
    });
    ui.close.addEventListener("click", function () {
      setOpen(false);
    });
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") setOpen(false);
    });
    ui.form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (send(ui.input.value)) ui.input.value = "";
    });

    state.transcript.forEach(function (entry, index) {
      render(entry, index === state.transcript.length - 1);
    });
    document.body.append(ui.root);
    if (state.open) setOpen(true);
  }

  window.RasaChat = { start: start };
})();
