// Accessibility checks for the browser tests (SPEC §8: WCAG 2.2 AA / JIS X 8341-3:2016 AA):
// axe-core run inside the page, a record of its violations per page, and keyboard-focus helpers.
//
// The app's CSP is `script-src 'self'` with no inline scripts, so axe is not added as a <script>
// (page.addScriptTag would be refused): its source is evaluated through the DevTools protocol
// (page.evaluate), which the page's CSP does not govern. No CSP is bypassed for the app's own code.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** axe-core's browser build (pinned in package.json). */
export const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const AXE_VERSION = require('axe-core/package.json').version;

/** WCAG 2.0/2.1/2.2 levels A and AA: what SPEC §8 asks for. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * Runs axe on the page as it is now (dialogs open, errors shown, …) and returns its violations,
 * each with its nodes' selectors, HTML and axe's summary of what to fix.
 */
export async function axeViolations(page) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object' && typeof window.axe.run === 'function');
  if (!loaded) await page.evaluate(`${AXE_SOURCE}\n;undefined`);
  return page.evaluate(async (tags) => {
    const results = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      tags: v.tags.filter((tag) => /^wcag\d/.test(tag)),
      nodes: v.nodes.map((n) => ({
        target: n.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : t)).join(' | '),
        html: n.html.length > 300 ? `${n.html.slice(0, 300)}…` : n.html,
        summary: n.failureSummary,
      })),
    }));
  }, WCAG_TAGS);
}

/**
 * Collects the axe violations (and the language problems, see languageProblems()) of every state
 * a walk scans, and reports them all at once at the end, so one run names every problem rather
 * than the first.
 */
export class AxeRecorder {
  /** `walk` names the walk in reports; `lang` is the language the pages are asked in. */
  constructor(walk, lang) {
    this.walk = walk;
    this.lang = lang;
    this.scanned = [];
    this.found = [];
    this.language = [];
    this.errorMessages = [];
  }

  /** Scans `page` now; `state` names what is on screen (e.g. 「apply with errors」). */
  async scan(page, state) {
    const url = new URL(page.url());
    const path = url.pathname + url.search;
    const violations = await axeViolations(page);
    this.scanned.push(`${state} (${path})`);
    for (const v of violations) this.found.push({ walk: this.walk, state, path, ...v });
    for (const problem of await languageProblems(page, this.lang)) {
      this.language.push(`[${this.walk}] ${state} — ${path}: ${problem}`);
    }
    for (const problem of await errorMessageProblems(page)) {
      this.errorMessages.push(`[${this.walk}] ${state} — ${path}: ${problem}`);
    }
    return violations;
  }

  /** The axe violations, readable. */
  axeReport() {
    return formatViolations(this.found);
  }

  /** A readable report of everything found (empty string when nothing was). */
  report() {
    const parts = [];
    if (this.found.length) parts.push(`axe-core ${AXE_VERSION} violations (${WCAG_TAGS.join(', ')}):\n\n${formatViolations(this.found)}`);
    if (this.language.length) parts.push(`language of page / of parts (WCAG 3.1.1, 3.1.2):\n${this.language.join('\n')}`);
    if (this.errorMessages.length) parts.push(`error messages not tied to their fields:\n${this.errorMessages.join('\n')}`);
    return parts.join('\n\n');
  }

  /** Everything as data, for the JSON report. */
  toJSON() {
    return { walk: this.walk, lang: this.lang, axe: AXE_VERSION, tags: WCAG_TAGS, scanned: this.scanned, violations: this.found, language: this.language, errorMessages: this.errorMessages };
  }
}

/** One block per violation and page state: rule, impact, help, then each node. */
export function formatViolations(found) {
  return found.map((v) => [
    `[${v.walk}] ${v.state} — ${v.path}`,
    `  ${v.id} (${v.impact}; ${v.tags.join(', ')}): ${v.help}`,
    `  ${v.helpUrl}`,
    ...v.nodes.map((n) => `    • ${n.target}\n      ${n.html}\n      ${n.summary.replace(/\n/g, '\n      ')}`),
  ].join('\n')).join('\n\n');
}

/**
 * What the focused element (or, for a focused shadow host, none deeper) shows as focus:
 * its outline and box-shadow, and a short description of it.
 */
