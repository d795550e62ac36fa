import { ConfigError, parseConfig, splitList } from '../../src/config.js'
import type { TriggerContext } from '../../src/trigger.js'

const reader =
  (inputs: Record<string, string>) =>
  (name: string): string =>
    inputs[name] ?? ''

const parse = (
  inputs: Record<string, string>,
  env: Record<string, string> = { AWS_REGION: 'us-east-1' },
  trigger: TriggerContext = {}
) => parseConfig(reader(inputs), env, trigger, new Date('2026-08-14T00:00:00Z'))

describe('parseConfig defaults', () => {
  test('every input has the documented default', () => {
    const config = parse({})
    expect(config).toEqual({
      regions: ['us-east-1'],
      service: 'CLOUDFRONT_ORIGIN_FACING',
      families: ['ipv4'],
      ipRangesUrl: 'https://ip-ranges.amazonaws.com/ip-ranges.json',
      notification: {},
      globalNameTag: 'cloudfront_g',
      regionalNameTag: 'cloudfront_r',
      autoUpdateTag: 'AutoUpdate',
      protocolPorts: new Map([
        ['http', 80],
        ['https', 443]
      ]),
      maxRulesPerGroup: 'auto',
      mergeAdjacent: true,
      ruleDescription: 'cloudfront-sg-sync',
      maxRemovalsPercent: 25,
      maxGrowthPercent: 100,
      dryRun: false,
      mode: 'sync',
      maxStalenessSeconds: 86400,
      failOnExposure: false,
      growPools: false,
      identity: {
        roles: [],
        roleSessionName: 'cloudfront-sg-sync',
        roleDurationSeconds: 900,
        audience: 'sts.amazonaws.com'
      },
      event: 'none',
      tracking: { createIssue: false, issueLabel: 'cloudfront-sg-sync', githubToken: '' }
    })
  })

  test('grow-pools is a boolean, off by default', () => {
    expect(parse({}).growPools).toBe(false)
    expect(parse({ 'grow-pools': 'true' }).growPools).toBe(true)
    expect(() => parse({ 'grow-pools': 'maybe' })).toThrow(
      "Input 'grow-pools' has an invalid value 'maybe'"
    )
  })

  test('fail-on-exposure is a boolean', () => {
    expect(parse({ 'fail-on-exposure': 'true' }).failOnExposure).toBe(true)
    expect(() => parse({ 'fail-on-exposure': 'yes' })).toThrow(
      "Input 'fail-on-exposure' has an invalid value 'yes'"
    )
  })

  test('max-rules-per-group takes auto or a number', () => {
    expect(parse({ 'max-rules-per-group': 'AUTO' }).maxRulesPerGroup).toBe('auto')
    expect(parse({ 'max-rules-per-group': '200' }).maxRulesPerGroup).toBe(200)
  })

  test('regions fall back to AWS_DEFAULT_REGION, and a list is split, trimmed and deduplicated', () => {
    expect(parse({}, { AWS_DEFAULT_REGION: 'eu-west-1' }).regions).toEqual(['eu-west-1'])
    expect(parse({ regions: ' us-east-1,\neu-west-1\n\nus-east-1 ' }).regions).toEqual([
      'us-east-1',
      'eu-west-1'
    ])
  })

  test('families are normalised to a canonical order', () => {
    expect(parse({ 'ip-families': 'IPv6, ipv4' }).families).toEqual(['ipv4', 'ipv6'])
  })

  test('loopback http is accepted for tests and demos', () => {
    expect(parse({ 'ip-ranges-url': 'http://127.0.0.1:8080/ip.json' }).ipRangesUrl).toBe(
      'http://127.0.0.1:8080/ip.json'
    )
  })

  test('the repository_dispatch payload supplies md5 and synctoken; the input wins for md5', () => {
    const trigger: TriggerContext = {
      eventName: 'repository_dispatch',
      payload: {
        action: 'aws-ip-ranges-changed',
        client_payload: { md5: 'A'.repeat(32), synctoken: '1784738825' }
      }
    }
    expect(parse({}, undefined, trigger).notification).toEqual({
      md5: 'a'.repeat(32),
      syncToken: '1784738825'
    })
    expect(parse({ 'expected-md5': 'b'.repeat(32) }, undefined, trigger).notification.md5).toBe(
      'b'.repeat(32)
    )
  })

  test('a repository_dispatch of another type is a skip, with the reason', () => {
    const trigger = { eventName: 'repository_dispatch', payload: { action: 'deploy' } }
    const config = parse({}, undefined, trigger)
    expect(config.skipReason).toContain('"deploy" is not one of dispatch-event-types')
    expect(config.event).toBe('repository_dispatch')
  })

  test('a payload on another event is ignored', () => {
    const trigger = { eventName: 'push', payload: { client_payload: { md5: 'nope' } } }
    expect(parse({}, undefined, trigger).notification).toEqual({})
  })

  test('the tracking issue needs a token', () => {
    expect(() => parse({ 'create-issue': 'true' })).toThrow(/'github-token' is empty/)
    expect(parse({ 'create-issue': 'true', 'github-token': 't' }).tracking).toEqual({
      createIssue: true,
      issueLabel: 'cloudfront-sg-sync',
      githubToken: 't'
    })
  })

  test('splitList handles commas and newlines', () => {
    expect(splitList('a, b\nc,,\n')).toEqual(['a', 'b', 'c'])
  })
})

