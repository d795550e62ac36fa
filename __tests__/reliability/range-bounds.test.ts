// Issue 15, through the real stack: the bundled action (dist/index.js on Node 24) downloads a
// hostile or unusual document from the loopback ranges server and meets groups in the EC2
// emulator. A set that merges to 0.0.0.0/0, that is too large, that has too many prefixes or that
// grows far beyond what the groups hold is refused with ZERO mutating calls; a family AWS does not
// publish is nothing to do unless groups hold rules of it. Each case runs in its own account.
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import type { Ec2Call } from '../../dev/emulators/ec2.js'
import { generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { RangesServer } from '../../dev/ranges-server.js'
import type { ActionRun } from '../../dev/run-action.js'
import { runAction } from '../../dev/run-action.js'
import type { IpRangesDocument } from '../../src/ranges/parse.js'
import { mapLimit, published } from './harness.js'

const SERVICE = 'CLOUDFRONT_ORIGIN_FACING'
const good = generateIpRanges({ seed: 11, syncToken: '1785000000', otherServicesScale: 0.02 })
const originFacing = (prefix: string, region = 'GLOBAL') => ({
  ip_prefix: prefix,
  region,
  service: SERVICE,
  network_border_group: region
})
const v4 = (cidrs: string[]) => cidrs.filter(c => !c.includes(':'))
const v6 = (cidrs: string[]) => cidrs.filter(c => c.includes(':'))

/** The good document with its GLOBAL origin-facing IPv4 set replaced, or otherwise edited. */
function edited(edit: (doc: IpRangesDocument) => void): string {
  const doc = structuredClone(good)
  edit(doc)
  return serializeIpRanges(doc)
}
const replaceGlobalV4 = (prefixes: string[]) =>
  edited(doc => {
    doc.prefixes = doc.prefixes.filter(p => p.service !== SERVICE || p.region !== 'GLOBAL')
    doc.prefixes.push(...prefixes.map(p => originFacing(p)))
  })
const noIpv6 = edited(doc => {
  doc.ipv6_prefixes = doc.ipv6_prefixes.filter(p => p.service !== SERVICE)
})

interface Seeded {
  /** GLOBAL group rules (origin-facing, as a previous run left them), or none. */
  global?: string[]
  regional?: string[]
}

interface Case {
  name: string
  body: string
  inputs?: Record<string, string>
  seed: Seeded
  exit: number
  level: 'error' | 'notice'
  /** The annotation naming the problem (or saying what was done). */
  message?: RegExp
  mutates?: boolean
  check?: (result: Result) => void
}

interface Result {
  run: ActionRun
  calls: Ec2Call[]
  ms: number
  account: string
}

const GLOBAL_V4 = v4(published(good, 'global', SERVICE))
const synced: Seeded = { global: GLOBAL_V4, regional: v4(published(good, 'regional', SERVICE)) }
const slash8s = Array.from({ length: 256 }, (_, i) => `${i}.0.0.0/8`)

const CASES: Case[] = [
  {
    name: '256 /8s merging to 0.0.0.0/0, over synced groups (was +1 / -43, exit 0)',
    body: replaceGlobalV4(slash8s),
    seed: synced,
    exit: 1,
    level: 'error',
    message:
      /the IPv4 prefixes of service CLOUDFRONT_ORIGIN_FACING merge to 0\.0\.0\.0\/0, broader than \/8/
  },
  {
    name: '256 /8s with merge-adjacent false: refused by their size',
    body: replaceGlobalV4(slash8s),
    inputs: { 'merge-adjacent': 'false' },
    seed: synced,
    exit: 1,
    level: 'error',
    message: /cover 4,294,967,296 addresses, more than one \/8 \(16,777,216/
  },
  {
    name: '128 separate /9s: refused by their size',
    body: replaceGlobalV4(Array.from({ length: 128 }, (_, i) => `${i * 2}.0.0.0/9`)),
    seed: synced,
    exit: 1,
    level: 'error',
    message: /cover 1,073,741,824 addresses, more than one \/8/
  },
  {
    name: '6,000 /32s: refused before planning, naming the count',
    body: replaceGlobalV4(Array.from({ length: 6000 }, (_, i) => `11.0.${i >> 8}.${i & 255}/32`)),
    seed: synced,
    exit: 1,
    level: 'error',
    message: /lists more than 5000 IPv4 prefixes for service CLOUDFRONT_ORIGIN_FACING/
  },
  {
    name: 'the genuine set plus a /12: refused as growth, naming max-growth-percent',
    body: replaceGlobalV4([...GLOBAL_V4, '11.0.0.0/12']),
    seed: synced,
    exit: 1,
    level: 'error',
    message:
      /global\/tcp:443 would allow [\d,]+ IPv4 addresses where its managed rules allow [\d,]+ today .* rerun with max-growth-percent: \d+ for this one run/
  },
  {
    name: 'the genuine set plus a /12 with max-growth-percent raised: applied',
    body: replaceGlobalV4([...GLOBAL_V4, '11.0.0.0/12']),
    inputs: { 'max-growth-percent': '100000' },
    seed: synced,
    exit: 0,
    level: 'notice',
    mutates: true,
    check: ({ run, account }) => {
      expect(run.outputs.changed).toBe('true')
      const [global] = aws.ec2.listGroups({ account })
      expect(global?.ingress.map(r => r.cidrIpv4)).toContain('11.0.0.0/12')
    }
  },
  {
    name: 'no origin-facing IPv6 published, none managed: IPv4 synced, a notice says so',
    body: noIpv6,
    inputs: { 'ip-families': 'ipv4,ipv6' },
    seed: {},
    exit: 0,
    level: 'notice',
    message:
      /The ranges list no IPv6 prefix for this service and no group holds a managed IPv6 rule: nothing to do for IPv6/,
    mutates: true,
    check: ({ run, account }) => {
      expect(run.summary).toMatch(/nothing to do for IPv6/)
      const groups = aws.ec2.listGroups({ account })
      const allowed = groups.flatMap(g => g.ingress.map(r => r.cidrIpv4 ?? r.cidrIpv6 ?? ''))
      expect(v6(allowed)).toEqual([])
      expect(allowed.length).toBeGreaterThan(0)
    }
  },
  {
    name: 'no origin-facing IPv6 published, but a group holds a managed IPv6 rule: refused',
    body: noIpv6,
    inputs: { 'ip-families': 'ipv4,ipv6' },
    seed: { global: [...GLOBAL_V4, '2600:9000:1000::/36'], regional: synced.regional },
    exit: 1,
    level: 'error',
    message:
      /list no IPv6 prefix for this service, but 1 group\(s\) \(sg-[0-9a-f]+\) hold 1 managed IPv6 rule\(s\), which would all be revoked/
  }
]

let aws: AwsEmulators
const ranges = new RangesServer()
const results = new Map<Case, Result>()
const keyOf = (index: number) => `AKIDBOUNDS${String(index).padStart(6, '0')}`
const accountOf = (index: number) => `32000000${String(index).padStart(4, '0')}`

function seed(account: string, seeded: Seeded): void {
  const rules = (cidrs: string[] = []) =>
    cidrs.map(cidr => ({ protocol: 'tcp', fromPort: 443, toPort: 443, cidr }))
  for (const [name, cidrs] of [
    ['cloudfront_g', seeded.global],
    ['cloudfront_r', seeded.regional]
  ] as const) {
    aws.ec2.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      account,
      name,
      tags: { Name: name, AutoUpdate: 'true', Protocol: 'https' },
      ingress: rules(cidrs)
    })
  }
}

