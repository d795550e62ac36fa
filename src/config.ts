// Every input and the trigger payload, parsed once into one typed Config. Pure: the caller hands
// in how to read an input, the environment and the event, so every rule here is unit-testable and
// nothing reaches AWS or GitHub before the whole configuration is known to be valid.
import type { IdentityConfig } from './aws/identity.js'
import { parseDuration } from './duration.js'
import { ConfigError, splitList } from './input.js'
import { parseIdentityInputs } from './aws/identity.js'
import { MAX_RULES_PER_GROUP } from './aws/quotas.js'
import { isLoopbackHostname } from './ranges/fetch.js'
import { parseIssueLabel } from './report/issue.js'
import type { TriggerContext } from './trigger.js'
import { parseDispatchEventTypes, parseTrigger } from './trigger.js'
import type { IpFamily, Notification } from './types.js'
import { IP_FAMILIES } from './types.js'

export interface Config {
  regions: string[]
  service: string
  families: IpFamily[]
  ipRangesUrl: string
  notification: Notification
  globalNameTag: string
  regionalNameTag: string
  autoUpdateTag: string
  /** `Protocol` tag value -> TCP port, in input order. */
  protocolPorts: Map<string, number>
  /** Rule capacity per group and family; 'auto' reads quota L-0EA8095F per account and region. */
  maxRulesPerGroup: number | 'auto'
  mergeAdjacent: boolean
  ruleDescription: string
  maxRemovalsPercent: number
  /** How much more address space a pool may allow after a run, in percent of today's. */
  maxGrowthPercent: number
  dryRun: boolean
  /** `sync` changes the groups; `check` only reads, plans and fails when they lag (src/check.ts). */
  mode: Mode
  /** check mode: how far the groups may lag the published document before the check fails. */
  maxStalenessSeconds: number
  /** Fail the run (after the sync) when the exposure audit finds a partial pool or wider exposure. */
  failOnExposure: boolean
  /** Create groups for pools that lack rule slots instead of refusing (src/grow). */
  growPools: boolean
  identity: IdentityConfig
  /** The triggering event, and why the run does nothing when it should not act on it. */
  event: string
  skipReason?: string
  tracking: TrackingConfig
}

export interface TrackingConfig {
  createIssue: boolean
  issueLabel: string
  /** Masked by the caller as soon as the config is parsed. */
  githubToken: string
}

export type Mode = 'sync' | 'check'

export { ConfigError, splitList }

export type InputReader = (name: string) => string

export const DEFAULT_IP_RANGES_URL = 'https://ip-ranges.amazonaws.com/ip-ranges.json'

// Characters EC2 accepts in a rule description (EC2 API reference, IpRange.Description).
const RULE_DESCRIPTION = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/
const SERVICE = /^[A-Z0-9_]{1,64}$/
const MD5 = /^[0-9a-f]{32}$/
// EC2 tag limits: keys up to 128 characters, values up to 256, and the aws: prefix is reserved.
const TAG_KEY_MAX = 128
const TAG_VALUE_MAX = 256

