// labreport preview: the report in page boxes drawn from its print stylesheet's @page
// geometry (size, margins, margin boxes), updated in place whenever `labreport preview`
// renders again, keeping the scroll position. Served with the page only; never in a report.
(() => {
  "use strict";
  const BOXES = ["top-left", "top-center", "top-right", "bottom-left", "bottom-center", "bottom-right"];
  const CONTAINERS = new Set(["SECTION", "DIV", "HEADER", "NAV", "ARTICLE", "MAIN", "ASIDE", "FOOTER", "UL", "OL"]);
  const PX_PER_MM = 96 / 25.4;
  let updating = false;
  let again = false;

  function settings(doc) {
    const node = doc.getElementById("labreport-preview");
    return node ? JSON.parse(node.textContent) : { version: 0, error: null, page: null };
  }

  // --- the report's blocks, in order, each with the containers it sits in ---------------

  function isContainer(element) {
    if (!CONTAINERS.has(element.tagName) || element.children.length === 0) return false;
    return Array.from(element.childNodes).every((node) => node.nodeType !== Node.TEXT_NODE || !node.textContent.trim());
  }

  function blocks(element, ancestors, out) {
    for (const child of Array.from(element.children)) {
      if (child.tagName === "SCRIPT" || child.tagName === "STYLE") continue;
      if (isContainer(child)) blocks(child, ancestors.concat([child]), out);
      else out.push({ node: child, ancestors });
    }
    return out;
  }

  const forced = (value) => ["page", "left", "right", "recto", "verso", "always"].includes(value);

  function breakRules(items) {
    const styles = new Map();
    const style = (element) => {
      if (!styles.has(element)) {
        const computed = getComputedStyle(element);
        styles.set(element, { before: computed.breakBefore, after: computed.breakAfter });
      }
      return styles.get(element);
    };
    items.forEach((item, index) => {
      const previous = items[index - 1];
      item.keepWithNext = /^H[1-6]$/.test(item.node.tagName) || style(item.node).after === "avoid";
      if (!previous) return;
      const left = [previous.node, ...previous.ancestors.filter((a) => !item.ancestors.includes(a))];
      const entered = [...item.ancestors.filter((a) => !previous.ancestors.includes(a)), item.node];
      item.pageBefore = left.some((e) => forced(style(e).after)) || entered.some((e) => forced(style(e).before));
    });
  }

  // --- pages ---------------------------------------------------------------------------

  function newPage(book) {
    const page = document.createElement("div");
    page.className = "lr-page";
    const area = document.createElement("div");
    area.className = "lr-area";
    page.appendChild(area);
    book.appendChild(page);
    return { page, area, chain: [], items: [] };
  }

  function place(page, item) {
    // The block goes into copies of its containers (classes and ids kept, so the styles apply).
    let shared = 0;
    while (
      shared < page.chain.length &&
      shared < item.ancestors.length &&
      page.chain[shared].original === item.ancestors[shared] &&
      page.chain[shared].copy.isConnected
    ) shared++;
    page.chain.length = shared;
    let parent = shared ? page.chain[shared - 1].copy : page.area;
    for (const original of item.ancestors.slice(shared)) {
      const copy = original.cloneNode(false);
      parent.appendChild(copy);
      page.chain.push({ original, copy });
      parent = copy;
    }
    parent.appendChild(item.node);
    page.items.push(item);
  }

  function unplace(page, item) {
    let parent = item.node.parentElement;
    item.node.remove();
    while (parent !== page.area && parent.children.length === 0) {
      const above = parent.parentElement;
      parent.remove();
      parent = above;
    }
    page.items.splice(page.items.indexOf(item), 1);
  }

  function overflows(page, item, height) {
    return item.node.getBoundingClientRect().bottom - page.area.getBoundingClientRect().top > height + 0.5;
  }

  // --- a block split across two pages, at a line (paragraphs, list items, code) -------------

  const SPLITTABLE = new Set(["P", "LI", "PRE", "DD", "BLOCKQUOTE"]);

  function characters(node) {
    // Each visible character as (text node, offset): collapsed white space has no box to measure.
    const found = [];
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      for (let offset = 0; offset < text.data.length; offset++) {
        if (text.data[offset].trim()) found.push([text, offset]);
      }
    }
    return found;
  }

  function box([text, offset]) {
    const range = document.createRange();
    range.setStart(text, offset);
    range.setEnd(text, offset + 1);
    return range.getBoundingClientRect();
  }

  function firstBelow(chars, limit) {
    // The first character whose box ends below `limit` (they go down line by line).
    let low = 0;
    let high = chars.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (box(chars[middle]).bottom > limit) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  function split(node, limit) {
    // The lines of `node` that pass `limit` move to a copy of it (returned), keeping the
    // stylesheet's orphans and widows; null where it cannot or should not be split.
    const style = getComputedStyle(node);
    if (!SPLITTABLE.has(node.tagName) || style.breakInside.startsWith("avoid")) return null;
    const chars = characters(node);
    if (chars.length < 2) return null;
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
    const lines = (from, to) => Math.round((to - from) / line);
    const top = box(chars[0]).top;
    const bottom = box(chars[chars.length - 1]).bottom;
    let at = firstBelow(chars, limit);
    const short = (parseInt(style.widows, 10) || 2) - lines(box(chars[Math.min(at, chars.length - 1)]).top, bottom);
    if (short > 0 && at < chars.length) at = firstBelow(chars, box(chars[at]).top - short * line + line / 2);
    if (at <= 0 || at >= chars.length || lines(top, box(chars[at]).top) < (parseInt(style.orphans, 10) || 2)) return null;
    const range = document.createRange();
    range.setStart(chars[at][0], chars[at][1]);
    range.setEnd(node, node.childNodes.length);
    const rest = node.cloneNode(false);
    rest.removeAttribute("id");
    rest.classList.add("lr-continued");
    rest.appendChild(range.extractContents());
    if (style.textAlign === "justify") node.style.textAlignLast = "justify"; // a full line in the PDF
    return rest;
  }

  function numberLists(staging) {
    // A list split across pages keeps its numbers.
    staging.querySelectorAll("ol").forEach((list) => {
      let number = list.start || 1;
      for (const item of list.children) if (item.tagName === "LI") item.value = item.value || number++;
    });
  }

  function paginate(staging, geometry, book) {
    numberLists(staging);
    const items = blocks(staging, [], []);
    breakRules(items);
    const height = (geometry.height - geometry.margin[0] - geometry.margin[2]) * PX_PER_MM;
    let page = newPage(book);
    const continueOnNextPage = (index, item) => {
      const rest = split(item.node, page.area.getBoundingClientRect().top + height);
      if (rest) items.splice(index + 1, 0, { ...item, node: rest, pageBefore: true });
      return rest;
    };
    for (let index = 0; index < items.length; index++) {
      const item = items[index];
      if (item.pageBefore && page.items.length) page = newPage(book);
      place(page, item);
      if (!overflows(page, item, height) || continueOnNextPage(index, item) || page.items.length === 1) continue;
      const moving = [item];
      const before = page.items[page.items.length - 2];
      if (page.items.length > 2 && before.keepWithNext) moving.unshift(before);
      moving.forEach((m) => unplace(page, m));
      page = newPage(book);
      moving.forEach((m) => place(page, m));
      if (overflows(page, item, height)) continueOnNextPage(index, item); // taller than a page
    }
    decorate(book, geometry);
    targetPages(book);
  }

  function decorate(book, geometry) {
    const pages = Array.from(book.children);
    pages.forEach((page, index) => {
      for (const name of BOXES) {
        const box = index === 0 && geometry.first[name] ? geometry.first[name] : geometry.boxes[name];
        if (!box || !box.content) continue;
        const area = document.createElement("div");
        area.className = `lr-margin lr-${name}`;
        if (/(^|;\s*)(height|margin)/.test(box.style)) area.classList.add("lr-placed");
        const inner = document.createElement("div");
        inner.className = "lr-box";
        inner.setAttribute("style", box.style);
        inner.textContent = box.content
          .map(([kind, value]) => (kind === "text" ? value : String(value === "pages" ? pages.length : index + 1)))
          .join("");
        area.appendChild(inner);
        page.appendChild(area);
      }
    });
  }

  function targetPages(book) {
    // WeasyPrint's `content: leader(".") target-counter(attr(href), page)` (the contents' page
    // numbers): Chromium has neither, so the links such a rule styles get their target's page.
    const css = Array.from(document.querySelectorAll("head style"), (style) => style.textContent).join("\n");
    const rule = /([^{}]+?)::?after\s*\{[^}]*target-counter\(\s*attr\(\s*href\s*\)\s*,\s*page\s*\)/g;
    const selectors = Array.from(css.matchAll(rule), (match) => match[1].trim());
    const pageOf = new Map();
    Array.from(book.children).forEach((page, index) =>
      page.querySelectorAll("[id]").forEach((element) => pageOf.has(element.id) || pageOf.set(element.id, index + 1)),
    );
    for (const selector of selectors) {
      for (const link of book.querySelectorAll(selector)) {
        const target = decodeURIComponent((link.getAttribute("href") || "").replace(/^#/, ""));
        if (pageOf.has(target)) link.dataset.lrPage = String(pageOf.get(target));
      }
    }
  }

  function pageVariables(target, geometry) {
    const [top, right, bottom, left] = geometry.margin;
    const values = { width: geometry.width, height: geometry.height, top, right, bottom, left };
    for (const [name, value] of Object.entries(values)) target.style.setProperty(`--lr-${name}`, `${value}mm`);
  }

  // --- showing a render -------------------------------------------------------------------

  function errorBar(error) {
    let bar = document.getElementById("labreport-preview-error");
    if (!error) {
      if (bar) bar.remove();
      return;
    }
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "labreport-preview-error";
      bar.setAttribute("role", "alert");
      document.body.prepend(bar);
    }
    const shown = document.querySelector(".lr-book") ? "showing the last good render" : "nothing rendered yet";
    bar.textContent = "";
    const heading = document.createElement("strong");
    heading.textContent = `The report did not render (${shown}):`;
    const message = document.createElement("pre");
    message.textContent = error;
    bar.append(heading, message);
  }

  function adoptHead(doc) {
    if (doc === document) return;
    document.title = doc.title;
    document.documentElement.lang = doc.documentElement.lang;
    document.querySelectorAll("head style").forEach((style) => style.remove());
    const anchor = document.querySelector("head link.lr-preview");
    doc.querySelectorAll("head style").forEach((style) => anchor.before(document.importNode(style, true)));
  }

  async function show(doc) {
    const { version, error, page } = settings(doc);
    if (page) {
      adoptHead(doc);
      document.body.className = doc.body.className;
      const staging = document.createElement("div");
      staging.className = "lr-staging";
      staging.append(...Array.from(doc.body.childNodes));
      document.body.appendChild(staging);
      const book = document.createElement("div");
      book.className = "lr-book lr-building";
      for (const target of [staging, book]) pageVariables(target, page);
      document.body.appendChild(book);
      await Promise.all(Array.from(staging.querySelectorAll("img")).map((img) => img.decode().catch(() => null)));
      await document.fonts.ready;
      paginate(staging, page, book);
      staging.remove();
      document.querySelectorAll(".lr-book:not(.lr-building)").forEach((old) => old.remove());
      book.classList.remove("lr-building");
    }
    errorBar(error);
    document.documentElement.dataset.previewVersion = String(version);
  }

  async function update() {
    if (updating) {
      again = true;
      return;
    }
    updating = true;
    try {
      do {
        again = false;
        const response = await fetch("/", { cache: "no-store" });
        await show(new DOMParser().parseFromString(await response.text(), "text/html"));
      } while (again);
    } catch (error) {
      document.documentElement.classList.add("lr-disconnected"); // the event stream reconnects, and asks again
    } finally {
      updating = false;
    }
  }

  function listen() {
    const events = new EventSource("/_preview/events");
    events.onmessage = (event) => {
      document.documentElement.classList.remove("lr-disconnected");
      if (event.data !== document.documentElement.dataset.previewVersion) update();
    };
    events.onerror = () => document.documentElement.classList.add("lr-disconnected");
  }

  async function start() {
    const scroll = Number(sessionStorage.getItem("labreport-preview-scroll") || 0);
    await show(document);
    if (scroll) window.scrollTo(0, scroll);
    window.addEventListener("pagehide", () => sessionStorage.setItem("labreport-preview-scroll", String(window.scrollY)));
    listen();
  }

  start();
})();