export async function focusStyle(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return { none: true, what: el ? el.tagName.toLowerCase() : 'null' };
    const cs = getComputedStyle(el);
    const id = el.id ? `#${el.id}` : '';
    const cls = el.classList.length ? `.${[...el.classList].join('.')}` : '';
    const name = (el.getAttribute('aria-label') || el.textContent || el.value || el.getAttribute('name') || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    const outlineVisible = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
    const shadowVisible = cs.boxShadow !== 'none';
    const r = el.getBoundingClientRect();
    return {
      what: `${el.tagName.toLowerCase()}${id}${cls}${el.type ? `[type=${el.type}]` : ''} 「${name}」`,
      tag: el.tagName.toLowerCase(),
      id: el.id,
      type: el.type ?? null,
      classes: [...el.classList],
      text: name,
      outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`,
      boxShadow: cs.boxShadow,
      visible: outlineVisible || shadowVisible,
      focusVisible: el.matches(':focus-visible'),
      onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < window.innerHeight && r.left < window.innerWidth,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Language (WCAG 3.1.1 Language of Page, 3.1.2 Language of Parts): what axe cannot tell.

/** Japanese script: kana, kanji, the long-vowel mark and the iteration mark. */
const JAPANESE_RUN = '[\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Han}ー々]{10,}';

/**
 * Problems with the language of the page as shown: `<html lang>` other than `lang` (the language
 * the page was asked in; 3.1.1), and on an English page, elements whose own text has a run of 10 or
 * more Japanese characters (a sentence, not a proper name such as 「ハローワーク釧路」) without a
 * `lang="ja"` on them or an ancestor (3.1.2). Returns short descriptions.
 */
export async function languageProblems(page, lang) {
  return page.evaluate(({ expected, run }) => {
    const found = [];
    const htmlLang = document.documentElement.getAttribute('lang');
    if (htmlLang !== expected) found.push(`<html lang="${htmlLang}"> on a page asked for in "${expected}"`);
    if (expected !== 'en') return found;
    const re = new RegExp(run, 'u');
    const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.classList.length ? `.${[...el.classList].join('.')}` : ''}`;
    const groups = new Map();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || el.closest('script, style, template')) continue;
      if (!re.test(node.nodeValue)) continue;
      const tagged = el.closest('[lang]');
      if (tagged && tagged.getAttribute('lang').toLowerCase().startsWith('ja')) continue;
      const where = el.closest('article, dialog, section, form, table, ul, ol, dl, main, header, footer, nav, body');
      const key = describe(where);
      if (!groups.has(key)) groups.set(key, { elements: new Set(), sample: node.nodeValue.trim().replace(/\s+/g, ' ').slice(0, 30) });
      groups.get(key).elements.add(el);
    }
    for (const [where, { elements, sample }] of groups) {
      const names = [...new Set([...elements].map(describe))];
      found.push(`${where}: ${elements.size} element(s) (${names.join(', ')}) with Japanese text, e.g. 「${sample}…」, under lang="${expected}" without lang="ja"`);
    }
    return found;
  }, { expected: lang, run: JAPANESE_RUN });
}

/** The 6 digits alone on their line after a line ending in a colon (auth key, OTP, code), in either language. */
export function mailedDigits(mail) {
  const lines = mail.body.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  for (let i = 1; i < lines.length; i++) {
    if (/^\d{6}$/.test(lines[i]) && /[:：]$/.test(lines[i - 1])) return lines[i];
  }
  throw new Error(`no 6 digits after a 「…:」 line in the mail 「${mail.subject}」:\n${mail.body}`);
}

// ---------------------------------------------------------------------------------------------
// Error messages (GOV.UK error message and error summary patterns, which SPEC §8 follows).

/**
 * Problems with how the error messages are tied to their fields: every error summary link must
 * point to an element that exists, and every visible `.error-message` inside a `.field` must be
 * part of the accessible description (aria-describedby) of the field's control — or of its
 * fieldset — so a screen reader says it when the field gets the focus. Returns descriptions.
 */
export async function errorMessageProblems(page) {
  return page.evaluate(() => {
    const found = [];
    for (const link of document.querySelectorAll('.error-summary a[href^="#"]')) {
      const id = decodeURIComponent(link.getAttribute('href').slice(1));
      const target = document.getElementById(id);
      if (!target) found.push(`error summary link 「${link.textContent.trim()}」 points to #${id}, which does not exist`);
      else if (target.disabled) found.push(`error summary link 「${link.textContent.trim()}」 points to #${id}, which is disabled (cannot take the focus)`);
    }
    for (const message of document.querySelectorAll('.field .error-message')) {
      if (message.getClientRects().length === 0) continue;
      const field = message.closest('.field');
      const describedBy = (el) => (el?.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
      const control = field.matches('fieldset') ? field : field.querySelector('input:not([type=hidden]), select, textarea');
      const text = message.textContent.trim().slice(0, 40);
      if (!control) { found.push(`error message 「${text}」 has no control in its .field`); continue; }
      const name = control.id ? `#${control.id}` : control.tagName.toLowerCase();
      if (!message.id) found.push(`error message 「${text}」 of ${name} has no id, so ${name} cannot reference it with aria-describedby`);
      else if (!describedBy(control).includes(message.id)) found.push(`error message #${message.id} 「${text}」 is not in aria-describedby of ${name} (aria-describedby="${control.getAttribute('aria-describedby') ?? ''}")`);
      const invalid = field.matches('fieldset') ? field.querySelector('input') : control;
      if (invalid && invalid.getAttribute('aria-invalid') !== 'true') found.push(`${invalid.id ? `#${invalid.id}` : invalid.tagName.toLowerCase()} has an error message 「${text}」 but no aria-invalid="true"`);
    }
    return found;
  });
}

/** Waits for the next document of `page` to load after `action` (a click that submits or follows a link). */
export async function loadsAfter(page, action) {
  const loaded = page.waitForEvent('load');
  await action();
  await loaded;
}