export function parseConfig(
  read: InputReader,
  env: Record<string, string | undefined>,
  trigger: TriggerContext,
  /** The run's clock, for the plausibility of a dispatched synctoken. */
  now: Date
): Config {
  const input = (name: string): string => read(name).trim()

  const ipRangesUrl = parseUrl('ip-ranges-url', input('ip-ranges-url') || DEFAULT_IP_RANGES_URL)
  const decision = parseTrigger(trigger, {
    dispatchEventTypes: parseDispatchEventTypes(input('dispatch-event-types')),
    ipRangesUrl,
    now
  })
  const notification: Notification = decision.kind === 'run' ? decision.notification : {}
  const expectedMd5 = input('expected-md5').toLowerCase()
  if (expectedMd5 !== '') {
    if (!MD5.test(expectedMd5)) {
      throw invalid('expected-md5', expectedMd5, 'an MD5 digest: 32 hexadecimal characters')
    }
    notification.md5 = expectedMd5
  }

  const globalNameTag = tagValue('global-name-tag', input('global-name-tag') || 'cloudfront_g')
  const regionalNameTag = tagValue(
    'regional-name-tag',
    input('regional-name-tag') || 'cloudfront_r'
  )
  if (globalNameTag === regionalNameTag) {
    throw new ConfigError(
      `Inputs 'global-name-tag' and 'regional-name-tag' are both '${globalNameTag}': a group's ` +
        'Name tag must say which range set it receives, so give them different values.'
    )
  }

  return {
    regions: parseRegions(input('regions'), env),
    service: parseService(input('service') || 'CLOUDFRONT_ORIGIN_FACING'),
    families: parseFamilies(input('ip-families') || 'ipv4'),
    ipRangesUrl,
    notification,
    globalNameTag,
    regionalNameTag,
    autoUpdateTag: tagKey('auto-update-tag', input('auto-update-tag') || 'AutoUpdate'),
    protocolPorts: parseProtocolPorts(input('protocol-ports') || 'http=80,https=443'),
    maxRulesPerGroup: parseRuleCapacity(input('max-rules-per-group') || 'auto'),
    mergeAdjacent: parseBoolean('merge-adjacent', input('merge-adjacent') || 'true'),
    ruleDescription: parseRuleDescription(input('rule-description') || 'cloudfront-sg-sync'),
    maxRemovalsPercent: parsePercent(input('max-removals-percent') || '25'),
    maxGrowthPercent: parseGrowthPercent(input('max-growth-percent') || '100'),
    dryRun: parseBoolean('dry-run', input('dry-run') || 'false'),
    mode: parseMode(input('mode') || 'sync'),
    maxStalenessSeconds: parseDuration('max-staleness', input('max-staleness') || '24h'),
    failOnExposure: parseBoolean('fail-on-exposure', input('fail-on-exposure') || 'false'),
    growPools: parseBoolean('grow-pools', input('grow-pools') || 'false'),
    identity: parseIdentityInputs(read),
    event: decision.event,
    ...(decision.kind === 'skip' ? { skipReason: decision.reason } : {}),
    tracking: parseTracking(input)
  }
}

function parseTracking(input: (name: string) => string): TrackingConfig {
  const createIssue = parseBoolean('create-issue', input('create-issue') || 'false')
  const githubToken = input('github-token')
  if (createIssue && githubToken === '') {
    throw new ConfigError(
      "Input 'create-issue' is true but 'github-token' is empty: pass a token with issues: write " +
        '(the default ${{ github.token }} works when the job has `permissions: issues: write`).'
    )
  }
  return { createIssue, issueLabel: parseIssueLabel(input('issue-label')), githubToken }
}

function parseMode(value: string): Mode {
  if (value === 'sync' || value === 'check') return value
  throw invalid(
    'mode',
    value,
    "'sync' (change the groups) or 'check' (only report whether they lag)"
  )
}

function invalid(inputName: string, value: string, expected: string): ConfigError {
  return new ConfigError(
    `Input '${inputName}' has an invalid value '${value}': expected ${expected}.`
  )
}

function parseRegions(value: string, env: Record<string, string | undefined>): string[] {
  const source = value || env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || ''
  if (source === '') {
    throw new ConfigError(
      "No region to sync: set input 'regions' (for example 'us-east-1, eu-west-1'), or the " +
        'AWS_REGION environment variable (aws-actions/configure-aws-credentials sets it).'
    )
  }
  const regions = [...new Set(splitList(source))]
  for (const region of regions) {
    if (!REGION.test(region)) {
      throw invalid(
        'regions',
        region,
        "AWS region codes such as 'us-east-1', comma or newline separated"
      )
    }
  }
  return regions
}

function parseService(value: string): string {
  if (!SERVICE.test(value)) {
    throw invalid(
      'service',
      value,
      "a service code from ip-ranges.json such as 'CLOUDFRONT_ORIGIN_FACING' or 'CLOUDFRONT'"
    )
  }
  return value
}

function parseFamilies(value: string): IpFamily[] {
  const families = new Set<IpFamily>()
  for (const item of splitList(value)) {
    const family = item.toLowerCase()
    if (!(IP_FAMILIES as readonly string[]).includes(family)) {
      throw invalid('ip-families', value, "'ipv4', 'ipv6' or 'ipv4,ipv6'")
    }
    families.add(family as IpFamily)
  }
  if (families.size === 0) throw invalid('ip-families', value, "'ipv4', 'ipv6' or 'ipv4,ipv6'")
  return IP_FAMILIES.filter(family => families.has(family))
}

