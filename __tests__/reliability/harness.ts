// Shared pieces of the reliability suite: accounts ("lanes") that let several runs of the bundled
// action share one set of emulators without seeing each other, a realistic topology of managed and
// bystander groups with foreign rules, the wanted ranges computed independently of src/, a run
// wrapper that can SIGKILL the action at its k-th mutating call, and a secret scanner over
// everything the runs printed or wrote.
import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import type { Ec2Emulator, GroupSnapshot, SeedRule } from '../../dev/emulators/ec2.js'
import { deriveIpRanges, generateIpRanges } from '../../dev/ip-ranges-fixture.js'
import type { ActionRun, RunActionOptions } from '../../dev/run-action.js'
import { runAction } from '../../dev/run-action.js'
import type { IpRangesDocument } from '../../src/ranges/parse.js'
import type { InvariantMonitor, PoolSpec, StateHub } from './invariants.js'
import { SYNC_TOKEN_TAG } from './invariants.js'

export const RULE_DESCRIPTION = 'cloudfront-sg-sync'
export const RULE_LIMIT = 100

// ---------------------------------------------------------------------------------------------
// Documents

const GLOBAL_ENTRY = { region: 'GLOBAL', service: 'CLOUDFRONT', network_border_group: 'GLOBAL' }

/**
 * The starting document: the synthetic CloudFront set plus two adjacent /24s that the changed
 * document replaces by their /23 (a range moving between groups: the hardest case for "no gap").
 */
export function baseDocument(): IpRangesDocument {
  const doc = generateIpRanges({ seed: 7, syncToken: '1785000000', otherServicesScale: 0.02 })
  doc.prefixes.push(
    { ...GLOBAL_ENTRY, ip_prefix: '198.18.0.0/24' },
    { ...GLOBAL_ENTRY, ip_prefix: '198.18.1.0/24' }
  )
  return doc
}

/** A later publication: global, regional and IPv6 ranges added and removed, and the /24s merged. */
export function changedDocument(base: IpRangesDocument): IpRangesDocument {
  const global = deriveIpRanges(base, { seed: 21, add: 3, remove: 3, scope: 'global' }).doc
  const regional = deriveIpRanges(global, {
    seed: 22,
    add: 2,
    remove: 1,
    scope: 'regional',
    syncToken: global.syncToken
  }).doc
  const doc = deriveIpRanges(regional, {
    seed: 23,
    add: 1,
    remove: 1,
    scope: 'global',
    family: 'ipv6',
    syncToken: global.syncToken
  }).doc
  doc.prefixes = doc.prefixes.filter(p => !p.ip_prefix.startsWith('198.18.'))
  doc.prefixes.push({ ...GLOBAL_ENTRY, ip_prefix: '198.18.0.0/23' })
  return doc
}

/** The CIDRs a document publishes for a service and scope, both families, as written. */
export function published(
  doc: IpRangesDocument,
  scope: 'global' | 'regional',
  service = 'CLOUDFRONT'
): string[] {
  const inScope = (region: string) => (region === 'GLOBAL') === (scope === 'global')
  return [
    ...new Set([
      ...doc.prefixes.filter(p => p.service === service && inScope(p.region)).map(p => p.ip_prefix),
      ...doc.ipv6_prefixes
        .filter(p => p.service === service && inScope(p.region))
        .map(p => p.ipv6_prefix)
    ])
  ].sort()
}

// ---------------------------------------------------------------------------------------------
// Lanes: one account (and access key) per independent scenario

export interface Lane {
  account: string
  accessKeyId: string
  secret: string
}

export function lanes(count: number, first = 1): Lane[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(first + i).padStart(4, '0')
    return {
      account: `21000000${n}`,
      accessKeyId: `AKIDLANE0000${n}`,
      secret: `lane-secret-${n}-${Math.random().toString(36).slice(2)}`
    }
  })
}

/** Each lane's key and its twin's (`twin`): a second runner in the same account. */
export function laneAccountIds(list: Lane[]): Record<string, string> {
  return Object.fromEntries(
    list.flatMap(lane => [
      [lane.accessKeyId, lane.account],
      [twin(lane).accessKeyId, lane.account]
    ])
  )
}

/** Another key of the same account (a second, concurrent run whose calls can be told apart). */
export function twin(lane: Lane): Lane {
  return { ...lane, accessKeyId: `${lane.accessKeyId}T`, secret: `${lane.secret}-twin` }
}

// ---------------------------------------------------------------------------------------------
// Topology

export interface Topology {
  account: string
  ids: {
    g1: string
    g2: string
    r1: string
    w1: string
    w2: string
    bystander: string
    untagged: string
  }
  /** The action's pools, wanting `target`'s ranges, allowed everything in `inPlay`. */
  pools(target: IpRangesDocument, inPlay?: IpRangesDocument[]): PoolSpec[]
}

