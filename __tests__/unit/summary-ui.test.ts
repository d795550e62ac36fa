// The job summary and the tracking issue are a UI: each main scenario is rendered with a GFM
// renderer (marked) and its structure asserted as a reader would see it (issue 13): the status
// first, whole tables, closed <details>, no link from untrusted text. A meta-test feeds the checker
// a broken table, so the checker itself is known to catch one.
import { marked } from 'marked'
import { scenarios } from '../../dev/summary-scenarios.js'
import { renderIssueComment } from '../../src/report/issue-body.js'
import type { RunReport } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary.js'

const RUN_URL = 'https://github.com/octo-org/edge/actions/runs/42'

function render(markdown: string): string {
  return marked.parse(markdown, { gfm: true, async: false })
}

/** Cells of a GFM table row: split on pipes not escaped by a backslash, outer pipes dropped. */
function cells(row: string): number {
  const parts = row.trim().split(/(?<!\\)\|/)
  return parts.length - 2
}

/** Every structural fault a reader would see, as sentences; empty when the page is sound. */
export function structureFaults(markdown: string, allowedLinks: string[] = []): string[] {
  const faults: string[] = []
  const lines = markdown.split('\n')
  // Tables: a header row, a delimiter row, then rows, all with the header's cell count.
  let tables = 0
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!/^\|( ?:?-+:? ?\|)+$/.test(lines[i + 1] ?? '')) continue
    tables += 1
    const width = cells(lines[i] ?? '')
    for (let j = i + 1; j < lines.length && (lines[j] ?? '').startsWith('|'); j++) {
      const n = cells(lines[j] ?? '')
      if (n !== width) faults.push(`table row ${j + 1} has ${n} cells, its header ${width}`)
    }
  }
  const html = render(markdown)
  const rendered = html.match(/<table>/g)?.length ?? 0
  if (rendered !== tables) faults.push(`${tables} tables written, ${rendered} rendered`)
  // <details> balanced and in order.
  let depth = 0
  for (const tag of markdown.match(/<\/?details>/g) ?? []) {
    depth += tag === '<details>' ? 1 : -1
    if (depth < 0) faults.push('</details> without <details>')
  }
  if (depth !== 0) faults.push(`${depth} <details> left open`)
  // Links: only the action's own (the run URL).
  for (const [, href] of html.matchAll(/<a [^>]*href="([^"]*)"/g)) {
    if (!allowedLinks.includes(href ?? '')) faults.push(`unexpected link ${href}`)
  }
  if (/<img/.test(html)) faults.push('an image')
  return faults
}

const all = Object.entries(scenarios())

describe.each(all)('the job summary of %s', (_name, report: RunReport) => {
  const markdown = renderSummary(report)
  const html = render(markdown)

  it('leads with the status, right after the title', () => {
    const lines = markdown.split('\n')
    expect(lines[0]).toBe('## CloudFront security group sync')
    expect(lines[1]).toBe('')
    expect(lines[2]).toMatch(/^(✅|🧪|⚠️|⛔|❌|⏭️) \*\*[A-Z][a-z ]+\*\*/)
    // Rendered: the first paragraph after the heading is that status, in bold.
    expect(html).toMatch(/^<h2>[^<]*<\/h2>\n<p>\S+ <strong>/)
  })

  it('is structurally sound (tables, details, links)', () => {
    expect(structureFaults(markdown)).toEqual([])
  })

  it('says each thing once: the error is not repeated as an alert', () => {
    if (report.error) {
      const first = report.error.slice(0, 40)
      expect(markdown.split(first).length - 1).toBeLessThanOrEqual(2)
    }
  })
})

describe.each(all)('the tracking-issue comment of %s', (_name, report: RunReport) => {
  it('is structurally sound, its only link the run', () => {
    const markdown = renderIssueComment(report, {
      runUrl: RUN_URL,
      event: 'schedule',
      account: '123456789012'
    })
    expect(structureFaults(markdown, [RUN_URL])).toEqual([])
    expect(markdown).toContain(`[workflow run](${RUN_URL})`)
  })
})

