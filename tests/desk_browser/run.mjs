// Drives Debian's Chromium (playwright-core, executablePath /usr/bin/chromium: no browser download) through the
// desk for tests/test_desk_browser.py. Usage: node run.mjs CONFIG.json — CONFIG gives the desk's base URL, the
// screenshot directory and each scenario's inputs; one JSON object is printed: per scenario what the page showed
// (the test asserts on it), every console error, page error, failed request and request to another host.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = config.base.replace(/\/$/, "");
const out = { launch: null, scenarios: {}, console: [], external: [], failed: [] };
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const profile = mkdtempSync(join(tmpdir(), "citydesk-chromium-"));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: config.chromium || "/usr/bin/chromium", headless: true, args: FLAGS,
    viewport: { width: 1360, height: 900 }, locale: "ko-KR", timeout: 30000,
  });
  out.launch = { ok: true, version: context.browser()?.version() ?? null };
} catch (e) {
  out.launch = { ok: false, error: String(e && e.stack || e) };
  console.log(JSON.stringify(out));
  rmSync(profile, { recursive: true, force: true });
  process.exit(0);
}

function watch(page, name) {
  page.on("console", (msg) => {
    if (msg.type() === "error") out.console.push({ scenario: name, url: page.url(), text: msg.text() });
  });
  page.on("pageerror", (err) => out.console.push({ scenario: name, url: page.url(), text: "pageerror: " + err.message }));
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith(base) && !url.startsWith("data:") && !url.startsWith("about:")) {
      out.external.push({ scenario: name, url });
    }
  });
  page.on("requestfailed", (req) => out.failed.push({ scenario: name, url: req.url(), error: req.failure()?.errorText }));
  page.on("response", (resp) => {
    if (resp.status() >= 400) out.failed.push({ scenario: name, url: resp.url(), error: "HTTP " + resp.status() });
  });
}

async function shot(page, name) {
  const path = join(config.outdir, name + ".png");
  await page.screenshot({ path, fullPage: true });
  return path;
}

async function resultsOf(page) {
  return page.evaluate(() => ({
    url: location.pathname + location.search,
    total: Number((document.getElementById("total")?.textContent || "-1").replace(/,/g, "")),
    hits: Array.from(document.querySelectorAll("li.hit a.title")).map((a) => decodeURIComponent(a.getAttribute("href").split("?")[0].replace("/article/", ""))),
    chips: Array.from(document.querySelectorAll(".active-filters .chip")).map((c) => c.textContent.replace("×", "").trim()),
    bars: document.querySelectorAll("figure.histogram a.bar").length,
    facets: Array.from(document.querySelectorAll("aside.facets section.facet")).map((s) => s.dataset.facet),
  }));
}

