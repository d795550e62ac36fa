// The tracking issue's Markdown: the issue description (created once) and one comment per run that
// changed something (or would have, in a dry run). Pure.
//
// GitHub refuses an issue or comment body over 65536 characters ("body is too long (maximum is
// 65536 characters)", 422 on POST /repos/{owner}/{repo}/issues and .../issues/{n}/comments), so the
// CIDR lists shrink, then the table, until the text fits, with a pointer to the run's job summary
// and plan file, which always hold everything.
import { exposureSection } from '../audit/render.js'
import type { ExposureReport } from '../audit/run.js'
import type { RunStatus } from './summary.js'
import type { IpFamily } from '../types.js'
import { cellCode, code, codeBlock, html, text } from './markdown.js'

/** GitHub's limit on an issue or comment body, in characters. */
export const GITHUB_BODY_LIMIT = 65536
// JavaScript counts UTF-16 code units, never fewer than the characters GitHub counts; a margin
// still leaves room for the caller's additions.
export const DEFAULT_BODY_BUDGET = 65000

/** The parts of the run report the issue shows; `RunReport` from ./summary.js fits it. */
export interface IssueReport {
  status: RunStatus
  families: IpFamily[]
  source?: { url: string; syncToken: string; createDate: string; md5: string }
  plan?: {
    pools: {
      groups: {
        region: string
        groupId: string
        groupName: string
        vpcId: string
        scope: string
        port: number
        add: Record<IpFamily, string[]>
        remove: Record<IpFamily, { cidr: string }[]>
      }[]
    }[]
  }
  applied?: {
    rulesAdded: number
    rulesRemoved: number
    outcomes: { region: string; groupId: string; error?: string }[]
  }
  exposure?: ExposureReport
}

export interface IssueContext {
  /** `${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}` (see `runUrlFrom`). */
  runUrl?: string
  /** The triggering event (`schedule`, `repository_dispatch`, ...). */
  event?: string
  /** What a repository_dispatch announced. */
  notification?: { syncToken?: string; md5?: string; createTime?: string }
  /** AWS account the groups live in, when known (one account per run). */
  account?: string
  /** When the run happened; defaults to now. */
  time?: Date
}

export interface BodyOptions {
  /** Character budget, at most GITHUB_BODY_LIMIT. */
  budget?: number
}

/** The run's page, from the variables every runner sets; undefined outside Actions. */
export function runUrlFrom(env: Record<string, string | undefined>): string | undefined {
  const server = env.GITHUB_SERVER_URL?.replace(/\/+$/, '') || 'https://github.com'
  const repository = env.GITHUB_REPOSITORY
  const runId = env.GITHUB_RUN_ID
  if (!repository || !runId) return undefined
  const attempt = env.GITHUB_RUN_ATTEMPT
  const base = `${server}/${repository}/actions/runs/${runId}`
  return attempt && attempt !== '1' ? `${base}/attempts/${attempt}` : base
}

/** True when the run changed rules, or would have in a dry run: the only runs the issue hears of. */
export function hasChanges(report: IssueReport): boolean {
  if (report.status === 'dry-run') return changedGroups(report).length > 0
  const applied = report.applied
  return applied !== undefined && applied.rulesAdded + applied.rulesRemoved > 0
}

/** The comment one run adds to the tracking issue. */
export function renderIssueComment(
  report: IssueReport,
  context: IssueContext,
  options: BodyOptions = {}
): string {
  return fit(report, context, budgetOf(options), [])
}

/**
 * The tracking issue's description: the hidden marker first (how later runs find the issue), what
 * the issue is for, then the first run's summary.
 */
export function renderIssueBody(
  report: IssueReport,
  context: IssueContext,
  marker: string,
  options: BodyOptions = {}
): string {
  const intro = [
    marker,
    '',
    'This issue tracks the changes **cloudfront-sg-sync** makes to the security groups that allow ' +
      "CloudFront's published IP ranges. Each run that changes rules (or would, in a dry run) adds a " +
      'comment below. Keep it open: the action finds it by its label and the hidden marker above, ' +
      'and opens a new one if it is closed.',
    '',
    '---',
    ''
  ]
  return fit(report, context, budgetOf(options), intro)
}