const tags = (name: string, protocol: string, autoUpdate = 'true') => ({
  Name: name,
  AutoUpdate: autoUpdate,
  Protocol: protocol
})

function owned(cidrs: string[], port: number): SeedRule[] {
  return cidrs.map(cidr => ({
    protocol: 'tcp',
    fromPort: port,
    toPort: port,
    cidr,
    description: RULE_DESCRIPTION
  }))
}

/** Splits a list in two halves by position (how a first sync would spread a pool over 2 groups). */
function halves<T>(list: T[]): [T[], T[]] {
  return [list.filter((_, i) => i % 2 === 0), list.filter((_, i) => i % 2 === 1)]
}

/**
 * In `account`: us-east-1 vpc-1 global pool g1+g2 (tcp/443) and regional pool r1 (tcp/443);
 * eu-west-1 vpc-9 global pool w1+w2 (tcp/80); every managed group with foreign rules (other
 * port, protocol, source kind, description); a bystander group with AutoUpdate=false and an
 * untagged group, both holding rules shaped like the action's. With `synced`, the pools already
 * hold that document's ranges (as a finished earlier run left them).
 */
export function seedTopology(
  emulator: Ec2Emulator,
  account: string,
  synced?: IpRangesDocument
): Topology {
  const east = { account, region: 'us-east-1', vpcId: 'vpc-1' }
  const west = { account, region: 'eu-west-1', vpcId: 'vpc-9' }
  const bystander = emulator.createGroup({
    ...east,
    name: 'bystander',
    tags: tags('cloudfront_g', 'https', 'false'),
    ingress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '198.51.100.0/24' }]
  })
  const untagged = emulator.createGroup({
    ...east,
    name: 'untagged',
    tags: { Name: 'web' },
    ingress: owned(['192.0.2.0/24'], 443)
  })
  const global = synced ? halves(published(synced, 'global')) : [[], []]
  const regional = synced ? published(synced, 'regional') : []
  const token: Record<string, string> = synced ? { [SYNC_TOKEN_TAG]: synced.syncToken } : {}
  const g1 = emulator.createGroup({
    ...east,
    name: 'edge-g1',
    tags: { ...tags('cloudfront_g', 'https'), ...token },
    ingress: [
      {
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        cidr: '203.0.113.0/24',
        description: 'office VPN'
      },
      { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '10.0.0.0/8', description: 'ssh' },
      { protocol: 'udp', fromPort: 443, toPort: 443, cidr: '198.51.100.0/24' },
      { protocol: 'tcp', fromPort: 443, toPort: 443, sourceGroupId: bystander },
      ...owned(global[0] ?? [], 443)
    ]
  })
  const g2 = emulator.createGroup({
    ...east,
    name: 'edge-g2',
    tags: { ...tags('cloudfront_g', 'https'), ...token, team: 'edge' },
    ingress: [
      { protocol: 'tcp', fromPort: 8443, toPort: 8443, cidr: '192.0.2.0/24' },
      ...owned(global[1] ?? [], 443)
    ]
  })
  const r1 = emulator.createGroup({
    ...east,
    name: 'edge-r1',
    tags: { ...tags('cloudfront_r', 'https'), ...token },
    ingress: [
      {
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        cidr: '2001:db8::/32',
        description: 'partner v6'
      },
      ...owned(regional, 443)
    ]
  })
  const w1 = emulator.createGroup({
    ...west,
    name: 'web-g1',
    tags: { ...tags('cloudfront_g', 'http'), ...token },
    ingress: [
      {
        protocol: 'tcp',
        fromPort: 80,
        toPort: 80,
        cidr: '203.0.113.0/24',
        description: 'office VPN'
      },
      ...owned(global[0] ?? [], 80)
    ]
  })
  const w2 = emulator.createGroup({
    ...west,
    name: 'web-g2',
    tags: { ...tags('cloudfront_g', 'http'), ...token },
    ingress: owned(global[1] ?? [], 80)
  })
  const ids = { g1, g2, r1, w1, w2, bystander, untagged }
  return {
    account,
    ids,
    pools: (target, inPlay = [target]) => {
      const allowed = (scope: 'global' | 'regional') => inPlay.flatMap(d => published(d, scope))
      return [
        {
          name: `${account}/us-east-1/global/443`,
          groupIds: [g1, g2],
          port: 443,
          wanted: published(target, 'global'),
          allowed: allowed('global')
        },
        {
          name: `${account}/us-east-1/regional/443`,
          groupIds: [r1],
          port: 443,
          wanted: published(target, 'regional'),
          allowed: allowed('regional')
        },
        {
          name: `${account}/eu-west-1/global/80`,
          groupIds: [w1, w2],
          port: 80,
          wanted: published(target, 'global'),
          allowed: allowed('global')
        }
      ]
    }
  }
}

