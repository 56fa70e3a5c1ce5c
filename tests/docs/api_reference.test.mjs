// docs/api.md against the public headers, so the reference cannot silently fall behind them.
//
// Every header under include/corsd/{cors,config,adapters}/ that is not under detail/ is public. For each:
// - docs/api.md has a level-2 section whose heading names it (`corsd/cors/policy.hpp`);
// - every public name it declares (functions, classes, structs, enums, enum values, type aliases,
//   constants and data members, at namespace scope or in a public part of a class; `private:` parts and
//   `detail` namespaces skipped) appears in an inline code span (`...`) of that section;
// - every function's declaration, comments dropped and whitespace collapsed, appears in a fenced code
//   block of that section, so the signatures are the headers' own;
// - the section names the CMake target (corsd::...) that provides it.
// And docs/api.md names no header, and no source, example or test file by its path, that does not exist.
//
// The extraction is a small scanner, not a C++ parser: it understands what these headers use
// (namespaces, classes and structs with access labels, enum classes, templates, using-aliases, inline
// bodies, default arguments), and fails loudly if it finds nothing, so a header it cannot read shows up.
//
//   node --test tests/docs/api_reference.test.mjs

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';

const ROOT = new URL('../..', import.meta.url).pathname;
const INCLUDE = join(ROOT, 'include');
const DOC_PATH = join(ROOT, 'docs/api.md');
const PUBLIC_DIRS = ['cors', 'config', 'adapters'];

/** Headers outside this repository that docs/api.md may name. */
const EXTERNAL_HEADERS = new Set(['httplib.h', 'boost/beast/http.hpp', 'libpsl.h', 'toml++/toml.h', 'ngx_http.h']);

// --- The public headers ------------------------------------------------------

/** Paths like "corsd/cors/policy.hpp" of every public header, sorted. */
function publicHeaders() {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'detail') walk(path);
      } else if (entry.name.endsWith('.hpp')) {
        out.push(relative(INCLUDE, path));
      }
    }
  };
  for (const d of PUBLIC_DIRS) walk(join(INCLUDE, 'corsd', d));
  return out.sort();
}

// --- Extraction --------------------------------------------------------------

/** `src` without comments, preprocessor lines, string and character literals (kept as "" and ''). */
function stripSource(src) {
  let out = '';
  for (let i = 0; i < src.length; ) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? src.length : end + 2;
      out += ' ';
    } else if (c === 'R' && next === '"' && !/\w/.test(src[i - 1] ?? '')) {
      const open = src.indexOf('(', i);
      const delim = src.slice(i + 2, open);
      const end = src.indexOf(`)${delim}"`, open);
      i = end + delim.length + 2;
      out += '""';
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      i = j + 1;
      out += c + c;
    } else {
      out += c;
      i++;
    }
  }
  return out
    .split('\n')
    .map((line) => (/^\s*#/.test(line) ? '' : line))
    .join('\n');
}

const squash = (s) => s.replace(/\s+/g, ' ').trim();

/** `text` split at commas outside (), <>, {} and []. */
function splitTopLevel(text) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if ('(<{['.includes(c)) depth++;
    else if (')>}]'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Index of the first `ch` in `text` outside (), <> and {} (for "(": outside <> only), or -1. */
function topLevelIndex(text, ch) {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ch && depth === 0) return i;
    if ('(<{['.includes(c)) depth++;
    else if (')>}]'.includes(c)) depth--;
  }
  return -1;
}

/** `head` without a leading `template <...>`. */
function dropTemplate(head) {
  const m = /^template\s*</.exec(head);
  if (!m) return head;
  let depth = 0;
  for (let i = m[0].length - 1; i < head.length; i++) {
    if (head[i] === '<') depth++;
    else if (head[i] === '>' && --depth === 0) return head.slice(i + 1).trim();
  }
  return head;
}

/**
 * Reads one declaration `head` (a statement without its `;`, or what precedes an inline body) and adds
 * what it declares to `out`.
 */
