// The tracking issue over real HTTP: the real Octokit (getOctokit + retry + throttling plugins)
// against the loopback GitHub emulator, reached through GITHUB_API_URL as on a runner.
import { jest } from '@jest/globals'
import { GitHubEmulator, faults } from '../../dev/emulators/github.js'
import { createGitHubClient } from '../../src/report/github-client.js'
import type { GitHubClient } from '../../src/report/github-client.js'
import type { IssueContext, IssueReport } from '../../src/report/issue-body.js'
import {
  GITHUB_BODY_LIMIT,
  renderIssueBody,
  renderIssueComment
} from '../../src/report/issue-body.js'
import {
  TrackingIssueError,
  syncTrackingIssue,
  trackingKey,
  trackingMarker
} from '../../src/report/issue.js'
import type { TrackingIssueOptions } from '../../src/report/issue.js'

const REPO = 'octo-org/edge'
const TOKEN = 'ghs_jobTokenWithIssuesWrite000000000000'
const READ_ONLY = 'ghs_jobTokenWithoutIssuesWrite00000000'
const OTHER_REPO_TOKEN = 'github_pat_11OTHERREPO0000000000_abcdefghijklmnopqrstuvwxyz'
const USER_TOKEN = 'github_pat_11OCTOADMIN000000000_abcdefghijklmnopqrstuvwxyz'
const APP_TOKEN = 'ghs_appInstallationToken0000000000000000'
const LABEL = 'cloudfront-sg-sync'
const MARKER = trackingMarker(REPO, trackingKey({ regions: ['us-east-1'], service: 'X' }))
const RUN_URL = 'https://github.com/octo-org/edge/actions/runs/42'

let github: GitHubEmulator
let clients = 0
const savedApiUrl = process.env.GITHUB_API_URL

beforeAll(async () => {
  github = await GitHubEmulator.start({
    repos: [REPO, 'octo-org/other'],
    tokens: {
      [TOKEN]: { kind: 'integration' },
      [READ_ONLY]: { kind: 'integration', access: 'read', issues: 'read' },
      [OTHER_REPO_TOKEN]: { repos: ['octo-org/other'] },
      [USER_TOKEN]: { kind: 'pat', login: 'octo-admin' },
      [APP_TOKEN]: { kind: 'integration', login: 'sg-sync-app[bot]' }
    }
  })
  // The factory reads GITHUB_API_URL when called, as on a runner (no baseUrl passed below).
  process.env.GITHUB_API_URL = github.url
})

afterAll(async () => {
  process.env.GITHUB_API_URL = savedApiUrl
  await github.close()
})

beforeEach(() => github.reset())

function client(token = TOKEN, log?: (message: string) => void): GitHubClient {
  // Back-off units of 10 ms keep retries quick; the policy is the production one.
  // A pacing key per client: no test waits for the previous test's writes.
  return createGitHubClient({
    token,
    delayUnitMs: 10,
    throttleId: `test-${++clients}`,
    ...(log ? { log } : {})
  })
}

function report(
  added: string[],
  removed: string[] = [],
  status: 'applied' | 'dry-run' = 'applied'
) {
  const r: IssueReport = {
    status,
    families: ['ipv4'],
    source: {
      url: 'https://ip-ranges.amazonaws.com/ip-ranges.json',
      syncToken: '1786615985',
      createDate: '2026-08-13-10-13-05',
      md5: '0f8e1a2b3c4d5e6f708192a3b4c5d6e7'
    },
    plan: {
      pools: [
        {
          groups: [
            {
              region: 'us-east-1',
              groupId: 'sg-0123456789abcdef0',
              groupName: 'cloudfront_g-http',
              vpcId: 'vpc-1',
              scope: 'global',
              port: 80,
              add: { ipv4: added, ipv6: [] },
              remove: { ipv4: removed.map(cidr => ({ cidr })), ipv6: [] }
            }
          ]
        }
      ]
    },
    ...(status === 'applied'
      ? {
          applied: {
            rulesAdded: added.length,
            rulesRemoved: removed.length,
            outcomes: [{ region: 'us-east-1', groupId: 'sg-0123456789abcdef0' }]
          }
        }
      : {})
  }
  return r
}

const CONTEXT: IssueContext = {
  runUrl: RUN_URL,
  event: 'repository_dispatch',
  account: '123456789012'
}

function options(
  r: IssueReport,
  overrides: Partial<TrackingIssueOptions> = {}
): TrackingIssueOptions {
  const [owner = '', repo = ''] = REPO.split('/')
  return {
    octokit: client(),
    owner,
    repo,
    label: LABEL,
    marker: MARKER,
    title: 'CloudFront security group changes',
    body: renderIssueBody(r, CONTEXT, MARKER),
    comment: renderIssueComment(r, CONTEXT),
    recheckJitterMs: 0,
    ...overrides
  }
}

