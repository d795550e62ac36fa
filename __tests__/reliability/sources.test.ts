// The two things a run needs before it may change anything, failing and recovering: the role
// (GitHub OIDC token -> STS AssumeRoleWithWebIdentity) and the ip-ranges.json download. A transient
// failure is retried within the run; a lasting one fails the run before any mutating call, with a
// message naming it, and the next run converges. Runs assume a role, so the captured output is
// scanned for the OIDC tokens and the STS credentials too.
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import { serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import type { RangesBehaviour } from '../../dev/ranges-server.js'
import { RangesServer } from '../../dev/ranges-server.js'
import type { Lane, LaneRun, Runner } from './harness.js'
import {
  RULE_LIMIT,
  baseDocument,
  changedDocument,
  findSecrets,
  groupsOf,
  runLane,
  seedTopology,
  tokenParts,
  writeFigures
} from './harness.js'
import type { PoolSpec } from './invariants.js'
import { InvariantMonitor, StateHub, checkConverged } from './invariants.js'

const ACCOUNT = '111122223333'
const ROLE = `arn:aws:iam::${ACCOUNT}:role/cloudfront-sg-sync`
const base = baseDocument()
const changed = changedDocument(base)
const changedBody = serializeIpRanges(changed)

let aws: AwsEmulators
const ranges = new RangesServer()
const runner = { captured: [], durations: [] } as unknown as Runner
/** With a role, the default-chain key is never used for EC2; the lane only names the account. */
let lane: Lane
const figures: Record<string, unknown> = {}
let routes = 0
/** Every OIDC token served (the emulator forgets them on reset). */
const tokens: string[] = []

beforeAll(async () => {
  aws = await startAwsEmulators({ roles: [{ roleArn: ROLE, subject: 'repo:octo-org/edge:*' }] })
  runner.aws = aws
  lane = {
    account: ACCOUNT,
    accessKeyId: aws.env.AWS_ACCESS_KEY_ID as string,
    secret: aws.env.AWS_SECRET_ACCESS_KEY as string
  }
  await ranges.start()
})

afterAll(async () => {
  await aws.stop()
  await ranges.stop()
  writeFigures('sources', figures)
})

interface Scenario {
  pools: PoolSpec[]
  monitor: InvariantMonitor
  url: string
  path: string
}

/** A fresh account state synced to the base document, the changed one to apply, served as told. */
function scenario(serve: RangesBehaviour): Scenario {
  tokens.push(...aws.oidc.issuedTokens)
  aws.ec2.reset()
  aws.sts.reset()
  aws.oidc.reset()
  aws.ec2.rulesPerGroupLimit = RULE_LIMIT
  const topology = seedTopology(aws.ec2, ACCOUNT, base)
  const pools = topology.pools(changed, [base, changed])
  const monitor = new InvariantMonitor(aws.ec2, { pools, account: ACCOUNT })
  new StateHub(aws.ec2).add(monitor.listener)
  const path = `/source-${++routes}/ip-ranges.json`
  return { pools, monitor, url: ranges.route(path, serve), path }
}

const run = (s: Scenario): Promise<LaneRun> =>
  runLane(runner, lane, s.url, { inputs: { 'role-to-assume': ROLE } })

const mutations = (from = 0) => aws.ec2.calls.slice(from).filter(c => c.mutating)
const errors = (r: LaneRun) => r.stdout.split('\n').filter(line => line.startsWith('::error::'))

function expectConverged(s: Scenario): void {
  expect(s.monitor.violations).toEqual([])
  expect(checkConverged(groupsOf(aws.ec2, ACCOUNT), s.pools, { exact: true })).toEqual([])
}

/** A failed run changed nothing; the next one converges; the one after makes no mutating call. */
async function expectRecovery(s: Scenario, failed: LaneRun, message: RegExp): Promise<void> {
  expect(failed.exitCode).toBe(1)
  expect(errors(failed).join('\n')).toMatch(message)
  expect(mutations()).toEqual([])
  expect(failed.summary).toContain('**Failed**')
  const next = await run(s)
  expect(next.exitCode).toBe(0)
  expectConverged(s)
  const from = aws.ec2.calls.length
  expect((await run(s)).exitCode).toBe(0)
  expect(mutations(from)).toEqual([])
}

const document: RangesBehaviour = { kind: 'document', body: changedBody }

describe('STS and the OIDC token', () => {
  test('one InternalFailure from STS: retried, the run converges', async () => {
    const s = scenario(document)
    aws.sts.faults = {
      failNext: [{ action: 'AssumeRoleWithWebIdentity', code: 'InternalFailure', status: 500 }]
    }
    const result = await run(s)
    figures.stsOnce = { exit: result.exitCode, stsCalls: aws.sts.calls.length }
    expect(result.exitCode).toBe(0)
    expect(aws.sts.calls.filter(c => c.errorCode === 'InternalFailure')).toHaveLength(1)
    expectConverged(s)
  })

  test('STS down for the whole run: fails before any EC2 call, names STS; the next run converges', async () => {
    const s = scenario(document)
    const failure = { action: 'AssumeRoleWithWebIdentity', code: 'InternalFailure', status: 500 }
    aws.sts.faults = { failNext: Array.from({ length: 8 }, () => failure) }
    const failed = await run(s)
    aws.sts.faults = {}
    figures.stsDown = {
      exit: failed.exitCode,
      stsAttempts: aws.sts.calls.length,
      ec2Calls: aws.ec2.calls.length,
      message: errors(failed)[0]?.slice(0, 200)
    }
    expect(aws.ec2.calls).toEqual([])
    await expectRecovery(
      s,
      failed,
      /::error::.*(arn:aws:iam::111122223333:role\/cloudfront-sg-sync|STS)/
    )
  })

  test('the OIDC token endpoint answers 503 once: retried, the run converges', async () => {
    const s = scenario(document)
    aws.oidc.failNext(503)
    const result = await run(s)
    figures.oidc503Once = { exit: result.exitCode, tokenRequests: aws.oidc.count() }
    expect(result.exitCode).toBe(0)
    expectConverged(s)
  })

  test('the OIDC token endpoint answers 500 once: retried like any 5xx, the run converges', async () => {
    const s = scenario(document)
    aws.oidc.failNext(500)
    const result = await run(s)
    figures.oidc500Once = {
      exit: result.exitCode,
      tokenRequests: aws.oidc.count(),
      message: errors(result)[0]?.slice(0, 200)
    }
    expect(errors(result)).toEqual([])
    expect(result.exitCode).toBe(0)
    expectConverged(s)
  })

  test('the OIDC token endpoint down: fails before any EC2 call; the next run converges', async () => {
    const s = scenario(document)
    aws.oidc.failNext(...Array.from({ length: 12 }, () => 500))
    const failed = await run(s)
    figures.oidcDown = {
      exit: failed.exitCode,
      tokenRequests: aws.oidc.count(),
      message: errors(failed)[0]?.slice(0, 200)
    }
    tokens.push(...aws.oidc.issuedTokens)
    aws.oidc.reset()
    expect(aws.ec2.calls).toEqual([])
    await expectRecovery(s, failed, /::error::Could not get a GitHub OIDC token for audience/)
  })
})

describe('the ip-ranges.json download', () => {
  const stats = (s: Scenario) => ranges.stats(s.path)

  test('one 503, then the file: retried, the run converges', async () => {
    const s = scenario({ kind: 'sequence', steps: [{ kind: 'status', status: 503 }, document] })
    const result = await run(s)
    expect(result.exitCode).toBe(0)
    expect(stats(s).requests).toBe(2)
    expectConverged(s)
  })

  test('a dropped connection, then a body cut short, then the file: retried, converges', async () => {
    const s = scenario({
      kind: 'sequence',
      steps: [{ kind: 'drop' }, { kind: 'truncate', body: changedBody, bytes: 1000 }, document]
    })
    const result = await run(s)
    expect(result.exitCode).toBe(0)
    expect(stats(s).requests).toBe(3)
    expectConverged(s)
  })

  test('503 on every attempt: the run fails after 4 attempts, changes nothing; the next converges', async () => {
    const s = scenario({ kind: 'status', status: 503 })
    const started = performance.now()
    const failed = await run(s)
    figures.downloadDown = {
      exit: failed.exitCode,
      attempts: stats(s).requests,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      message: errors(failed)[0]?.slice(0, 200)
    }
    expect(stats(s).requests).toBe(4)
    ranges.route(s.path, document)
    await expectRecovery(s, failed, /failed: HTTP 503 .*\(gave up after 4 attempts\)/)
  })
})

test('no OIDC token, STS credential or other secret in anything any run printed or wrote', () => {
  const secrets = [
    aws.env.AWS_SECRET_ACCESS_KEY as string,
    aws.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN as string,
    ...aws.sts.issued.flatMap(c => [c.secretAccessKey, c.sessionToken]),
    ...[...tokens, ...aws.oidc.issuedTokens].flatMap(tokenParts)
  ]
  figures.secretScan = {
    runs: runner.captured.length,
    stsCredentials: aws.sts.issued.length,
    secrets: secrets.length
  }
  expect(aws.sts.issued.length).toBeGreaterThan(5)
  expect(tokens.length).toBeGreaterThan(5)
  expect(findSecrets(runner.captured, secrets)).toEqual([])
  // The runner is told to mask them (::add-mask::) before anything could print them.
  const masked = runner.captured.flatMap(r =>
    r.stdout.split('\n').filter(line => line.startsWith('::add-mask::'))
  )
  for (const credentials of aws.sts.issued) {
    expect(masked).toContain(`::add-mask::${credentials.secretAccessKey}`)
    expect(masked).toContain(`::add-mask::${credentials.sessionToken}`)
  }
})
