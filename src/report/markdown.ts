// The one place where text the action did not write itself (AWS names, tags, descriptions, document
// fields, dispatch payload fields, error messages) becomes Markdown, for the job summary and the
// tracking issue alike. Pure. Each function is safe in the context its name gives:
//
//   text(s)      inline text: paragraph, heading, blockquote line, list item and table cell
//   code(s)      inline code span outside tables
//   cellCode(s)  inline code span inside a table cell
//   codeBlock(s) fenced code block lines
//   html(s)      text inside an HTML element (`<summary>`), where Markdown is not parsed
//
// What each one neutralises:
// - Line breaks (CR, LF, VT, FF, NEL, U+2028/2029) become spaces: a bare CR ends a table row or a
//   blockquote line in CommonMark ("a line ending is LF, CR, or CRLF"). Other controls and the
//   bidirectional overrides that can make text read differently than it is (U+202A-202E,
//   U+2066-2069, U+200E/200F, U+061C) become U+FFFD, visibly.
// - Every markup character is backslash-escaped (CommonMark: "any ASCII punctuation character may
//   be backslash-escaped"; it is then literal): no link, image, emphasis, heading, list, HTML tag,
//   entity, table pipe, strikethrough, `$` math or autolink trigger survives. GFM tables take `\|`
//   as a literal pipe, so the same text is safe in a cell.
// - GitHub links @mentions, #123 references and e-mail addresses in the rendered text, after
//   Markdown, so escaping cannot stop them: a zero-width joiner after `@` and `#` breaks the match
//   without changing what a reader sees (nobody is pinged, no issue gets a back-reference).
// - Code spans and fences use a backtick run longer than any in their content, so the content
//   cannot close them (CommonMark: a code span / fence closes only on a run of equal / at least
//   equal length).

const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029\t]/g
// C0/C1 controls (tab and line breaks handled above), DEL, bidi marks/embeddings/overrides/isolates,
// the Arabic letter mark, BOM and interlinear annotation controls.
const CONTROL =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]/g
// Characters that open markup anywhere in a line: code, emphasis, strikethrough, links and images,
// HTML and autolinks, tables, entities, headings and references, math, e-mails, and the `:` of a
// URL scheme (GFM autolinks `https://…` in plain text; `:` elsewhere is kept, as in `ec2:Describe`).
// `_` between two ASCII letters or digits is kept: it can neither open nor close emphasis there
// (CommonMark's flanking rules), so names like CLOUDFRONT_ORIGIN_FACING stay readable.
const MARKUP = /[\\`*~[\]()!<>|&#$@]|:(?=\/)|_(?![A-Za-z0-9])|(?<![A-Za-z0-9])_/g
// Line-start markup (list items, setext underlines, ordered lists): only where the text begins, the
// one place it can start a line (`> ${text}`), since line breaks are flattened.
const LEADING = /^([-+=]|\d+(?=[.)]))/
const ZWJ = '\u200d'

/** Controls and line breaks out: one visible line. */
export function oneLine(value: string): string {
  return value.replace(LINE_BREAK, ' ').replace(CONTROL, '\ufffd')
}

/** Literal inline text, safe in paragraphs, headings, blockquotes, list items and table cells. */
export function text(value: string): string {
  const escaped = oneLine(value)
    .replace(MARKUP, '\\$&')
    .replace(LEADING, (m: string) => (/\d/.test(m) ? `${m}\\` : `\\${m}`))
    // GFM autolinks `www.` without a scheme.
    .replace(/\b(www)\./gi, '$1\\.')
  return unlink(escaped)
}

/** An inline code span outside tables (a pipe in it would be literal there, so it is kept). */
export function code(value: string): string {
  const content = oneLine(value)
  if (content === '') return ''
  const fence = '`'.repeat(longestRun(content, '`') + 1)
  // A leading or trailing backtick would join the fence; one space each side is stripped again.
  const pad = /^[` ]|[` ]$/.test(content) ? ' ' : ''
  return `${fence}${pad}${content}${pad}${fence}`
}

/**
 * An inline code span inside a GFM table cell: the table splits cells on `|` even inside code, and
 * takes `\|` as a literal pipe there (GFM spec, tables: "including inside other inline spans").
 */
export function cellCode(value: string): string {
  // A backslash before a pipe would escape our escape (`\\|` splits the cell, and a code span has
  // no other way to hold it): such a value is shown as escaped text instead.
  if (/\\\|/.test(oneLine(value))) return text(value)
  return code(value).replace(/\|/g, '\\|')
}

/** A fenced code block: its lines, opening and closing fence included. */
export function codeBlock(value: string, info = 'text'): string[] {
  const content = value.replace(/\r\n|[\r\u0085\u2028\u2029\v\f]/g, '\n').replace(CONTROL, '\ufffd')
  const fence = '`'.repeat(Math.max(3, longestRun(content, '`') + 1))
  return [`${fence}${info}`, ...content.split('\n'), fence]
}

/** Text inside an HTML element on one line (`<summary>`): entities, not backslashes, apply there. */
export function html(value: string): string {
  const entities: Record<string, string> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    "'": '&#39;'
  }
  // Mentions first: the ZWJ must not land inside an entity such as `&#39;`.
  return unlink(oneLine(value)).replace(/[&<>"']/g, c => entities[c] as string)
}

/** Breaks @mentions and #references, which GitHub links after rendering. */
function unlink(value: string): string {
  return value.replace(/([@#])/g, `$1${ZWJ}`)
}

function longestRun(value: string, char: string): number {
  let longest = 0
  let run = 0
  for (const c of value) {
    run = c === char ? run + 1 : 0
    if (run > longest) longest = run
  }
  return longest
}
