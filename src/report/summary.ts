// The job summary as Markdown: a status line, where the ranges came from, one table per pool and the
// CIDRs in collapsed lists. Pure: main.ts writes it.
import type { ApplyResult } from '../apply.js'
import type { CheckResult } from '../check.js'
import { describeToken } from '../check.js'
import { formatDuration } from '../duration.js'
import { exposureSection } from '../audit/render.js'
import type { CreatedGroup } from '../grow/step.js'
import type { ExposureReport } from '../audit/run.js'
import type { SkippedGroup } from '../inventory.js'
import type { GroupChange, Plan, Pool } from '../plan.js'
import type { IpFamily, RangeSource } from '../types.js'
import { codeBlock, oneLine, text } from './markdown.js'

export type RunStatus =
  | 'applied'
  | 'dry-run'
  | 'no-change'
  /** Nothing to change, but pools were held back (they hold newer ranges than this run's file). */
  | 'held-back'
  | 'skipped'
  | 'refused'
  | 'failed'
  /** mode: check. */
  | 'in-sync'
  | 'out-of-sync'

export interface GrowthReport {
  created: CreatedGroup[]
  /** Dry run: the groups a run would create (name and pool). */
  wouldCreate: { groupName: string; poolId: string }[]
  /** Groups grow-pools created that hold no managed rule after the plan: safe to delete by hand. */
  removable: string[]
}

export interface RunReport {
  status: RunStatus
  service: string
  families: IpFamily[]
  regions: string[]
  /** The AWS accounts synced (12-digit ids, or 'default' when the default chain's is unknown). */
  accounts: string[]
  source?: RangeSource
  plan?: Plan
  applied?: ApplyResult
  /** check mode's verdict (src/check.ts). */
  check?: CheckResult
  /** The exposure audit (after plan and apply), when it ran. */
  exposure?: ExposureReport
  /** grow-pools: groups created (or, in a dry run, to create) and grown groups left empty. */
  growth?: GrowthReport
  skipped: SkippedGroup[]
  /** Regions (prefixed with the account when several) where no tagged group was found. */
  emptyRegions: string[]
  notices: string[]
  warnings?: string[]
  error?: string
}

const TITLE = '## CloudFront security group sync'
// GitHub drops a step summary over 1 MiB whole ("$GITHUB_STEP_SUMMARY upload aborted, supports
// content up to a size of 1024k") and annotates the step with an error. An organisation-wide
// first sync lists ~30k CIDRs (1.4 MB), so the summary is rendered to a byte budget below that.
export const SUMMARY_BUDGET_BYTES = 900 * 1024
// CIDRs listed in the whole summary (~45 bytes each); the plan file has every one.
const MAX_LISTED_CIDRS = 1000
const MAX_SKIPPED_ROWS = 200
const MAX_EXPOSURE_ROWS = 200
const PLAN_FILE_HINT = 'the plan file (`plan-file` output) has the full plan'

export function renderSummary(report: RunReport, budgetBytes = SUMMARY_BUDGET_BYTES): string {
  // The status (with the reason, when the run failed or was refused) is always the first line
  // after the title; then one section after another. A new section is one more entry here.
  const head = [
    TITLE,
    '',
    statusLine(report),
    '',
    ...errorDetails(report),
    ...alerts(report),
    ...(report.check ? [...checkSection(report.check), ''] : []),
    ...(report.source ? [...sourceSection(report), ''] : []),
    ...heldBackAlerts(report),
    ...(report.exposure
      ? exposureSection(report.exposure, text, {
          heading: '### Exposure audit',
          maxRows: MAX_EXPOSURE_ROWS,
          more: PLAN_FILE_HINT
        })
      : [])
  ]
  const tail = report.skipped.length > 0 ? [...skippedTable(report.skipped), ''] : []

  // Pools in plan order while they fit, keeping room for the skipped table and the closing note.
  // Pools with nothing to change are one line each, their groups in one collapsed table.
  const reserve = byteLength(tail) + 512
  let used = byteLength(head)
  const body: string[] = []
  const listing = { left: MAX_LISTED_CIDRS }
  const pools = report.plan?.pools ?? []
  const steady = pools.filter(pool => !poolChanges(pool, report.families))
  const changing = pools.filter(pool => poolChanges(pool, report.families))
  let shown = 0
  if (steady.length > 0) {
    const section = [...steadySection(steady, report), '']
    const compact = [...steadyLines(steady, report), '']
    const pick = used + byteLength(section) + reserve <= budgetBytes ? section : compact
    if (used + byteLength(pick) + reserve <= budgetBytes) {
      body.push(...pick)
      used += byteLength(pick)
      shown += steady.length
    }
  }
  for (const pool of changing) {
    const section = [...poolSection(pool, report, listing), '']
    const size = byteLength(section)
    if (used + size + reserve > budgetBytes) break
    body.push(...section)
    used += size
    shown += 1
  }
  if (shown < pools.length) {
    body.push(
      '> [!NOTE]',
      `> ${pools.length - shown} more pool(s) are not shown: a job summary is limited to 1 MiB; ` +
        `${PLAN_FILE_HINT}.`,
      ''
    )
  }
  return clamp([...head, ...body, ...tail].join('\n'), budgetBytes)
}

