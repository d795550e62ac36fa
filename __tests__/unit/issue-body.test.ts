import { ConfigError } from '../../src/config.js'
import type { IssueReport } from '../../src/report/issue-body.js'
import {
  GITHUB_BODY_LIMIT,
  hasChanges,
  renderIssueBody,
  renderIssueComment,
  runUrlFrom
} from '../../src/report/issue-body.js'
import { parseIssueLabel, trackingKey, trackingMarker } from '../../src/report/issue.js'

const TIME = new Date('2026-08-13T10:20:00Z')
const RUN = 'https://github.com/octo-org/edge/actions/runs/42'

function report(
  status: IssueReport['status'],
  add: string[],
  remove: string[] = [],
  extra: Partial<IssueReport> = {}
): IssueReport {
  return {
    status,
    families: ['ipv4', 'ipv6'],
    plan: {
      pools: [
        {
          groups: [
            {
              region: 'eu-west-1',
              groupId: 'sg-1',
              groupName: 'cf `g` @octo-org/team | x',
              vpcId: 'vpc-1',
              scope: 'global',
              port: 443,
              add: { ipv4: add, ipv6: [] },
              remove: { ipv4: remove.map(cidr => ({ cidr })), ipv6: [] }
            },
            {
              region: 'eu-west-1',
              groupId: 'sg-2',
              groupName: '',
              vpcId: 'vpc-1',
              scope: 'global',
              port: 443,
              add: { ipv4: [], ipv6: [] },
              remove: { ipv4: [], ipv6: [] }
            }
          ]
        }
      ]
    },
    ...extra
  }
}

const applied = (added: number, removed: number, error?: string): IssueReport['applied'] => ({
  rulesAdded: added,
  rulesRemoved: removed,
  outcomes: [{ region: 'eu-west-1', groupId: 'sg-1', ...(error ? { error } : {}) }]
})

describe('hasChanges', () => {
  test.each<[string, IssueReport, boolean]>([
    [
      'applied with changes',
      report('applied', ['10.0.0.0/24'], [], { applied: applied(1, 0) }),
      true
    ],
    ['dry run with pending changes', report('dry-run', ['10.0.0.0/24']), true],
    ['dry run without changes', report('dry-run', []), false],
    ['no change', report('no-change', []), false],
    ['refused', report('refused', ['10.0.0.0/24']), false],
    ['failed before applying', report('failed', ['10.0.0.0/24']), false],
    [
      'failed after a partial apply',
      report('failed', ['10.0.0.0/24'], [], { applied: applied(1, 0, 'x') }),
      true
    ]
  ])('%s', (_name, r, expected) => {
    expect(hasChanges(r)).toBe(expected)
  })
})

describe('runUrlFrom', () => {
  test.each<[Record<string, string>, string | undefined]>([
    [
      { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '7' },
      'https://github.com/o/r/actions/runs/7'
    ],
    [
      { GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '7', GITHUB_RUN_ATTEMPT: '1' },
      'https://github.com/o/r/actions/runs/7'
    ],
    [
      {
        GITHUB_SERVER_URL: 'https://ghe.example/',
        GITHUB_REPOSITORY: 'o/r',
        GITHUB_RUN_ID: '7',
        GITHUB_RUN_ATTEMPT: '2'
      },
      'https://ghe.example/o/r/actions/runs/7/attempts/2'
    ],
    [{ GITHUB_REPOSITORY: 'o/r' }, undefined]
  ])('%j', (env, expected) => {
    expect(runUrlFrom(env)).toBe(expected)
  })
})

