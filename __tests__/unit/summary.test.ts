// The job summary: every pool and CIDR while small, and never over GitHub's 1 MiB per step however
// large the organisation (GitHub drops an oversized summary whole).
import type { SkippedGroup } from '../../src/inventory.js'
import type { GroupChange, Pool } from '../../src/plan.js'
import type { RunReport } from '../../src/report/summary.js'
import { SUMMARY_BUDGET_BYTES, renderSummary } from '../../src/report/summary.js'

const MIB = 1024 * 1024

function cidrs(count: number, seed: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.${seed % 256}.${i % 256}.0/24`)
}

function group(region: string, index: number, add: string[]): GroupChange {
  return {
    account: '123456789012',
    region,
    groupId: `sg-${String(index).padStart(17, '0')}`,
    groupName: `edge | ${index}`,
    vpcId: 'vpc-1',
    scope: 'global',
    port: 443,
    add: { ipv4: add, ipv6: [] },
    remove: { ipv4: [], ipv6: [] },
    before: { ipv4: 0, ipv6: 0 },
    after: { ipv4: add.length, ipv6: 0 },
    capacityLeft: { ipv4: 60 - add.length, ipv6: 60 },
    revokeFirst: false
  }
}

/** `pools` pools of `groupsPerPool` groups, each group adding `perGroup` CIDRs. */
function report(pools: number, groupsPerPool: number, perGroup: number): RunReport {
  const list: Pool[] = Array.from({ length: pools }, (_, p) => {
    const region = `region-${p}`
    const groups = Array.from({ length: groupsPerPool }, (_, g) =>
      group(region, p * groupsPerPool + g, cidrs(perGroup, p * groupsPerPool + g))
    )
    return {
      id: `123456789012/${region}/vpc-1/global/tcp:443`,
      account: '123456789012',
      region,
      vpcId: 'vpc-1',
      scope: 'global',
      port: 443,
      desired: { ipv4: [], ipv6: [] },
      groups
    }
  })
  const added = pools * groupsPerPool * perGroup
  return {
    status: 'applied',
    service: 'CLOUDFRONT',
    families: ['ipv4', 'ipv6'],
    regions: list.map(pool => pool.region),
    accounts: ['123456789012'],
    plan: {
      pools: list,
      problems: [],
      heldBack: [],
      totals: {
        rulesAdded: added,
        rulesRemoved: 0,
        groupsChanged: pools * groupsPerPool,
        managedBefore: 0,
        removalsUncovered: 0
      }
    },
    applied: { outcomes: [], rulesAdded: added, rulesRemoved: 0, failures: [] },
    skipped: [],
    emptyRegions: [],
    notices: []
  }
}

const bytes = (text: string): number => Buffer.byteLength(text)

it('lists every pool and every CIDR of a small change', () => {
  const text = renderSummary(report(2, 2, 3))
  expect(text).toContain('✅ **Applied**: +12 / −0 rules in 4 of 4 groups.')
  expect(text.match(/^### /gm)).toHaveLength(2)
  expect(text).toContain('10.3.2.0/24 (sg-00000000000000003)')
  expect(text).toContain('| sg-00000000000000000 edge \\| 0 | ipv4 | 0 → 3 | +3 | −0 | 57 |')
  expect(text).not.toContain('plan file')
})

it('keeps an organisation-wide first sync (640 groups, 31k CIDRs) under 1 MiB, every pool shown', () => {
  const text = renderSummary(report(128, 5, 48))
  expect(bytes(text)).toBeLessThanOrEqual(SUMMARY_BUDGET_BYTES)
  expect(text.match(/^### /gm)).toHaveLength(128)
  // The CIDR lists stop at the budget and point at the plan file.
  expect(text.match(/^10\.\d+\.\d+\.0\/24 \(sg-/gm)?.length).toBeLessThanOrEqual(1000)
  expect(text).toContain('CIDRs added (240): not listed here; the plan file (`plan-file` output)')
})

it('leaves out whole pools past the budget and says how many', () => {
  const text = renderSummary(report(3000, 5, 1))
  expect(bytes(text)).toBeLessThanOrEqual(SUMMARY_BUDGET_BYTES)
  const shown = text.match(/^### /gm)?.length ?? 0
  expect(shown).toBeGreaterThan(100)
  expect(shown).toBeLessThan(3000)
  expect(text).toContain(`> ${3000 - shown} more pool(s) are not shown: a job summary is limited`)
  expect(text.trimEnd().endsWith('has the full plan.')).toBe(true)
})

it('caps the table of groups left alone', () => {
  const skipped: SkippedGroup[] = Array.from({ length: 250 }, (_, i) => ({
    account: '123456789012',
    region: 'eu-west-1',
    groupId: `sg-${i}`,
    groupName: `g${i}`,
    reason: 'Protocol tag missing'
  }))
  const text = renderSummary({ ...report(1, 1, 1), skipped })
  expect(text.match(/\| Protocol tag missing \|/g)).toHaveLength(200)
  expect(text).toContain('… and 50 more; the plan file')
})

it('cuts an enormous error at a line boundary within the budget', () => {
  const error = Array.from({ length: 40_000 }, (_, i) => `line ${i} — détail`).join('\n')
  const text = renderSummary({ ...report(1, 1, 1), status: 'failed', error }, MIB / 4)
  expect(bytes(text)).toBeLessThanOrEqual(MIB / 4)
  expect(text).toContain('… summary cut at 256 KiB')
  expect(text).not.toContain('\uFFFD')
  expect(text).toMatch(/line \d+ — détail\n\n… summary cut/)
})
