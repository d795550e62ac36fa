// The GitHub side end to end (issue 4): the committed dist/index.js on Node 24, started by each
// trigger with the event file the runner writes (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH), and the
// tracking issue written through the real Octokit client to the loopback GitHub REST emulator
// (GITHUB_API_URL). AWS is the loopback EC2 / STS / Service Quotas emulators (default-chain keys).
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import type { GroupSnapshot } from '../../dev/emulators/ec2.js'
import { GitHubEmulator } from '../../dev/emulators/github.js'
import { deriveIpRanges, generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { RangesServer } from '../../dev/ranges-server.js'
import { errorText, runAction } from '../../dev/run-action.js'
import type { RunActionOptions } from '../../dev/run-action.js'
import { md5Hex } from '../../src/ranges/verify.js'

const REPO = 'octo-org/edge'
const WRITE_TOKEN = 'ghs_issuesWriteToken000000000000000000000'
const READ_TOKEN = 'ghs_issuesReadToken0000000000000000000000'
const NO_ISSUES_TOKEN = 'ghs_noIssuesToken00000000000000000000000'
const LABEL = 'cloudfront-sg-sync'
const MARKER = `<!-- cloudfront-sg-sync:tracking repo=${REPO} key=`

let aws: AwsEmulators
let github: GitHubEmulator
const ranges = new RangesServer()
let rangesUrl: string

const base = generateIpRanges({ seed: 41, syncToken: '1786100000', otherServicesScale: 0.05 })
const baseBody = serializeIpRanges(base)

beforeAll(async () => {
  aws = await startAwsEmulators()
  rangesUrl = await ranges.start()
  github = await GitHubEmulator.start({
    repos: [REPO],
    tokens: {
      // GITHUB_TOKEN-like tokens: with `permissions: issues: write`, `issues: read`, and neither.
      [WRITE_TOKEN]: { kind: 'integration', issues: 'write' },
      [READ_TOKEN]: { kind: 'integration', issues: 'read' },
      [NO_ISSUES_TOKEN]: { kind: 'integration', issues: 'none' }
    }
  })
})
afterAll(async () => {
  await Promise.all([aws.stop(), ranges.stop(), github.close()])
})
beforeEach(() => {
  aws.ec2.reset()
  aws.sts.reset()
  aws.quotas.reset()
  github.reset()
  ranges.serve(baseBody)
})

/** The runner's event payloads (trimmed to what matters; the action reads only these fields). */
const repository = { full_name: REPO, name: 'edge', owner: { login: 'octo-org' } }
const sender = { login: 'octocat', type: 'User' }
const events = {
  schedule: () => ({
    name: 'schedule',
    payload: { schedule: '17 */6 * * *', repository, workflow: '.github/workflows/sync.yml' }
  }),
  workflowDispatch: (inputs: Record<string, string>) => ({
    name: 'workflow_dispatch',
    payload: { inputs, ref: 'refs/heads/main', repository, sender, workflow: 'sync.yml' }
  }),
  repositoryDispatch: (action: string, clientPayload: Record<string, unknown>) => ({
    name: 'repository_dispatch',
    payload: { action, branch: 'main', client_payload: clientPayload, repository, sender }
  })
}

/** What the SNS forwarder dispatches for the file being served. */
const notification = (body = baseBody) => ({
  create_time: '2026-08-07T09:33:20+00:00',
  synctoken: base.syncToken,
  md5: md5Hex(body),
  url: 'https://ip-ranges.amazonaws.com/ip-ranges.json'
})

function run(inputs: Record<string, string>, extra: Partial<RunActionOptions> = {}) {
  return runAction({
    inputs: { 'ip-ranges-url': rangesUrl, regions: 'us-east-1', ...inputs },
    env: { ...aws.env, AWS_REGION: 'us-east-1', GITHUB_API_URL: github.url },
    ...extra
  })
}

const tracking = (token = WRITE_TOKEN) => ({ 'create-issue': 'true', 'github-token': token })

function seedGroup(vpcId = 'vpc-1'): string {
  return aws.ec2.createGroup({
    region: 'us-east-1',
    vpcId,
    name: `edge-${vpcId}`,
    tags: { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }
  })
}

const held = (groupId: string) => (aws.ec2.getGroup(groupId) as GroupSnapshot).ingress.length

/** Requests to AWS of any kind since the last reset. */
const awsCalls = () => aws.ec2.calls.length + aws.sts.calls.length + aws.quotas.calls.length

/** Open tracking issues: labelled and marked, as the action finds them. */
const trackingIssues = () =>
  github.issues
    .openIssues(REPO)
    .filter(
      issue =>
        issue.labels.some(label => label.name === LABEL) && (issue.body ?? '').includes(MARKER)
    )

describe('triggers', () => {
  test('schedule: syncs to the latest file', async () => {
    const groupId = seedGroup()
    const result = await run({}, { event: events.schedule() })
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ changed: 'true', 'sync-token': base.syncToken })
    expect(held(groupId)).toBeGreaterThan(0)
    expect(result.summary).toContain('✅ **Applied**')
  })

  test('workflow_dispatch with dry-run passed through `with:`: plans, changes nothing', async () => {
    const groupId = seedGroup()
    const result = await run(
      { 'dry-run': 'true' },
      { event: events.workflowDispatch({ 'dry-run': 'true' }) }
    )
    expect(result.exitCode).toBe(0)
    expect(aws.ec2.mutatingCalls()).toEqual([])
    expect(held(groupId)).toBe(0)
    expect(result.outputs.changed).toBe('true')
    expect(Number(result.outputs['rules-added'])).toBeGreaterThan(0)
    expect(result.summary).toContain('🧪 **Dry run**')
    expect(result.summary).toContain('nothing was changed')
  })

  test('repository_dispatch aws-ip-ranges-changed with a valid payload: applied', async () => {
    const groupId = seedGroup()
    const result = await run(
      {},
      { event: events.repositoryDispatch('aws-ip-ranges-changed', notification()) }
    )
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(held(groupId)).toBeGreaterThan(0)
    expect(result.outputs).toMatchObject({ changed: 'true', 'sync-token': base.syncToken })
    expect(result.summary).toContain(md5Hex(baseBody))
    expect(result.summary).toContain('✅ **Applied**')
  })

  test('repository_dispatch of another type: a notice, exit 0, no AWS call at all', async () => {
    seedGroup()
    const downloads = ranges.requests
    const result = await run(
      {},
      { event: events.repositoryDispatch('deploy-preview', { ref: 'feature/x' }) }
    )
    expect(result.exitCode).toBe(0)
    expect(result.annotations).toEqual([
      expect.stringMatching(
        /^::notice::repository_dispatch event type "deploy-preview" is not one of dispatch-event-types \(aws-ip-ranges-changed\)/
      )
    ])
    expect(awsCalls()).toBe(0)
    expect(ranges.requests).toBe(downloads)
    expect(result.summary).toContain('⏭️ **Skipped**')
    expect(result.outputs.changed).toBe('false')
  })

  test('repository_dispatch whose url is on a foreign host: rejected before any call', async () => {
    const groupId = seedGroup()
    const downloads = ranges.requests
    const result = await run(
      {},
      {
        event: events.repositoryDispatch('aws-ip-ranges-changed', {
          ...notification(),
          url: 'https://ip-ranges.example.net/ip-ranges.json'
        })
      }
    )
    expect(result.exitCode).toBe(1)
    const message = errorText(result)
    expect(message).toContain("client_payload field 'url' is invalid")
    expect(message).toContain('ip-ranges.example.net')
    expect(message).toContain('Nothing was changed')
    expect(aws.ec2.calls).toEqual([])
    expect(aws.sts.calls).toEqual([])
    expect(aws.quotas.calls).toEqual([])
    expect(ranges.requests).toBe(downloads)
    expect(held(groupId)).toBe(0)
    expect(result.summary).toContain('❌ **Failed**')
  })
})

