// Untrusted text (AWS names and tags, document and payload fields, error messages) must reach the
// job summary and the tracking issue as literal text: no link, image, heading, HTML, table break,
// code-fence break, @mention or #reference. Checked on the escaped text and on what a GFM renderer
// (marked, gfm: tables, autolinks, strikethrough) makes of it.
import { marked } from 'marked'
import type { Pool } from '../../src/plan.js'
import { cellCode, code, codeBlock, html, oneLine, text } from '../../src/report/markdown.js'
import { renderIssueBody, renderIssueComment } from '../../src/report/issue-body.js'
import type { IssueReport } from '../../src/report/issue-body.js'
import type { RunReport } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary.js'
import { parseTrigger } from '../../src/trigger.js'

const ZWJ = '\u200d'

/** Strings from the issue and more: each tries to become markup, break out, or ping someone. */
const HOSTILE = [
  '[Rotate AWS keys now](https://evil.example/login)',
  '![pixel](https://evil.example/p.png)',
  '<a href="https://evil.example">click</a>',
  '<img src=x onerror=alert(1)>',
  '<details open><summary>x</summary>',
  'https://evil.example/login',
  'www.evil.example',
  'admin@evil.example',
  'ping @octocat and @octo-org/security',
  'see #1 and octo-org/edge#2',
  '```\n# Forged heading\n```',
  '`` ` ``',
  'edge\rforged | row | x',
  'a\r\n## heading',
  'a\u2028# heading\u2029b',
  'col | col',
  '*bold* _em_ ~~gone~~ **strong**',
  '# heading',
  '> quote',
  '- item',
  '1. item',
  '===',
  '---',
  '$x^2$ math',
  '&lt;script&gt; &#x202E; &amp;',
  'abc\u202Edcba\u2066x\u2069',
  'nul\u0000bell\u0007esc\u001b[31m',
  '::add-mask::secret',
  ':+1: :shipit:',
  '\\[escaped](https://evil.example)',
  'back\\|slash | pipe',
  'trailing backslash\\'
]

function render(markdown: string): string {
  return marked.parse(markdown, { gfm: true, async: false })
}

/** Text of the rendered HTML, tags stripped, entities decoded (what a reader sees). */
function visible(htmlText: string): string {
  return htmlText
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
}

/** Markup that must never come from untrusted text. */
function expectInert(
  rendered: string,
  allowedLinks: string[] = [],
  forbidden = /<(img|script|iframe|em|del|h[1-6]|blockquote|ol|ul|hr)\b/i
): void {
  const links = [...rendered.matchAll(/<a\s[^>]*href="([^"]*)"/g)].map(m => m[1])
  expect(links.filter(href => !allowedLinks.includes(href ?? ''))).toEqual([])
  expect(rendered).not.toMatch(forbidden)
  // GitHub links these in rendered text (outside code): a ZWJ after @ and # breaks them.
  expect(visible(rendered.replace(/<code>[\s\S]*?<\/code>/g, ''))).not.toMatch(/[@#][A-Za-z0-9]/)
  // eslint-disable-next-line no-control-regex
  expect(rendered).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u0000-\u0008\u001b]/)
}

