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
  'sync-token': string
  'plan-file': string
}

/** In a dry run the counts are what the run would change; otherwise what it did change. */
export function outputsOf(report: RunReport, planFile: string): Outputs {
  const totals = report.plan?.totals
  const planned = report.status === 'dry-run'
  const added = planned ? (totals?.rulesAdded ?? 0) : (report.applied?.rulesAdded ?? 0)
  const removed = planned ? (totals?.rulesRemoved ?? 0) : (report.applied?.rulesRemoved ?? 0)
  const groups = report.applied
    ? new Set(report.applied.outcomes.filter(o => o.added + o.removed > 0).map(o => o.groupId)).size
    : planned
      ? (totals?.groupsChanged ?? 0)
      : 0
  return {
    changed: String(added + removed > 0),
    'rules-added': String(added),
    'rules-removed': String(removed),
    'groups-changed': String(groups),
    'sync-token': report.source?.syncToken ?? '',
    'plan-file': planFile
  }
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
    source: report.source ?? null,
    totals: report.plan?.totals ?? null,
    problems: report.plan?.problems ?? [],
    pools: report.plan?.pools ?? [],
    skipped: report.skipped,
    applied: report.applied ?? null,
    error: report.error ?? null
  }
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`)
  return path
}