function addDeclaration(head, scope, out) {
  const text = squash(head);
  if (!text) return;
  if (/^(friend|static_assert)\b/.test(text)) return;
  if (/^namespace\s+\w+\s*=/.test(text)) return; // a namespace alias
  let m = /^using\s+(\w+)\s*=/.exec(text);
  if (m) return out.push({ kind: 'alias', name: m[1], scope });
  if (/^using\b/.test(text)) return;
  const body = dropTemplate(text);
  m = /^(?:class|struct)\s+(\w+)$/.exec(body);
  if (m) return out.push({ kind: 'class', name: m[1], scope, forward: true }); // a forward declaration
  const paren = topLevelIndex(body, '(');
  const equals = topLevelIndex(body, '=');
  if (paren >= 0 && (equals < 0 || paren < equals)) {
    m = /(~?\w+)\s*$/.exec(body.slice(0, paren));
    if (m) out.push({ kind: 'function', name: m[1], scope, declaration: text });
    return;
  }
  for (const declarator of splitTopLevel(body)) {
    const beforeInit = declarator.split('=')[0];
    m = /(\w+)\s*(\[[^\]]*\])?\s*$/.exec(beforeInit);
    if (m) out.push({ kind: /\bconstexpr\b/.test(body) ? 'constant' : 'member', name: m[1], scope });
  }
}

/**
 * The public declarations of a header: [{kind, name, scope, declaration?}], `scope` being the enclosing
 * namespaces and classes ("corsd::cors::Policy").
 */
function extractDeclarations(source) {
  const src = stripSource(source);
  const out = [];
  // The open braces: {type: 'namespace'|'class'|'enum'|'opaque', name, public}.
  const stack = [{ type: 'namespace', name: '', visible: true, isPublic: true }];
  const top = () => stack[stack.length - 1];
  const scopeName = () =>
    stack
      .map((s) => s.name)
      .filter(Boolean)
      .join('::');
  let head = '';
  let parens = 0;

  const visible = () => top().visible && top().isPublic;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    const scope = top();

    if (scope.type === 'opaque') {
      if (c === '{') stack.push({ type: 'opaque', visible: false, isPublic: false });
      else if (c === '}') stack.pop();
      continue;
    }

    if (scope.type === 'enum') {
      if (c === '}') {
        if (visible()) {
          for (const e of splitTopLevel(head)) {
            const m = /^\s*(\w+)/.exec(e);
            if (m) out.push({ kind: 'enumerator', name: m[1], scope: scopeName() });
          }
        }
        stack.pop();
        head = '';
      } else {
        head += c;
      }
      continue;
    }

    if (c === '(') parens++;
    if (c === ')') parens--;
    if (parens > 0) {
      head += c;
      continue;
    }

    if (c === ':' && src[i + 1] !== ':' && src[i - 1] !== ':' && scope.type === 'class') {
      const label = head.trim();
      if (label === 'public' || label === 'private' || label === 'protected') {
        scope.isPublic = label === 'public';
        head = '';
        continue;
      }
    }

    if (c === ';') {
      if (visible()) addDeclaration(head, scopeName(), out);
      head = '';
      continue;
    }

    if (c === '{') {
      const text = squash(head);
      const body = dropTemplate(text);
      let m;
      if ((m = /^namespace\s+([\w:]+)$/.exec(text)) || /^namespace$/.test(text)) {
        const name = m ? m[1] : '';
        stack.push({ type: 'namespace', name, visible: visible() && !/\bdetail\b/.test(name), isPublic: true });
      } else if ((m = /^enum\s+(?:class|struct)?\s*(\w+)(?:\s*:\s*[\w:]+)?$/.exec(body))) {
        if (visible()) out.push({ kind: 'enum', name: m[1], scope: scopeName() });
        stack.push({ type: 'enum', name: m[1], visible: visible(), isPublic: true });
      } else if ((m = /^(class|struct)\s+(\w+)(?:\s+final)?(?:\s*:\s*[^{]+)?$/.exec(body))) {
        if (visible()) out.push({ kind: 'class', name: m[2], scope: scopeName() });
        stack.push({ type: 'class', name: m[2], visible: visible(), isPublic: m[1] === 'struct' });
      } else {
        // An inline body or a brace initializer: its head is a declaration; the braces are skipped.
        const withoutInits = text.replace(/\)\s*:\s*[^:].*$/, ')'); // a constructor's member initializers
        if (visible()) addDeclaration(withoutInits, scopeName(), out);
        stack.push({ type: 'opaque', visible: false, isPublic: false });
      }
      head = '';
      continue;
    }

    if (c === '}') {
      stack.pop();
      head = '';
      continue;
    }
    head += c;
  }
  assert.equal(stack.length, 1, 'unbalanced braces: the scanner lost its place');
  // A forward declaration counts once, with its definition.
  return out.filter((d) => !d.forward || !out.some((e) => e !== d && e.kind === 'class' && e.scope === d.scope && e.name === d.name));
}