beforeAll(async () => {
  aws = await startAwsEmulators({
    accountIds: Object.fromEntries(CASES.map((_, index) => [keyOf(index), accountOf(index)]))
  })
  // A rule quota that holds the genuine set and the /12 in one group.
  aws.ec2.rulesPerGroupLimit = 200
  CASES.forEach((c, index) => seed(accountOf(index), c.seed))
  await ranges.start()
  const settled = await mapLimit(CASES, 3, async (c, index) => {
    const path = `/bounds-${index}/ip-ranges.json`
    ranges.route(path, { kind: 'document', body: c.body })
    const started = performance.now()
    const run = await runAction({
      inputs: {
        regions: 'us-east-1',
        'ip-ranges-url': `${ranges.origin}${path}`,
        'max-rules-per-group': '200',
        ...c.inputs
      },
      env: {
        ...aws.env,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: keyOf(index),
        AWS_SECRET_ACCESS_KEY: `bounds-secret-${index}`
      }
    })
    return {
      run,
      calls: aws.ec2.calls.filter(call => call.accessKeyId === keyOf(index)),
      ms: performance.now() - started,
      account: accountOf(index)
    }
  })
  CASES.forEach((c, index) => results.set(c, settled[index] as Result))
}, 120_000)

afterAll(async () => {
  await aws.stop()
  await ranges.stop()
})

/** An annotation as the runner shows it (@actions/core escapes %, CR and LF in commands). */
const shown = (line: string) =>
  line.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')

test.each(CASES.map(c => [c.name, c] as const))('%s', (_name, c) => {
  const result = results.get(c) as Result
  const { run, calls } = result
  expect(run.signal).toBeNull()
  expect(run.stderr.slice(0, 300)).toBe('')
  const lines = run.annotations.filter(line => line.startsWith(`::${c.level}::`)).map(shown)
  if (c.message) expect(lines.join('\n')).toMatch(c.message)
  expect(run.exitCode).toBe(c.exit)
  const mutating = calls.filter(call => call.mutating)
  if (c.mutates) {
    expect(mutating.length).toBeGreaterThan(0)
  } else {
    // Refused before the first change: the groups are exactly as seeded.
    expect(mutating).toEqual([])
    expect(run.summary).toMatch(/\*\*(Failed|Refused)\*\*/)
    const groups = aws.ec2.listGroups({ account: result.account })
    expect(groups.map(g => g.ingress.length)).toEqual([
      c.seed.global?.length ?? 0,
      c.seed.regional?.length ?? 0
    ])
  }
  c.check?.(result)
})