function budgetOf(options: BodyOptions): number {
  return Math.min(options.budget ?? DEFAULT_BODY_BUDGET, GITHUB_BODY_LIMIT)
}

type Change = NonNullable<IssueReport['plan']>['pools'][number]['groups'][number]

function changedGroups(report: IssueReport): Change[] {
  const families = report.families
  return (report.plan?.pools ?? [])
    .flatMap(pool => pool.groups)
    .filter(g => families.some(f => g.add[f].length + g.remove[f].length > 0))
}

/** Renders with as much detail as fits: every CIDR, then fewer per list, then fewer table rows. */
function fit(report: IssueReport, context: IssueContext, budget: number, intro: string[]): string {
  const audit = exposureLines(report, context)
  const render = (cidrs: number, rows: number) =>
    [...intro, ...render0(report, context, cidrs, rows), ...audit].join('\n')
  const groups = changedGroups(report)
  const longest = Math.max(
    0,
    ...groups.flatMap(g => report.families.flatMap(f => [g.add[f].length, g.remove[f].length]))
  )
  const full = render(longest, groups.length)
  if (full.length <= budget) return full
  // The largest per-list CIDR count that fits (text length grows with it).
  const cidrs = largest(longest, n => render(n, groups.length).length <= budget)
  if (cidrs >= 0) return render(cidrs, groups.length)
  const rows = largest(groups.length, n => render(0, n).length <= budget)
  if (rows >= 0) return render(0, rows)
  // Not even the headline fits (an absurd budget): cut, keeping the pointer readable.
  const pointer = `\n\n… truncated: ${summaryPointer(context)}`
  return render(0, 0).slice(0, Math.max(0, budget - pointer.length)) + pointer
}

// Exposure rows in an issue comment: the job summary and plan file list every finding.
const MAX_EXPOSURE_ROWS = 20
const MAX_EXPOSURE_CELL = 400

function exposureLines(report: IssueReport, context: IssueContext): string[] {
  if (!report.exposure) return []
  return [
    '',
    ...exposureSection(report.exposure, value => text(clip(value, MAX_EXPOSURE_CELL)), {
      heading: '#### Exposure audit',
      maxRows: MAX_EXPOSURE_ROWS,
      more: summaryPointer(context).replace(/\.$/, '')
    })
  ]
}

/** Largest n in [0, max] with fits(n) true (fits is monotone), or -1 when even 0 does not fit. */
function largest(max: number, fits: (n: number) => boolean): number {
  if (!fits(0)) return -1
  let low = 0
  let high = max
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (fits(mid)) low = mid
    else high = mid - 1
  }
  return low
}

function summaryPointer(context: IssueContext): string {
  return context.runUrl
    ? `the complete lists are in the [run's job summary and plan file](${context.runUrl}).`
    : "the complete lists are in the run's job summary and plan file."
}