// --- docs/api.md -------------------------------------------------------------

const doc = readFileSync(DOC_PATH, 'utf8');

/** The level-2 sections of the doc: [{heading, text}]. */
function sections(markdown) {
  const out = [];
  let current = null;
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^(```|~~~)/.test(line)) inFence = !inFence;
    if (!inFence && /^##\s/.test(line)) {
      current = { heading: line, text: '' };
      out.push(current);
    } else if (current) {
      current.text += line + '\n';
    }
  }
  return out;
}

/** The contents of the fenced code blocks of `markdown`, and the text left without them. */
function splitFences(markdown) {
  const fences = [];
  let prose = '';
  let fence = null;
  for (const line of markdown.split('\n')) {
    if (/^(```|~~~)/.test(line)) {
      if (fence === null) {
        fence = '';
      } else {
        fences.push(fence);
        fence = null;
      }
    } else if (fence !== null) {
      fence += line + '\n';
    } else {
      prose += line + '\n';
    }
  }
  return { fences, prose };
}

/** The inline code spans of prose `text`. */
function codeSpans(text) {
  return [...text.matchAll(/(`+)([\s\S]*?[^`])\1(?!`)/g)].map((m) => m[2].trim());
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether identifier `name` is a whole token of one of `spans`. */
function namedInSpans(spans, name) {
  const token = new RegExp(`(^|[^\\w])${escapeRegExp(name)}($|[^\\w])`);
  return spans.some((s) => token.test(s));
}

const HEADERS = publicHeaders();
const DECLARATIONS = new Map(HEADERS.map((h) => [h, extractDeclarations(readFileSync(join(INCLUDE, h), 'utf8'))]));
const DOC_SECTIONS = sections(doc);

function sectionFor(header) {
  return DOC_SECTIONS.find((s) => s.heading.includes(`\`${header}\``));
}

/** CMake targets the project exports: corsd::cors, corsd::config, ... */
function exportedTargets() {
  const targets = new Set();
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name === 'CMakeLists.txt') {
        for (const m of readFileSync(path, 'utf8').matchAll(/add_library\((corsd::\w+)\s+ALIAS/g)) targets.add(m[1]);
      }
    }
  };
  walk(join(ROOT, 'src'));
  return targets;
}

// --- Tests -------------------------------------------------------------------