describe('parseConfig errors name the input, the value and the expected form', () => {
  test.each([
    [{ regions: 'us-east-1,Mars' }, "Input 'regions' has an invalid value 'Mars'"],
    [{ service: 'cloudfront;rm' }, "Input 'service' has an invalid value 'cloudfront;rm'"],
    [{ 'ip-families': 'ipv5' }, "Input 'ip-families' has an invalid value 'ipv5'"],
    [{ 'ip-families': ',' }, "Input 'ip-families' has an invalid value ','"],
    [{ 'ip-ranges-url': 'not a url' }, "Input 'ip-ranges-url' has an invalid value 'not a url'"],
    [{ 'ip-ranges-url': 'http://example.com/x.json' }, 'an https URL'],
    [{ 'ip-ranges-url': 'ftp://127.0.0.1/x.json' }, 'an https URL'],
    [{ 'ip-ranges-url': 'https://u:p@example.com/x.json' }, 'without embedded credentials'],
    [{ 'expected-md5': 'abc' }, "Input 'expected-md5' has an invalid value 'abc'"],
    [{ 'global-name-tag': 'x'.repeat(257) }, "Input 'global-name-tag'"],
    [{ 'global-name-tag': 'same', 'regional-name-tag': 'same' }, 'both'],
    [{ 'auto-update-tag': 'aws:managed' }, "Input 'auto-update-tag' has an invalid value"],
    [{ 'protocol-ports': 'http' }, "Input 'protocol-ports' has an invalid value 'http'"],
    [{ 'protocol-ports': 'http=0' }, "Input 'protocol-ports' has an invalid value 'http=0'"],
    [{ 'protocol-ports': 'http=65536' }, "'http=65536'"],
    [{ 'protocol-ports': 'http=80,http=8080' }, 'each name once'],
    [{ 'max-rules-per-group': '0' }, "Input 'max-rules-per-group' has an invalid value '0'"],
    [{ 'max-rules-per-group': '1001' }, 'a whole number from 1 to 1000'],
    [{ 'max-rules-per-group': '6O' }, "'6O'"],
    [{ 'max-rules-per-group': 'automatic' }, "'auto' (the account's quota L-0EA8095F)"],
    [{ 'create-issue': 'sure' }, "Input 'create-issue' has an invalid value 'sure'"],
    [{ 'issue-label': 'a,b' }, "Input 'issue-label' has an invalid value 'a,b'"],
    [{ 'role-to-assume': 'arn:aws:iam::1:user/x' }, "Input 'role-to-assume'"],
    [{ 'role-duration-seconds': '60' }, "Input 'role-duration-seconds'"],
    [{ 'merge-adjacent': 'yes' }, "Input 'merge-adjacent' has an invalid value 'yes'"],
    [{ 'rule-description': 'bad<char>' }, "Input 'rule-description' has an invalid value"],
    [{ 'rule-description': 'x'.repeat(256) }, 'at most 255 characters'],
    [{ 'max-removals-percent': '101' }, "Input 'max-removals-percent' has an invalid value '101'"],
    [{ 'max-removals-percent': '-1' }, "'-1'"],
    [{ 'max-growth-percent': '-5' }, "Input 'max-growth-percent' has an invalid value '-5'"],
    [{ 'max-growth-percent': 'lots' }, 'a percentage of at least 0'],
    [{ 'dry-run': 'maybe' }, "Input 'dry-run' has an invalid value 'maybe'"]
  ])('%j', (inputs, message) => {
    expect(() => parse(inputs)).toThrow(ConfigError)
    expect(() => parse(inputs)).toThrow(message)
  })

  test('max-growth-percent takes a large value for one run (issue 15)', () => {
    expect(parse({ 'max-growth-percent': '1500' }).maxGrowthPercent).toBe(1500)
    expect(parse({ 'max-growth-percent': '0' }).maxGrowthPercent).toBe(0)
  })

  test('no region anywhere says where to set one', () => {
    expect(() => parse({}, {})).toThrow(/set input 'regions'.*AWS_REGION/s)
  })

  test.each([
    [{ md5: 'zz' }, "'md5'"],
    [{ synctoken: 17 }, "'synctoken'"],
    [{ synctoken: '17a' }, "'synctoken'"],
    [{ url: 'https://evil.example/ip-ranges.json' }, "'url'"]
  ])('a bad dispatch payload %j is rejected', (payload, message) => {
    const trigger = {
      eventName: 'repository_dispatch',
      payload: { action: 'aws-ip-ranges-changed', client_payload: payload }
    }
    expect(() => parse({}, undefined, trigger)).toThrow(ConfigError)
    expect(() => parse({}, undefined, trigger)).toThrow(message)
  })

  test('a client_payload that is not an object is rejected', () => {
    const trigger = {
      eventName: 'repository_dispatch',
      payload: { action: 'aws-ip-ranges-changed', client_payload: 'x' }
    }
    expect(() => parse({}, undefined, trigger)).toThrow(ConfigError)
  })
})
