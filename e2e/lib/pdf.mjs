// Minimal reading of the PDFs Chromium prints (page.pdf()): the page count, and the text, decoded
// with the fonts' ToUnicode maps. No dependencies beyond node:zlib; not a general PDF parser.
import { inflateSync } from 'node:zlib';

/** Number of page objects (`/Type /Page`, not `/Pages`). */
export function pdfPageCount(pdf) {
  const text = Buffer.from(pdf).toString('latin1');
  return (text.match(/\/Type\s*\/Page(?![A-Za-z])/g) || []).length;
}

/** The objects `N 0 obj`: their dictionary text and, for streams, the decoded bytes. */
function objects(buf) {
  const text = buf.toString('latin1');
  const found = new Map();
  const re = /(\d+)\s+0\s+obj\b/g;
  let m;
  while ((m = re.exec(text))) {
    const start = m.index + m[0].length;
    const end = text.indexOf('endobj', start);
    if (end < 0) break;
    const body = text.slice(start, end);
    const at = body.search(/\bstream\r?\n/);
    if (at < 0) {
      found.set(Number(m[1]), { dict: body });
      continue;
    }
    const dict = body.slice(0, at);
    const dataStart = start + at + body.slice(at).match(/^stream\r?\n/)[0].length;
    const length = dict.match(/\/Length\s+(\d+)(?!\s+\d+\s+R)/);
    const dataEnd = length ? dataStart + Number(length[1]) : text.indexOf('endstream', dataStart);
    let data = buf.subarray(dataStart, dataEnd);
    if (/\/FlateDecode/.test(dict)) {
      try { data = inflateSync(data); } catch { data = null; }
    } else if (/\/Filter/.test(dict)) {
      data = null; // another filter (e.g. an image): not text
    }
    found.set(Number(m[1]), { dict, data });
    re.lastIndex = end;
  }
  return found;
}

const utf16 = (hex) => {
  const bytes = Buffer.from(hex.replace(/\s+/g, ''), 'hex');
  let s = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode(bytes.readUInt16BE(i));
  return s;
};

/** A ToUnicode CMap: code byte width and code → text. */
function parseCMap(text) {
  const map = new Map();
  const space = text.match(/begincodespacerange\s*<([0-9A-Fa-f]+)>/);
  const width = space ? space[1].length / 2 : 2;
  for (const block of text.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const [, src, dst] of block[1].matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>/g)) {
      map.set(parseInt(src, 16), utf16(dst));
    }
  }
  for (const block of text.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    for (const [, lo, hi, dst, list] of block[1].matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(?:<([0-9A-Fa-f]*)>|\[([^\]]*)\])/g)) {
      const from = parseInt(lo, 16);
      const to = parseInt(hi, 16);
      if (list !== undefined) {
        [...list.matchAll(/<([0-9A-Fa-f]*)>/g)].forEach(([, d], i) => map.set(from + i, utf16(d)));
      } else {
        const base = Buffer.from(dst, 'hex');
        for (let code = from; code <= to; code++) {
          const b = Buffer.from(base);
          b.writeUInt16BE((b.readUInt16BE(b.length - 2) + (code - from)) & 0xffff, b.length - 2);
          map.set(code, utf16(b.toString('hex')));
        }
      }
    }
  }
  return { width, map };
}

function literalBytes(lit) {
  const out = [];
  for (let i = 1; i < lit.length - 1; i++) {
    const c = lit[i];
    if (c !== '\\') { out.push(c.charCodeAt(0) & 0xff); continue; }
    const n = lit[++i];
    const oct = lit.slice(i).match(/^[0-7]{1,3}/);
    if (oct) { out.push(parseInt(oct[0], 8) & 0xff); i += oct[0].length - 1; continue; }
    out.push({ n: 10, r: 13, t: 9, b: 8, f: 12 }[n] ?? n.charCodeAt(0));
  }
  return Buffer.from(out);
}

/**
 * The text of every page's content, each text object (BT … ET) on its own line, NFKC-normalised;
 * undefined if the PDF uses something this reader does not understand (then check the DOM text).
 */
export function pdfText(pdf) {
  try {
    const objs = objects(Buffer.from(pdf));
    const lines = [];
    for (const [, page] of objs) {
      if (!/\/Type\s*\/Page(?![A-Za-z])/.test(page.dict)) continue;
      const fontsDict = page.dict.match(/\/Font\s*<<([^>]*)>>/)?.[1] ?? '';
      const fonts = new Map();
      for (const [, name, ref] of fontsDict.matchAll(/\/([^\s/<>]+)\s+(\d+)\s+0\s+R/g)) {
        const toUnicode = objs.get(Number(ref))?.dict.match(/\/ToUnicode\s+(\d+)\s+0\s+R/)?.[1];
        const cmap = toUnicode && objs.get(Number(toUnicode))?.data;
        if (cmap) fonts.set(name, parseCMap(cmap.toString('latin1')));
      }
      const contentRefs = page.dict.match(/\/Contents\s*(\[[^\]]*\]|\d+\s+0\s+R)/)?.[1] ?? '';
      for (const [, ref] of contentRefs.matchAll(/(\d+)\s+0\s+R/g)) {
        const content = objs.get(Number(ref))?.data?.toString('latin1');
        if (content === undefined) return undefined;
        let font;
        let line = '';
        let actual = false; // inside a marked span with /ActualText: that text replaces the glyphs'
        const token = /\/ActualText\s*<([0-9A-Fa-f\s]*)>|\/([^\s/<>[\]()]+)\s+[-\d.]+\s+Tf\b|<(?!<)([0-9A-Fa-f\s]*)>|(\((?:\\[\s\S]|[^\\)])*\))|\b(BT|ET|EMC)\b/g;
        for (const t of content.matchAll(token)) {
          if (t[1] !== undefined) { line += utf16(t[1]).replace(/^\uFEFF/, ''); actual = true; continue; }
          if (t[2] !== undefined) { font = fonts.get(t[2]); continue; }
          if (t[5] === 'EMC') { actual = false; continue; }
          if (t[5] === 'BT') { line = ''; continue; }
          if (t[5] === 'ET') { if (line) lines.push(line); line = ''; continue; }
          if (!font || actual) continue;
          const bytes = t[3] !== undefined ? Buffer.from(t[3].replace(/\s+/g, ''), 'hex') : literalBytes(t[4]);
          for (let i = 0; i + font.width <= bytes.length; i += font.width) {
            line += font.map.get(bytes.readUIntBE(i, font.width)) ?? '';
          }
        }
        if (line) lines.push(line);
      }
    }
    // NFKC: CJK fonts often map glyphs to Kangxi radicals (⽉ U+2F49 for 月).
    return lines.length > 0 ? lines.join('\n').normalize('NFKC') : undefined;
  } catch {
    return undefined;
  }
}