const scenarios = {
  // Search with a filter chosen in the form: a query, then a Korean government typed into its field.
  async search_filter(page, s) {
    await page.goto(base + "/?q=" + encodeURIComponent(s.q));
    const before = await resultsOf(page);
    await page.fill("input[name=korean_party]", s.korean_party);
    await Promise.all([page.waitForURL(/korean_party=/), page.click("form.search button[type=submit]")]);
    const after = await resultsOf(page);
    return { before, after, screenshot: await shot(page, "search_filter") };
  },
  // Click a facet value, then click it again to take the filter off.
  async facet_click(page, s) {
    await page.goto(base + "/");
    const before = await resultsOf(page);
    const link = page.locator(`section.facet[data-facet="${s.facet}"] a[data-value="${s.value}"]`);
    await Promise.all([page.waitForURL(new RegExp(s.param + "=")), link.click()]);
    const after = await resultsOf(page);
    const active = await page.locator(`section.facet[data-facet="${s.facet}"] a.on`).allTextContents();
    const shotPath = await shot(page, "facet_click");
    await Promise.all([page.waitForURL((u) => !u.search.includes(s.param + "=")),
      page.locator(`section.facet[data-facet="${s.facet}"] a.on`).first().click()]);
    const removed = await resultsOf(page);
    return { before, after, active, removed, screenshot: shotPath };
  },
  // An article: its partner highlighted in the body, each relation's evidence, the jump to the sentence, the
  // "how it was cleaned" toggle.
  async article(page, s) {
    await page.goto(base + "/article/" + encodeURIComponent(s.id));
    const seen = await page.evaluate(() => ({
      title: document.querySelector("article h1.title")?.textContent,
      partners: Array.from(document.querySelectorAll("article .body mark.place.partner")).map((m) => m.dataset.name),
      korean: Array.from(document.querySelectorAll("article .body mark.place.korean")).map((m) => m.dataset.name),
      people: Array.from(document.querySelectorAll("article .body mark.person")).map((m) => m.dataset.name),
      bodyEvidence: Array.from(document.querySelectorAll("article .body span.evidence")).map((e) => e.textContent),
      relations: Array.from(document.querySelectorAll(".relation")).map((r) => ({
        korean: r.dataset.korean, partner: r.dataset.partner,
        kinds: Array.from(r.querySelectorAll(".kinds .kind")).map((k) => k.dataset.kind),
        evidence: Array.from(r.querySelectorAll("blockquote.ev .ev-sentence")).map((e) => ({
          text: e.textContent.trim(),
          marks: Array.from(e.querySelectorAll("mark")).map((m) => [m.className, m.dataset.name]),
        })),
      })),
      partnerColour: (() => {
        const m = document.querySelector("article .body mark.place.partner");
        return m ? getComputedStyle(m).backgroundColor : null;
      })(),
    }));
    const first = page.locator("blockquote.ev a.ev-sentence").first();
    let flashed = false;
    if (await first.count()) {
      const anchor = await first.getAttribute("data-anchor");
      await first.click();
      flashed = await page.waitForFunction((id) => document.getElementById(id)?.classList.contains("flash"), anchor,
        { timeout: 5000 }).then(() => true, () => false);
    }
    const shotPath = await shot(page, "article");
    await page.click("details.cleaning summary");
    await page.waitForSelector("details.cleaning .cleaning-result", { timeout: 20000 });
    const cleaning = await page.locator("details.cleaning .cleaning-result").innerText();
    const droppedRows = await page.locator("details.cleaning table.verdicts.dropped tr.drop").count();
    await page.locator("details.cleaning").scrollIntoViewIfNeeded();
    return { ...seen, flashed, cleaning, droppedRows, screenshot: shotPath,
      cleaningShot: await shot(page, "article_cleaning") };
  },
  // The map: wait for the packaged outline, click the point of a named place, land on its search.
  async map_click(page, s) {
    await page.goto(base + "/map");
    await page.waitForFunction(() => document.getElementById("map")?.dataset.basemap === "ready", null, { timeout: 20000 });
    const points = await page.evaluate(() => Number(document.getElementById("map").dataset.points));
    await page.waitForTimeout(300);
    const shotPath = await shot(page, "map");
    const xy = await page.evaluate((name) => {
      const m = window.citydeskMap;
      const ll = m.where[name];
      if (!ll) return null;
      m.map.setView(ll, 5, { animate: false });
      const p = m.map.latLngToContainerPoint(ll);
      const box = document.getElementById("map").getBoundingClientRect();
      return { x: box.left + p.x, y: box.top + p.y };
    }, s.name);
    if (!xy) return { points, clicked: false, screenshot: shotPath };
    await page.waitForTimeout(300);
    await Promise.all([page.waitForURL(new RegExp(s.param + "=")), page.mouse.click(xy.x, xy.y)]);
    const after = await resultsOf(page);
    return { points, clicked: true, after, screenshot: shotPath, afterShot: await shot(page, "map_click_result") };
  },
  // Operations: the dead letter's group, its replay link, the confirmation page, the POST, the result.
  async replay(page, s) {
    await page.goto(base + "/ops");
    const groups = await page.locator(".dlq-group").count();
    const workers = await page.locator("section.workers tbody tr").count();
    const opsShot = await shot(page, "ops");
    await Promise.all([page.waitForURL(/\/ops\/replay\?/), page.locator(`li.letter[data-id="${s.letter}"] a.replay-one`).click()]);
    const confirmShot = await shot(page, "replay_confirm");
    const confirmText = await page.locator("main").innerText();
    await Promise.all([page.waitForURL(/\/ops\?replayed=/), page.click("form.confirm button[type=submit]")]);
    const flash = await page.locator(".banner.ok").innerText();
    return { groups, workers, confirmText, flash, url: page.url(), screenshot: opsShot, confirmShot,
      afterShot: await shot(page, "replay_done") };
  },
  // Ties: the table, sorted by clicking a column header (twice: the direction turns round), then one tie's page
  // with its evidence sentences, then the article one of them links to.
  async ties(page, s) {
    const rowsOf = () => page.evaluate(() => Array.from(document.querySelectorAll("table.ties tbody tr.tie")).map((r) => ({
      id: r.dataset.id,
      status: r.querySelector("td.status")?.innerText.replace(/\s+/g, " ").trim(),
      since: r.querySelector("td.since")?.innerText.replace(/\s+/g, " ").trim(),
    })));
    await page.goto(base + "/ties");
    const before = await rowsOf();
    await Promise.all([page.waitForURL(new RegExp("sort=" + s.sort)), page.click(`th[data-key="${s.sort}"] a.sort`)]);
    const sorted = await rowsOf();
    const sortedShot = await shot(page, "ties_sorted");
    await Promise.all([page.waitForURL(/dir=asc/), page.click(`th[data-key="${s.sort}"] a.sort`)]);
    const reversed = await rowsOf();
    const link = page.locator(`tr.tie[data-id="${s.tie}"] a.tie-link`);
    await Promise.all([page.waitForURL(/\/ties\/.+\/.+/), link.click()]);
    const tie = await page.evaluate(() => ({
      title: document.querySelector("h1.tie-title")?.textContent.replace(/\s+/g, " ").trim(),
      kinds: Array.from(document.querySelectorAll("table.tie-kinds tbody tr")).map((r) => ({
        kind: r.dataset.kind, dates: Array.from(r.querySelectorAll("time")).map((t) => t.textContent) })),
      evidence: Array.from(document.querySelectorAll("li.ev-article")).map((li) => ({
        article: li.dataset.article,
        sentences: Array.from(li.querySelectorAll(".ev-sentence")).map((e) => e.textContent.trim()),
      })),
      people: Array.from(document.querySelectorAll("section.people li")).map((l) => [l.dataset.side, l.dataset.name]),
    }));
    const tieShot = await shot(page, "tie");
    const first = page.locator("a.ev-article-link").first();
    const firstArticle = await first.evaluate((a) => a.closest("li.ev-article").dataset.article);
    await Promise.all([page.waitForURL(/\/article\//), first.click()]);
    const article = { id: firstArticle, url: page.url(), title: await page.locator("article h1.title").textContent() };
    return { before, sorted, reversed, tie, article, screenshot: sortedShot, tieShot };
  },
  // Stories: the list, newest first; clicking a story lands on a search of its articles.
  async stories(page, s) {
    await page.goto(base + "/stories");
    const rows = await page.evaluate(() => Array.from(document.querySelectorAll("table.stories tbody tr.story")).map((r) => ({
      story: r.dataset.story, articles: Number(r.dataset.articles),
      outlets: r.querySelector("td.outlets")?.textContent.trim(),
      last: r.querySelector("time")?.textContent, title: r.querySelector("a.story-link")?.textContent.trim() })));
    const listShot = await shot(page, "stories");
    await Promise.all([page.waitForURL(/story=/), page.click(`tr.story[data-story="${s.story}"] a.story-link`)]);
    const after = await resultsOf(page);
    return { rows, after, screenshot: listShot, afterShot: await shot(page, "story_articles") };
  },
  // Page-load timing with a cold cache (tools/desk_bench.py): navigation timing and first contentful paint.
  async pageload(page, s) {
    const cdp = await page.context().newCDPSession(page);
    const pages = {};
    for (const [name, path] of Object.entries(s.paths)) {
      const runs = [];
      for (let i = 0; i < s.repeats; i++) {
        await cdp.send("Network.clearBrowserCache");
        await page.goto(base + path, { waitUntil: "load" });
        if (name === "map") {
          await page.waitForFunction(() => document.getElementById("map")?.dataset.basemap === "ready", null,
            { timeout: 20000 });
        }
        await page.waitForFunction(() => performance.getEntriesByName("first-contentful-paint").length > 0, null,
          { timeout: 5000 }).catch(() => null);
        runs.push(await page.evaluate(() => {
          const nav = performance.getEntriesByType("navigation")[0];
          const fcp = performance.getEntriesByName("first-contentful-paint")[0];
          // rendered: the page has painted its content and every resource has loaded (the later of the two)
          return { response: nav.responseEnd, dom: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
            fcp: fcp ? fcp.startTime : null, rendered: Math.max(nav.loadEventEnd, fcp ? fcp.startTime : Infinity),
            ready: performance.now() };
        }));
        await page.goto("about:blank");
      }
      const med = (k) => {
        const v = runs.map((r) => r[k]).filter((x) => x !== null).sort((a, b) => a - b);
        return v.length ? Math.round(v[Math.floor((v.length - 1) / 2)]) : null;
      };
      pages[name] = { runs: runs.length, response_median_ms: med("response"), fcp_median_ms: med("fcp"),
        load_median_ms: med("load"), rendered_median_ms: med("rendered"),
        rendered_max_ms: Math.round(Math.max(...runs.map((r) => r.rendered))), ready_median_ms: med("ready") };
    }
    await shot(page, "pageload_last");
    return { pages };
  },
  // A page per remaining screen, for console errors and screenshots.
  async pages(page, s) {
    const seen = {};
    for (const [name, path] of Object.entries(s.paths)) {
      const resp = await page.goto(base + path);
      seen[name] = { status: resp.status(), screenshot: await shot(page, "page_" + name) };
    }
    return seen;
  },
};

for (const [name, params] of Object.entries(config.scenarios)) {
  const page = await context.newPage();
  watch(page, name);
  const started = Date.now();
  try {
    out.scenarios[name] = { ok: true, ...(await scenarios[name](page, params)) };
  } catch (e) {
    let screenshot = null;
    try { screenshot = await shot(page, name + "_failed"); } catch (_) { /* the page may be gone */ }
    out.scenarios[name] = { ok: false, error: String(e && e.stack || e), url: page.url(), screenshot };
  }
  out.scenarios[name].ms = Date.now() - started;
  await page.close();
}
await context.close();
rmSync(profile, { recursive: true, force: true });
console.log(JSON.stringify(out));