describe('text()', () => {
  it.each(HOSTILE)('renders %j as exactly its own characters', hostile => {
    const rendered = render(`Group ${text(hostile)} changed.`)
    expectInert(rendered)
    // One paragraph, the original characters (line breaks and controls flattened, ZWJs added).
    expect(rendered.match(/<p>/g)).toHaveLength(1)
    expect(visible(rendered).trim().replace(new RegExp(ZWJ, 'g'), '')).toBe(
      `Group ${oneLine(hostile)} changed.`
    )
  })

  it.each(HOSTILE)('keeps a table row whole for %j', hostile => {
    const table = ['| Group | Reason |', '| --- | --- |', `| ${text(hostile)} | ok |`].join('\n')
    const rendered = render(table)
    expectInert(rendered)
    expect(rendered.match(/<tr>/g)).toHaveLength(2)
    expect(rendered.match(/<td>/g)).toHaveLength(2)
    expect(rendered).toContain('<td>ok</td>')
  })

  it.each(HOSTILE)('stays inside a blockquote line and a heading for %j', hostile => {
    const rendered = render(`> [!NOTE]\n> ${text(hostile)}\n\n### Pool ${text(hostile)}`)
    expect(rendered.match(/<blockquote>/g)).toHaveLength(1)
    expect(rendered.match(/<h3>/g)).toHaveLength(1)
    expect(rendered).not.toMatch(/<(a|img|h[1-24-6]|ol|ul|hr|em|del)\b/)
  })

  it('escapes each markup character and breaks mentions', () => {
    expect(text('[a](b)')).toBe('\\[a\\]\\(b\\)')
    expect(text('a|b')).toBe('a\\|b')
    expect(text('a\rb\nc\u2028d')).toBe('a b c d')
    expect(text('@octocat #12')).toBe(`\\@${ZWJ}octocat \\#${ZWJ}12`)
    expect(text('\u202Ex')).toBe('\ufffdx')
  })

  it('escapes line-start markup where the text begins, and keeps plain names readable', () => {
    expect(text('- item')).toBe('\\- item')
    expect(text('12. item')).toBe('12\\. item')
    expect(text('=== x')).toBe('\\=== x')
    expect(text('_em_ a__b')).toBe('\\_em\\_ a\\_\\_b')
    expect(text('www.evil.example')).toBe('www\\.evil.example')
    expect(text('CLOUDFRONT_ORIGIN_FACING us-east-1 vpc-1 sg-0a1 2026-08-13-10-13-05')).toBe(
      'CLOUDFRONT_ORIGIN_FACING us-east-1 vpc-1 sg-0a1 2026-08-13-10-13-05'
    )
  })
})

describe('code() and cellCode()', () => {
  it.each(HOSTILE)('holds %j in one code span', hostile => {
    const rendered = render(`Name ${code(hostile)} here.`)
    expect(rendered.match(/<code>/g)).toHaveLength(1)
    expect(rendered).not.toMatch(/<(a|img|h\d|em|del)\b/)
  })

  it.each(HOSTILE)('holds %j in one code span inside a table cell', hostile => {
    const rendered = render(
      ['| a | b |', '| --- | --- |', `| ${cellCode(hostile)} | ok |`].join('\n')
    )
    expect(rendered.match(/<td>/g)).toHaveLength(2)
    expect(rendered).toContain('<td>ok</td>')
    // A backslash before a pipe cannot be held in a cell's code span: shown as escaped text.
    expect(rendered.match(/<code>/g)?.length ?? 0).toBe(/\\\|/.test(hostile) ? 0 : 1)
    expect(rendered).not.toMatch(/<(a|img|h\d)\b/)
  })

  it('uses a fence longer than any backtick run and pads a leading backtick', () => {
    expect(code('a`b')).toBe('``a`b``')
    expect(code('``x')).toBe('``` ``x ```')
    expect(cellCode('a|b')).toBe('`a\\|b`')
    expect(code('')).toBe('')
  })
})

describe('codeBlock()', () => {
  it.each(HOSTILE)('cannot be closed by %j', hostile => {
    const rendered = render([...codeBlock(`Error: ${hostile}\n${hostile}`), '', 'after'].join('\n'))
    expect(rendered.match(/<pre>/g)).toHaveLength(1)
    expect(rendered).not.toMatch(/<(a|img|h\d|em|del|table)\b/)
    expect(rendered).toMatch(/<\/pre>\s*<p>after<\/p>/)
  })

  it('opens with a fence longer than the longest backtick run', () => {
    expect(codeBlock('x\n````\ny')).toEqual(['`````text', 'x', '````', 'y', '`````'])
    expect(codeBlock('a\rb')).toEqual(['```text', 'a', 'b', '```'])
  })
})