// The reason in the status line is cut here; the whole error follows, collapsed.
const REASON_CHARS = 400

/** One sentence of what happened, and for a failure or refusal why and what to do. */
export function statusLine(report: RunReport): string {
  const line = statusText(report)
  const held = report.plan?.heldBack.length ?? 0
  const reason = reasonOf(report)
  const withReason = reason ? `${line} ${text(reason)}` : line
  if (held === 0 || report.status === 'held-back') return withReason
  return `${withReason} ⚠️ ${held} pool(s) held back (see below).`
}

/** Plain text (escaped by the caller): the refusal's first problem, or the error. */
function reasonOf(report: RunReport): string | undefined {
  const problems = report.plan?.problems ?? []
  if (report.status === 'refused' && problems.length > 0) {
    const more = problems.length - 1
    return `${oneLine(problems[0]?.message ?? '')}${more > 0 ? ` (and ${more} more problem(s) below)` : ''}`
  }
  if (!report.error) return undefined
  const line = oneLine(report.error)
  return errorIsLong(report.error) ? `${line.slice(0, REASON_CHARS)}… (full error below)` : line
}

function errorIsLong(error: string): boolean {
  return error.length > REASON_CHARS || /[\r\n]/.test(error.trim())
}

/** The whole error, collapsed, when the status line could not hold it on one line. */
function errorDetails(report: RunReport): string[] {
  const error = report.error
  if (!error || !errorIsLong(error)) return []
  if (report.status === 'refused' && (report.plan?.problems.length ?? 0) > 0) return []
  return ['<details>', '<summary>Full error</summary>', '', ...codeBlock(error), '</details>', '']
}

function alerts(report: RunReport): string[] {
  const lines: string[] = []
  // The first problem is in the status line already.
  const problems = report.plan?.problems ?? []
  const rest = report.status === 'refused' ? problems.slice(1) : problems
  for (const problem of rest) lines.push('> [!CAUTION]', `> ${text(problem.message)}`, '')
  // A skipped run's first notice is its status line.
  const notices = report.status === 'skipped' ? report.notices.slice(1) : report.notices
  for (const notice of notices) lines.push('> [!NOTE]', `> ${text(notice)}`, '')
  for (const warning of report.warnings ?? []) lines.push('> [!WARNING]', `> ${text(warning)}`, '')
  return lines
}

function heldBackAlerts(report: RunReport): string[] {
  return (report.plan?.heldBack ?? []).flatMap(held => [
    '> [!WARNING]',
    `> ${text(held.id)} held back, left as it is: ${text(held.groupId)} already holds newer ` +
      `ranges (syncToken ${text(held.recordedSyncToken)}).`,
    ''
  ])
}

function statusText(report: RunReport): string {
  const totals = report.plan?.totals
  const groups = report.plan?.pools.reduce((n, pool) => n + pool.groups.length, 0) ?? 0
  switch (report.status) {
    case 'applied': {
      const applied = report.applied
      return (
        `✅ **Applied**: +${applied?.rulesAdded ?? 0} / −${applied?.rulesRemoved ?? 0} rules ` +
        `in ${totals?.groupsChanged ?? 0} of ${groups} groups.`
      )
    }
    case 'dry-run':
      return (
        `🧪 **Dry run**: would add ${totals?.rulesAdded ?? 0} and revoke ${totals?.rulesRemoved ?? 0} ` +
        `rules in ${totals?.groupsChanged ?? 0} of ${groups} groups; nothing was changed.`
      )
    case 'no-change':
      return `✅ **No change**: ${groups} groups in ${report.regions.length} region(s) already match.`
    case 'held-back':
      // Never "No change": these pools are not on this run's ranges (a late notification, or a
      // group tagged with a newer syncToken).
      return (
        `⚠️ **Held back**: ${report.plan?.heldBack.length ?? 0} pool(s) already hold newer ranges ` +
        `than this run's file and were left as they are; ${groups} other group(s) already match.`
      )
    case 'skipped':
      return `⏭️ **Skipped**: ${report.notices[0] ? text(report.notices[0]) : 'nothing to do for this event'}`
    case 'refused':
      return '⛔ **Refused**: the plan is unsafe to apply; nothing was changed.'
    case 'in-sync':
      return (
        `✅ **In sync**: ${groups} groups in ${report.regions.length} region(s) hold the ` +
        `published ranges; checked only, nothing was changed.`
      )
    case 'out-of-sync':
      return (
        `❌ **Check failed** (${report.check?.findings.map(f => f.condition).join(', ')}): ` +
        'checked only, nothing was changed.'
      )
    case 'failed':
      return report.applied
        ? `❌ **Failed** after applying +${report.applied.rulesAdded} / −${report.applied.rulesRemoved} rules.`
        : '❌ **Failed**: nothing was changed.'
  }
}