/** Identity look-ups (GET /user, then GraphQL viewer for an installation token) are reads. */
const isIdentity = (r: { path: string }) => r.path === '/user' || r.path === '/graphql'
const writes = () => github.requests.filter(r => r.method !== 'GET' && !isIdentity(r))
const apiCalls = () => github.requests.filter(r => !isIdentity(r))
const LIST = { method: 'GET', path: '/repos/octo-org/edge/issues' }
/** The author of what TOKEN (an installation token, like the job's GITHUB_TOKEN) writes. */
const BOT = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' as const }

test('creates the issue on the first change, comments on it on the second', async () => {
  const first = await syncTrackingIssue(options(report(['203.0.113.0/24'])))
  expect(first).toMatchObject({ issueNumber: 1, action: 'created', closedDuplicates: [] })
  expect(first.url).toBe('https://github.com/octo-org/edge/issues/1')

  const [issue] = github.issues.openIssues(REPO)
  expect(issue?.body?.startsWith(MARKER)).toBe(true)
  expect(issue?.body).toContain('203.0.113.0/24')
  expect(issue?.body).toContain(RUN_URL)
  expect(issue?.labels.map(l => l.name)).toEqual([LABEL])
  expect(issue?.user.login).toBe('github-actions[bot]')
  // The label did not exist: GitHub creates it on the fly.
  expect(github.issues.repo(REPO).labels.get(LABEL)?.color).toBe('ededed')

  const second = await syncTrackingIssue(options(report(['198.51.100.0/24'], ['203.0.113.0/24'])))
  expect(second).toMatchObject({ issueNumber: 1, action: 'commented' })
  const comments = github.issues.commentsOn(REPO, 1)
  expect(comments).toHaveLength(1)
  expect(comments[0]?.body).toContain('+ 198.51.100.0/24')
  expect(comments[0]?.body).toContain('- 203.0.113.0/24')
  expect(comments[0]?.body).not.toContain(MARKER)
  expect(github.issues.openIssues(REPO)).toHaveLength(1)
  // Every call carried the API version header and went through GITHUB_API_URL.
  expect(github.requests.every(r => r.apiVersion === '2022-11-28')).toBe(true)
})

test('finds the marked issue on page 3, ignoring pull requests, closed and unlabelled issues', async () => {
  // A pull request carrying the label and the marker (the issues list returns pull requests too).
  github.issues.seed(REPO, {
    title: 'PR quoting the marker',
    body: MARKER,
    labels: [LABEL],
    pullRequest: true
  })
  github.issues.seed(REPO, {
    title: 'closed tracker',
    body: MARKER,
    labels: [LABEL],
    state: 'closed'
  })
  github.issues.seed(REPO, { title: 'unlabelled tracker', body: MARKER, labels: [] })
  const tracker = github.issues.seed(REPO, {
    title: 'tracker',
    body: `${MARKER}\ny`,
    labels: [LABEL, 'ops'],
    user: BOT
  })
  // A tracker of another configuration in the same repository: another key, left alone.
  github.issues.seed(REPO, {
    title: 'other config',
    body: trackingMarker(REPO, 'ffffffffffff'),
    labels: [LABEL]
  })
  for (let i = 0; i < 220; i++) {
    github.issues.seed(REPO, { title: `noise ${i}`, body: 'nothing to see', labels: [LABEL] })
  }
  // Newest first (GitHub's default sort), 100 per page: the tracker (#4) is on page 3.

  const result = await syncTrackingIssue(options(report(['203.0.113.0/24'])))
  expect(result).toMatchObject({ issueNumber: tracker.number, action: 'commented' })

  const lists = apiCalls().filter(r => r.method === 'GET')
  expect(lists.map(r => r.path)).toEqual([
    '/repos/octo-org/edge/issues',
    `/repositories/${github.issues.repo(REPO).id}/issues`,
    `/repositories/${github.issues.repo(REPO).id}/issues`
  ])
  expect(lists.map(r => new URLSearchParams(r.query).get('page'))).toEqual([null, '2', '3'])
  for (const r of lists) {
    const q = new URLSearchParams(r.query)
    expect([q.get('state'), q.get('labels'), q.get('per_page')]).toEqual(['open', LABEL, '100'])
  }
  expect(writes().map(r => `${r.method} ${r.path}`)).toEqual([
    `POST /repos/octo-org/edge/issues/${tracker.number}/comments`
  ])
})

