// The exposure audit as Markdown, for the job summary and the tracking issue. Pure. Findings carry
// untrusted text (load balancer names, interface descriptions, prefix list names): every one goes
// through the caller's cell escaper.
import type { ExposureFinding, FindingKind } from './exposure.js'
import type { ExposureReport } from './run.js'

export type CellEscaper = (text: string) => string

const LABEL: Record<FindingKind, string> = {
  'wider-exposure': '🔴 wider exposure',
  'partial-pool': '🔴 partial pool',
  'no-room': '🟠 no room to grow',
  'unattached-pool': 'ℹ️ unattached pool',
  'cloudfront-prefix-list': 'ℹ️ CloudFront prefix list',
  'private-source': 'ℹ️ private source'
}

export function exposureHeadline(report: ExposureReport): string {
  const count = (kind: FindingKind) => report.findings.filter(f => f.kind === kind).length
  const info = report.findings.length - report.exposureCount
  // A clean verdict only when every read succeeded: an incomplete audit proves nothing.
  const verdict =
    report.exposureCount > 0
      ? `⚠️ ${report.exposureCount} finding(s) let more than CloudFront reach an origin or refuse ` +
        `part of it (${count('wider-exposure')} wider exposure, ${count('partial-pool')} partial pool)`
      : report.warnings.length > 0
        ? '⚠️ no exposure found where the audit could read, but it could not read everything ' +
          '(warnings below)'
        : '✅ no origin answers more than CloudFront, and every attached pool is whole'
  const audited = report.audited.length
  return `${verdict}; ${info} other note(s); ${audited} place(s) audited.`
}

/** The section: headline, then one row per finding, worst first, at most `maxRows`. */
export function exposureSection(
  report: ExposureReport,
  escape: CellEscaper,
  options: { heading: string; maxRows: number; more: string }
): string[] {
  const lines = [options.heading, '', exposureHeadline(report), '']
  for (const warning of report.warnings) lines.push(`> [!WARNING]`, `> ${escape(warning)}`, '')
  if (report.findings.length === 0) return lines
  const shown = report.findings.slice(0, Math.max(0, options.maxRows))
  lines.push('| Finding | Where | Port | Detail |', '| --- | --- | --- | --- |')
  for (const finding of shown) lines.push(row(finding, escape))
  if (shown.length < report.findings.length) {
    lines.push('', `… and ${report.findings.length - shown.length} more; ${options.more}.`)
  }
  lines.push('')
  return lines
}

function row(finding: ExposureFinding, escape: CellEscaper): string {
  const where = finding.interfaceId
    ? `${finding.account} ${finding.region} ${finding.interfaceId}`
    : `${finding.account} ${finding.region}`
  return (
    `| ${LABEL[finding.kind]} | ${escape(where)} | tcp/${finding.port} | ` +
    `${escape(finding.message)} |`
  )
}
