// Fault scenarios against the bundled action (dist/index.js on Node 24, as a runner runs it): a
// throttling storm, SIGKILL after every k-th mutating call of a first sync and of a change, two
// runs at once, EC2 500s and dropped connections (before and after the change took effect), and a
// hand edit while a run is in flight. Every state the EC2 emulator goes through is checked against
// the invariants (./invariants.ts); every scenario ends converged, with foreign rules intact, and
// with a rerun that makes no mutating call.
import type { ChildProcess } from 'node:child_process'
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import type { Ec2Call } from '../../dev/emulators/ec2.js'
import { serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { RangesServer } from '../../dev/ranges-server.js'
import type { IpRangesDocument } from '../../src/ranges/parse.js'
import type { Lane, LaneRun, Runner, Topology } from './harness.js'
import {
  RULE_LIMIT,
  baseDocument,
  changedDocument,
  findSecrets,
  groupsOf,
  laneAccountIds,
  laneMutations,
  lanes,
  mapLimit,
  runLane,
  seedTopology,
  twin,
  writeFigures
} from './harness.js'
import type { PoolSpec } from './invariants.js'
import {
  InvariantMonitor,
  SYNC_TOKEN_TAG,
  StateHub,
  checkConverged,
  foreignRules
} from './invariants.js'

const base = baseDocument()
const changed = changedDocument(base)
const ALL_LANES = lanes(60)
let laneIndex = 0
const nextLane = (): Lane => {
  const lane = ALL_LANES[laneIndex++]
  if (!lane) throw new Error('out of lanes')
  return lane
}

let aws: AwsEmulators
let hub: StateHub
const ranges = new RangesServer()
let baseUrl: string
let changedUrl: string
const runner = { captured: [], durations: [] } as unknown as Runner
const figures: Record<string, unknown> = {}
const started = performance.now()

/** The throttling storm, on emulators of its own, running while the other scenarios do. */
async function runStorm() {
  const [lane] = lanes(1, 900) as [Lane]
  const stormAws = await startAwsEmulators({ accountIds: laneAccountIds([lane]) })
  try {
    stormAws.ec2.rulesPerGroupLimit = RULE_LIMIT
    const topology = seedTopology(stormAws.ec2, lane.account, base)
    const pools = topology.pools(changed, [base, changed])
    const monitor = new InvariantMonitor(stormAws.ec2, { pools, account: lane.account })
    new StateHub(stormAws.ec2).add(monitor.listener)
    const foreign = foreignRules(groupsOf(stormAws.ec2, lane.account), pools)
    const stormRunner = { aws: stormAws, captured: runner.captured, durations: runner.durations }
    stormAws.ec2.faults = { throttleRate: 0.3, seed: 2 }
    const started = performance.now()
    const run = await runLane(stormRunner, lane, changedUrl, { timeoutMs: 110_000 })
    const seconds = Math.round((performance.now() - started) / 100) / 10
    const calls = stormAws.ec2.calls.length
    const throttled = stormAws.ec2.calls.filter(c => c.errorCode === 'RequestLimitExceeded').length
    stormAws.ec2.faults = {}
    const groups = groupsOf(stormAws.ec2, lane.account)
    const found = [...monitor.violations, ...checkConverged(groups, pools, { exact: true })]
    if (JSON.stringify(foreignRules(groups, pools)) !== JSON.stringify(foreign)) {
      found.push('foreign rules changed')
    }
    const stale = groups
      .filter(g => pools.some(p => p.groupIds.includes(g.groupId)))
      .filter(g => g.tags[SYNC_TOKEN_TAG] !== changed.syncToken)
      .map(g => g.name)
    const from = stormAws.ec2.calls.length
    await runLane(stormRunner, lane, changedUrl)
    const idle = stormAws.ec2.calls.slice(from).filter(c => c.mutating).length
    return { run, seconds, calls, throttled, problems: found, stale, idle }
  } finally {
    await stormAws.stop()
  }
}
let storm: ReturnType<typeof runStorm>

beforeAll(async () => {
  aws = await startAwsEmulators({ accountIds: laneAccountIds(ALL_LANES) })
  runner.aws = aws
  aws.ec2.rulesPerGroupLimit = RULE_LIMIT
  hub = new StateHub(aws.ec2)
  await ranges.start()
  baseUrl = ranges.route('/base/ip-ranges.json', {
    kind: 'document',
    body: serializeIpRanges(base)
  })
  changedUrl = ranges.route('/changed/ip-ranges.json', {
    kind: 'document',
    body: serializeIpRanges(changed)
  })
  storm = runStorm()
  // Reported by its test; never an unhandled rejection meanwhile.
  storm.catch(() => undefined)
})

afterAll(async () => {
  aws.ec2.onRequest = undefined
  await aws.stop()
  await ranges.stop()
  figures.runs = runner.captured.length
  figures.wallSeconds = Math.round((performance.now() - started) / 100) / 10
  writeFigures('faults', figures)
})

afterEach(() => {
  aws.ec2.faults = {}
  aws.ec2.onRequest = undefined
})

// ---------------------------------------------------------------------------------------------

interface Scenario {
  lane: Lane
  topology: Topology
  pools: PoolSpec[]
  monitor: InvariantMonitor
  target: IpRangesDocument
  url: string
  foreign: string[]
  stop: () => void
}

/** A fresh account: a first sync (empty pools, target base) or a change (synced to base, target changed). */
function scenario(kind: 'first sync' | 'change'): Scenario {
  const lane = nextLane()
  const topology = seedTopology(aws.ec2, lane.account, kind === 'change' ? base : undefined)
  const target = kind === 'change' ? changed : base
  const pools = topology.pools(target, [base, changed])
  const monitor = new InvariantMonitor(aws.ec2, { pools, account: lane.account })
  return {
    lane,
    topology,
    pools,
    monitor,
    target,
    url: kind === 'change' ? changedUrl : baseUrl,
    foreign: foreignRules(groupsOf(aws.ec2, lane.account), pools),
    stop: hub.add(monitor.listener)
  }
}

/** What is wrong with the scenario's state now (empty when converged and every invariant held). */
function problems(s: Scenario): string[] {
  const groups = groupsOf(aws.ec2, s.lane.account)
  const found = [...s.monitor.violations, ...checkConverged(groups, s.pools, { exact: true })]
  const foreign = foreignRules(groups, s.pools)
  if (JSON.stringify(foreign) !== JSON.stringify(s.foreign)) found.push('foreign rules changed')
  return found
}

/** Pool groups whose sync-token tag does not record the target's syncToken. */
function staleTokens(s: Scenario): string[] {
  const groups = groupsOf(aws.ec2, s.lane.account)
  return s.pools
    .flatMap(pool => pool.groupIds)
    .map(id => groups.find(g => g.groupId === id))
    .filter(g => g?.tags[SYNC_TOKEN_TAG] !== s.target.syncToken)
    .map(g => `${g?.name}: ${SYNC_TOKEN_TAG}=${g?.tags[SYNC_TOKEN_TAG] ?? '(none)'}`)
}

/** One more run: it must succeed and make no mutating call at all. */
async function idleRerun(s: Scenario): Promise<number> {
  const from = aws.ec2.calls.length
  const run = await runLane(runner, s.lane, s.url)
  expect(run.exitCode).toBe(0)
  return laneMutations(aws.ec2, s.lane, from).length
}

function errorLines(run: LaneRun): string[] {
  return run.stdout.split('\n').filter(line => line.startsWith('::error::'))
}

const okMutations = (s: Scenario, from: number) =>
  laneMutations(aws.ec2, s.lane, from).filter(c => c.ok).length

// ---------------------------------------------------------------------------------------------

describe.each(['first sync', 'change'] as const)('SIGKILL during a %s', kind => {
  test('after each k-th mutating call: the rerun converges, no gap, nothing foreign touched', async () => {
    // How many mutating calls the run makes when nothing stops it.
    const calibration = scenario(kind)
    const from = aws.ec2.calls.length
    const full = await runLane(runner, calibration.lane, calibration.url)
    expect(full.exitCode).toBe(0)
    const total = okMutations(calibration, from)
    expect(problems(calibration)).toEqual([])
    calibration.stop()
    expect(total).toBeGreaterThanOrEqual(kind === 'change' ? 10 : 7)

    const ks = Array.from({ length: total }, (_, i) => i + 1)
    const rows = await mapLimit(ks, 2, async k => {
      const s = scenario(kind)
      const before = aws.ec2.calls.length
      const killed = await runLane(runner, s.lane, s.url, { killAt: { k, hub } })
      const madeByKilled = okMutations(s, before)
      const between = aws.ec2.calls.length
      const rerun = await runLane(runner, s.lane, s.url)
      const madeByRerun = okMutations(s, between)
      const idle = await idleRerun(s)
      s.stop()
      return {
        k,
        signal: killed.signal,
        madeByKilled,
        madeByRerun,
        rerunExit: rerun.exitCode,
        idleRerunMutations: idle,
        problems: problems(s),
        staleTokens: staleTokens(s)
      }
    })
    figures[`kill-${kind}`] = { mutatingCallsOfAFullRun: total, rows }
    expect(rows.filter(r => r.signal !== 'SIGKILL').map(r => r.k)).toEqual([])
    expect(rows.filter(r => r.rerunExit !== 0).map(r => r.k)).toEqual([])
    expect(rows.filter(r => r.problems.length > 0).map(r => [r.k, r.problems])).toEqual([])
    expect(rows.filter(r => r.idleRerunMutations > 0).map(r => r.k)).toEqual([])
  })

  test('after each k-th mutating call: the rerun records the applied syncToken on every group it changed', () => {
    const rows = (figures[`kill-${kind}`] as { rows: { k: number; staleTokens: string[] }[] })?.rows
    expect(rows).toBeDefined()
    expect(rows.filter(r => r.staleTokens.length > 0).map(r => [r.k, r.staleTokens])).toEqual([])
  })
})

test('a kill before the syncToken is recorded: a late notification for the older file must not undo the change', async () => {
  const s = scenario('change')
  let child: ChildProcess | undefined
  aws.ec2.onRequest = call => {
    if (call.account !== s.lane.account || call.action !== 'CreateTags') return undefined
    child?.kill('SIGKILL')
    return { kind: 'drop' }
  }
  const killed = await runLane(runner, s.lane, s.url, { onSpawn: c => (child = c) })
  aws.ec2.onRequest = undefined
  expect(killed.signal).toBe('SIGKILL')
  // The rules are all changed; only the tag is missing. The rerun sees nothing to do.
  expect((await runLane(runner, s.lane, s.url)).exitCode).toBe(0)
  expect(problems(s)).toEqual([])

  // The older file arrives late (a replayed notification, a stale CDN copy).
  const from = aws.ec2.calls.length
  const late = await runLane(runner, s.lane, baseUrl)
  const undone = laneMutations(aws.ec2, s.lane, from).filter(c => c.ok).length
  figures.killBeforeTag = { lateRunExit: late.exitCode, lateRunMutations: undone }
  s.stop()
  expect(late.exitCode).toBe(0)
  expect(undone).toBe(0)
  expect(staleTokens(s)).toEqual([])
})

describe('two runs at once on the same groups', () => {
  const outcome = (run: LaneRun) =>
    run.exitCode === 0 ? 'ok' : `exit ${run.exitCode}: ${errorLines(run).join(' | ')}`

  test('started together: exact final state, no duplicate rule, both succeed or one fails clearly', async () => {
    const s = scenario('first sync')
    aws.ec2.faults = { latencyMs: 10 }
    const [a, b] = await Promise.all([
      runLane(runner, s.lane, s.url),
      runLane(runner, twin(s.lane), s.url)
    ])
    aws.ec2.faults = {}
    figures.concurrentStart = [outcome(a), outcome(b)]
    for (const run of [a, b]) {
      if (run.exitCode !== 0) expect(errorLines(run).join('\n')).toMatch(/::error::.{20,}/)
    }
    expect([a, b].filter(run => run.exitCode === 0).length).toBeGreaterThanOrEqual(1)
    expect(problems(s)).toEqual([])
    expect(await idleRerun(s)).toBe(0)
    s.stop()
  })

  test.each(['first sync', 'change'] as const)(
    '%s: the second reads the groups while the first is applying: exact final state, no duplicate rule',
    async kind => {
      const s = scenario(kind)
      const other = twin(s.lane)
      // The first run's mutating calls are slowed down; the second starts at the first of them,
      // reads the half-changed groups and applies its own plan alongside.
      let second: Promise<LaneRun> | undefined
      let secondRead = -1
      let slowed = 0
      const firstDone = () =>
        aws.ec2.calls.filter(c => c.accessKeyId === s.lane.accessKeyId && c.mutating && c.ok).length
      aws.ec2.onRequest = async call => {
        if (call.accessKeyId === other.accessKeyId && call.action === 'DescribeSecurityGroups') {
          // Held until the first run's first change has landed, however fast the second started.
          for (let waited = 0; firstDone() === 0 && waited < 10_000; waited += 10) {
            await new Promise(resolve => setTimeout(resolve, 10))
          }
          secondRead = firstDone()
        }
        if (call.accessKeyId !== s.lane.accessKeyId || !call.mutating) return undefined
        second ??= runLane(runner, other, s.url)
        // Staggered: the first run's calls take effect one by one, 150 ms apart.
        slowed += 1
        await new Promise(resolve => setTimeout(resolve, 150 * slowed))
        return undefined
      }
      const a = await runLane(runner, s.lane, s.url)
      const b = await (second as Promise<LaneRun>)
      aws.ec2.onRequest = undefined
      const calls = laneMutations(aws.ec2, s.lane)
      figures[`concurrentMidApply ${kind}`] = {
        outcomes: [outcome(a), outcome(b)],
        firstRunMutationsWhenSecondRead: secondRead,
        races: calls.filter(c => c.errorCode?.startsWith('InvalidPermission')).length
      }
      expect(secondRead).toBeGreaterThan(0)
      for (const run of [a, b]) {
        if (run.exitCode !== 0) expect(errorLines(run).join('\n')).toMatch(/::error::.{20,}/)
      }
      expect(problems(s)).toEqual([])
      expect(await idleRerun(s)).toBe(0)
      s.stop()
    }
  )
})

describe('EC2 500s and dropped connections mid-apply', () => {
  const mutating = (s: Scenario, call: Ec2Call) => call.account === s.lane.account && call.mutating

  /** Cuts the first attempt of every mutating call of the lane, before or after it takes effect. */
  function dropFirstAttempt(s: Scenario, kind: 'drop' | 'drop-after'): Set<string> {
    const dropped = new Set<string>()
    aws.ec2.onRequest = call => {
      if (!mutating(s, call)) return undefined
      const key = `${call.action} ${call.params.GroupId ?? call.params['ResourceId.1']}`
      if (dropped.has(key)) return undefined
      dropped.add(key)
      return { kind }
    }
    return dropped
  }

  test('25% of calls answer 500 InternalError: the change converges in one run', async () => {
    const s = scenario('change')
    aws.ec2.faults = { errorRate: 0.25, seed: 5 }
    const from = aws.ec2.calls.length
    const run = await runLane(runner, s.lane, s.url)
    aws.ec2.faults = {}
    const failed = aws.ec2.calls.slice(from).filter(c => c.errorCode === 'InternalError').length
    figures.errors500 = { failed, exit: run.exitCode }
    expect(failed).toBeGreaterThan(0)
    expect(run.exitCode).toBe(0)
    expect(problems(s)).toEqual([])
    expect(await idleRerun(s)).toBe(0)
    s.stop()
  })

  test('one group answers 500 to every authorize: the run fails clearly, revokes wait, the next run converges', async () => {
    const s = scenario('change')
    const broken = s.topology.ids.g2
    aws.ec2.onRequest = call =>
      mutating(s, call) &&
      call.action === 'AuthorizeSecurityGroupIngress' &&
      call.params.GroupId === broken
        ? { kind: 'error', code: 'InternalError', status: 500, message: 'An internal error' }
        : undefined
    const failed = await runLane(runner, s.lane, s.url)
    aws.ec2.onRequest = undefined
    expect(failed.exitCode).toBe(1)
    expect(errorLines(failed).join('\n')).toMatch(
      new RegExp(`could not be fully updated.*${broken}.*InternalError`)
    )
    expect(s.monitor.violations).toEqual([])
    const rerun = await runLane(runner, s.lane, s.url)
    expect(rerun.exitCode).toBe(0)
    expect(problems(s)).toEqual([])
    expect(staleTokens(s)).toEqual([])
    expect(await idleRerun(s)).toBe(0)
    s.stop()
  })

  test('the connection drops before each mutating call takes effect: retried, converges in one run', async () => {
    const s = scenario('change')
    const dropped = dropFirstAttempt(s, 'drop')
    const run = await runLane(runner, s.lane, s.url)
    figures.dropBefore = { dropped: dropped.size, exit: run.exitCode }
    expect(dropped.size).toBeGreaterThanOrEqual(5)
    expect(run.exitCode).toBe(0)
    expect(problems(s)).toEqual([])
    expect(await idleRerun(s)).toBe(0)
    s.stop()
  })

  test('the connection drops after each mutating call took effect: the retry meets Duplicate/NotFound, converges in one run', async () => {
    const s = scenario('change')
    const dropped = dropFirstAttempt(s, 'drop-after')
    const from = aws.ec2.calls.length
    const run = await runLane(runner, s.lane, s.url)
    const codes = laneMutations(aws.ec2, s.lane, from)
      .map(c => c.errorCode)
      .filter(Boolean)
    figures.dropAfter = { dropped: dropped.size, exit: run.exitCode, errorCodes: codes }
    expect(codes).toContain('InvalidPermission.Duplicate')
    expect(codes).toContain('InvalidPermission.NotFound')
    expect(run.exitCode).toBe(0)
    expect(problems(s)).toEqual([])
    expect(await idleRerun(s)).toBe(0)
    s.stop()
  })

  test('the connection drops after each mutating call took effect: outputs and tags still tell the truth', async () => {
    const s = scenario('change')
    dropFirstAttempt(s, 'drop-after')
    const run = await runLane(runner, s.lane, s.url)
    expect(run.exitCode).toBe(0)
    // What the change really did, pool by pool.
    const count = (from: string[], to: string[]) => to.filter(cidr => !from.includes(cidr)).length
    const before = s.topology.pools(base)
    const expected = {
      'rules-added': String(
        s.pools.reduce((n, p, i) => n + count(before[i]?.wanted ?? [], p.wanted), 0)
      ),
      'rules-removed': String(
        s.pools.reduce((n, p, i) => n + count(p.wanted, before[i]?.wanted ?? []), 0)
      )
    }
    figures.dropAfterOutputs = {
      reported: { added: run.outputs['rules-added'], removed: run.outputs['rules-removed'] },
      expected
    }
    expect(staleTokens(s)).toEqual([])
    expect(run.outputs).toMatchObject(expected)
    s.stop()
  })
})

test('someone edits the groups by hand between plan and apply: no crash, the next run converges', async () => {
  const s = scenario('change')
  const { g1, g2 } = s.topology.ids
  const globalV4 = (doc: IpRangesDocument) =>
    doc.prefixes
      .filter(p => p.service === 'CLOUDFRONT' && p.region === 'GLOBAL')
      .map(p => p.ip_prefix)
      .filter(cidr => !cidr.startsWith('198.18.'))
  const obsolete = globalV4(base).find(cidr => !globalV4(changed).includes(cidr))
  const stillWanted = globalV4(base).find(cidr => globalV4(changed).includes(cidr))
  const edits: string[] = []
  let edited = false
  aws.ec2.onRequest = call => {
    // At the first authorize (the syncToken tag is written before it).
    if (edited || call.account !== s.lane.account) return undefined
    if (call.action !== 'AuthorizeSecurityGroupIngress') return undefined
    edited = true
    // 1. A range this very call adds appears first (an operator, another tool): Duplicate.
    const adding = call.params['IpPermissions.1.IpRanges.1.CidrIp']
    const groupId = call.params.GroupId
    if (call.action === 'AuthorizeSecurityGroupIngress' && adding && groupId) {
      const port = Number(call.params['IpPermissions.1.FromPort'])
      aws.ec2.addIngress(groupId, [
        {
          protocol: 'tcp',
          fromPort: port,
          toPort: port,
          cidr: adding,
          description: 'cloudfront-sg-sync'
        }
      ])
      edits.push(`added ${adding} to ${groupId} just before the run does`)
    }
    for (const id of [g1, g2]) {
      // 2. A range the run will revoke is already gone: NotFound.
      if (aws.ec2.removeIngress(id, rule => rule.fromPort === 443 && rule.cidrIpv4 === obsolete)) {
        edits.push(`removed obsolete ${obsolete} from ${id}`)
      }
      // 3. A range that stays wanted is deleted: this run does not know, the next one re-adds it.
      if (
        aws.ec2.removeIngress(id, rule => rule.fromPort === 443 && rule.cidrIpv4 === stillWanted)
      ) {
        edits.push(`removed wanted ${stillWanted} from ${id}`)
      }
    }
    // 4. A foreign rule appears on the managed port: it must survive.
    aws.ec2.addIngress(g2, [
      {
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        cidr: '192.0.2.128/25',
        description: 'office VPN 2'
      }
    ])
    edits.push(`added foreign 192.0.2.128/25 "office VPN 2" to ${g2}`)
    return undefined
  }
  const run = await runLane(runner, s.lane, s.url)
  aws.ec2.onRequest = undefined
  figures.handEdit = { edits, exit: run.exitCode }
  expect(edits).toHaveLength(4)
  expect(run.stderr).toBe('')
  expect(run.exitCode).toBe(0)
  expect(s.monitor.violations).toEqual([])

  const rerun = await runLane(runner, s.lane, s.url)
  expect(rerun.exitCode).toBe(0)
  s.foreign = [...s.foreign, `${g2} ingress tcp/443-443 192.0.2.128/25 "office VPN 2"`].sort()
  expect(problems(s)).toEqual([])
  expect(await idleRerun(s)).toBe(0)
  s.stop()
})

test('throttling storm: 30% of calls answer RequestLimitExceeded, a change converges in one run', async () => {
  // Started in beforeAll on its own emulators (the storm hits every call there), so its slow,
  // mostly sleeping run overlaps the other scenarios. The e2e suite runs a first sync through it.
  const { run, seconds, calls, throttled, problems: found, stale, idle } = await storm
  figures.throttling = { calls, throttled, exit: run.exitCode, seconds }
  expect(throttled).toBeGreaterThan(3)
  expect(run.exitCode).toBe(0)
  expect(found).toEqual([])
  expect(stale).toEqual([])
  expect(idle).toBe(0)
})

test('no secret or credential value in anything any run printed or wrote', () => {
  const secrets = [
    ...ALL_LANES.map(lane => lane.secret),
    aws.env.AWS_SECRET_ACCESS_KEY as string,
    aws.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN as string
  ]
  figures.secretScan = { runs: runner.captured.length, secrets: secrets.length }
  expect(runner.captured.length).toBeGreaterThan(20)
  expect(findSecrets(runner.captured, secrets)).toEqual([])
})