describe('html()', () => {
  it.each(HOSTILE)('stays text inside <summary> for %j', hostile => {
    const rendered = render(
      `<details>\n<summary>${html(hostile)} CIDRs</summary>\n\n${codeBlock('x').join('\n')}\n</details>`
    )
    expect(rendered.match(/<summary>/g)).toHaveLength(1)
    expect(rendered.match(/<\/summary>/g)).toHaveLength(1)
    expect(rendered).not.toMatch(/<(a|img|script)\b/)
    expect(rendered).not.toMatch(/<details open/)
  })
})

// The action's own layout has headings, lists, alerts and rules; checked by count instead.
const DOCUMENT_FORBIDDEN = /<(img|script|iframe|em|del|ol)\b/i

// --- The whole summary and issue, with hostile strings where AWS, the document or a payload puts them.

const EVIL_NAME = '[Rotate AWS keys now](https://evil.example/login)'
const EVIL_TAG = '17000\rforged | row | @octocat'
const EVIL_REGION = 'us-east-1\n```\n# Forged heading\n[click](https://evil.example)'

function hostileReport(): RunReport {
  const group = {
    account: '123456789012',
    region: EVIL_REGION,
    groupId: 'sg-1 <img src=x>',
    groupName: EVIL_NAME,
    vpcId: 'vpc-1 @octocat',
    scope: 'global' as const,
    port: 443,
    add: { ipv4: ['10.0.0.0/24'], ipv6: [] },
    remove: { ipv4: [], ipv6: [] },
    before: { ipv4: 0, ipv6: 0 },
    after: { ipv4: 1, ipv6: 0 },
    capacityLeft: { ipv4: 59, ipv6: 60 },
    revokeFirst: false
  }
  const pool: Pool = {
    id: `123456789012/${EVIL_REGION}/vpc-1/global/tcp:443`,
    account: '123456789012',
    region: EVIL_REGION,
    vpcId: 'vpc-1 #1',
    scope: 'global',
    port: 443,
    desired: { ipv4: [], ipv6: [] },
    groups: [group]
  }
  return {
    status: 'failed',
    service: 'CLOUDFRONT\n## Owned',
    families: ['ipv4'],
    regions: [EVIL_REGION],
    accounts: ['123456789012'],
    source: {
      url: 'https://evil.example/ip-ranges.json',
      syncToken: '1786615985',
      createDate: '2026-08-13 [x](https://evil.example)',
      md5: 'ab'.repeat(16),
      bytes: 1000
    },
    plan: {
      pools: [pool],
      problems: [{ message: `Refusing ${EVIL_NAME}\n# Forged` } as never],
      heldBack: [{ id: pool.id, groupId: 'sg-2', recordedSyncToken: EVIL_TAG }],
      totals: {
        rulesAdded: 1,
        rulesRemoved: 0,
        groupsChanged: 1,
        managedBefore: 0,
        removalsUncovered: 0
      }
    },
    applied: {
      outcomes: [
        {
          account: '123456789012',
          region: EVIL_REGION,
          groupId: 'sg-1 <img src=x>',
          added: 1,
          removed: 0,
          error: `AccessDenied for ${EVIL_NAME} @octocat | x\r## y`
        } as never
      ],
      rulesAdded: 1,
      rulesRemoved: 0,
      failures: []
    },
    skipped: [
      {
        account: '123456789012',
        region: EVIL_REGION,
        groupId: 'sg-3',
        groupName: EVIL_NAME,
        reason: `tag value ${EVIL_TAG}`
      } as never
    ],
    emptyRegions: [],
    notices: [`notice ${EVIL_NAME}`],
    warnings: [`warning @octocat\n# heading`],
    error: `Could not reach us-east-1\n\`\`\`\n# Forged heading\n[click](https://evil.example)`
  }
}