test('two concurrent runs leave exactly one open issue', async () => {
  const [a, b] = await Promise.all([
    syncTrackingIssue(options(report(['203.0.113.0/24']), { octokit: client() })),
    syncTrackingIssue(options(report(['198.51.100.0/24']), { octokit: client() }))
  ])
  const open = github.issues.openIssues(REPO)
  expect(open).toHaveLength(1)
  expect(a.issueNumber).toBe(open[0]?.number)
  expect(b.issueNumber).toBe(open[0]?.number)
  // Both runs' changes are on the surviving issue (its body or a comment).
  const texts = [
    open[0]?.body ?? '',
    ...github.issues.commentsOn(REPO, open[0]?.number ?? 0).map(c => c.body)
  ]
  expect(texts.join('\n')).toContain('203.0.113.0/24')
  expect(texts.join('\n')).toContain('198.51.100.0/24')
})

test('a run that loses the creation race closes its own issue and comments on the winner', async () => {
  // Another run creates its issue between this run's re-check and its create.
  github.issues.beforeCreate = () => {
    github.issues.beforeCreate = undefined
    github.issues.seed(REPO, { title: 'winner', body: MARKER, labels: [LABEL], user: BOT })
  }
  const result = await syncTrackingIssue(options(report(['203.0.113.0/24'])))
  expect(result).toEqual({
    issueNumber: 1,
    action: 'commented',
    url: 'https://github.com/octo-org/edge/issues/1',
    closedDuplicates: [2]
  })
  const loser = github.issues.repo(REPO).issues.find(i => i.number === 2)
  expect(loser).toMatchObject({ state: 'closed', state_reason: 'not_planned' })
  expect(github.issues.commentsOn(REPO, 2)[0]?.body).toMatch(/duplicate of #1/)
  expect(github.issues.commentsOn(REPO, 1)[0]?.body).toContain('203.0.113.0/24')
})

test('a leftover duplicate is closed by the next run, which keeps the oldest', async () => {
  github.issues.seed(REPO, { title: 'tracker', body: MARKER, labels: [LABEL], user: BOT })
  github.issues.seed(REPO, { title: 'tracker (dup)', body: MARKER, labels: [LABEL], user: BOT })
  const result = await syncTrackingIssue(options(report(['203.0.113.0/24'])))
  expect(result).toMatchObject({ issueNumber: 1, action: 'commented', closedDuplicates: [2] })
  expect(github.issues.openIssues(REPO).map(i => i.number)).toEqual([1])
})

test('labels dropped on creation are added, so the next run finds the issue', async () => {
  github.issues.dropLabelsOnCreate = true
  const first = await syncTrackingIssue(options(report(['203.0.113.0/24'])))
  expect(first.action).toBe('created')
  expect(github.requests.map(r => `${r.method} ${r.path}`)).toContain(
    'POST /repos/octo-org/edge/issues/1/labels'
  )
  const second = await syncTrackingIssue(options(report(['198.51.100.0/24'])))
  expect(second).toMatchObject({ issueNumber: 1, action: 'commented' })
})

test('a token without issues: write gets a message naming the permission, without retries', async () => {
  const run = syncTrackingIssue(options(report(['203.0.113.0/24']), { octokit: client(READ_ONLY) }))
  await expect(run).rejects.toThrow(TrackingIssueError)
  const error = (await run.catch((e: unknown) => e)) as TrackingIssueError
  expect(error.status).toBe(403)
  expect(error.message).toContain('Could not create an issue in octo-org/edge')
  expect(error.message).toContain('Resource not accessible by integration')
  expect(error.message).toContain("'issues: write'")
  expect(error.message).toMatch(
    /permissions:\n\s+contents: read\n\s+id-token: write\n\s+issues: write/
  )
  // Listing is allowed, creating is refused once and never retried.
  expect(apiCalls().map(r => `${r.method} ${r.status}`)).toEqual(['GET 200', 'GET 200', 'POST 403'])
  expect(github.issues.openIssues(REPO)).toHaveLength(0)
})

test('a token that cannot see the repository (404) gets the same hint', async () => {
  const run = syncTrackingIssue(
    options(report(['203.0.113.0/24']), { octokit: client(OTHER_REPO_TOKEN) })
  )
  await expect(run).rejects.toThrow(/GitHub answered 404.*issues: write.*404 instead of 403/s)
  expect(apiCalls()).toHaveLength(1)
})

test('a bad token (401) points at the github-token input', async () => {
  const run = syncTrackingIssue(
    options(report(['203.0.113.0/24']), { octokit: client('ghs_nope') })
  )
  await expect(run).rejects.toThrow(/401.*'github-token'/s)
  expect(github.requests).toHaveLength(1)
})

test('issues disabled in the repository (410) says so', async () => {
  github.issues.repo(REPO).issuesEnabled = false
  await expect(syncTrackingIssue(options(report(['203.0.113.0/24'])))).rejects.toThrow(
    /410.*Issues are disabled.*create-issue: false/s
  )
})

test('a 500 is retried, then the run goes on', async () => {
  const log = jest.fn<(message: string) => void>()
  github.enqueue(
    { ...faults.serverError(500), match: LIST },
    { ...faults.serverError(502), match: { method: 'POST', path: '/repos/octo-org/edge/issues' } }
  )
  const result = await syncTrackingIssue(
    options(report(['203.0.113.0/24']), { octokit: client(TOKEN, log) })
  )
  expect(result.action).toBe('created')
  expect(apiCalls().map(r => `${r.method} ${r.status}`)).toEqual([
    'GET 500',
    'GET 200',
    'GET 200',
    'POST 502',
    'POST 201',
    'GET 200'
  ])
  expect(github.issues.openIssues(REPO)).toHaveLength(1)
})

test('a secondary rate limit (403 + Retry-After) is waited out and retried', async () => {
  const log = jest.fn<(message: string) => void>()
  github.enqueue(
    { ...faults.secondaryRateLimit(1), match: LIST },
    { ...faults.rateLimited(1, 429), match: LIST }
  )
  const result = await syncTrackingIssue(
    options(report(['203.0.113.0/24']), { octokit: client(TOKEN, log) })
  )
  expect(result.action).toBe('created')
  expect(
    apiCalls()
      .slice(0, 3)
      .map(r => r.status)
  ).toEqual([403, 429, 200])
  expect(log.mock.calls.map(c => c[0]).join('\n')).toMatch(/secondary rate limit.*retrying/)
})

test('a rate limit too long to wait fails with a clear message', async () => {
  github.enqueue({ ...faults.primaryRateLimit(3600), match: LIST })
  await expect(syncTrackingIssue(options(report(['203.0.113.0/24'])))).rejects.toThrow(
    /403.*rate-limited/s
  )
  expect(apiCalls()).toHaveLength(1)
})

test('a huge change stays within the body limit and points at the run summary', async () => {
  const many = (prefix: number) =>
    Array.from({ length: 6000 }, (_, i) => `${prefix}.${(i >> 8) & 255}.${i & 255}.0/24`)
  const huge = report(many(10), many(11))
  const first = await syncTrackingIssue(options(huge))
  expect(first.action).toBe('created')
  const second = await syncTrackingIssue(options(huge))
  expect(second.action).toBe('commented')

  const body = github.issues.openIssues(REPO)[0]?.body ?? ''
  const comment = github.issues.commentsOn(REPO, 1)[0]?.body ?? ''
  for (const text of [body, comment]) {
    expect(text.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT)
    expect(text.length).toBeGreaterThan(GITHUB_BODY_LIMIT * 0.9)
    expect(text).toContain(`[run's job summary and plan file](${RUN_URL})`)
    expect(text).toMatch(/# … and \d+ more/)
    expect(text).toContain('+ 10.0.0.0/24')
  }
  expect(body.startsWith(MARKER)).toBe(true)
})

describe('ownership: only issues the github-token authored are the tracking issue', () => {
  const MALLORY = { login: 'mallory', id: 666, type: 'User' as const }

  test('a labelled issue with the marker opened by someone else is neither adopted nor closed', async () => {
    // The attacker's copy is older (lower number): before the fix it was adopted and the genuine
    // issue was closed as its duplicate.
    const forged = github.issues.seed(REPO, {
      title: 'CloudFront security group changes (X)',
      body: `${MARKER}\n\nRotate your AWS keys at https://evil.example/login`,
      labels: [LABEL],
      user: MALLORY
    })
    const genuine = github.issues.seed(REPO, {
      title: 'CloudFront security group changes (X)',
      body: `${MARKER}\n\nfirst run`,
      labels: [LABEL],
      user: BOT
    })
    const log = jest.fn<(message: string) => void>()
    const result = await syncTrackingIssue(options(report(['203.0.113.0/24']), { log }))

    expect(result).toMatchObject({
      issueNumber: genuine.number,
      action: 'commented',
      closedDuplicates: []
    })
    expect(github.issues.openIssues(REPO).map(i => i.number)).toEqual([
      forged.number,
      genuine.number
    ])
    expect(github.issues.commentsOn(REPO, forged.number)).toEqual([])
    expect(github.issues.commentsOn(REPO, genuine.number)[0]?.body).toContain('203.0.113.0/24')
    expect(writes().map(r => `${r.method} ${r.path}`)).toEqual([
      `POST /repos/octo-org/edge/issues/${genuine.number}/comments`
    ])
    expect(log.mock.calls.map(c => c[0]).join('\n')).toContain(
      `Ignoring issue #${forged.number}: it carries the tracking label and marker but was opened by mallory`
    )
  })

  test('with only a foreign marked issue, the run opens its own and leaves the other alone', async () => {
    const forged = github.issues.seed(REPO, {
      title: 'tracker',
      body: MARKER,
      labels: [LABEL],
      user: MALLORY
    })
    const result = await syncTrackingIssue(options(report(['203.0.113.0/24'])))
    expect(result).toMatchObject({ action: 'created', closedDuplicates: [] })
    expect(result.issueNumber).not.toBe(forged.number)
    const created = github.issues.openIssues(REPO).find(i => i.number === result.issueNumber)
    expect(created?.user.login).toBe('github-actions[bot]')
    expect(created?.body?.startsWith(MARKER)).toBe(true)
    expect(github.issues.openIssues(REPO).map(i => i.number)).toContain(forged.number)
    expect(writes().some(r => r.path.includes(`/issues/${forged.number}`))).toBe(false)
  })

  test('an issue whose body does not open with the marker is not adopted, even from the bot', async () => {
    const quoted = github.issues.seed(REPO, {
      title: 'quoting the marker',
      body: `Why does this issue contain\n${MARKER}\n?`,
      labels: [LABEL],
      user: BOT
    })
    const result = await syncTrackingIssue(options(report(['203.0.113.0/24'])))
    expect(result.action).toBe('created')
    expect(result.issueNumber).not.toBe(quoted.number)
    expect(github.issues.commentsOn(REPO, quoted.number)).toEqual([])
    expect(github.issues.openIssues(REPO)).toHaveLength(2)
  })

  test('a personal access token adopts its own account’s issue, found with GET /user', async () => {
    github.issues.seed(REPO, { title: 'bot copy', body: MARKER, labels: [LABEL], user: BOT })
    const own = github.issues.seed(REPO, {
      title: 'tracker',
      body: MARKER,
      labels: [LABEL],
      user: { login: 'octo-admin', id: 1, type: 'User' }
    })
    const result = await syncTrackingIssue(
      options(report(['203.0.113.0/24']), { octokit: client(USER_TOKEN) })
    )
    expect(result).toMatchObject({ issueNumber: own.number, closedDuplicates: [] })
    expect(github.issues.openIssues(REPO)).toHaveLength(2)
    expect(
      github.requests.filter(isIdentity).map(r => `${r.method} ${r.path} ${r.status}`)
    ).toEqual(['GET /user 200'])
  })

  test('a GitHub App token is its bot (GraphQL viewer after GET /user’s 403), not github-actions[bot]', async () => {
    github.issues.seed(REPO, { title: 'actions copy', body: MARKER, labels: [LABEL], user: BOT })
    const own = github.issues.seed(REPO, {
      title: 'tracker',
      body: MARKER,
      labels: [LABEL],
      user: { login: 'sg-sync-app[bot]', id: 2, type: 'Bot' }
    })
    const result = await syncTrackingIssue(
      options(report(['203.0.113.0/24']), { octokit: client(APP_TOKEN) })
    )
    expect(result).toMatchObject({ issueNumber: own.number, closedDuplicates: [] })
    expect(github.issues.openIssues(REPO)).toHaveLength(2)
    expect(
      github.requests.filter(isIdentity).map(r => `${r.method} ${r.path} ${r.status}`)
    ).toEqual(['GET /user 403', 'POST /graphql 200'])
  })

  test('without GraphQL, an installation token is taken as github-actions[bot]', async () => {
    github.enqueue({ match: { method: 'POST', path: '/graphql' }, status: 502, body: {} })
    github.enqueue({ match: { method: 'POST', path: '/graphql' }, status: 502, body: {} })
    github.enqueue({ match: { method: 'POST', path: '/graphql' }, status: 502, body: {} })
    github.enqueue({ match: { method: 'POST', path: '/graphql' }, status: 502, body: {} })
    const own = github.issues.seed(REPO, { title: 't', body: MARKER, labels: [LABEL], user: BOT })
    const result = await syncTrackingIssue(options(report(['203.0.113.0/24'])))
    expect(result).toMatchObject({ issueNumber: own.number, action: 'commented' })
    expect(github.requests.filter(isIdentity).map(r => r.status)).toEqual([403, 502, 502, 502, 502])
  })
})
