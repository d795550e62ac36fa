// The exposure audit in the job summary, the tracking issue comment and the outputs: its own
// section worst first, untrusted text escaped, counts and JSON in the outputs.
import type { ExposureFinding } from '../../src/audit/exposure.js'
import type { ExposureReport } from '../../src/audit/run.js'
import { renderIssueComment } from '../../src/report/issue-body.js'
import { outputsOf } from '../../src/report/outputs.js'
import type { RunReport } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary.js'

const finding = (kind: ExposureFinding['kind'], message: string): ExposureFinding => ({
  kind,
  severity: kind === 'wider-exposure' || kind === 'partial-pool' ? 'high' : 'info',
  account: '111122223333',
  region: 'us-east-1',
  pool: '111122223333/us-east-1/vpc-1/global/tcp:443',
  port: 443,
  interfaceId: 'eni-0abc',
  message
})

const exposure: ExposureReport = {
  findings: [
    // A user-set interface description is untrusted: a pipe would break the table, a mention
    // would notify someone from the tracking issue.
    finding('wider-exposure', 'eni-0abc (interface, "team | @octocat\nnew row") answers more'),
    finding('partial-pool', 'eni-0def carries only part of the pool'),
    finding('unattached-pool', 'Pool x is attached to no network interface')
  ],
  exposureCount: 2,
  audited: ['111122223333 us-east-1'],
  warnings: ['Exposure audit skipped in 111122223333 eu-west-1: denied']
}

const report = (extra: Partial<RunReport> = {}): RunReport => ({
  status: 'no-change',
  service: 'CLOUDFRONT_ORIGIN_FACING',
  families: ['ipv4'],
  regions: ['us-east-1'],
  accounts: ['111122223333'],
  skipped: [],
  emptyRegions: [],
  notices: [],
  exposure,
  ...extra
})

test('the summary has its own section, worst first, with every untrusted cell escaped', () => {
  const markdown = renderSummary(report())
  expect(markdown).toContain('### Exposure audit')
  expect(markdown).toContain('2 finding(s) let more than CloudFront reach an origin')
  const rows = markdown
    .split('\n')
    .filter(line => line.startsWith('| 🔴') || line.startsWith('| ℹ️'))
  expect(rows.map(row => row.split(' | ')[0])).toEqual([
    '| 🔴 wider exposure',
    '| 🔴 partial pool',
    '| ℹ️ unattached pool'
  ])
  expect(rows[0]).toContain('team \\| \\@\u200doctocat new row')
  expect(markdown).toContain('> Exposure audit skipped in 111122223333 eu-west-1: denied')
})

test('no section when the audit did not run', () => {
  expect(renderSummary(report({ exposure: undefined }))).not.toContain('Exposure audit')
})

test('the tracking issue comment carries the section, mentions neutralised', () => {
  const comment = renderIssueComment(
    {
      status: 'applied',
      families: ['ipv4'],
      applied: { rulesAdded: 1, rulesRemoved: 0, outcomes: [] },
      exposure
    },
    { runUrl: 'https://github.com/o/r/actions/runs/1' }
  )
  expect(comment).toContain('#### Exposure audit')
  expect(comment).toContain('@\u200doctocat')
  expect(comment).not.toMatch(/@octocat/)
})

test('outputs: the count of partial and wider findings, and the findings as JSON', () => {
  const outputs = outputsOf(report(), '')
  expect(outputs['exposure-findings']).toBe('2')
  const json = JSON.parse(outputs.exposure) as { findings: ExposureFinding[]; truncated: boolean }
  expect(json.findings.map(f => f.kind)).toEqual([
    'wider-exposure',
    'partial-pool',
    'unattached-pool'
  ])
  expect(json.truncated).toBe(false)
  expect(outputsOf(report({ exposure: undefined }), '')['exposure-findings']).toBe('0')
})

test('an incomplete audit never claims a clean origin', async () => {
  const { exposureHeadline } = await import('../../src/audit/render.js')
  const clean = { findings: [], exposureCount: 0, audited: ['a r'], warnings: [] }
  expect(exposureHeadline(clean)).toContain('✅ no origin answers more than CloudFront')
  const partial = { ...clean, warnings: ['Exposure audit skipped in b r: denied'] }
  expect(exposureHeadline(partial)).toContain('could not read everything')
  expect(exposureHeadline(partial)).not.toContain('✅')
})