describe('docs/api.md', () => {
  test('the public headers are found', () => {
    assert.ok(HEADERS.length >= 8, `only ${HEADERS.length} public headers under include/corsd/{cors,config,adapters}`);
    for (const h of HEADERS) assert.ok(!h.split('/').includes('detail'), h);
  });

  test('every public header has a section', () => {
    const missing = HEADERS.filter((h) => !sectionFor(h));
    assert.deepEqual(missing, [], `headers without a "## ... \`corsd/...\`" section in docs/api.md`);
  });

  test('every section names its CMake target', () => {
    const targets = exportedTargets();
    assert.ok(targets.has('corsd::cors'), 'corsd::cors not found in src/**/CMakeLists.txt');
    for (const header of HEADERS) {
      const section = sectionFor(header);
      if (!section) continue; // reported above
      const spans = codeSpans(splitFences(section.text).prose);
      assert.ok(
        [...targets].some((t) => namedInSpans(spans, t)),
        `the section of ${header} names none of the CMake targets ${[...targets].join(', ')}`,
      );
    }
  });

  for (const header of HEADERS) {
    describe(header, () => {
      const declarations = DECLARATIONS.get(header);

      test('declares public names the scanner finds', () => {
        assert.ok(declarations.length > 0, `no declaration found in ${header}: the scanner cannot read it`);
        for (const d of declarations) assert.ok(!/\bdetail\b/.test(d.scope), `${d.scope}::${d.name} leaked`);
      });

      test('each public name is in the section, in backticks', () => {
        const section = sectionFor(header);
        assert.ok(section, `no section for ${header}`);
        const spans = codeSpans(splitFences(section.text).prose);
        const missing = [...new Set(declarations.map((d) => d.name))].filter((n) => !namedInSpans(spans, n));
        assert.deepEqual(missing, [], `names of ${header} not in an inline code span of its section`);
      });

      test('each function signature is the header\'s own', () => {
        const section = sectionFor(header);
        assert.ok(section, `no section for ${header}`);
        const code = splitFences(section.text).fences.map((f) => squash(stripSource(f))).join('\n');
        const missing = declarations
          .filter((d) => d.kind === 'function')
          .map((d) => d.declaration)
          .filter((decl) => !code.includes(decl));
        assert.deepEqual(missing, [], `declarations of ${header} not copied into a code block of its section`);
      });
    });
  }

  test('the scanner found the names it must', () => {
    const names = (header) => DECLARATIONS.get(header).map((d) => d.name);
    const policy = names('corsd/cors/policy.hpp');
    for (const n of ['PolicySpec', 'Origins', 'any_echoed', 'create', 'seed', 'decide', 'PolicyError',
      'PublicSuffixCheck', 'kWholeField', 'explain_rejection']) {
      assert.ok(policy.includes(n), `${n} not extracted from policy.hpp`);
    }
    for (const n of ['decide_preflight', 'spec_', 'origins_', 'check_method']) {
      assert.ok(!policy.includes(n), `private ${n} extracted from policy.hpp`);
    }
    const httplib = names('corsd/adapters/httplib.hpp');
    assert.ok(httplib.includes('install') && !httplib.includes('install_with'), 'detail:: not skipped');
  });

  test('names no header or file that does not exist', () => {
    const named = new Set();
    for (const m of doc.matchAll(/(?<![\w/.+-])((?:[\w.+-]+\/)*[\w.+-]+\.(?:hpp|h|cpp|c|mjs))(?![\w])/g)) {
      named.add(m[1]);
    }
    const publicNames = new Set(HEADERS.map((h) => h.split('/').pop()));
    const missing = [...named].filter((p) => {
      if (EXTERNAL_HEADERS.has(p)) return false;
      if (!/\.(hpp|h)$/.test(p) && !p.includes('/')) return false; // "app.cpp" in a command line: no path
      if (existsSync(join(ROOT, p)) || existsSync(join(INCLUDE, p))) return false;
      if (!p.includes('/') && publicNames.has(p)) return false; // "policy.hpp" in its section's prose
      return true;
    });
    assert.deepEqual(missing, [], 'docs/api.md names files that do not exist');
    assert.ok([...named].some((p) => p.startsWith('corsd/')), 'no corsd header named at all: the pattern is wrong');
  });

  test('counts', () => {
    const all = [...DECLARATIONS.values()].flat();
    const kinds = {};
    for (const d of all) kinds[d.kind] = (kinds[d.kind] ?? 0) + 1;
    const distinct = new Set(all.map((d) => `${d.scope}::${d.name}`)).size;
    console.log(`${HEADERS.length} public headers, ${all.length} declarations (${distinct} distinct names): ` +
      Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', '));
    assert.ok(all.length > 0);
  });
});
