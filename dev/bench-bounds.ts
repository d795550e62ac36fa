// The pathological inputs of issue 15, timed in process (no network): each must end fast, refused
// where it is hostile. Run alone with `tsx dev/bench-bounds.ts`; `npm run bench` runs it too.
//   a. a ~31 MiB document (under the 32 MiB download cap) of 270,000 /32s in the selected
//      service: parse + verify + select;
//   b. 40,000 CIDRs in the service: parse + verify + select;
//   c. the planner alone, past the select bound: 40,000 wanted CIDRs, 1,000 rules to revoke
//      (it took 129 s when containment was a scan per revoked rule);
//   d. 256 /8s merging to 0.0.0.0/0: parse + verify + select.
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import type { ManagedGroup } from '../src/inventory.js'
import { buildPlan } from '../src/plan.js'
import { parseIpRanges, RangesError } from '../src/ranges/parse.js'
import { selectRanges } from '../src/ranges/select.js'
import { verifyDownload } from '../src/ranges/verify.js'
import { generateIpRanges } from './ip-ranges-fixture.js'

const SERVICE = 'CLOUDFRONT_ORIGIN_FACING'

export interface BoundsFigure {
  scenario: string
  bytes?: number
  /** Wall time, and this process's CPU time (user + system): the fairer figure on a busy machine. */
  ms: number
  cpuMs: number
  outcome: string
}

/** The generated document plus `prefixes` in the selected service; compact JSON (under 32 MiB). */
function documentWith(prefixes: string[]): Buffer {
  const doc = generateIpRanges({ seed: 6, syncToken: '1785000000' })
  for (const ip_prefix of prefixes) {
    doc.prefixes.push({
      ip_prefix,
      region: 'GLOBAL',
      service: SERVICE,
      network_border_group: 'GLOBAL'
    })
  }
  return Buffer.from(JSON.stringify(doc))
}

/** A distinct IPv4 address per index, from 11.0.0.0 on. */
const address = (i: number): string =>
  `${11 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`

/** The ranges step on a downloaded body, as loadRangeSet runs it; the refusal's code or "ok". */
function rangesStep(body: Buffer): string {
  try {
    const doc = parseIpRanges(body)
    verifyDownload(body, doc, {})
    const selection = selectRanges(doc, {
      service: SERVICE,
      families: ['ipv4'],
      mergeAdjacent: true
    })
    return `ok (${selection.cidrs.global.ipv4.length} global CIDRs)`
  } catch (error) {
    if (error instanceof RangesError) return `refused: ${error.code}`
    throw error
  }
}

function timed(scenario: string, run: () => string, bytes?: number): BoundsFigure {
  const started = performance.now()
  const cpu = process.cpuUsage()
  const outcome = run()
  const used = process.cpuUsage(cpu)
  const ms = Math.round((performance.now() - started) * 10) / 10
  const cpuMs = Math.round((used.user + used.system) / 100) / 10
  return { scenario, ...(bytes === undefined ? {} : { bytes }), ms, cpuMs, outcome }
}

function plannerPastTheBound(): string {
  // Every other /24, so nothing merges: 40,000 separate blocks to search.
  const wanted = Array.from({ length: 40_000 }, (_, i) => {
    const n = i * 2
    return `${100 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}.0/24`
  })
  const groups: ManagedGroup[] = Array.from({ length: 10 }, (_, g) => ({
    account: '111111111111',
    region: 'us-east-1',
    groupId: `sg-${g}`,
    groupName: `g${g}`,
    vpcId: 'vpc-1',
    nameTag: 'cloudfront_g',
    scope: 'global',
    protocol: 'https',
    port: 443,
    managed: {
      ipv4: Array.from({ length: 100 }, (_, i) => {
        const cidr = `10.${g}.${i}.0/24`
        return { cidr, raw: cidr }
      }),
      ipv6: []
    },
    ruleLimit: 1000,
    foreignWeight: { ipv4: 0, ipv6: 0 },
    foreignOnPort: { ipv4: [], ipv6: [] }
  }))
  const plan = buildPlan(
    { global: { ipv4: wanted, ipv6: [] }, regional: { ipv4: [], ipv6: [] } },
    groups,
    { families: ['ipv4'], maxRemovalsPercent: 25 }
  )
  return (
    `planned -${plan.totals.rulesRemoved} +${plan.totals.rulesAdded}; refused: ` +
    plan.problems.map(problem => problem.kind).join(', ')
  )
}

export function runBoundsBench(log: (line: string) => void = console.log): BoundsFigure[] {
  const huge = documentWith(Array.from({ length: 270_000 }, (_, i) => `${address(i)}/32`))
  const forty = documentWith(Array.from({ length: 40_000 }, (_, i) => `${address(i * 256)}/24`))
  const slash8s = documentWith(Array.from({ length: 256 }, (_, i) => `${i}.0.0.0/8`))
  const figures = [
    // The floor: reading the document at all (the download cap keeps it under 32 MiB).
    timed('a0. 270,000 /32s: JSON.parse alone', () => {
      JSON.parse(huge.toString('utf8'))
      return 'parsed'
    }),
    timed('a. 270,000 /32s: parse + verify + select', () => rangesStep(huge), huge.length),
    timed('b. 40,000 /24s: parse + verify + select', () => rangesStep(forty), forty.length),
    timed('c. plan alone: 40,000 wanted, 1,000 revokes', plannerPastTheBound),
    timed('d. 256 /8s: parse + verify + select', () => rangesStep(slash8s), slash8s.length)
  ]
  for (const f of figures) {
    const size = f.bytes === undefined ? '' : ` (${(f.bytes / 2 ** 20).toFixed(1)} MiB)`
    log(`${f.scenario}${size}: ${f.ms} ms wall, ${f.cpuMs} ms CPU, ${f.outcome}`)
  }
  return figures
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runBoundsBench()