/** check mode: each failed condition with since when, then the staleness against its limit. */
function checkSection(check: CheckResult): string[] {
  const lines = ['### Check', '']
  for (const finding of check.findings) {
    lines.push('> [!CAUTION]', `> **${finding.condition}**: ${text(finding.message)}`, '')
  }
  const staleness =
    check.stalenessSeconds === undefined
      ? 'unknown (the out-of-sync groups record no syncToken)'
      : `${formatDuration(check.stalenessSeconds)} (${check.stalenessSeconds} s)`
  lines.push(
    '| Check | Value |',
    '| --- | --- |',
    `| Published document | ${text(describeToken(check.documentSyncToken))} |`,
    `| Staleness | ${staleness}; max-staleness ${formatDuration(check.maxStalenessSeconds)} |`,
    `| Pools | ${countBy(check, 'in-sync')} in sync, ${countBy(check, 'out-of-sync')} out of ` +
      `sync, ${countBy(check, 'held-back')} held back |`
  )
  return lines
}

function countBy(check: CheckResult, state: CheckResult['pools'][number]['state']): number {
  return check.pools.filter(pool => pool.state === state).length
}

/** One line a reader can take in at a glance; the fingerprint fields collapsed below it. */
function sourceSection(report: RunReport): string[] {
  const source = report.source as RangeSource
  return [
    `**Source:** ${text(report.service)} (${report.families.join(', ')}) from ${text(source.url)}, ` +
      `syncToken ${text(source.syncToken)} (${text(source.createDate)}).`,
    '',
    '<details>',
    '<summary>Source details</summary>',
    '',
    '| Source | Value |',
    '| --- | --- |',
    `| URL | ${text(source.url)} |`,
    `| syncToken | ${text(source.syncToken)} |`,
    `| createDate | ${text(source.createDate)} |`,
    `| MD5 | ${text(source.md5)} |`,
    `| Service | ${text(report.service)} (${report.families.join(', ')}) |`,
    `| Regions | ${text(report.regions.join(', '))} |`,
    `| Accounts | ${text(report.accounts.join(', '))} |`,
    '',
    '</details>'
  ]
}

function groupChanges(group: GroupChange, families: IpFamily[]): boolean {
  return families.some(f => group.add[f].length + group.remove[f].length > 0)
}

function poolChanges(pool: Pool, families: IpFamily[]): boolean {
  return pool.groups.some(group => groupChanges(group, families))
}

/**
 * The families worth a row for this group: those its scope has ranges for, or it holds rules of.
 * (A regional group under a service with no regional IPv6 range gets no empty IPv6 row.)
 */
function familiesOf(pool: Pool, group: GroupChange, families: IpFamily[]): IpFamily[] {
  const shown = families.filter(
    f =>
      (pool.desired[f]?.length ?? 0) > 0 ||
      group.before[f] > 0 ||
      group.after[f] > 0 ||
      group.add[f].length + group.remove[f].length > 0
  )
  return shown.length > 0 ? shown : families.slice(0, 1)
}

function poolTitle(pool: Pool): string {
  return (
    `${text(pool.account)} · ${text(pool.region)} · ${text(pool.vpcId)} · ${text(pool.scope)} · ` +
    `tcp/${pool.port}`
  )
}

/** One line per unchanged pool. */
function steadyLines(pools: Pool[], report: RunReport): string[] {
  return pools.map(pool => {
    const rules = report.families
      .filter(f => pool.groups.some(g => familiesOf(pool, g, report.families).includes(f)))
      .map(f => `${pool.groups.reduce((n, g) => n + g.after[f], 0)} ${f}`)
      .join(', ')
    return `- ${poolTitle(pool)}: ${pool.groups.length} group(s), ${rules} rule(s), no change`
  })
}

/** Unchanged pools: their lines, then every group in one collapsed table. */
function steadySection(pools: Pool[], report: RunReport): string[] {
  const rows = pools.flatMap(pool =>
    pool.groups.flatMap(group =>
      familiesOf(pool, group, report.families).map(
        f =>
          `| ${text(group.groupId)} ${text(group.groupName)} | ${text(pool.region)} | ${f} | ` +
          `${group.after[f]} | ${group.capacityLeft[f]} |`
      )
    )
  )
  return [
    ...steadyLines(pools, report),
    '',
    '<details>',
    `<summary>Groups with no change (${pools.reduce((n, p) => n + p.groups.length, 0)})</summary>`,
    '',
    '| Group | Region | Family | Rules | Capacity left |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '</details>'
  ]
}