function parseUrl(inputName: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalid(inputName, value, `an absolute https URL such as '${DEFAULT_IP_RANGES_URL}'`)
  }
  // Loopback hosts may use plain http: tests and the demo serve ranges there.
  const plainHttpAllowed = url.protocol === 'http:' && isLoopbackHostname(url.hostname)
  if (url.protocol !== 'https:' && !plainHttpAllowed) {
    throw invalid(inputName, value, 'an https URL (plain http is accepted only for loopback hosts)')
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid(inputName, url.host, 'a URL without embedded credentials')
  }
  return url.href
}

function tagValue(inputName: string, value: string): string {
  if (value.length > TAG_VALUE_MAX) {
    throw invalid(inputName, value, `a tag value of at most ${TAG_VALUE_MAX} characters`)
  }
  return value
}

function tagKey(inputName: string, value: string): string {
  if (value.length > TAG_KEY_MAX || value.toLowerCase().startsWith('aws:')) {
    throw invalid(
      inputName,
      value,
      `a tag key of at most ${TAG_KEY_MAX} characters not starting with 'aws:'`
    )
  }
  return value
}

function parseProtocolPorts(value: string): Map<string, number> {
  const expected = "'name=port' pairs such as 'http=80,https=443', ports 1-65535"
  const ports = new Map<string, number>()
  for (const entry of splitList(value)) {
    const match = /^([^=\s]+)\s*=\s*(\d+)$/.exec(entry)
    const port = match ? Number(match[2]) : NaN
    if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw invalid('protocol-ports', entry, expected)
    }
    if (ports.has(match[1])) throw invalid('protocol-ports', value, `${expected}, each name once`)
    ports.set(match[1], port)
  }
  if (ports.size === 0) throw invalid('protocol-ports', value, expected)
  return ports
}

function parseInteger(inputName: string, value: string, min: number, max: number): number {
  const number = /^\d+$/.test(value) ? Number(value) : NaN
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw invalid(inputName, value, `a whole number from ${min} to ${max}`)
  }
  return number
}

function parseRuleCapacity(value: string): number | 'auto' {
  if (value.toLowerCase() === 'auto') return 'auto'
  if (!/^\d+$/.test(value)) {
    throw invalid(
      'max-rules-per-group',
      value,
      `'auto' (the account's quota L-0EA8095F) or a whole number from 1 to ${MAX_RULES_PER_GROUP}`
    )
  }
  return parseInteger('max-rules-per-group', value, 1, MAX_RULES_PER_GROUP)
}

function parsePercent(value: string): number {
  const number = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN
  if (!(number >= 0 && number <= 100)) {
    throw invalid(
      'max-removals-percent',
      value,
      'a percentage from 0 to 100 (100 disables the guard)'
    )
  }
  return number
}

// No upper bound a legitimate switch could need: CLOUDFRONT_ORIGIN_FACING to CLOUDFRONT is ~1,130%,
// a one-rule pool to the whole set far more. The absolute limits of the ranges step still hold.
const MAX_GROWTH_PERCENT = 1_000_000_000

function parseGrowthPercent(value: string): number {
  const number = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN
  if (!(number >= 0 && number <= MAX_GROWTH_PERCENT)) {
    throw invalid(
      'max-growth-percent',
      value,
      'a percentage of at least 0 (how much more address space a pool may allow after the run ' +
        'than before; 100 lets it double)'
    )
  }
  return number
}

// The YAML 1.2 core schema booleans, as @actions/core's getBooleanInput accepts them.
function parseBoolean(inputName: string, value: string): boolean {
  if (['true', 'True', 'TRUE'].includes(value)) return true
  if (['false', 'False', 'FALSE'].includes(value)) return false
  throw invalid(inputName, value, "'true' or 'false'")
}

function parseRuleDescription(value: string): string {
  if (!RULE_DESCRIPTION.test(value)) {
    throw invalid(
      'rule-description',
      value,
      'at most 255 characters from a-z A-Z 0-9, space and ._-:/()#,@[]+=&;{}!$* (what EC2 accepts)'
    )
  }
  return value
}