describe('the tracking issue', () => {
  test('created on the first change, commented on the second, untouched without change', async () => {
    const groupId = seedGroup()

    // 1. First change: the issue is created, labelled and marked.
    const first = await run(tracking(), { event: events.schedule() })
    expect(first.stderr).toBe('')
    expect(first.exitCode).toBe(0)
    const issues = trackingIssues()
    expect(issues).toHaveLength(1)
    const issue = issues[0] as (typeof issues)[number]
    expect(first.outputs['issue-number']).toBe(String(issue.number))
    expect(issue.title).toContain('CloudFront security group changes')
    expect(issue.body).toContain(`${MARKER}`)
    expect(issue.body).toContain(groupId)
    expect(issue.body).toContain(base.syncToken)
    expect(issue.user.login).toBe('github-actions[bot]')
    expect(github.issues.commentsOn(REPO, issue.number)).toEqual([])
    expect(first.stdout).toContain(`Tracking issue #${issue.number} created`)

    // 2. A published change: one comment on the same issue, no second issue.
    const changed = deriveIpRanges(base, {
      seed: 3,
      add: 1,
      remove: 1,
      scope: 'global',
      service: 'CLOUDFRONT_ORIGIN_FACING'
    })
    ranges.serve(serializeIpRanges(changed.doc))
    const second = await run(tracking(), { event: events.schedule() })
    expect(second.exitCode).toBe(0)
    expect(second.outputs).toMatchObject({ changed: 'true', 'issue-number': String(issue.number) })
    expect(trackingIssues().map(i => i.number)).toEqual([issue.number])
    const comments = github.issues.commentsOn(REPO, issue.number)
    expect(comments).toHaveLength(1)
    expect(comments[0]?.body).toContain(changed.doc.syncToken)
    expect(comments[0]?.body).toContain(groupId)
    expect(second.stdout).toContain(`Tracking issue #${issue.number} commented`)

    // 3. Nothing changed: not a single request to GitHub.
    const requests = github.requests.length
    const third = await run(tracking(), { event: events.schedule() })
    expect(third.exitCode).toBe(0)
    expect(third.outputs).toMatchObject({ changed: 'false', 'issue-number': '' })
    expect(github.requests.length).toBe(requests)
    expect(github.issues.commentsOn(REPO, issue.number)).toHaveLength(1)
  })

  test('two runs with changes at the same moment leave exactly one open tracking issue', async () => {
    seedGroup('vpc-1')
    seedGroup('vpc-2')
    // Both runs must have changes to report whatever the interleaving, so both are dry runs (two
    // applying runs would race for the same rules, and the loser might find nothing left to add).
    // Creating an issue takes a while on GitHub: hold each create until the other run's arrives too
    // (or 3 s), so both runs pass their re-check and really create one each.
    let arrived = 0
    let release: () => void = () => undefined
    const bothArrived = new Promise<void>(resolve => (release = resolve))
    github.issues.beforeCreate = async () => {
      arrived += 1
      if (arrived >= 2) release()
      await Promise.race([bothArrived, new Promise(resolve => setTimeout(resolve, 3000))])
    }
    const inputs = { ...tracking(), 'dry-run': 'true' }
    const [a, b] = await Promise.all([
      run(inputs, { event: events.schedule() }),
      run(inputs, { event: events.repositoryDispatch('aws-ip-ranges-changed', notification()) })
    ])
    expect([a.exitCode, b.exitCode]).toEqual([0, 0])
    expect([a.outputs.changed, b.outputs.changed]).toEqual(['true', 'true'])
    expect(aws.ec2.mutatingCalls()).toEqual([])

    const open = trackingIssues()
    expect(open).toHaveLength(1)
    const winner = open[0] as (typeof open)[number]
    // Both runs report the surviving issue.
    expect([a.outputs['issue-number'], b.outputs['issue-number']]).toEqual([
      String(winner.number),
      String(winner.number)
    ])
    // Both reached create: the later issue was closed as a duplicate pointing at the winner.
    expect(arrived).toBe(2)
    const all = github.issues.repo(REPO).issues
    expect(all).toHaveLength(2)
    const duplicate = all.find(i => i.number !== winner.number)
    expect(duplicate).toMatchObject({ state: 'closed', state_reason: 'not_planned' })
    expect(duplicate?.number).toBeGreaterThan(winner.number)
    expect(github.issues.commentsOn(REPO, duplicate?.number ?? 0).at(-1)?.body).toContain(
      `a duplicate of #${winner.number}`
    )
    // The losing run's summary landed on the winner as a comment.
    expect(github.issues.commentsOn(REPO, winner.number)).toHaveLength(1)
  })

  test.each([
    ['no issues permission', NO_ISSUES_TOKEN, 'list the open issues of'],
    ['issues: read only', READ_TOKEN, 'create an issue in']
  ])(
    'a token with %s: the sync stands, the run fails naming issues: write',
    async (_what, token, step) => {
      const groupId = seedGroup()
      const result = await run(tracking(token), { event: events.schedule() })
      // The rules were applied before the report; the tracking issue failed after, and that fails
      // the step (publish() -> core.setFailed) with a message saying what to grant.
      expect(result.exitCode).toBe(1)
      expect(held(groupId)).toBeGreaterThan(0)
      expect(result.outputs).toMatchObject({ changed: 'true', 'issue-number': '' })
      const message = errorText(result)
      expect(message).toContain(`Could not update the tracking issue: Could not ${step} ${REPO}`)
      expect(message).toContain('GitHub answered 403')
      expect(message).toContain("lacks the 'issues: write' permission")
      expect(message).toContain('    permissions:')
      expect(message).toContain('      issues: write')
      expect(message).not.toContain(token)
      expect(github.issues.openIssues(REPO)).toEqual([])
      // A 403 is not retried (GET /user's 403 only says the token is an installation token).
      expect(github.requests.filter(r => r.status === 403 && r.path !== '/user')).toHaveLength(1)
      expect(result.summary).toContain('✅ **Applied**')
    }
  )
})

// README, Outputs: "The job summary is written on every run, also when it fails after planning, so
// a refused or failed run explains itself." A run failed by the tracking issue does not.
test('the job summary of a run failed by the tracking issue says why it failed', async () => {
  seedGroup()
  const result = await run(tracking(NO_ISSUES_TOKEN), { event: events.schedule() })
  expect(result.exitCode).toBe(1)
  expect(result.summary).toContain('Could not update the tracking issue')
  expect(result.summary).toContain('issues: write')
})