describe('renderIssueComment', () => {
  const context = { runUrl: RUN, event: 'schedule', account: '123456789012', time: TIME }

  test('an applied change: headline, facts, one row per changed group and family, diff list', () => {
    const text = renderIssueComment(
      report('applied', ['10.0.0.0/24', '10.0.1.0/24'], ['10.9.0.0/24'], {
        applied: applied(2, 1),
        source: {
          url: 'https://ip-ranges.amazonaws.com/ip-ranges.json',
          syncToken: '1786615985',
          createDate: '2026-08-13-10-13-05',
          md5: 'ab'.repeat(16)
        }
      }),
      { ...context, notification: { syncToken: '1786615985', md5: 'ab'.repeat(16) } }
    )
    expect(text).toContain('### ✅ Applied: +2 / −1 rules in 1 group(s)')
    expect(text).toContain(`- **Run:** [workflow run](${RUN}) · schedule · 2026-08-13T10:20:00Z`)
    expect(text).toContain('- **Ranges:** syncToken `1786615985` (2026-08-13-10-13-05)')
    expect(text).toContain('- **Notification:** syncToken `1786615985`, MD5 `abab')
    expect(text).toContain(
      '| `sg-1` ``cf `g` @octo-org/team \\| x`` | eu-west-1 · vpc-1 · global tcp/443 | ipv4 | +2 | −1 | ✅ applied |'
    )
    expect(text).toContain('- **Account:** `123456789012`')
    expect(text).not.toContain('sg-2') // unchanged group
    expect(text).toContain('```diff\n+ 10.0.0.0/24\n+ 10.0.1.0/24\n- 10.9.0.0/24\n```')
    expect(text).not.toContain('shortened')
  })

  test('a dry run says pending and nothing changed', () => {
    const text = renderIssueComment(report('dry-run', ['10.0.0.0/24']), context)
    expect(text).toContain(
      '### 🧪 Dry run: +1 / −0 rules in 1 group(s) pending (nothing was changed)'
    )
    expect(text).toContain('| pending |')
  })

  test('a group that failed shows its error, escaped', () => {
    const text = renderIssueComment(
      report('failed', ['10.0.0.0/24'], [], {
        applied: applied(0, 0, 'Access | denied\nfor @someone')
      }),
      context
    )
    expect(text).toContain('❌ Access \\| denied for \\@\u200dsomeone')
    expect(text).toContain('### ❌ Partly applied')
  })

  test.each([500, 2000, 8000])('a budget of %d characters is respected, with a pointer', budget => {
    const many = Array.from({ length: 3000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`)
    const text = renderIssueComment(report('dry-run', many, many), context, { budget })
    expect(text.length).toBeLessThanOrEqual(budget)
    expect(text).toContain(RUN)
  })

  test('never more than GitHub accepts, whatever the budget asked', () => {
    const many = Array.from({ length: 20000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`)
    const text = renderIssueComment(report('dry-run', many), context, { budget: 10 ** 7 })
    expect(text.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT)
    expect(text).toMatch(/# … and \d+ more/)
  })
})

describe('renderIssueBody', () => {
  test('starts with the marker and explains the issue', () => {
    const marker = trackingMarker('Octo-Org/Edge', 'abc')
    const text = renderIssueBody(report('dry-run', ['10.0.0.0/24']), { time: TIME }, marker)
    expect(
      text.startsWith('<!-- cloudfront-sg-sync:tracking repo=octo-org/edge key=abc -->\n')
    ).toBe(true)
    expect(text).toContain('Keep it open')
    expect(text).toContain('local run')
  })
})

describe('trackingKey and trackingMarker', () => {
  test('the key ignores list order and separates configurations', () => {
    const a = trackingKey({ regions: ['us-east-1', 'eu-west-1'], service: 'CLOUDFRONT' })
    expect(trackingKey({ service: 'CLOUDFRONT', regions: ['eu-west-1', 'us-east-1'] })).toBe(a)
    expect(trackingKey({ regions: ['us-east-1'], service: 'CLOUDFRONT' })).not.toBe(a)
    expect(a).toMatch(/^[0-9a-f]{12}$/)
  })

  test('the marker cannot close the HTML comment early', () => {
    expect(trackingMarker('o/r', 'x --> <b>')).toBe(
      '<!-- cloudfront-sg-sync:tracking repo=o/r key=x_-___b_ -->'
    )
  })
})

describe('parseIssueLabel', () => {
  test.each([
    ['', 'cloudfront-sg-sync'],
    [' ops ', 'ops'],
    ['x'.repeat(50), 'x'.repeat(50)]
  ])('%j -> %j', (value, expected) => {
    expect(parseIssueLabel(value)).toBe(expected)
  })

  test.each(['x'.repeat(51), 'a,b'])('%j is refused', value => {
    expect(() => parseIssueLabel(value)).toThrow(ConfigError)
    expect(() => parseIssueLabel(value)).toThrow(/Input 'issue-label'/)
  })
})