function render0(
  report: IssueReport,
  context: IssueContext,
  maxCidrs: number,
  maxRows: number
): string[] {
  const groups = changedGroups(report)
  const lines = [`### ${headline(report, groups.length)}`, '', ...facts(report, context), '']
  if (groups.length === 0) return lines

  const errors = new Map(
    (report.applied?.outcomes ?? [])
      .filter(o => o.error)
      .map(o => [`${o.region}/${o.groupId}`, o.error as string])
  )
  // Six columns: ids wrap badly in narrower ones. The account is in the facts above.
  lines.push(
    '| Group | Where | Family | Added | Removed | Result |',
    '| --- | --- | --- | --- | --- | --- |'
  )
  const shown = groups.slice(0, maxRows)
  for (const g of shown) {
    const error = errors.get(`${g.region}/${g.groupId}`)
    const result =
      report.status === 'dry-run'
        ? 'pending'
        : error
          ? `❌ ${text(clip(error, 120))}`
          : '✅ applied'
    for (const f of report.families) {
      const added = g.add[f].length
      const removed = g.remove[f].length
      if (added + removed === 0) continue
      lines.push(
        `| ${cellCode(g.groupId)}${g.groupName ? ` ${cellCode(g.groupName)}` : ''} | ` +
          `${text(g.region)} · ${text(g.vpcId)} · ${text(g.scope)} tcp/${g.port} | ` +
          `${f} | +${added} | −${removed} | ${result} |`
      )
    }
  }
  if (shown.length < groups.length) {
    lines.push(
      '',
      `… and ${groups.length - shown.length} more group(s): ${summaryPointer(context)}`
    )
  }

  let cut = false
  for (const g of shown) {
    const listed = report.families.flatMap(f => [
      ...g.add[f].slice(0, maxCidrs).map(cidr => `+ ${cidr}`),
      ...g.remove[f].slice(0, maxCidrs).map(rule => `- ${rule.cidr}`)
    ])
    const total = report.families.reduce((n, f) => n + g.add[f].length + g.remove[f].length, 0)
    if (listed.length < total) cut = true
    if (listed.length === 0) continue
    lines.push(
      '',
      '<details>',
      `<summary>${html(g.region)} ${html(g.groupId)}: CIDRs added and removed (${total})</summary>`,
      '',
      ...codeBlock(
        [
          ...listed,
          ...(listed.length < total ? [`# … and ${total - listed.length} more`] : [])
        ].join('\n'),
        'diff'
      ),
      '</details>'
    )
  }
  if (cut || shown.length < groups.length) {
    lines.push(
      '',
      `> [!NOTE]`,
      `> Lists shortened to fit GitHub's comment size limit: ${summaryPointer(context)}`
    )
  }
  return lines
}

function headline(report: IssueReport, groups: number): string {
  const added = (g: Change) => report.families.reduce((n, f) => n + g.add[f].length, 0)
  const removed = (g: Change) => report.families.reduce((n, f) => n + g.remove[f].length, 0)
  const changed = changedGroups(report)
  const planned = `+${sum(changed.map(added))} / −${sum(changed.map(removed))} rules in ${groups} group(s)`
  switch (report.status) {
    case 'dry-run':
      return `🧪 Dry run: ${planned} pending (nothing was changed)`
    case 'applied':
      return `✅ Applied: +${report.applied?.rulesAdded ?? 0} / −${report.applied?.rulesRemoved ?? 0} rules in ${groups} group(s)`
    case 'failed':
      return report.applied
        ? `❌ Partly applied: +${report.applied.rulesAdded} / −${report.applied.rulesRemoved} rules before a failure (planned ${planned})`
        : '❌ Failed: nothing was changed'
    case 'refused':
      return '⛔ Refused: nothing was changed'
    case 'no-change':
      return '✅ No change'
    case 'held-back':
      return '⚠️ Held back: nothing was changed'
    case 'skipped':
      return '⏭️ Skipped'
    // check mode never opens or comments on the issue (main.ts); listed for completeness.
    case 'in-sync':
      return '✅ In sync (checked only)'
    case 'out-of-sync':
      return '❌ Out of sync (checked only)'
  }
}

function facts(report: IssueReport, context: IssueContext): string[] {
  const time = (context.time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const lines = [
    // The run URL is built from runner variables (runUrlFrom): trusted, so a real link.
    `- **Run:** ${context.runUrl ? `[workflow run](${context.runUrl})` : 'local run'} · ` +
      `${context.event ? text(context.event) : 'unknown event'} · ${time}`
  ]
  if (context.account) lines.push(`- **Account:** ${code(context.account)}`)
  const source = report.source
  if (source) {
    lines.push(
      `- **Ranges:** syncToken ${code(source.syncToken)} (${text(source.createDate)}), MD5 ` +
        `${code(source.md5)} from ${text(source.url)}`
    )
  }
  const n = context.notification
  if (n && (n.syncToken || n.md5 || n.createTime)) {
    const parts = [
      n.syncToken ? `syncToken ${code(n.syncToken)}` : '',
      n.md5 ? `MD5 ${code(n.md5)}` : '',
      n.createTime ? `created ${code(n.createTime)}` : ''
    ].filter(Boolean)
    lines.push(`- **Notification:** ${parts.join(', ')}`)
  }
  return lines
}

function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max)}…` : value
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}
