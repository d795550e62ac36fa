// The job summary as Markdown: a status line, where the ranges came from, one table per pool and the
// CIDRs in collapsed lists. Pure: main.ts writes it.
import type { ApplyResult } from '../apply.js'
import type { SkippedGroup } from '../inventory.js'
import type { GroupChange, Plan, Pool } from '../plan.js'
import type { IpFamily, RangeSource } from '../types.js'

export type RunStatus = 'applied' | 'dry-run' | 'no-change' | 'skipped' | 'refused' | 'failed'

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
  skipped: SkippedGroup[]
  /** Regions (prefixed with the account when several) where no tagged group was found. */
  emptyRegions: string[]
  notices: string[]
  warnings?: string[]
  error?: string
}

const TITLE = '## CloudFront security group sync'
// Job summaries are capped at 1 MiB per step; keep well below it whatever the plan's size.
const MAX_LISTED_CIDRS = 400

export function renderSummary(report: RunReport): string {
  const lines = [TITLE, '', statusLine(report), '']
  if (report.error) lines.push('```text', report.error, '```', '')
  for (const problem of report.plan?.problems ?? [])
    lines.push(`> [!CAUTION]`, `> ${problem.message}`, '')
  for (const notice of report.notices) lines.push(`> [!NOTE]`, `> ${notice}`, '')
  for (const warning of report.warnings ?? []) lines.push(`> [!WARNING]`, `> ${warning}`, '')
  if (report.source) lines.push(...sourceTable(report), '')
  for (const held of report.plan?.heldBack ?? []) {
    lines.push(
      '> [!NOTE]',
      `> ${held.id} left as it is: ${held.groupId} already holds newer ranges (syncToken ` +
        `${held.recordedSyncToken}).`,
      ''
    )
  }
  for (const pool of report.plan?.pools ?? []) lines.push(...poolSection(pool, report), '')
  if (report.skipped.length > 0) lines.push(...skippedTable(report.skipped), '')
  return lines.join('\n')
}

export function statusLine(report: RunReport): string {
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
    case 'skipped':
      return `⏭️ **Skipped**: ${report.notices[0] ?? 'nothing to do for this event'}`
    case 'refused':
      return '⛔ **Refused**: the plan is unsafe to apply; nothing was changed.'
    case 'failed':
      return report.applied
        ? `❌ **Failed** after applying +${report.applied.rulesAdded} / −${report.applied.rulesRemoved} rules.`
        : '❌ **Failed**: nothing was changed.'
  }
}

function sourceTable(report: RunReport): string[] {
  const source = report.source as RangeSource
  return [
    '| Source | |',
    '| --- | --- |',
    `| URL | ${source.url} |`,
    `| syncToken | ${source.syncToken} |`,
    `| createDate | ${source.createDate} |`,
    `| MD5 | \`${source.md5}\` |`,
    `| Service | ${report.service} (${report.families.join(', ')}) |`,
    `| Regions | ${report.regions.join(', ')} |`,
    `| Accounts | ${report.accounts.join(', ')} |`
  ]
}

function poolSection(pool: Pool, report: RunReport): string[] {
  const families = report.families
  const lines = [
    `### ${pool.account} · ${pool.region} · ${pool.vpcId} · ${pool.scope} · tcp/${pool.port}`,
    '',
    '| Group | Family | Rules before → after | Added | Removed | Capacity left |',
    '| --- | --- | --- | --- | --- | --- |'
  ]
  for (const group of pool.groups) {
    for (const family of families) {
      lines.push(
        `| ${group.groupId} ${escapeCell(group.groupName)} | ${family} | ` +
          `${group.before[family]} → ${group.after[family]} | +${group.add[family].length} | ` +
          `−${group.remove[family].length} | ${group.capacityLeft[family]} |`
      )
    }
  }
  const listed = (pick: (g: GroupChange, f: IpFamily) => string[]): string[] =>
    pool.groups.flatMap(g => families.flatMap(f => pick(g, f).map(c => `${c} (${g.groupId})`)))
  const added = listed((g, f) => g.add[f])
  const removed = listed((g, f) => g.remove[f].map(rule => rule.cidr))
  if (added.length > 0) lines.push('', ...details(`CIDRs added (${added.length})`, added))
  if (removed.length > 0) lines.push('', ...details(`CIDRs removed (${removed.length})`, removed))
  return lines
}

function details(summary: string, items: string[]): string[] {
  const shown = items.slice(0, MAX_LISTED_CIDRS)
  const more = items.length - shown.length
  return [
    '<details>',
    `<summary>${summary}</summary>`,
    '',
    '```text',
    ...shown,
    ...(more > 0 ? [`… and ${more} more (see the plan file)`] : []),
    '```',
    '</details>'
  ]
}

function skippedTable(skipped: SkippedGroup[]): string[] {
  return [
    '### Groups left alone',
    '',
    '| Region | Group | Reason |',
    '| --- | --- | --- |',
    ...skipped.map(
      s => `| ${s.region} | ${s.groupId} ${escapeCell(s.groupName)} | ${escapeCell(s.reason)} |`
    )
  ]
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}