describe('renderSummary with untrusted text everywhere', () => {
  const rendered = render(renderSummary(hostileReport()))

  it('renders no link, image, forged heading or mention', () => {
    expectInert(rendered, [], DOCUMENT_FORBIDDEN)
    // The action's own blocks only: problem, notice, warning, held-back pool.
    expect(rendered.match(/<blockquote>/g)).toHaveLength(4)
    // The action's own headings only: the title, one pool, the skipped table.
    expect([...rendered.matchAll(/<h(\d)>/g)].map(m => m[1])).toEqual(['2', '3', '3'])
    // The pool heading holds the forged "heading" as its own literal text.
    expect(rendered).toMatch(/<h3>123456789012 · us-east-1 ``` #\u200d Forged heading/)
  })

  it('keeps the error in one code block and every table row whole', () => {
    expect(rendered.match(/<pre>/g)?.length).toBeGreaterThanOrEqual(1)
    expect(rendered).toMatch(/<pre><code[^>]*>Could not reach us-east-1\n```\n# Forged heading/)
    // Source table: 1 header + 7 rows; pool table: header + 1 row; skipped: header + 1 row.
    const tables = rendered.split('<table>').slice(1)
    expect(tables.map(t => t.match(/<tr>/g)?.length)).toEqual([8, 2, 2])
    for (const table of tables) {
      const rows = table.split('<tr>').slice(1)
      const width = rows[0]?.match(/<t[hd]/g)?.length
      for (const row of rows) expect(row.match(/<t[hd]/g)?.length).toBe(width)
    }
  })

  it('puts a dispatch event_type in the skipped status line as text', () => {
    const decision = parseTrigger(
      {
        eventName: 'repository_dispatch',
        payload: { action: `[Rotate AWS keys now](https://evil.example/login) @octocat` }
      },
      {
        dispatchEventTypes: ['aws-ip-ranges-changed'],
        ipRangesUrl: 'https://ip-ranges.example',
        now: new Date()
      }
    )
    expect(decision.kind).toBe('skip')
    const report = { ...hostileReport(), status: 'skipped' as const, plan: undefined }
    report.notices = [(decision as { reason: string }).reason]
    const skipped = render(
      renderSummary({ ...report, error: undefined, source: undefined, skipped: [] })
    )
    expectInert(skipped, [], DOCUMENT_FORBIDDEN)
    expect(skipped.match(/<h\d>/g)).toHaveLength(1)
    expect(visible(skipped)).toContain('[Rotate AWS keys now](https://evil.example/login)')
  })
})

describe('the tracking issue with untrusted text everywhere', () => {
  const report = hostileReport() as unknown as IssueReport
  const context = {
    runUrl: 'https://github.com/octo-org/edge/actions/runs/42',
    event: 'repository_dispatch',
    account: '123456789012 | @octocat',
    time: new Date('2026-08-13T10:20:00Z')
  }

  it.each([
    ['body', renderIssueBody(report, context, '<!-- cloudfront-sg-sync:tracking -->')],
    ['comment', renderIssueComment(report, context)]
  ])('renders the %s inert, one table row per change', (_kind, markdown) => {
    const rendered = render(markdown)
    expectInert(rendered, [context.runUrl], DOCUMENT_FORBIDDEN)
    expect(rendered.match(/<h\d>/g)).toEqual(['<h3>'])
    expect(rendered.match(/<ul>/g)).toHaveLength(1)
    const table = rendered.split('<table>')[1] ?? ''
    const rows = table.split('<tr>').slice(1)
    expect(rows).toHaveLength(2)
    for (const row of rows) expect(row.match(/<t[hd]/g)).toHaveLength(6)
    expect(rendered.match(/<summary>/g)).toHaveLength(1)
    expect(rendered.match(/<pre>/g)).toHaveLength(1)
  })
})