export function groupsOf(emulator: Ec2Emulator, account: string): GroupSnapshot[] {
  return emulator.listGroups({ account })
}

// ---------------------------------------------------------------------------------------------
// Running the bundle

export const SYNC_INPUTS = {
  regions: 'us-east-1, eu-west-1',
  service: 'CLOUDFRONT',
  'ip-families': 'ipv4,ipv6',
  'merge-adjacent': 'false',
  'max-rules-per-group': String(RULE_LIMIT)
}

export interface Runner {
  aws: AwsEmulators
  /** Everything every run printed or wrote, for the secret scan. */
  captured: ActionRun[]
  /** Wall time of each run, ms. */
  durations: number[]
}

export interface LaneRunOptions extends Partial<Omit<RunActionOptions, 'inputs'>> {
  inputs?: Record<string, string>
  /** SIGKILL the action right after its k-th successful mutating call (k >= 1). */
  killAt?: { k: number; hub: StateHub }
}

export interface LaneRun extends ActionRun {
  /** Successful mutating calls of this lane when the kill was sent (killAt only). */
  mutationsAtKill?: number
}

export async function runLane(
  runner: Runner,
  lane: Lane,
  url: string,
  options: LaneRunOptions = {}
): Promise<LaneRun> {
  const { inputs, killAt, env, onSpawn, ...rest } = options
  let child: ChildProcess | undefined
  let seen = 0
  let mutationsAtKill: number | undefined
  const removeKill = killAt?.hub.add((_snapshot, call) => {
    if (!call || call.account !== lane.account) return
    seen += 1
    if (seen === killAt.k && child) {
      mutationsAtKill = seen
      child.kill('SIGKILL')
    }
  })
  const started = performance.now()
  try {
    const result: LaneRun = await runAction({
      inputs: { ...SYNC_INPUTS, 'ip-ranges-url': url, ...inputs },
      env: {
        ...runner.aws.env,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: lane.accessKeyId,
        AWS_SECRET_ACCESS_KEY: lane.secret,
        ...env
      },
      ...rest,
      onSpawn: spawned => {
        child = spawned
        onSpawn?.(spawned)
      }
    })
    if (mutationsAtKill !== undefined) result.mutationsAtKill = mutationsAtKill
    runner.captured.push(result)
    return result
  } finally {
    runner.durations.push(performance.now() - started)
    removeKill?.()
  }
}

/** Mutating calls (ok or not) in this lane's account since `from` (an index into emulator.calls). */
export function laneMutations(emulator: Ec2Emulator, lane: Lane, from = 0) {
  return emulator.calls.slice(from).filter(c => c.mutating && c.account === lane.account)
}

/** Runs `work` over `items`, at most `limit` at once, results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index] as T, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

export function assertClean(monitor: InvariantMonitor): void {
  expect(monitor.violations).toEqual([])
}

// ---------------------------------------------------------------------------------------------
// Secrets

/**
 * Finds secret values in what the runs printed and wrote. `::add-mask::<value>` lines are the
 * runner's masking protocol (the runner consumes them and hides the value everywhere), so they are
 * the one place a secret may appear; anywhere else it is a leak.
 */
export function findSecrets(runs: ActionRun[], secrets: Iterable<string>): string[] {
  const values = [...new Set(secrets)].filter(value => value.length >= 8)
  const leaks: string[] = []
  runs.forEach((run, index) => {
    const places: Record<string, string> = {
      stdout: run.stdout
        .split('\n')
        .filter(line => !line.startsWith('::add-mask::'))
        .join('\n'),
      stderr: run.stderr,
      summary: run.summary,
      outputs: JSON.stringify(run.outputs),
      planFile: JSON.stringify(run.planFile ?? null)
    }
    for (const [place, text] of Object.entries(places)) {
      for (const value of values) {
        if (text.includes(value)) leaks.push(`run ${index} ${place}: ${value.slice(0, 6)}…`)
      }
    }
  })
  return leaks
}

/** A JWT's parts that identify it (the signature) besides the whole token. */
export function tokenParts(token: string): string[] {
  const signature = token.split('.')[2]
  return signature ? [token, signature] : [token]
}

// ---------------------------------------------------------------------------------------------
// Figures

/** Appends the figures of one test file to a JSON file in the temp dir (for RELIABILITY.md). */
export function writeFigures(name: string, figures: unknown): string {
  const path = join(tmpdir(), `cloudfront-sg-sync-reliability-${name}.json`)
  writeFileSync(path, JSON.stringify(figures, null, 2))
  return path
}
