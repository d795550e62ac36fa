// The step outputs and the plan file (the full plan as JSON, for later steps and audits).
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunReport } from './summary.js'

export interface Outputs {
  changed: string
  'rules-added': string
  'rules-removed': string
  'groups-changed': string
  /** grow-pools: groups created (in a dry run, that would be). */
  'groups-created': string
  'sync-token': string
  'plan-file': string
  'issue-number': string
  /** Per account: {"123456789012": {"rules-added": n, "rules-removed": n, "groups-changed": n}}. */
  accounts: string
  /** check mode only ('' in sync mode): 'true' when the check passed. */
  'in-sync': string
  /** check mode only: how far the groups lag the published document; '' when unknown. */
  'staleness-seconds': string
  /** Partial-pool and wider-exposure findings of the exposure audit. */
  'exposure-findings': string
  /** The audit's findings as JSON (see ExposureReport). */
  exposure: string
}

/** In a dry run the counts are what the run would change; otherwise what it did change. */
export function outputsOf(report: RunReport, planFile: string, issueNumber = ''): Outputs {
  const perAccount = countsByAccount(report)
  const total = (field: keyof Counts) =>
    Object.values(perAccount).reduce((sum, counts) => sum + counts[field], 0)
  const added = total('rules-added')
  const removed = total('rules-removed')
  return {
    changed: String(added + removed > 0),
    'rules-added': String(added),
    'rules-removed': String(removed),
    'groups-changed': String(total('groups-changed')),
    'groups-created': String(
      report.status === 'dry-run'
        ? (report.growth?.wouldCreate.length ?? 0)
        : (report.growth?.created.length ?? 0)
    ),
    'sync-token': report.source?.syncToken ?? '',
    'plan-file': planFile,
    'issue-number': issueNumber,
    accounts: JSON.stringify(perAccount),
    'in-sync': report.check ? String(report.check.inSync) : '',
    'staleness-seconds': String(report.check?.stalenessSeconds ?? ''),
    'exposure-findings': String(report.exposure?.exposureCount ?? 0),
    exposure: JSON.stringify(exposureOutput(report))
  }
}

// A step output is read whole into the runner's memory; the plan file keeps every finding.
const MAX_OUTPUT_FINDINGS = 500

function exposureOutput(report: RunReport): object {
  const exposure = report.exposure
  if (!exposure) return { audited: [], findings: [], warnings: [], truncated: false }
  return {
    'exposure-findings': exposure.exposureCount,
    audited: exposure.audited,
    findings: exposure.findings.slice(0, MAX_OUTPUT_FINDINGS),
    warnings: exposure.warnings,
    truncated: exposure.findings.length > MAX_OUTPUT_FINDINGS
  }
}

interface Counts {
  'rules-added': number
  'rules-removed': number
  'groups-changed': number
}

/** In a dry run the counts are what the run would change; otherwise what it did change. */
function countsByAccount(report: RunReport): Record<string, Counts> {
  const counts: Record<string, Counts> = {}
  const entry = (account: string): Counts =>
    (counts[account] ??= { 'rules-added': 0, 'rules-removed': 0, 'groups-changed': 0 })
  for (const account of report.accounts) entry(account)
  // A dry run and a check count what a sync would change.
  if (report.status === 'dry-run' || report.check) {
    for (const pool of report.plan?.pools ?? []) {
      for (const group of pool.groups) {
        const add = group.add.ipv4.length + group.add.ipv6.length
        const remove = group.remove.ipv4.length + group.remove.ipv6.length
        const counted = entry(group.account)
        counted['rules-added'] += add
        counted['rules-removed'] += remove
        if (add + remove > 0) counted['groups-changed'] += 1
      }
    }
  }
  for (const outcome of report.applied?.outcomes ?? []) {
    const counted = entry(outcome.account)
    counted['rules-added'] += outcome.added
    counted['rules-removed'] += outcome.removed
    if (outcome.added + outcome.removed > 0) counted['groups-changed'] += 1
  }
  return counts
}

/** Writes the plan under RUNNER_TEMP (one file per step) and returns its path. */
export function writePlanFile(report: RunReport, env: NodeJS.ProcessEnv): string {
  const directory = env.RUNNER_TEMP || tmpdir()
  const step = (env.GITHUB_ACTION || 'local').replace(/[^A-Za-z0-9_.-]/g, '_')
  mkdirSync(directory, { recursive: true })
  const path = join(directory, `cloudfront-sg-sync-plan-${step}.json`)
  const document = {
    version: 1,
    status: report.status,
    service: report.service,
    families: report.families,
    regions: report.regions,
    accounts: report.accounts,
    source: report.source ?? null,
    totals: report.plan?.totals ?? null,
    problems: report.plan?.problems ?? [],
    pools: report.plan?.pools ?? [],
    skipped: report.skipped,
    heldBack: report.plan?.heldBack ?? [],
    warnings: report.warnings ?? [],
    applied: report.applied ?? null,
    check: report.check ?? null,
    exposure: report.exposure ?? null,
    growth: report.growth ?? null,
    error: report.error ?? null
  }
  writeFileSync(path, `${JSON.stringify(document)}\n`)
  return path
}
