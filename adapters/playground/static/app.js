/* Ritme playground: a local stand-in for a team channel.
 *
 * Plain JavaScript, no dependencies, no network access beyond this server's own API, and
 * nothing that a strict Content-Security-Policy forbids (no inline code or styles, no eval).
 * Every piece of server text goes into the page through textContent / text nodes only.
 */
(function () {
  'use strict';

  var API = '/playground/api';
  var POLL_MS = 2000;
  var STORAGE_KEY = 'ritme.playground.persona';
  var BOTTOM_SLACK = 48; // px from the bottom that still counts as "at the bottom"

  // Only used when the server does not send a label (the page chrome comes from `labels`).
  var FALLBACK = {
    title: 'Ritme playground',
    you_are: 'You are:',
    send: 'Send',
    placeholder: '/ritme add reflection every monday at 09:00',
    answer: 'Answer',
    submit: 'Submit',
    cancel: 'Cancel',
    closes: 'Closes',
    private: 'Only visible to you',
    answered: 'answered',
    optional: 'optional',
    bot: 'Ritme',
    quick: 'Quick commands',
    new_messages: 'New messages',
    offline: 'Cannot reach the playground server.',
    saved: '✓',
    attach: 'Attach a calendar file (.ics)',
    remove_file: 'Remove {name}',
    file_too_large: 'That file is larger than {size} KiB.',
    file_type: 'Only calendar files (.ics) can be attached.'
  };

  var MAX_FILE_KIB = 512; // unless the server says otherwise (labels.max_file_kib)

  var state = {
    user: null,
    team: {},
    labels: {},
    personas: [],
    personaSig: '',
    chromeSig: '',
    chips: [], // commands the chosen persona may run, in the team's words (from the server)
    chipSig: '',
    welcome: null, // the welcome card: the first five steps (from the server)
    languages: null, // the language switch: {label, may_switch, hint, options}
    languageSig: '',
    feedItems: new Map(), // key -> {sig, node}
    seq: 0,
    pollTimer: null,
    failing: false,
    firstRender: true,
    forceBottom: false,
    sending: false,
    history: [],
    historyPos: 0,
    drafts: new Map(), // "user:occurrence" -> {sig, body}
    unkept: new Map(), // user -> messages the server keeps nowhere (forget-me's reply): shown until a reload
    unkeptSeq: 0,
    dialog: { key: null, prompt: null, busy: false, returnTo: null },
    toastTimer: null,
    attachment: null, // {name, size, content_base64}: goes with the next command
    reading: 0 // bumps on every pick, so that a slow read never overwrites a newer one
  };

  var el = {};

  // ---------------------------------------------------------------- small helpers

  function $(id) {
    return document.getElementById(id);
  }

  function h(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'class') node.className = v;
        else if (k === 'text') node.textContent = String(v);
        else if (k.indexOf('on') === 0) node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(parent, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      child.forEach(function (c) { append(parent, c); });
    } else if (child instanceof Node) {
      parent.appendChild(child);
    } else {
      parent.appendChild(document.createTextNode(String(child)));
    }
  }

  var SVG_NS = 'http://www.w3.org/2000/svg';

  function svg(viewBox, paths, cls) {
    var s = document.createElementNS(SVG_NS, 'svg');
    s.setAttribute('viewBox', viewBox);
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    if (cls) s.setAttribute('class', cls);
    paths.forEach(function (p) {
      var node = document.createElementNS(SVG_NS, p[0]);
      Object.keys(p[1]).forEach(function (k) { node.setAttribute(k, p[1][k]); });
      s.appendChild(node);
    });
    return s;
  }

  function logo(cls) {
    return svg('0 0 32 32', [
      ['rect', { width: '32', height: '32', rx: '8', 'class': 'logo-bg' }],
      ['path', { d: 'M6 18h5l3-8 4 14 3-6h5', 'class': 'logo-line' }]
    ], cls);
  }

  function eyeIcon() {
    return svg('0 0 24 24', [
      ['path', { d: 'M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z', 'class': 'icon-stroke' }],
      ['circle', { cx: '12', cy: '12', r: '3', 'class': 'icon-stroke' }]
    ], 'icon');
  }

  function clipIcon() {
    return svg('0 0 24 24', [
      ['path', { d: 'M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9', 'class': 'icon-stroke' }]
    ], 'icon');
  }

  function lockIcon() {
    return svg('0 0 24 24', [
      ['rect', { x: '5', y: '11', width: '14', height: '10', rx: '2', 'class': 'icon-stroke' }],
      ['path', { d: 'M8 11V8a4 4 0 0 1 8 0v3', 'class': 'icon-stroke' }]
    ], 'icon icon-lock');
  }

  function label(key) {
    var v = state.labels && state.labels[key];
    return typeof v === 'string' && v !== '' ? v : FALLBACK[key];
  }

  function str(v) {
    return v === null || v === undefined ? '' : String(v);
  }

  function hashIndex(text, n) {
    var x = 0;
    text = str(text);
    for (var i = 0; i < text.length; i++) x = (x * 31 + text.charCodeAt(i)) >>> 0;
    return x % n;
  }

  function initials(name) {
    var parts = str(name).trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return '?';
    var first = Array.from(parts[0])[0] || '?';
    var second = parts.length > 1 ? (Array.from(parts[parts.length - 1])[0] || '') : '';
    return (first + second).toUpperCase();
  }

  function storageGet() {
    try { return window.localStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
  }

  function storageSet(value) {
    try { window.localStorage.setItem(STORAGE_KEY, value); } catch (e) { /* private mode */ }
  }

  // ---------------------------------------------------------------- dates

  function locale() {
    var lang = str(state.team && state.team.language) || navigator.language || 'en';
    return lang;
  }

  var tzCache = {};
  function teamZone() {
    var tz = str(state.team && state.team.timezone);
    if (!tz) return undefined;
    if (!(tz in tzCache)) {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        tzCache[tz] = true;
      } catch (e) {
        tzCache[tz] = false;
      }
    }
    return tzCache[tz] ? tz : undefined;
  }

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return undefined; }
  }

  function parseDate(iso) {
    if (!iso) return null;
    var d = new Date(iso);
    return isNaN(d.getTime()) ? null : d;
  }

  function formatDate(d, opts) {
    var o = Object.assign({}, opts);
    var tz = teamZone();
    if (tz) o.timeZone = tz;
    try {
      return new Intl.DateTimeFormat(locale(), o).format(d);
    } catch (e) {
      try { return new Intl.DateTimeFormat(undefined, opts).format(d); } catch (e2) { return d.toISOString(); }
    }
  }

  function dayKey(d) {
    return formatDate(d, { year: 'numeric', month: '2-digit', day: '2-digit' });
  }

  function timeOnly(d) {
    return formatDate(d, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  }

  function dayLong(d) {
    var now = new Date();
    var opts = { weekday: 'long', day: 'numeric', month: 'long' };
    if (formatDate(d, { year: 'numeric' }) !== formatDate(now, { year: 'numeric' })) opts.year = 'numeric';
    return formatDate(d, opts);
  }

  function whenShort(d) {
    var opts = { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    var tz = teamZone();
    if (tz && tz !== browserZone()) opts.timeZoneName = 'short';
    return formatDate(d, opts);
  }

  // ---------------------------------------------------------------- rich text

  // Slack-like inline marks: *bold*, _italic_, `code`; only at word boundaries.
  var INLINE = /\*([^*\n]+)\*|`([^`\n]+)`|_([^_\n]+)_/g;
  var OPENERS = /[\s([{"'“‘«—–-]/;
  var CLOSERS = /[\s)\]}.,;:!?"'”’»—–-]/;

  // Plain text with http(s) links made clickable (review links, exports).
  var URL_RE = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/g;

  function appendText(frag, text) {
    var last = 0;
    var m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text)) !== null) {
      if (m.index > last) frag.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = h('a', { text: m[0] });
      a.href = m[0];
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      frag.appendChild(a);
      last = m.index + m[0].length;
    }
    if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
  }

  function rich(text) {
    var frag = document.createDocumentFragment();
    text = str(text);
    var last = 0;
    var m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text)) !== null) {
      var start = m.index;
      var end = start + m[0].length;
      var before = start === 0 ? '' : text.charAt(start - 1);
      var after = end >= text.length ? '' : text.charAt(end);
      var isCode = m[2] !== undefined;
      var inner = m[1] !== undefined ? m[1] : isCode ? m[2] : m[3];
      var ok = (before === '' || OPENERS.test(before)) && (after === '' || CLOSERS.test(after));
      if (!isCode && /^\s|\s$/.test(inner)) ok = false;
      if (!ok) {
        INLINE.lastIndex = start + 1;
        continue;
      }
      if (start > last) appendText(frag, text.slice(last, start));
      var tag = m[1] !== undefined ? 'strong' : isCode ? 'code' : 'em';
      frag.appendChild(h(tag, { text: inner }));
      last = end;
    }
    if (last < text.length) appendText(frag, text.slice(last));
    return frag;
  }

  // ---------------------------------------------------------------- toast

  var popoverSupported = typeof HTMLElement !== 'undefined' &&
    Object.prototype.hasOwnProperty.call(HTMLElement.prototype, 'popover');

  function toast(message, kind) {
    var t = el.toast;
    clearTimeout(state.toastTimer);
    t.textContent = str(message);
    t.className = 'toast toast-' + (kind || 'info');
    t.setAttribute('data-kind', kind || 'info');
    el.toastRegion.setAttribute('aria-live', kind === 'error' ? 'assertive' : 'polite');
    if (popoverSupported) {
      // Re-open so that it lands above an open modal dialog in the top layer.
      if (t.matches(':popover-open')) t.hidePopover();
      t.showPopover();
    } else {
      t.hidden = false;
    }
    state.toastTimer = setTimeout(hideToast, kind === 'error' ? 7000 : 4000);
  }

  function hideToast() {
    clearTimeout(state.toastTimer);
    var t = el.toast;
    if (popoverSupported) {
      if (t.matches(':popover-open')) t.hidePopover();
    } else {
      t.hidden = true;
    }
  }

  // ---------------------------------------------------------------- HTTP

  function ApiError(message, network) {
    this.message = message;
    this.network = !!network;
  }

  function api(method, path, body) {
    var init = { method: method, cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(API + path, init).then(
      function (res) {
        return res.text().then(function (raw) {
          var data = null;
          try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = null; }
          if (!res.ok) {
            var msg = data && typeof data.error === 'string' && data.error ? data.error : ('HTTP ' + res.status);
            throw new ApiError(msg, false);
          }
          if (data === null || typeof data !== 'object') throw new ApiError('HTTP ' + res.status, false);
          return data;
        });
      },
      function () {
        throw new ApiError(label('offline'), true);
      }
    );
  }

  // ---------------------------------------------------------------- state & polling

  function refresh() {
    var seq = ++state.seq;
    var user = state.user;
    var q = user ? '?user=' + encodeURIComponent(user) : '';
    return api('GET', '/state' + q).then(
      function (data) {
        if (seq !== state.seq) return; // a newer request is under way
        if (state.failing) {
          state.failing = false;
          if (el.toast.getAttribute('data-kind') === 'offline') hideToast();
        }
        applyState(data, user);
      },
      function (err) {
        if (seq !== state.seq) return;
        var unknown = user && !state.personas.some(function (p) { return p.id === user; });
        if (!err.network && unknown) {
          // A remembered persona the server no longer knows: start over with the default one.
          state.user = null;
          try { window.localStorage.removeItem(STORAGE_KEY); } catch (e) { /* ignore */ }
          return refresh();
        }
        if (!state.failing) {
          state.failing = true;
          toast(err.message, 'error');
          el.toast.setAttribute('data-kind', 'offline');
        }
      }
    );
  }

  function schedulePoll() {
    clearTimeout(state.pollTimer);
    state.pollTimer = setTimeout(function () {
      refresh().then(schedulePoll, schedulePoll);
    }, POLL_MS);
  }

  function refreshSoon() {
    return refresh().then(schedulePoll, schedulePoll);
  }

  function applyState(data, requestedUser) {
    state.team = data.team && typeof data.team === 'object' ? data.team : {};
    state.labels = data.labels && typeof data.labels === 'object' ? data.labels : {};
    var personas = Array.isArray(data.personas) ? data.personas.filter(function (p) {
      return p && typeof p === 'object' && p.id !== undefined && p.id !== null;
    }) : [];
    personas.forEach(function (p) { p.id = String(p.id); });
    state.personas = personas;

    state.welcome = data.welcome && typeof data.welcome === 'object' ? data.welcome : null;
    state.chips = Array.isArray(data.chips) ? data.chips.filter(function (c) { return typeof c === 'string'; }) : [];
    state.languages = data.languages && typeof data.languages === 'object' ? data.languages : null;

    applyChrome();
    renderPersonas();
    renderChips();
    renderLanguages();

    var known = personas.some(function (p) { return p.id === state.user; });
    if (!known) {
      if (personas.length) selectPersona(personas[0].id, false);
      return;
    }
    if (requestedUser !== state.user) return;
    var messages = Array.isArray(data.messages) ? data.messages : [];
    renderFeed(messages.concat(state.unkept.get(state.user) || []));
  }

  // A reply the server did not keep (it would hold the id of someone just forgotten): this
  // page alone shows it, with the command it answers, after what the server keeps.
  function keepHere(user, text, reply) {
    var at = new Date().toISOString();
    var mine = state.unkept.get(user) || [];
    mine.push({ id: 'unkept-' + (++state.unkeptSeq), private: true, created_at: at,
                payload: { type: 'command', user: user, text: text } });
    mine.push({ id: 'unkept-' + (++state.unkeptSeq), private: true, created_at: at, payload: reply });
    state.unkept.set(user, mine);
  }

  function selectPersona(id, remember) {
    id = String(id);
    if (remember) storageSet(id);
    if (id === state.user) return;
    state.user = id;
    if (el.dialog.open) el.dialog.close();
    clearFeed();
    updatePersonaPressed();
    refreshSoon();
  }

  function clearFeed() {
    state.feedItems.clear();
    el.feed.textContent = '';
    state.firstRender = true;
    el.jump.hidden = true;
  }

  // ---------------------------------------------------------------- chrome

  function applyChrome() {
    var sig = JSON.stringify([state.labels, state.team]);
    if (sig === state.chromeSig) return;
    var languageChanged = state.chromeSig !== '';
    state.chromeSig = sig;

    var team = state.team || {};
    var lang = str(team.language);
    if (lang) document.documentElement.lang = lang;
    var title = label('title');
    document.title = team.name ? title + ' · ' + team.name : title;

    el.teamName.textContent = title;
    el.teamMeta.textContent = [str(team.name), str(team.timezone)].filter(Boolean).join(' · ');
    el.channelName.textContent = str(team.name) || 'ritme';
    el.channelSub.textContent = [lang ? lang.toUpperCase() : '', str(team.timezone)].filter(Boolean).join(' · ');
    el.youAre.textContent = label('you_are');
    el.composer.placeholder = label('placeholder');
    el.composerLabel.textContent = label('placeholder');
    el.sendLabel.textContent = label('send');
    el.attach.setAttribute('aria-label', label('attach'));
    el.attach.title = label('attach');
    renderAttachment();
    el.submit.textContent = label('submit');
    el.cancel.textContent = label('cancel');
    el.chips.setAttribute('aria-label', label('quick'));
    el.jump.setAttribute('aria-label', label('new_messages'));
    el.jump.title = label('new_messages');

    // Labels and dates are baked into rendered messages: draw them again.
    if (languageChanged) clearFeed();
  }

  function renderPersonas() {
    var sig = JSON.stringify(state.personas);
    if (sig !== state.personaSig) {
      state.personaSig = sig;
      var list = el.personaList;
      list.textContent = '';
      state.personas.forEach(function (p) {
        var name = str(p.name) || p.id;
        var role = str(p.role) || 'member';
        var btn = h('button', {
          type: 'button',
          'class': 'persona',
          'data-testid': 'persona-' + p.id,
          'data-persona': p.id,
          'aria-pressed': 'false',
          onclick: function () { selectPersona(p.id, true); }
        },
          h('span', { 'class': 'avatar av-' + hashIndex(p.id, 8), 'aria-hidden': 'true', text: initials(name) }),
          h('span', { 'class': 'persona-text' },
            h('span', { 'class': 'persona-name', text: name }),
            h('span', { 'class': 'badge role-' + role.replace(/[^a-z0-9_-]/gi, ''), text: str(p.role_label) || role })
          )
        );
        list.appendChild(h('li', null, btn));
      });
    }
    updatePersonaPressed();
  }

  function updatePersonaPressed() {
    var buttons = el.personaList.querySelectorAll('button.persona');
    for (var i = 0; i < buttons.length; i++) {
      var on = buttons[i].getAttribute('data-persona') === state.user;
      buttons[i].setAttribute('aria-pressed', on ? 'true' : 'false');
      buttons[i].classList.toggle('is-active', on);
    }
  }

  function personaName(id) {
    for (var i = 0; i < state.personas.length; i++) {
      if (state.personas[i].id === String(id)) return str(state.personas[i].name) || state.personas[i].id;
    }
    return str(id);
  }

  // A chip puts its command in the input, to be read, changed and sent: it never sends by itself.
  function renderChips() {
    var sig = JSON.stringify(state.chips);
    if (sig === state.chipSig) return;
    state.chipSig = sig;
    el.chips.textContent = '';
    state.chips.forEach(function (cmd) {
      el.chips.appendChild(h('button', {
        type: 'button',
        'class': 'chip',
        'data-testid': 'chip',
        'data-command': cmd,
        onclick: function () { fillComposer(cmd); }
      }, cmd));
    });
    el.chips.hidden = !state.chips.length;
  }

  function fillComposer(text) {
    el.composer.value = text;
    el.composer.focus();
    el.composer.setSelectionRange(text.length, text.length);
    state.historyPos = state.history.length;
  }

  // The team's language, switched with the `language` command (admins only; others hear why not).
  function renderLanguages() {
    var l = state.languages;
    var sig = JSON.stringify([l, state.team && state.team.language]);
    if (sig === state.languageSig) return;
    state.languageSig = sig;
    var box = el.languages;
    box.textContent = '';
    var options = l && Array.isArray(l.options) ? l.options : [];
    box.hidden = !options.length;
    if (!options.length) return;
    box.setAttribute('aria-label', str(l.label));
    var current = str(state.team && state.team.language);
    options.forEach(function (o) {
      var on = str(o.code) === current;
      box.appendChild(h('button', {
        type: 'button',
        'class': 'lang',
        lang: str(o.code),
        'data-testid': 'language-' + str(o.code),
        'aria-pressed': on ? 'true' : 'false',
        'aria-disabled': !on && !l.may_switch ? 'true' : null,
        'aria-label': str(o.name),
        title: !on && !l.may_switch ? str(l.hint) : str(o.name),
        onclick: function () {
          if (on) return;
          if (!l.may_switch) toast(str(l.hint), 'info');
          else sendCommand(str(o.command));
        }
      }, str(o.code).toUpperCase()));
    });
  }

  // ---------------------------------------------------------------- feed

  function isAtBottom() {
    var f = el.feed;
    return f.scrollHeight - f.scrollTop - f.clientHeight <= BOTTOM_SLACK;
  }

  function scrollToBottom() {
    el.feed.scrollTop = el.feed.scrollHeight;
    el.jump.hidden = true;
  }

  function renderFeed(messages) {
    var wasAtBottom = isAtBottom();
    var items = [];
    var lastDay = null;
    if (state.welcome) {
      var sig = JSON.stringify(state.welcome) + '|' + state.user;
      items.push({ key: 'welcome', sig: sig, build: buildWelcome.bind(null, state.welcome) });
    }
    messages.forEach(function (m) {
      if (!m || typeof m !== 'object' || !m.payload || typeof m.payload !== 'object') return;
      if (!renderable(m.payload)) return;
      var d = parseDate(m.created_at);
      if (d) {
        var day = dayKey(d);
        if (day !== lastDay) {
          lastDay = day;
          items.push({ key: 'day:' + day, sig: day, build: buildDay.bind(null, d) });
        }
      }
      var sig = JSON.stringify(m) + '|' + (m.payload.type === 'command' ? personaName(m.payload.user) : '');
      items.push({ key: 'msg:' + m.id, sig: sig, build: buildMessage.bind(null, m), isMessage: true });
    });

    var added = reconcile(items);

    if (state.firstRender && !items.some(function (i) { return i.isMessage; })) {
      el.feed.scrollTop = 0; // a new channel: its welcome card from the top
    } else if (state.firstRender || state.forceBottom || wasAtBottom) {
      scrollToBottom();
    } else if (added > 0) {
      el.jump.hidden = false;
    }
    state.firstRender = false;
    state.forceBottom = false;
  }

  function renderable(p) {
    if (p.type === 'command' || p.type === 'prompt' || p.type === 'notice') return true;
    // Anything else with words in it is shown like a notice; silent types are skipped.
    return !!(p.text || p.title || (p.notice && typeof p.notice === 'object'));
  }

  // Put the feed's children in the order of `items`, building only what is new or changed.
  function reconcile(items) {
    var feed = el.feed;
    var old = state.feedItems;
    var next = new Map();
    var added = 0;

    // Remember what had focus so that a rebuilt element can take it back.
    var active = document.activeElement;
    var focusId = active && feed.contains(active) && active !== feed ? active.getAttribute('data-testid') : null;

    items.forEach(function (item) {
      if (next.has(item.key)) return; // duplicate id: keep the first
      var entry = old.get(item.key);
      if (entry && entry.sig === item.sig) {
        next.set(item.key, entry);
      } else {
        if (!entry && item.isMessage) added++;
        next.set(item.key, { sig: item.sig, node: item.build() });
      }
    });

    old.forEach(function (entry, key) {
      var keep = next.get(key);
      if (!keep || keep.node !== entry.node) entry.node.remove();
    });

    var cursor = feed.firstChild;
    next.forEach(function (entry) {
      if (cursor === entry.node) {
        cursor = cursor.nextSibling;
      } else {
        feed.insertBefore(entry.node, cursor);
      }
    });
    while (cursor) {
      var after = cursor.nextSibling;
      cursor.remove();
      cursor = after;
    }
    state.feedItems = next;

    if (focusId && (!document.activeElement || document.activeElement === document.body)) {
      var again = feed.querySelector('[data-testid="' + cssEscape(focusId) + '"]');
      if (again) again.focus();
    }
    return added;
  }

  function cssEscape(v) {
    return window.CSS && CSS.escape ? CSS.escape(v) : String(v).replace(/["\\]/g, '\\$&');
  }

  // The channel's first message: five steps, each with buttons that pick a person or put a
  // command in the input (a command its person may not run picks the step's person first).
  function buildWelcome(w) {
    var steps = Array.isArray(w.steps) ? w.steps : [];
    var hintId = 'welcome-fill-hint';
    var list = h('ol', { 'class': 'welcome-steps' });
    steps.forEach(function (step, i) {
      var buttons = Array.isArray(step.buttons) ? step.buttons : [];
      list.appendChild(h('li', { 'class': 'welcome-step', 'data-testid': 'welcome-step-' + (i + 1) },
        h('span', { 'class': 'step-num', 'aria-hidden': 'true', text: String(i + 1) }),
        h('div', { 'class': 'step-body' },
          h('h3', { 'class': 'step-title', text: str(step.title) }),
          h('p', { 'class': 'step-text' }, rich(step.text)),
          buttons.length ? h('div', { 'class': 'step-actions' }, buttons.map(function (b, j) {
            return welcomeButton(b, 'welcome-' + (i + 1) + '-' + (j + 1), hintId);
          })) : null)));
    });
    return h('section', { 'class': 'welcome', 'data-testid': 'welcome', 'aria-labelledby': 'welcome-title' },
      h('div', { 'class': 'welcome-head' },
        h('div', { 'class': 'avatar avatar-bot', 'aria-hidden': 'true' }, logo('bot-logo')),
        h('div', null,
          h('h2', { 'class': 'welcome-title', id: 'welcome-title', text: str(w.title) }),
          h('p', { 'class': 'welcome-intro', text: str(w.intro) }))),
      list,
      h('p', { 'class': 'welcome-footer' }, h('span', { id: hintId, text: str(w.fill_hint) }), ' ', rich(w.footer)));
  }

  function welcomeButton(b, testid, hintId) {
    var persona = str(b.persona);
    if (b.command) {
      var cmd = str(b.command);
      return h('button', {
        type: 'button',
        'class': 'btn btn-ghost step-command',
        'data-testid': testid,
        'data-command': cmd,
        'aria-describedby': hintId,
        onclick: function () {
          if (!b.may && persona) selectPersona(persona, true);
          fillComposer(cmd);
        }
      }, h('code', { text: cmd }));
    }
    var on = persona === state.user;
    return h('button', {
      type: 'button',
      'class': 'btn ' + (on ? 'btn-ghost' : 'btn-primary') + ' step-persona',
      'data-testid': testid,
      'data-persona': persona,
      'aria-pressed': on ? 'true' : 'false',
      onclick: function () { selectPersona(persona, true); }
    }, h('span', { 'class': 'avatar av-' + hashIndex(persona, 8), 'aria-hidden': 'true', text: initials(personaName(persona)) }),
      str(b.label));
  }

  function buildDay(d) {
    return h('div', { 'class': 'day-divider', role: 'separator' },
      h('span', { 'class': 'day-label', text: dayLong(d) }));
  }

  function timeEl(d) {
    if (!d) return null;
    return h('time', { 'class': 'msg-time', datetime: d.toISOString(), title: whenShort(d), text: timeOnly(d) });
  }

  function privateTag() {
    return h('span', { 'class': 'private-tag' }, eyeIcon(), h('span', { text: label('private') }));
  }

  function buildMessage(m) {
    var p = m.payload;
    var type = str(p.type);
    var d = parseDate(m.created_at);
    var art = h('article', {
      'class': 'msg msg-' + (type === 'command' ? 'command' : 'bot') + (m.private ? ' is-private' : ''),
      'data-testid': 'message',
      'data-type': type,
      'data-id': str(m.id),
      'data-private': m.private ? 'true' : 'false'
    });

    if (type === 'command') {
      var who = personaName(p.user);
      var text = str(p.text).trim();
      if (text.charAt(0) !== '/') text = '/ritme ' + text;
      if (str(p.user) === state.user) art.classList.add('is-own');
      art.appendChild(h('div', { 'class': 'bubble-meta' },
        h('span', { 'class': 'msg-author', text: who }), timeEl(d)));
      var sent = Array.isArray(p.files) ? p.files.filter(function (f) { return typeof f === 'string' && f; }) : [];
      art.appendChild(h('div', { 'class': 'bubble' }, h('code', { 'class': 'bubble-text', text: text }),
        sent.length ? h('div', { 'class': 'bubble-files', 'data-testid': 'message-files' }, sent.map(function (f) {
          return h('span', { 'class': 'bubble-file' }, clipIcon(), h('span', { text: f }));
        })) : null));
      if (m.private) art.appendChild(h('div', { 'class': 'bubble-foot' }, privateTag()));
      return art;
    }

    var main = h('div', { 'class': 'msg-main' },
      h('div', { 'class': 'msg-meta' },
        h('span', { 'class': 'msg-author', text: label('bot') }),
        timeEl(d),
        m.private ? privateTag() : null));

    if (type === 'prompt') {
      art.setAttribute('data-occurrence', str(p.occurrence_id));
      art.setAttribute('data-kind', str(p.kind));
      main.appendChild(buildPrompt(p, m));
    } else {
      main.appendChild(buildNotice(p.notice && typeof p.notice === 'object' ? p.notice : p));
    }
    art.appendChild(h('div', { 'class': 'avatar avatar-bot', 'aria-hidden': 'true' }, logo('bot-logo')));
    art.appendChild(main);
    return art;
  }

  function buildNotice(n) {
    var box = h('div', { 'class': 'notice' });
    if (n.title) box.appendChild(h('p', { 'class': 'notice-title' }, h('strong', null, rich(n.title))));
    if (n.text) box.appendChild(h('div', { 'class': 'notice-text' }, rich(n.text)));
    var fields = Array.isArray(n.fields) ? n.fields : [];
    if (fields.length) {
      var dl = h('dl', { 'class': 'fields' });
      fields.forEach(function (f) {
        var k = Array.isArray(f) ? f[0] : f && f.label;
        var v = Array.isArray(f) ? f[1] : f && f.value;
        dl.appendChild(h('div', { 'class': 'field' },
          h('dt', null, rich(k)),
          h('dd', null, rich(v))));
      });
      box.appendChild(dl);
    }
    if (n.footer) box.appendChild(h('p', { 'class': 'notice-footer' }, rich(n.footer)));
    return box;
  }

  function answeredText(n) {
    var l = label('answered');
    return l.indexOf('{n}') >= 0 ? '✓ ' + l.replace('{n}', String(n)) : '✓ ' + n + ' ' + l;
  }

  function buildPrompt(p, m) {
    var occ = str(p.occurrence_id);
    var titleId = 'prompt-title-' + str(m.id);
    var kind = str(p.kind);
    var card = h('section', {
      'class': 'prompt-card kind-' + kind.replace(/[^a-z0-9_-]/gi, '') + (p.closed ? ' is-closed' : ''),
      'aria-labelledby': titleId
    });

    card.appendChild(h('header', { 'class': 'prompt-head' },
      h('h3', { 'class': 'prompt-title', id: titleId, text: str(p.title) }),
      p.anonymous ? h('span', { 'class': 'prompt-anon' }, lockIcon()) : null));

    if (p.intro) card.appendChild(h('div', { 'class': 'prompt-intro' }, rich(p.intro)));

    var inputs = Array.isArray(p.inputs) ? p.inputs : [];
    var labels = inputs.map(function (i) { return str(i && i.label); }).filter(Boolean);
    if (labels.length === 1 && labels[0] !== str(p.intro)) {
      card.appendChild(h('p', { 'class': 'prompt-question' }, rich(labels[0])));
    } else if (labels.length > 1) {
      card.appendChild(h('ol', { 'class': 'prompt-questions' }, labels.map(function (l) {
        return h('li', null, rich(l));
      })));
    }

    if (p.context) {
      card.appendChild(h('p', { 'class': 'prompt-context' + (p.anonymous ? ' is-anonymous' : '') },
        p.anonymous ? lockIcon() : null, h('span', null, rich(p.context))));
    }

    // Who answered this open round sees so (m.own); a named answer opens again to be changed,
    // an anonymous one is sealed and cannot be (its values never come back: null).
    var own = !p.closed && m.own && typeof m.own === 'object' ? m.own : null;
    var actions = h('div', { 'class': 'prompt-actions' });
    if (p.closed) {
      actions.appendChild(h('span', { 'class': 'prompt-closed', text: str(p.answer_label) }));
    } else if (own && !own.values) {
      actions.appendChild(h('span', {
        'class': 'prompt-answered is-mine',
        'data-testid': 'answered-' + occ,
        text: str(p.answered_mark)
      }));
    } else {
      actions.appendChild(h('button', {
        type: 'button',
        'class': 'btn btn-answer ' + (own ? 'btn-ghost is-answered' : 'btn-primary'),
        'data-testid': 'answer-' + occ,
        'data-answered': own ? 'true' : null,
        'aria-describedby': titleId,
        'aria-haspopup': 'dialog',
        onclick: function (ev) { openDialog(p, ev.currentTarget, own ? own.values : null); }
      }, own ? str(p.answered_mark) : str(p.answer_label) || label('answer')));
    }

    var who = Array.isArray(p.answered_by) ? p.answered_by : [];
    if (who.length) {
      actions.appendChild(h('span', {
        'class': 'prompt-answered',
        'data-testid': 'prompt-answered-' + occ,
        title: p.anonymous ? null : who.join(', '),
        text: answeredText(who.length)
      }));
    }

    var closes = parseDate(p.closes_at);
    if (closes && !p.closed) {
      actions.appendChild(h('span', { 'class': 'prompt-closes' },
        label('closes') + ' ',
        h('time', { datetime: closes.toISOString(), text: whenShort(closes) })));
    }
    card.appendChild(actions);
    return card;
  }

  // ---------------------------------------------------------------- composer

  function sendCommand(text) {
    text = str(text).trim();
    if (!text) {
      el.composer.focus();
      return;
    }
    if (state.sending || !state.user) return;
    state.sending = true;
    el.send.disabled = true;
    el.composerForm.setAttribute('aria-busy', 'true');
    if (state.history[state.history.length - 1] !== text) state.history.push(text);
    state.historyPos = state.history.length;

    var sender = state.user;
    var body = { user: sender, text: text };
    var attached = state.attachment;
    if (attached) body.files = [{ name: attached.name, content_base64: attached.content_base64 }];

    api('POST', '/command', body).then(
      function (res) {
        if (el.composer.value.trim() === text) el.composer.value = '';
        if (attached && state.attachment === attached) setAttachment(null);
        state.forceBottom = true;
        if (res && res.kept === false && res.reply && typeof res.reply === 'object') keepHere(sender, text, res.reply);
        // The reply itself shows up in the feed; only a bare refusal needs a toast.
        if (res && res.ok === false && !res.reply && (res.message || res.error)) {
          toast(res.message || res.error, 'error');
        }
      },
      function (err) {
        toast(err.message, 'error');
      }
    ).then(function () {
      state.sending = false;
      el.send.disabled = false;
      el.composerForm.removeAttribute('aria-busy');
      return refreshSoon();
    });
  }

  function onComposerKey(ev) {
    if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
    var input = el.composer;
    if (ev.key === 'ArrowUp') {
      if (input.value && input.selectionStart !== 0 && state.historyPos === state.history.length) return;
      if (state.historyPos > 0) {
        state.historyPos--;
        input.value = state.history[state.historyPos];
        ev.preventDefault();
      }
    } else if (state.historyPos < state.history.length) {
      state.historyPos++;
      input.value = state.historyPos < state.history.length ? state.history[state.historyPos] : '';
      ev.preventDefault();
    }
  }

  // ---------------------------------------------------------------- attached file

  function maxFileKib() {
    var n = Number(state.labels && state.labels.max_file_kib);
    return n > 0 ? n : MAX_FILE_KIB;
  }

  function isCalendar(file) {
    return /\.ics$/i.test(file.name) || file.type === 'text/calendar';
  }

  function sizeText(bytes) {
    return bytes < 1024 ? bytes + ' B' : Math.ceil(bytes / 1024) + ' KiB';
  }

  function onFileChosen() {
    var file = el.fileInput.files && el.fileInput.files[0];
    el.fileInput.value = ''; // picking the same file again fires another change
    if (!file) return;
    if (!isCalendar(file)) {
      toast(label('file_type'), 'error');
      return;
    }
    if (file.size > maxFileKib() * 1024) {
      toast(label('file_too_large').replace('{size}', String(maxFileKib())), 'error');
      return;
    }
    var ticket = ++state.reading;
    var reader = new FileReader();
    reader.onload = function () {
      if (ticket !== state.reading) return;
      var url = String(reader.result || '');
      var comma = url.indexOf(',');
      setAttachment({ name: file.name, size: file.size, content_base64: comma >= 0 ? url.slice(comma + 1) : '' });
      el.composer.focus();
    };
    reader.onerror = function () {
      if (ticket === state.reading) toast(label('file_type'), 'error');
    };
    reader.readAsDataURL(file);
  }

  function setAttachment(attachment) {
    state.attachment = attachment;
    if (attachment && el.toast.getAttribute('data-kind') === 'error') hideToast(); // the refusal is old news
    renderAttachment();
  }

  function renderAttachment() {
    var a = state.attachment;
    var box = el.attachments;
    box.textContent = '';
    box.hidden = !a;
    el.attach.setAttribute('data-attached', a ? 'true' : 'false');
    if (!a) return;
    box.appendChild(h('span', { 'class': 'file-chip', 'data-testid': 'attached-file' },
      clipIcon(),
      h('span', { 'class': 'file-name', title: a.name, text: a.name }),
      h('span', { 'class': 'file-size', text: sizeText(a.size) }),
      h('button', {
        type: 'button',
        'class': 'file-remove',
        'data-testid': 'remove-file',
        'aria-label': label('remove_file').replace('{name}', a.name),
        title: label('remove_file').replace('{name}', a.name),
        onclick: function () {
          setAttachment(null);
          el.attach.focus();
        }
      }, h('span', { 'aria-hidden': 'true', text: '×' }))));
  }

  // ---------------------------------------------------------------- answer dialog

  function safeKey(key) {
    return str(key).replace(/[^A-Za-z0-9_-]/g, '_');
  }

  function optionList(input) {
    var opts = Array.isArray(input.options) ? input.options : [];
    return opts.filter(function (o) { return o && o.value !== undefined && o.value !== null; })
      .map(function (o) { return { value: String(o.value), label: str(o.label) || String(o.value) }; });
  }

  function questionLabel(input, forId, id) {
    var attrs = { 'class': 'q-label', id: id };
    if (forId) attrs['for'] = forId;
    return h(forId ? 'label' : 'legend', attrs,
      rich(input.label),
      input.optional ? h('span', { 'class': 'q-optional', text: ' (' + label('optional') + ')' }) : null);
  }

  function buildInput(input, index) {
    var key = str(input.key);
    var kind = str(input.kind) || 'text';
    var base = 'f' + index + '-' + safeKey(key);
    var name = 'q-' + index + '-' + safeKey(key);
    var required = !input.optional;
    var options = optionList(input);
    var group;

    if (kind === 'scale') {
      if (!options.length) options = [1, 2, 3, 4, 5].map(function (n) { return { value: String(n), label: String(n) }; });
      group = h('fieldset', { 'class': 'q q-scale', 'data-testid': 'input-' + key, 'data-key': key, 'data-kind': 'scale' },
        questionLabel(input, null, base + '-q'));
      var lowId = base + '-low';
      var highId = base + '-high';
      var row = h('div', { 'class': 'scale-row' });
      var scale = h('div', { 'class': 'scale', role: 'radiogroup', 'aria-labelledby': base + '-q', 'aria-required': required ? 'true' : null });
      options.forEach(function (o, i) {
        var described = [];
        if (i === 0 && input.low_label) described.push(lowId);
        if (i === options.length - 1 && input.high_label) described.push(highId);
        scale.appendChild(h('label', { 'class': 'scale-opt' },
          h('input', {
            type: 'radio',
            name: name,
            value: o.value,
            id: base + '-' + safeKey(o.value),
            'data-testid': 'input-' + key + '-' + o.value,
            'aria-describedby': described.length ? described.join(' ') : null
          }),
          h('span', { 'class': 'scale-num', text: o.label })));
      });
      row.appendChild(scale);
      if (input.low_label || input.high_label) {
        row.appendChild(h('div', { 'class': 'scale-ends' },
          h('span', { 'class': 'scale-low', id: lowId, text: str(input.low_label) }),
          h('span', { 'class': 'scale-high', id: highId, text: str(input.high_label) })));
      }
      group.appendChild(row);
      return group;
    }

    if (kind === 'choice' && options.length > 6) {
      group = h('div', { 'class': 'q q-select', 'data-key': key, 'data-kind': 'choice' }, questionLabel(input, base, base + '-q'));
      var select = h('select', { id: base, name: name, 'class': 'select', 'data-testid': 'input-' + key, 'aria-required': required ? 'true' : null },
        h('option', { value: '', text: '—' }));
      options.forEach(function (o) { select.appendChild(h('option', { value: o.value, text: o.label })); });
      group.appendChild(select);
      return group;
    }

    if (kind === 'choice' || kind === 'multi') {
      var multi = kind === 'multi';
      var max = Math.max(1, parseInt(input.max_choices, 10) || 1);
      group = h('fieldset', { 'class': 'q q-options', 'data-testid': 'input-' + key, 'data-key': key, 'data-kind': kind },
        questionLabel(input, null, base + '-q'));
      var list = h('div', { 'class': 'option-list' + (options.length > 4 ? ' is-grid' : '') });
      options.forEach(function (o) {
        list.appendChild(h('label', { 'class': 'option' },
          h('input', {
            type: multi ? 'checkbox' : 'radio',
            name: name,
            value: o.value,
            id: base + '-' + safeKey(o.value),
            'data-testid': 'input-' + key + '-' + o.value
          }),
          h('span', { 'class': 'option-label', text: o.label })));
      });
      group.appendChild(list);
      if (multi && max > 1) {
        var counter = h('p', { 'class': 'q-counter', 'aria-live': 'polite', text: '0 / ' + max });
        group.appendChild(counter);
        group.addEventListener('change', function () { limitChoices(group, max, counter); });
      } else if (multi) {
        group.addEventListener('change', function () { limitChoices(group, max, null); });
      }
      return group;
    }

    // text (and anything unknown)
    group = h('div', { 'class': 'q q-text', 'data-key': key, 'data-kind': 'text' }, questionLabel(input, base, base + '-q'));
    group.appendChild(h('textarea', {
      id: base,
      name: name,
      rows: '4',
      maxlength: String(Number(input.max_length) || 3000),
      'class': 'textarea',
      'data-testid': 'input-' + key,
      'aria-required': required ? 'true' : null
    }));
    return group;
  }

  function limitChoices(group, max, counter) {
    var boxes = group.querySelectorAll('input[type="checkbox"]');
    var checked = 0;
    for (var i = 0; i < boxes.length; i++) if (boxes[i].checked) checked++;
    for (var j = 0; j < boxes.length; j++) {
      var off = checked >= max && !boxes[j].checked;
      boxes[j].disabled = off;
      boxes[j].closest('.option').classList.toggle('is-disabled', off);
    }
    if (counter) counter.textContent = checked + ' / ' + max;
  }

  // Fill the form's fields with an earlier answer (values by input key).
  function fillIn(body, values) {
    var groups = body.querySelectorAll('.q');
    for (var i = 0; i < groups.length; i++) {
      var g = groups[i];
      var v = values[g.getAttribute('data-key')];
      if (v === undefined || v === null) continue;
      var kind = g.getAttribute('data-kind');
      if (kind === 'text') {
        g.querySelector('textarea').value = String(v);
        continue;
      }
      var select = g.querySelector('select');
      if (select) {
        select.value = String(v);
        continue;
      }
      var wanted = (Array.isArray(v) ? v : [v]).map(String);
      var boxes = g.querySelectorAll('input');
      for (var j = 0; j < boxes.length; j++) boxes[j].checked = wanted.indexOf(boxes[j].value) >= 0;
      if (kind === 'multi') g.dispatchEvent(new Event('change'));
    }
  }

  function openDialog(prompt, opener, earlier) {
    var d = state.dialog;
    var key = state.user + ':' + str(prompt.occurrence_id);
    var inputs = Array.isArray(prompt.inputs) ? prompt.inputs : [];
    var sig = JSON.stringify(inputs);

    var draft = state.drafts.get(key);
    if (!draft || draft.sig !== sig) {
      var body = h('div', { 'class': 'dialog-fields' });
      inputs.forEach(function (input, i) {
        if (input && typeof input === 'object') body.appendChild(buildInput(input, i));
      });
      if (earlier && typeof earlier === 'object') fillIn(body, earlier);
      draft = { sig: sig, body: body };
      state.drafts.set(key, draft);
    }

    d.key = key;
    d.prompt = prompt;
    d.returnTo = opener ? opener.getAttribute('data-testid') : null;

    el.dialogTitle.textContent = str(prompt.title);
    el.dialogIntro.textContent = '';
    el.dialogIntro.appendChild(rich(prompt.intro));
    el.dialogIntro.hidden = !prompt.intro;
    el.dialogContext.textContent = '';
    el.dialogContext.appendChild(rich(prompt.context));
    el.dialogContext.hidden = !prompt.context;
    el.dialogBody.textContent = '';
    el.dialogBody.appendChild(draft.body);
    el.dialog.setAttribute('data-occurrence', str(prompt.occurrence_id));
    el.dialog.classList.toggle('is-anonymous', !!prompt.anonymous);
    setDialogError('');
    setBusy(false);

    if (!el.dialog.open) el.dialog.showModal();
    var first = el.dialogBody.querySelector('textarea, input:checked, input, select');
    if (first) first.focus();
  }

  function collectValues() {
    var values = {};
    var groups = el.dialogBody.querySelectorAll('.q');
    for (var i = 0; i < groups.length; i++) {
      var g = groups[i];
      var key = g.getAttribute('data-key');
      var kind = g.getAttribute('data-kind');
      if (kind === 'text') {
        var t = g.querySelector('textarea').value.trim();
        if (t) values[key] = t;
      } else if (kind === 'scale') {
        var s = g.querySelector('input:checked');
        if (s) {
          var n = parseInt(s.value, 10);
          values[key] = isNaN(n) ? s.value : n;
        }
      } else if (kind === 'choice') {
        var sel = g.querySelector('select');
        if (sel) {
          if (sel.value) values[key] = sel.value;
        } else {
          var r = g.querySelector('input:checked');
          if (r) values[key] = r.value;
        }
      } else if (kind === 'multi') {
        var picked = Array.prototype.map.call(g.querySelectorAll('input:checked'), function (b) { return b.value; });
        if (picked.length) values[key] = picked;
      }
    }
    return values;
  }

  function setDialogError(message) {
    el.dialogError.textContent = str(message);
    el.dialogError.hidden = !message;
  }

  function setBusy(busy) {
    state.dialog.busy = busy;
    el.submit.disabled = busy;
    if (busy) el.answerForm.setAttribute('aria-busy', 'true');
    else el.answerForm.removeAttribute('aria-busy');
  }

  function submitAnswer(ev) {
    ev.preventDefault();
    var d = state.dialog;
    if (d.busy || !d.prompt) return;
    var key = d.key;
    var body = {
      user: state.user,
      occurrence_id: d.prompt.occurrence_id,
      values: collectValues()
    };
    setBusy(true);
    setDialogError('');
    api('POST', '/answer', body).then(
      function (res) {
        if (state.dialog.key !== key) return;
        if (res.ok) {
          closeDialog();
          toast(res.message || label('saved'), 'success');
        } else {
          setDialogError(res.message || res.error || '');
          revealError();
        }
      },
      function (err) {
        if (state.dialog.key !== key) return;
        setDialogError(err.message);
        toast(err.message, 'error');
      }
    ).then(function () {
      setBusy(false);
      refreshSoon();
    });
  }

  function revealError() {
    el.dialogError.scrollIntoView({ block: 'nearest' });
  }

  function closeDialog() {
    if (el.dialog.open) el.dialog.close();
  }

  function onDialogClose() {
    var back = state.dialog.returnTo;
    state.dialog.prompt = null;
    state.dialog.key = null;
    if (back) {
      var btn = el.feed.querySelector('[data-testid="' + cssEscape(back) + '"]');
      if (btn && (document.activeElement === document.body || !document.activeElement || !document.contains(document.activeElement))) {
        btn.focus();
      }
    }
  }

  // ---------------------------------------------------------------- start

  function init() {
    el.feed = $('feed');
    el.jump = $('jump');
    el.personaList = $('persona-list');
    el.youAre = $('you-are');
    el.teamName = $('team-name');
    el.teamMeta = $('team-meta');
    el.channelName = $('channel-name');
    el.channelSub = $('channel-sub');
    el.chips = $('chips');
    el.languages = $('languages');
    el.composerForm = $('composer-form');
    el.composer = $('composer');
    el.composerLabel = $('composer-label');
    el.send = $('send');
    el.sendLabel = $('send-label');
    el.attach = $('attach');
    el.fileInput = $('file-input');
    el.attachments = $('attachments');
    el.dialog = $('answer-dialog');
    el.answerForm = $('answer-form');
    el.dialogTitle = $('dialog-title');
    el.dialogIntro = $('dialog-intro');
    el.dialogBody = $('dialog-body');
    el.dialogContext = $('dialog-context');
    el.dialogError = $('dialog-error');
    el.submit = $('submit-answer');
    el.cancel = $('cancel-answer');
    el.toast = $('toast');
    el.toastRegion = $('toast-region');

    if (popoverSupported) {
      el.toast.setAttribute('popover', 'manual');
      el.toast.hidden = false;
    }
    el.toast.addEventListener('click', hideToast);

    // Fallback chrome until the server's labels arrive.
    applyChrome();
    state.chromeSig = '';
    renderChips();

    el.composerForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      sendCommand(el.composer.value);
    });
    el.composer.addEventListener('keydown', onComposerKey);
    el.attach.addEventListener('click', function () { el.fileInput.click(); });
    el.fileInput.addEventListener('change', onFileChosen);

    el.answerForm.addEventListener('submit', submitAnswer);
    el.cancel.addEventListener('click', closeDialog);
    el.dialog.addEventListener('close', onDialogClose);
    el.dialog.addEventListener('click', function (ev) {
      // A click on the backdrop (outside the form) closes the dialog; the draft stays.
      if (ev.target === el.dialog && !state.dialog.busy) closeDialog();
    });

    el.feed.addEventListener('scroll', function () {
      if (isAtBottom()) el.jump.hidden = true;
    }, { passive: true });
    el.jump.addEventListener('click', function () {
      scrollToBottom();
      el.composer.focus();
    });

    document.addEventListener('visibilitychange', function () {
      if (!document.hidden) refreshSoon();
    });

    var stored = storageGet();
    if (stored) state.user = stored;
    refreshSoon();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