describe('what each scenario shows', () => {
  const s = scenarios()
  const md = (name: string): string => renderSummary(s[name] as RunReport)
  /** The status line as a reader sees it (Markdown escapes undone). */
  const status = (name: string): string => (md(name).split('\n')[2] ?? '').replace(/\\(.)/g, '$1')

  it('no change: one glance, no +0 / -0 table, details collapsed', () => {
    const text = md('no change')
    expect(text).not.toMatch(/\+0 \| −0/)
    expect(text).not.toContain('### ')
    expect(text).toMatch(
      /^- 123456789012 · us-east-1 · vpc-\w+ · global · tcp\/443: 1 group\(s\), 4 ipv4, 1 ipv6 rule\(s\), no change$/m
    )
    expect(text).toContain('<summary>Groups with no change (2)</summary>')
  })

  it('regional groups with no regional IPv6 range get no IPv6 row', () => {
    const text = md('first sync')
    expect(text).toContain('| sg-0ee55ff66aa77bb88 edge-origin-r | ipv4 |')
    expect(text).not.toContain('| sg-0ee55ff66aa77bb88 edge-origin-r | ipv6 |')
    expect(text).toContain('| sg-0aa11bb22cc33dd44 edge-origin-g | ipv6 |')
  })

  it('a failed group is marked failed, not shown as done', () => {
    const text = md('failed')
    expect(text).toMatch(
      /\| sg-0ee55ff66aa77bb88 edge-origin-r \| ipv4 \| 0 → 2 \| \+2 \| −0 \| 58 \| ❌ failed: RulesPerSecurityGroupLimitExceeded/
    )
    expect(text).toMatch(
      /\| sg-0aa11bb22cc33dd44 edge-origin-g \| ipv4 \| 0 → 4 \| .* \| ✅ done \|/
    )
    expect(status('failed')).toMatch(
      /^❌ \*\*Failed\*\* after applying \+5 \/ −0 rules\. 1 group\(s\) could not be fully updated/
    )
  })

  it('a refused plan is what it would need, never done', () => {
    const text = md('refused')
    expect(text).toContain('| Rules now → would need |')
    expect(text).toContain('⛔ not applied (refused)')
    expect(text).not.toContain('✅ done')
    expect(text.split('\n')[2]).toContain(
      'nothing was changed. us-east-1 global pool needs 62 rules'
    )
    // The problem is the status line, not again as an alert.
    expect(text).not.toContain('[!CAUTION]')
  })

  it('no group at all: the reason and the close tag lead the page', () => {
    const line = status('no group (failed setup)')
    expect(line).toMatch(/^❌ \*\*Failed\*\*: nothing was changed\. No security group to sync/)
    expect(line).toContain('Protocol=HTTPS (expected https)')
  })

  it('a skipped run says its reason once, in the status line', () => {
    const reason = 'repository_dispatch event type other-event is not one of aws-ip-ranges-changed'
    const text = renderSummary({
      ...(s['no change'] as RunReport),
      status: 'skipped',
      plan: undefined,
      source: undefined,
      notices: [reason]
    })
    expect(text.split('\n')[2]).toMatch(/^⏭️ \*\*Skipped\*\*: repository/)
    expect(text.split('other-event').length - 1).toBe(1)
    expect(structureFaults(text)).toEqual([])
  })

  it('the source table has a header in every cell', () => {
    expect(md('a change')).toContain('| Source | Value |')
  })
})

describe('the structure checker itself', () => {
  it('catches a row with an extra cell', () => {
    const broken = '| A | B |\n| --- | --- |\n| 1 | 2 |\n| 1 | 2 | 3 |\n'
    expect(structureFaults(broken)).toEqual(['table row 4 has 3 cells, its header 2'])
  })

  it('catches a table split by a stray line break', () => {
    const broken = '| A | B |\n| --- | --- |\n| 1 | 2\n|\n'
    expect(structureFaults(broken).length).toBeGreaterThan(0)
  })

  it('catches an unclosed <details> and a link from a name', () => {
    expect(structureFaults('<details>\n<summary>x</summary>\n\ny\n')).toEqual([
      '1 <details> left open'
    ])
    expect(structureFaults('[x](https://evil.example)')).toEqual([
      'unexpected link https://evil.example'
    ])
  })

  it('accepts an escaped pipe inside a cell', () => {
    expect(structureFaults('| A | B |\n| --- | --- |\n| a \\| b | 2 |\n')).toEqual([])
  })
})