/** What became of a group's planned change in this run, for its table row. */
function resultOf(group: GroupChange, report: RunReport): string {
  if (!groupChanges(group, report.families)) return 'no change'
  switch (report.status) {
    case 'dry-run':
      return '🧪 not applied (dry run)'
    case 'refused':
      return '⛔ not applied (refused)'
    case 'in-sync':
    case 'out-of-sync':
      return 'not applied (check only)'
    default:
      break
  }
  const outcome = report.applied?.outcomes.find(
    o => o.groupId === group.groupId && o.region === group.region
  )
  if (!report.applied) return 'not applied'
  if (outcome?.error) return `❌ failed: ${text(clipCell(outcome.error))}`
  return outcome ? '✅ done' : 'not applied'
}

function clipCell(value: string): string {
  const line = oneLine(value)
  return line.length > 120 ? `${line.slice(0, 120)}…` : line
}

function poolSection(pool: Pool, report: RunReport, listing: { left: number }): string[] {
  const families = report.families
  // Only a run that changed rules shows "after"; others show what it would need.
  const planned = report.status !== 'applied' && !(report.status === 'failed' && report.applied)
  const rulesHeader =
    report.status === 'refused'
      ? 'Rules now → would need'
      : planned
        ? 'Rules now → planned'
        : 'Rules before → after'
  const lines = [
    `### ${poolTitle(pool)}`,
    '',
    `| Group | Family | ${rulesHeader} | Added | Removed | Capacity left | Result |`,
    '| --- | --- | --- | --- | --- | --- | --- |'
  ]
  for (const group of pool.groups) {
    const result = resultOf(group, report)
    for (const family of familiesOf(pool, group, families)) {
      lines.push(
        `| ${text(group.groupId)} ${text(group.groupName)} | ${family} | ` +
          `${group.before[family]} → ${group.after[family]} | +${group.add[family].length} | ` +
          `−${group.remove[family].length} | ${group.capacityLeft[family]} | ${result} |`
      )
    }
  }
  const listed = (pick: (g: GroupChange, f: IpFamily) => string[]): string[] =>
    pool.groups.flatMap(g =>
      families.flatMap(f => pick(g, f).map(c => oneLine(`${c} (${g.groupId})`)))
    )
  const verb = planned ? ' to add' : ' added'
  const added = listed((g, f) => g.add[f])
  const removed = listed((g, f) => g.remove[f].map(rule => rule.cidr))
  if (added.length > 0) lines.push('', ...details(`CIDRs${verb}`, added, listing))
  if (removed.length > 0)
    lines.push('', ...details(planned ? 'CIDRs to remove' : 'CIDRs removed', removed, listing))
  return lines
}

function details(title: string, items: string[], listing: { left: number }): string[] {
  const shown = items.slice(0, Math.max(0, listing.left))
  listing.left -= shown.length
  const heading = `${title} (${items.length})`
  if (shown.length === 0) return [`${heading}: not listed here; ${PLAN_FILE_HINT}.`]
  const more = items.length - shown.length
  return [
    '<details>',
    `<summary>${heading}</summary>`,
    '',
    ...codeBlock(
      [...shown, ...(more > 0 ? [`… and ${more} more (${PLAN_FILE_HINT})`] : [])].join('\n')
    ),
    '</details>'
  ]
}

function skippedTable(skipped: SkippedGroup[]): string[] {
  const shown = skipped.slice(0, MAX_SKIPPED_ROWS)
  return [
    '### Groups left alone',
    '',
    '| Region | Group | Reason |',
    '| --- | --- | --- |',
    ...shown.map(
      s => `| ${text(s.region)} | ${text(s.groupId)} ${text(s.groupName)} | ${text(s.reason)} |`
    ),
    ...(skipped.length > shown.length
      ? ['', `… and ${skipped.length - shown.length} more; ${PLAN_FILE_HINT}.`]
      : [])
  ]
}

function byteLength(lines: string[]): number {
  return lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0)
}

/** Last resort (an enormous error or problem list): cut at a line within the budget, and say so. */
function clamp(markdown: string, budgetBytes: number): string {
  if (Buffer.byteLength(markdown) <= budgetBytes) return markdown
  const note = `\n\n… summary cut at ${Math.floor(budgetBytes / 1024)} KiB; ${PLAN_FILE_HINT}.\n`
  const room = budgetBytes - Buffer.byteLength(note)
  const cut = Buffer.from(markdown).subarray(0, Math.max(0, room)).toString('utf8')
  // A multi-byte character split by the cut decodes to U+FFFD; drop the partial last line.
  return `${cut.slice(0, Math.max(0, cut.lastIndexOf('\n')))}${note}`
}
