// A loopback EC2 emulator that speaks the real EC2 Query wire protocol (API version 2016-11-15),
// for the security-group subset this project uses. The real @aws-sdk/client-ec2 reaches it
// through `endpoint` or `AWS_ENDPOINT_URL_EC2`; one endpoint serves every region (taken from the
// SigV4 credential scope) and every account (derived from the access key id).
//
// Facts this relies on (sources cited where used):
// - Rule quota: 60 inbound rules per group by default, enforced separately for IPv4 and IPv6
//   (Amazon VPC quotas, awsdocs/amazon-vpc-user-guide doc_source/amazon-vpc-limits.md).
//   A rule referencing a security group counts as one rule whatever the group's size, a customer
//   prefix list counts as its max entries, an AWS-managed one as its weight (same guide,
//   security-group-rules.md#security-group-size); security-group and prefix-list references count
//   against both the IPv4 and the IPv6 budget (older text of the quota page: "counts as one rule for
//   IPv4 and one rule for IPv6"; measured in jantman/awslimitchecker#431 / PR #447).
// - CIDRs are canonicalised, IPv4 and IPv6 alike: 100.68.0.18/18 is stored and described as
//   100.68.0.0/18, and adding the non-canonical form of an existing rule is a duplicate
//   (EC2 API reference, IpRange / Ipv6Range, "Amazon canonicalizes IPv4 and IPv6 CIDRs").
// - Revoking a rule that does not exist in a non-default VPC fails with InvalidPermission.NotFound
//   and revokes nothing (EC2 API reference, RevokeSecurityGroupIngress).
import type { IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import {
  FaultInjector,
  LoopbackServer,
  QueryError,
  QueryParams,
  ec2ErrorXml,
  ec2ResponseXml,
  parseSigV4,
  requestIdGenerator,
  xmlElement,
  xmlItems,
  xmlText,
  type FaultConfig,
  type HttpAnswer
} from './aws-query.js'
import { seededRandom } from '../random.js'

export const EC2_XML_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/'
export const DEFAULT_ACCOUNT_ID = '123456789012'
export const DEFAULT_RULES_PER_GROUP_LIMIT = 60

// Messages as EC2 words them, from public error reports:
// AuthFailure: aws/aws-sdk-java-v2#2981 (wire log); RulesPerSecurityGroupLimitExceeded:
// aws-samples/aws-cloudfront-samples#53; InvalidParameterValue for a repeated permission:
// input-output-hk/bitte#24; InvalidGroup.Duplicate: hashicorp/terraform#15428;
// InvalidGroup.NotFound: hashicorp/terraform#23499; malformed CIDR: aws/aws-cli#2428;
// InvalidPermission.Duplicate: rancher/rancher#3459; missing source: boto/boto3#1078.
const MSG = {
  authFailure: 'AWS was not able to validate the provided access credentials',
  limit: 'The maximum number of rules per security group has been reached.',
  samePermissionTwice: 'The same permission must not appear multiple times',
  ruleNotFound: 'The specified rule does not exist in this security group.',
  missingSource: 'Missing source specification: include source security group or CIDR information',
  throttled: 'Request limit exceeded.',
  internal: 'An internal error has occurred',
  dryRun: 'Request would have succeeded, but DryRun flag is set.'
}

const MUTATING = /^(Authorize|Revoke|Create|Delete|Modify)/

// ---------------------------------------------------------------------------------------------
// Public types

export interface RuleSnapshot {
  ruleId: string
  isEgress: boolean
  /** `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all) or a protocol number. */
  protocol: string
  fromPort?: number
  toPort?: number
  cidrIpv4?: string
  cidrIpv6?: string
  prefixListId?: string
  referencedGroupId?: string
  referencedUserId?: string
  description?: string
}

export interface GroupSnapshot {
  groupId: string
  account: string
  region: string
  vpcId: string
  name: string
  description: string
  tags: Record<string, string>
  ingress: RuleSnapshot[]
  egress: RuleSnapshot[]
}

export interface Ec2Call {
  seq: number
  action: string
  region: string
  account: string
  mutating: boolean
  ok: boolean
  errorCode?: string
  params: Record<string, string>
  /** The access key id the request was signed with (attributes calls to a run). */
  accessKeyId?: string
  /** performance.now() of this process when the request arrived and when its answer was ready. */
  receivedAt?: number
  answeredAt?: number
}

/** How many requests the emulator was answering at once (injected latency included). */
export interface ConcurrencyPeaks {
  /** The most requests in flight at once, per region. */
  byRegion: Map<string, number>
  /** The most distinct regions with a request in flight at the same moment. */
  regions: number
  /** The most requests in flight at once, all regions together. */
  total: number
}

/** A seeded ingress rule: exactly one of cidr (IPv4 or IPv6), sourceGroupId, prefixListId. */
export interface SeedRule {
  protocol: string
  fromPort?: number
  toPort?: number
  cidr?: string
  sourceGroupId?: string
  prefixListId?: string
  description?: string
}

export interface SeedGroup {
  account?: string
  region: string
  vpcId: string
  name: string
  description?: string
  tags: Record<string, string>
  ingress?: SeedRule[]
}

export interface Ec2EmulatorOptions {
  /** Inbound (and outbound) rules per group, per IP family. Default 60. */
  rulesPerGroupLimit?: number
  /** When set, only these access keys are accepted (others: AuthFailure), mapped to accounts. */
  allowedAccessKeys?: Map<string, string>
  /** Access key id -> account id, for keys not in allowedAccessKeys. */
  accountIds?: Record<string, string>
  /** Account of any other key. Default 123456789012. */
  defaultAccount?: string
  /** Quota weight of referenced prefix lists (max entries / AWS weight); unknown lists weigh 1. */
  prefixListWeights?: Record<string, number>
  /** Security groups per network interface (quota L-2AFB9258). Default 5. */
  groupsPerInterfaceLimit?: number
  /** Canonicalise CIDRs as EC2 does (default true); false stores them exactly as sent. */
  canonicalizeCidrs?: boolean
  /** VPC of CreateSecurityGroup calls without VpcId. */
  defaultVpcId?: string
  /**
   * Called after every successful mutation with the whole state, and the call that made it; the
   * call is undefined for a hand edit (`addIngress` / `removeIngress`).
   */
  onStateChange?: StateChangeListener
  faults?: FaultConfig
  /** Seed of the id generator (group and rule ids are deterministic per seed). */
  seed?: number
  /**
   * Which check an authorize meets first when it both repeats an existing rule and, counting the
   * repeat again, exceeds the quota. EC2 does not document the order, so tests run both. Default
   * 'duplicate-first' (InvalidPermission.Duplicate); 'quota-first' answers
   * RulesPerSecurityGroupLimitExceeded.
   */
  authorizeCheckOrder?: AuthorizeCheckOrder
}

export type AuthorizeCheckOrder = 'duplicate-first' | 'quota-first'

export type StateChangeListener = (snapshot: GroupSnapshot[], call?: Ec2Call) => void

/**
 * What `onRequest` may do to one request, after the configured faults: answer with an error, cut
 * the connection before the request takes effect (`drop`) or after it took effect (`drop-after`: the
 * change is made, the client never hears of it and retries).
 */
export type Ec2Intercept =
  | { kind: 'error'; code: string; status: number; message?: string }
  | { kind: 'drop' }
  | { kind: 'drop-after' }

export type RequestInterceptor = (
  call: Ec2Call
) => Ec2Intercept | undefined | Promise<Ec2Intercept | undefined>

// ---------------------------------------------------------------------------------------------
// Internal model

type Source =
  | { kind: 'cidr4'; cidr: string }
  | { kind: 'cidr6'; cidr: string }
  | { kind: 'group'; groupId: string; userId: string }
  | { kind: 'prefixList'; prefixListId: string }

interface RuleSpec {
  protocol: string
  fromPort?: number
  toPort?: number
  source: Source
  description?: string
}

interface Rule extends RuleSpec {
  id: string
  seq: number
  isEgress: boolean
}

interface Group {
  id: string
  seq: number
  account: string
  region: string
  vpcId: string
  name: string
  description: string
  tags: Map<string, string>
  ingress: Rule[]
  egress: Rule[]
}

interface Ctx {
  account: string
  region: string
  params: QueryParams
}

// ---------------------------------------------------------------------------------------------
// CIDR parsing and canonicalisation

function parseIpv4(addr: string): number[] | undefined {
  const parts = addr.split('.')
  if (parts.length !== 4) return undefined
  const out: number[] = []
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    out.push(n)
  }
  return out
}

function parseIpv6(addr: string): number[] | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(addr)) return undefined
  const halves = addr.split('::')
  if (halves.length > 2) return undefined
  const groups = (s: string) => (s === '' ? [] : s.split(':'))
  const head = groups(halves[0] as string)
  const tail = halves.length === 2 ? groups(halves[1] as string) : []
  const all = [...head, ...tail]
  if (all.some(g => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined
  if (halves.length === 1 && all.length !== 8) return undefined
  if (halves.length === 2 && all.length > 7) return undefined
  const zeros = Array.from({ length: 8 - all.length }, () => 0)
  return [...head.map(g => parseInt(g, 16)), ...zeros, ...tail.map(g => parseInt(g, 16))]
}

/** RFC 5952 text: lower case, no leading zeros, longest run (>= 2) of zero groups as `::`. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (bestLen < 2) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

function maskBits(values: number[], bitsPerValue: number, prefix: number): number[] {
  return values.map((v, i) => {
    const keep = Math.min(bitsPerValue, Math.max(0, prefix - i * bitsPerValue))
    const mask =
      keep === 0
        ? 0
        : (((1 << bitsPerValue) - 1) >>> (bitsPerValue - keep)) << (bitsPerValue - keep)
    return v & mask
  })
}

function splitCidr(cidr: string): [string, number] | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr)
  if (!m) return undefined
  return [m[1] as string, Number(m[2])]
}

/** Validates an IPv4 CIDR; returns its canonical (or, if asked, verbatim) form. */
export function canonicalIpv4Cidr(cidr: string, canonicalize = true): string | undefined {
  const parts = splitCidr(cidr)
  if (!parts || parts[1] > 32) return undefined
  const octets = parseIpv4(parts[0])
  if (!octets) return undefined
  if (!canonicalize) return cidr
  return `${maskBits(octets, 8, parts[1]).join('.')}/${parts[1]}`
}

/** Validates an IPv6 CIDR; returns its canonical (or, if asked, verbatim) form. */
export function canonicalIpv6Cidr(cidr: string, canonicalize = true): string | undefined {
  const parts = splitCidr(cidr)
  if (!parts || parts[1] > 128) return undefined
  const groups = parseIpv6(parts[0])
  if (!groups) return undefined
  if (!canonicalize) return cidr
  return `${formatIpv6(maskBits(groups, 16, parts[1]))}/${parts[1]}`
}

// ---------------------------------------------------------------------------------------------
// Rule helpers

const PROTOCOL_NUMBERS: Record<string, string> = {
  '6': 'tcp',
  '17': 'udp',
  '1': 'icmp',
  '58': 'icmpv6'
}

function normalizeProtocol(raw: string): string {
  const p = raw.trim().toLowerCase()
  if (p === 'tcp' || p === 'udp' || p === 'icmp' || p === 'icmpv6' || p === '-1') return p
  if (p === 'all') return '-1'
  if (/^\d{1,3}$/.test(p) && Number(p) <= 255)
    return PROTOCOL_NUMBERS[String(Number(p))] ?? String(Number(p))
  throw new QueryError(
    'InvalidParameterValue',
    `Invalid value '${raw}' for IP protocol. Unknown protocol.`
  )
}

function normalizePorts(protocol: string, from?: number, to?: number): [number?, number?] {
  if (protocol === 'tcp' || protocol === 'udp') {
    if (from === undefined || to === undefined) {
      throw new QueryError(
        'InvalidParameterValue',
        `Invalid value 'null' for portRange. Must specify both from and to ports with TCP/UDP.`
      )
    }
    if (from < 0 || to > 65535 || from > to) {
      throw new QueryError(
        'InvalidParameterValue',
        `Invalid value '${from}-${to}' for portRange. Must be in the range 0-65535 with fromPort <= toPort.`
      )
    }
    return [from, to]
  }
  if (protocol === 'icmp' || protocol === 'icmpv6') {
    const f = from ?? -1
    const t = to ?? -1
    if (f < -1 || f > 255 || t < -1 || t > 255) {
      throw new QueryError('InvalidParameterValue', `Invalid value '${f}' for ICMP type/code.`)
    }
    return [f, t]
  }
  // -1 and other protocol numbers allow every port whatever range is given (EC2 API reference,
  // IpPermission.IpProtocol).
  return [undefined, undefined]
}

const DESCRIPTION_RE = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/

function checkDescription(description: string | undefined): void {
  if (description === undefined) return
  if (description.length > 255 || !DESCRIPTION_RE.test(description)) {
    throw new QueryError(
      'InvalidParameterValue',
      'Invalid rule description. Valid descriptions are strings less than 256 characters from the ' +
        'following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*'
    )
  }
}

function sourceKey(s: Source): string {
  switch (s.kind) {
    case 'cidr4':
      return `4:${s.cidr}`
    case 'cidr6':
      return `6:${s.cidr.toLowerCase()}`
    case 'group':
      return `g:${s.groupId}`
    case 'prefixList':
      return `p:${s.prefixListId}`
  }
}

function ruleKey(r: RuleSpec): string {
  return `${r.protocol}|${r.fromPort ?? ''}|${r.toPort ?? ''}|${sourceKey(r.source)}`
}

function peerText(s: Source): string {
  switch (s.kind) {
    case 'cidr4':
    case 'cidr6':
      return s.cidr
    case 'group':
      return s.groupId
    case 'prefixList':
      return s.prefixListId
  }
}

/** `the specified rule "peer: 0.0.0.0/0, TCP, from port: 2376, to port: 2376, ALLOW" already exists` */
function ruleText(r: RuleSpec): string {
  const proto = r.protocol === '-1' ? 'ALL' : r.protocol.toUpperCase()
  const ports =
    r.fromPort === undefined ? '' : `, from port: ${r.fromPort}, to port: ${r.toPort ?? r.fromPort}`
  return `peer: ${peerText(r.source)}, ${proto}${ports}, ALLOW`
}

function isGroupIdShape(id: string): boolean {
  return /^sg-[0-9a-f]{8}([0-9a-f]{9})?$/.test(id)
}

/** EC2 filter values accept `*` and `?` wildcards (backslash escapes them). */
function filterMatcher(values: string[]): (candidate: string | undefined) => boolean {
  const res = values.map(v => {
    let src = ''
    for (let i = 0; i < v.length; i++) {
      const c = v[i] as string
      if (c === '\\' && i + 1 < v.length)
        src += (v[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      else if (c === '*') src += '.*'
      else if (c === '?') src += '.'
      else src += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    }
    return new RegExp(`^${src}$`, 's')
  })
  return candidate => candidate !== undefined && res.some(re => re.test(candidate))
}

function parseFilters(params: QueryParams): Array<{ name: string; values: string[] }> {
  return params.structs('Filter').map(f => ({ name: f.require('Name'), values: f.list('Value') }))
}

// ---------------------------------------------------------------------------------------------
// Network interfaces and prefix lists (the exposure audit's reads)

export interface SeedNetworkInterface {
  account?: string
  region: string
  vpcId: string
  subnetId?: string
  groupIds: string[]
  /** ELB's interfaces: "ELB app/NAME/ID", "ELB net/NAME/ID" or "ELB NAME" (Classic). */
  description?: string
  /** `interface` (default), `network_load_balancer`, `gateway_load_balancer`, `lambda`, ... */
  interfaceType?: string
  /** Set for interfaces a service manages, e.g. `amazon-elb`. */
  requesterId?: string
  /** The instance the interface is attached to. */
  instanceId?: string
}

export interface SeedPrefixList {
  id?: string
  region: string
  /** Account id, or 'AWS' for an AWS-managed list. */
  owner?: string
  name: string
  addressFamily?: 'IPv4' | 'IPv6'
  maxEntries?: number
  entries: Array<string | { cidr: string; description?: string }>
}

interface NetworkInterfaceState {
  id: string
  seq: number
  account: string
  region: string
  vpcId: string
  subnetId: string
  description: string
  interfaceType: string
  requesterId?: string
  instanceId?: string
  groupIds: string[]
}

interface PrefixListState {
  id: string
  seq: number
  region: string
  owner: string
  name: string
  addressFamily: 'IPv4' | 'IPv6'
  maxEntries: number
  entries: Array<{ cidr: string; description?: string }>
}

// "The maximum number of filter values specified on a single call is 200" (EC2's
// FilterLimitExceeded, HTTP 400: gjbae1212/gossm#47, convox/rack#2205), all filters together.
export const MAX_FILTER_VALUES_PER_CALL = 200

function checkFilterValueLimit(params: QueryParams): void {
  const values = parseFilters(params).reduce((sum, f) => sum + f.values.length, 0)
  if (values > MAX_FILTER_VALUES_PER_CALL) {
    throw new QueryError(
      'FilterLimitExceeded',
      `The maximum number of filter values specified on a single call is ${MAX_FILTER_VALUES_PER_CALL}`
    )
  }
}

// ---------------------------------------------------------------------------------------------
// The emulator

export class Ec2Emulator {
  /** Every request received, in order (including failed and dropped ones). */
  readonly calls: Ec2Call[] = []
  /** Peaks of concurrent requests since the last reset (for benchmarks and concurrency tests). */
  readonly concurrency: ConcurrencyPeaks = { byRegion: new Map(), regions: 0, total: 0 }
  onStateChange: StateChangeListener | undefined
  /**
   * Called for every authenticated request before it takes effect (after injected faults and
   * latency): faults aimed at chosen calls, or a hand edit while a run is in flight.
   */
  onRequest: RequestInterceptor | undefined

  private readonly groups = new Map<string, Group>()
  private readonly interfaces = new Map<string, NetworkInterfaceState>()
  private readonly prefixLists = new Map<string, PrefixListState>()
  private readonly server: LoopbackServer
  private readonly faultInjector = new FaultInjector({
    throttle: { code: 'RequestLimitExceeded', message: MSG.throttled, status: 503 },
    internal: { code: 'InternalError', message: MSG.internal, status: 500 }
  })
  private readonly opts: Required<
    Pick<
      Ec2EmulatorOptions,
      | 'rulesPerGroupLimit'
      | 'defaultAccount'
      | 'canonicalizeCidrs'
      | 'defaultVpcId'
      | 'authorizeCheckOrder'
    >
  > &
    Ec2EmulatorOptions
  private idRandom: () => number
  private readonly usedIds = new Set<string>()
  private readonly sessionTokens = new Map<string, string>()
  private nextRequestId = requestIdGenerator()
  private seq = 0
  private objSeq = 0
  private baseUrl: string | undefined
  private readonly inFlight = new Map<string, number>()

  constructor(options: Ec2EmulatorOptions = {}) {
    this.opts = {
      rulesPerGroupLimit: DEFAULT_RULES_PER_GROUP_LIMIT,
      defaultAccount: DEFAULT_ACCOUNT_ID,
      canonicalizeCidrs: true,
      defaultVpcId: 'vpc-0d3fa017000000000',
      authorizeCheckOrder: 'duplicate-first',
      ...options
    }
    this.onStateChange = options.onStateChange
    this.onRequest = undefined
    this.idRandom = seededRandom(options.seed ?? 0xec2)
    if (options.faults) this.faultInjector.set(options.faults)
    this.server = new LoopbackServer((req, body) => this.handle(req, body))
  }

  // -- lifecycle ------------------------------------------------------------------------------

  /** Listens on 127.0.0.1 (port 0 = any free port); resolves to the base URL. */
  async start(port = 0): Promise<string> {
    this.baseUrl = await this.server.start(port)
    return this.baseUrl
  }

  async stop(): Promise<void> {
    await this.server.stop()
    this.baseUrl = undefined
  }

  get url(): string | undefined {
    return this.baseUrl
  }

  // -- configuration at runtime ---------------------------------------------------------------

  /** The fault configuration; assigning it reseeds the PRNG behind the rates. */
  get faults(): FaultConfig {
    return this.faultInjector.get()
  }

  set faults(config: FaultConfig) {
    this.faultInjector.set(config)
  }

  get rulesPerGroupLimit(): number {
    return this.opts.rulesPerGroupLimit
  }

  set rulesPerGroupLimit(limit: number) {
    this.opts.rulesPerGroupLimit = limit
  }

  get authorizeCheckOrder(): AuthorizeCheckOrder {
    return this.opts.authorizeCheckOrder
  }

  set authorizeCheckOrder(order: AuthorizeCheckOrder) {
    this.opts.authorizeCheckOrder = order
  }

  // -- test / seed API (no HTTP) --------------------------------------------------------------

  /** Creates a group (with EC2's default allow-all egress rule) and its ingress rules. */
  createGroup(spec: SeedGroup): string {
    const account = spec.account ?? this.opts.defaultAccount
    const specs = (spec.ingress ?? []).map(r => this.seedRuleSpec(r, account, spec.region))
    const group = this.newGroup(
      account,
      spec.region,
      spec.vpcId,
      spec.name,
      spec.description ?? spec.name
    )
    for (const [k, v] of Object.entries(spec.tags)) group.tags.set(k, v)
    try {
      this.addRules(group, specs, false)
    } catch (err) {
      this.groups.delete(group.id)
      throw err
    }
    return group.id
  }

  /**
   * A hand edit, as someone in the console would make it while a run is in flight: adds ingress
   * rules to a group (all or nothing, with EC2's duplicate and quota checks) and tells
   * `onStateChange` (without a call). Returns the new rule ids.
   */
  addIngress(groupId: string, rules: SeedRule[]): string[] {
    const group = this.groups.get(groupId)
    if (!group) throw new Error(`no group ${groupId}`)
    const specs = rules.map(r => this.seedRuleSpec(r, group.account, group.region))
    const added = this.addRules(group, specs, false)
    this.onStateChange?.(this.listGroups())
    return added.map(r => r.id)
  }

  /** A hand edit: removes the ingress rules `match` selects; tells `onStateChange`. */
  removeIngress(groupId: string, match: (rule: RuleSnapshot) => boolean): number {
    const group = this.groups.get(groupId)
    if (!group) throw new Error(`no group ${groupId}`)
    const snapshot = this.snapshot(group)
    const doomed = new Set(snapshot.ingress.filter(match).map(r => r.ruleId))
    group.ingress = group.ingress.filter(r => !doomed.has(r.id))
    if (doomed.size > 0) this.onStateChange?.(this.listGroups())
    return doomed.size
  }

  private seedRuleSpec(r: SeedRule, account: string, region: string): RuleSpec {
    const sources = [r.cidr, r.sourceGroupId, r.prefixListId].filter(s => s !== undefined)
    if (sources.length !== 1)
      throw new Error('a seed rule needs exactly one of cidr, sourceGroupId, prefixListId')
    let source: Source
    if (r.cidr !== undefined)
      source = r.cidr.includes(':')
        ? { kind: 'cidr6', cidr: r.cidr }
        : { kind: 'cidr4', cidr: r.cidr }
    else if (r.sourceGroupId !== undefined)
      source = { kind: 'group', groupId: r.sourceGroupId, userId: account }
    else source = { kind: 'prefixList', prefixListId: r.prefixListId as string }
    return this.normalizeSpec(
      {
        protocol: r.protocol,
        fromPort: r.fromPort,
        toPort: r.toPort,
        source,
        description: r.description
      },
      { account, region }
    )
  }

  getGroup(groupId: string): GroupSnapshot | undefined {
    const g = this.groups.get(groupId)
    return g ? this.snapshot(g) : undefined
  }

  listGroups(filter: { account?: string; region?: string } = {}): GroupSnapshot[] {
    return [...this.groups.values()]
      .filter(
        g => (filter.account ?? g.account) === g.account && (filter.region ?? g.region) === g.region
      )
      .map(g => this.snapshot(g))
  }

  /**
   * Accepts requests signed with this access key, as `account` (the STS emulator registers the
   * temporary credentials it issues). The first call switches the emulator to allow-list mode:
   * from then on a request signed with any other key fails with AuthFailure, as EC2 rejects keys
   * it does not know. With a session token, requests must also carry it.
   */
  allowAccessKey(accessKeyId: string, account: string, sessionToken?: string): void {
    this.opts.allowedAccessKeys ??= new Map()
    this.opts.allowedAccessKeys.set(accessKeyId, account)
    if (sessionToken !== undefined) this.sessionTokens.set(accessKeyId, sessionToken)
    else this.sessionTokens.delete(accessKeyId)
  }

  /** The calls that tried to change state (Authorize*, Revoke*, Create*, Delete*), ok or not. */
  mutatingCalls(): Ec2Call[] {
    return this.calls.filter(c => c.mutating)
  }

  /** Forgets all groups, calls and faults (options and the id sequence are kept). */
  reset(): void {
    this.groups.clear()
    this.interfaces.clear()
    this.prefixLists.clear()
    this.calls.length = 0
    this.faultInjector.set({})
    this.seq = 0
    this.concurrency.byRegion.clear()
    this.concurrency.regions = 0
    this.concurrency.total = 0
  }

  private enter(region: string): void {
    const count = (this.inFlight.get(region) ?? 0) + 1
    this.inFlight.set(region, count)
    const peaks = this.concurrency
    peaks.byRegion.set(region, Math.max(peaks.byRegion.get(region) ?? 0, count))
    peaks.regions = Math.max(peaks.regions, this.inFlight.size)
    let total = 0
    for (const n of this.inFlight.values()) total += n
    peaks.total = Math.max(peaks.total, total)
  }

  private leave(region: string): void {
    const count = (this.inFlight.get(region) ?? 1) - 1
    if (count > 0) this.inFlight.set(region, count)
    else this.inFlight.delete(region)
  }

  // -- HTTP -----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, body: string): Promise<HttpAnswer | 'drop'> {
    const requestId = this.nextRequestId()
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const params = new QueryParams([
      ...url.searchParams.entries(),
      ...new URLSearchParams(body).entries()
    ])
    const action = params.get('Action') ?? ''
    const scope = parseSigV4(req.headers.authorization, url.searchParams)
    const call: Ec2Call = {
      seq: ++this.seq,
      action,
      region: scope?.region ?? '',
      account: '',
      mutating: MUTATING.test(action),
      ok: false,
      params: params.toObject(),
      receivedAt: performance.now()
    }
    this.calls.push(call)
    this.enter(call.region)
    try {
      if (!scope) throw new QueryError('AuthFailure', MSG.authFailure, 401)
      call.accessKeyId = scope.accessKeyId
      call.account = this.accountFor(scope.accessKeyId, req.headers['x-amz-security-token'])
      const fault = this.faultInjector.next(action)
      const latency = this.faultInjector.latencyMs()
      if (latency > 0) await sleep(latency)
      if (fault?.kind === 'drop') {
        call.errorCode = 'ConnectionDropped'
        return 'drop'
      }
      if (fault) throw new QueryError(fault.code, fault.message, fault.status)
      const intercept = this.onRequest ? await this.onRequest(call) : undefined
      if (intercept?.kind === 'drop') {
        call.errorCode = 'ConnectionDropped'
        return 'drop'
      }
      if (intercept?.kind === 'error') {
        throw new QueryError(
          intercept.code,
          intercept.message ?? `Injected ${intercept.code}`,
          intercept.status
        )
      }
      // Everything from here to the answer runs synchronously: each request is atomic.
      const xml = this.dispatch(action, { account: call.account, region: call.region, params })
      call.ok = true
      if (call.mutating) this.onStateChange?.(this.listGroups(), call)
      if (intercept?.kind === 'drop-after') {
        // The change is made; the client never hears of it.
        call.errorCode = 'ConnectionDroppedAfterCommit'
        return 'drop'
      }
      return {
        status: 200,
        body: ec2ResponseXml(action, EC2_XML_NAMESPACE, requestId, xml),
        headers: { 'x-amzn-requestid': requestId }
      }
    } catch (err) {
      const e = err instanceof QueryError ? err : new QueryError('InternalError', MSG.internal, 500)
      call.errorCode = e.code
      return {
        status: e.status,
        body: ec2ErrorXml(e.code, e.message, requestId),
        headers: { 'x-amzn-requestid': requestId }
      }
    } finally {
      call.answeredAt = performance.now()
      this.leave(call.region)
    }
  }

  private accountFor(accessKeyId: string, sessionToken?: string | string[]): string {
    const allowed = this.opts.allowedAccessKeys
    if (allowed) {
      const account = allowed.get(accessKeyId)
      if (account === undefined) throw new QueryError('AuthFailure', MSG.authFailure, 401)
      // Temporary credentials are valid only with their own session token (X-Amz-Security-Token).
      const expected = this.sessionTokens.get(accessKeyId)
      if (expected !== undefined && sessionToken !== expected) {
        throw new QueryError('AuthFailure', MSG.authFailure, 401)
      }
      return account
    }
    return this.opts.accountIds?.[accessKeyId] ?? this.opts.defaultAccount
  }

  private dispatch(action: string, ctx: Ctx): string {
    const handlers: Record<string, (ctx: Ctx) => string> = {
      DescribeSecurityGroups: c => this.describeSecurityGroups(c),
      DescribeSecurityGroupRules: c => this.describeSecurityGroupRules(c),
      CreateSecurityGroup: c => this.createSecurityGroup(c),
      DeleteSecurityGroup: c => this.deleteSecurityGroup(c),
      CreateTags: c => this.createTags(c),
      DeleteTags: c => this.deleteTags(c),
      AuthorizeSecurityGroupIngress: c => this.authorizeIngress(c),
      RevokeSecurityGroupIngress: c => this.revokeIngress(c),
      DescribeManagedPrefixLists: c => this.describeManagedPrefixLists(c),
      ...this.exposureHandlers()
    }
    const handler = Object.hasOwn(handlers, action) ? handlers[action] : undefined
    if (!handler) {
      throw new QueryError(
        'InvalidAction',
        `The action ${action} is not valid for this web service.`
      )
    }
    return handler(ctx)
  }

  // -- actions --------------------------------------------------------------------------------

  private describeSecurityGroups(ctx: Ctx): string {
    const { params } = ctx
    checkFilterValueLimit(params)
    const maxResults = this.maxResults(params)
    let groups = this.groupsIn(ctx)
    const ids = params.list('GroupId')
    if (ids.length > 0) {
      for (const id of ids) this.lookupGroup(ctx, id)
      groups = groups.filter(g => ids.includes(g.id))
    }
    const names = params.list('GroupName')
    for (const name of names) {
      if (!groups.some(g => g.name === name)) {
        throw new QueryError('InvalidGroup.NotFound', `The security group '${name}' does not exist`)
      }
    }
    if (names.length > 0) groups = groups.filter(g => names.includes(g.name))
    for (const f of parseFilters(params)) groups = groups.filter(this.groupFilter(f.name, f.values))
    this.dryRun(params)
    const { page, nextToken } = this.paginate('sg', groups, maxResults, params.get('NextToken'))
    return (
      xmlItems('securityGroupInfo', page, g => this.renderGroup(g)) +
      xmlText('nextToken', nextToken)
    )
  }

  private describeSecurityGroupRules(ctx: Ctx): string {
    const { params } = ctx
    const maxResults = this.maxResults(params)
    let entries = this.groupsIn(ctx).flatMap(g => [...g.ingress, ...g.egress].map(r => ({ g, r })))
    const ruleIds = params.list('SecurityGroupRuleId')
    for (const id of ruleIds) {
      if (!entries.some(e => e.r.id === id)) {
        throw new QueryError(
          'InvalidSecurityGroupRuleId.NotFound',
          `The security group rule ID '${id}' does not exist`
        )
      }
    }
    if (ruleIds.length > 0) entries = entries.filter(e => ruleIds.includes(e.r.id))
    for (const f of parseFilters(params)) {
      const match = filterMatcher(f.values)
      if (f.name === 'group-id') entries = entries.filter(e => match(e.g.id))
      else if (f.name === 'security-group-rule-id') entries = entries.filter(e => match(e.r.id))
      else if (f.name.startsWith('tag:') || f.name === 'tag-key')
        entries = [] // rules carry no tags here
      else throw new QueryError('InvalidParameterValue', `The filter '${f.name}' is invalid`)
    }
    this.dryRun(params)
    entries.sort((a, b) => a.r.seq - b.r.seq)
    const { page, nextToken } = this.paginate(
      'sgr',
      entries.map(e => ({ ...e, seq: e.r.seq })),
      maxResults,
      params.get('NextToken')
    )
    return (
      xmlItems('securityGroupRuleSet', page, e => this.renderRule(e.g, e.r)) +
      xmlText('nextToken', nextToken)
    )
  }

  private createSecurityGroup(ctx: Ctx): string {
    const { params } = ctx
    const name = params.require('GroupName')
    const description = params.require('GroupDescription')
    const vpcId = params.get('VpcId') ?? this.opts.defaultVpcId
    if (name.length > 255 || description.length > 255) {
      throw new QueryError(
        'InvalidParameterValue',
        'Group name and description are limited to 255 characters'
      )
    }
    if (/^sg-/i.test(name)) {
      throw new QueryError('InvalidParameterValue', `Group names may not be in the format sg-*.`)
    }
    const tags = new Map<string, string>()
    for (const spec of params.structs('TagSpecification')) {
      const type = spec.get('ResourceType')
      if (type !== 'security-group') {
        throw new QueryError(
          'InvalidParameterValue',
          `'${type ?? ''}' is not a valid taggable resource type for this operation.`
        )
      }
      for (const [k, v] of this.parseTags(spec, true)) tags.set(k, v ?? '')
    }
    this.checkTagCount(tags.size)
    this.dryRun(params)
    const group = this.newGroup(ctx.account, ctx.region, vpcId, name, description)
    for (const [k, v] of tags) group.tags.set(k, v)
    return (
      `<return>true</return>${xmlText('groupId', group.id)}` +
      (group.tags.size > 0 ? this.renderTags(group.tags) : '') +
      xmlText('securityGroupArn', this.groupArn(group))
    )
  }

  private deleteSecurityGroup(ctx: Ctx): string {
    const group = this.lookupGroup(ctx, ctx.params.require('GroupId'))
    for (const other of this.groupsIn(ctx)) {
      if (
        other.ingress
          .concat(other.egress)
          .some(r => r.source.kind === 'group' && r.source.groupId === group.id && other !== group)
      ) {
        throw new QueryError('DependencyViolation', `resource ${group.id} has a dependent object`)
      }
    }
    this.dryRun(ctx.params)
    this.groups.delete(group.id)
    return `<return>true</return>${xmlText('groupId', group.id)}`
  }

  private createTags(ctx: Ctx): string {
    const { params } = ctx
    const groups = this.taggedResources(ctx)
    const tags = this.parseTags(params, true)
    if (tags.length === 0)
      throw new QueryError('MissingParameter', 'The request must contain the parameter Tag')
    for (const g of groups) {
      const merged = new Map(g.tags)
      for (const [k, v] of tags) merged.set(k, v ?? '')
      this.checkTagCount(merged.size)
    }
    this.dryRun(params)
    for (const g of groups) for (const [k, v] of tags) g.tags.set(k, v ?? '')
    return '<return>true</return>'
  }

  private deleteTags(ctx: Ctx): string {
    const { params } = ctx
    const groups = this.taggedResources(ctx)
    const tags = this.parseTags(params, false)
    this.dryRun(params)
    for (const g of groups) {
      if (tags.length === 0) {
        for (const k of [...g.tags.keys()])
          if (!k.toLowerCase().startsWith('aws:')) g.tags.delete(k)
        continue
      }
      // A value given deletes the tag only if it matches (EC2 API reference, DeleteTags).
      for (const [k, v] of tags) if (v === undefined || g.tags.get(k) === v) g.tags.delete(k)
    }
    return '<return>true</return>'
  }

  private authorizeIngress(ctx: Ctx): string {
    const group = this.lookupGroup(ctx, ctx.params.require('GroupId'))
    const specs = this.parsePermissions(ctx)
    if (specs.length === 0) throw new QueryError('MissingParameter', MSG.missingSource)
    this.dryRun(ctx.params)
    const added = this.addRules(group, specs, false)
    return `<return>true</return>${xmlItems('securityGroupRuleSet', added, r => this.renderRule(group, r))}`
  }

  private revokeIngress(ctx: Ctx): string {
    const { params } = ctx
    const group = this.lookupGroup(ctx, params.require('GroupId'))
    const ruleIds = params.list('SecurityGroupRuleId')
    const specs = this.parsePermissions(ctx, false)
    if (ruleIds.length === 0 && specs.length === 0) {
      throw new QueryError('MissingParameter', MSG.missingSource)
    }
    const doomed = new Set<Rule>()
    for (const id of ruleIds) {
      const rule = group.ingress.find(r => r.id === id)
      if (!rule) {
        throw new QueryError(
          'InvalidSecurityGroupRuleId.NotFound',
          `The security group rule ID '${id}' does not exist`
        )
      }
      doomed.add(rule)
    }
    const byKey = new Map(group.ingress.map(r => [ruleKey(r), r]))
    for (const spec of specs) {
      const rule = byKey.get(ruleKey(spec))
      // Non-default VPC behaviour: a missing rule fails the whole request, nothing is revoked.
      if (!rule) throw new QueryError('InvalidPermission.NotFound', MSG.ruleNotFound)
      doomed.add(rule)
    }
    this.dryRun(params)
    group.ingress = group.ingress.filter(r => !doomed.has(r))
    const revoked = [...doomed].sort((a, b) => a.seq - b.seq)
    return (
      '<return>true</return>' +
      xmlItems('revokedSecurityGroupRuleSet', revoked, r => this.renderRevokedRule(group, r))
    )
  }

  // -- network interfaces and prefix lists (the exposure audit's reads) ----------------------
  //
  // Shapes from the EC2 API reference: DescribeNetworkInterfaces answers `networkInterfaceSet`
  // items with `groupSet`, `attachment`, `interfaceType`, `requesterId`, `requesterManaged`;
  // DescribeManagedPrefixLists `prefixListSet`; GetManagedPrefixListEntries `entrySet` items of
  // `cidr` and `description`. A call with more than 200 filter values fails with
  // FilterLimitExceeded (see checkFilterValueLimit).

  /** Creates a network interface carrying `groupIds` (same account, region and VPC). */
  addNetworkInterface(spec: SeedNetworkInterface): string {
    const account = spec.account ?? this.opts.defaultAccount
    const eni: NetworkInterfaceState = {
      id: this.newResourceId('eni'),
      seq: ++this.objSeq,
      account,
      region: spec.region,
      vpcId: spec.vpcId,
      subnetId: spec.subnetId ?? 'subnet-0a1b2c3d4e5f60718',
      description: spec.description ?? '',
      interfaceType: spec.interfaceType ?? 'interface',
      groupIds: [],
      ...(spec.requesterId !== undefined ? { requesterId: spec.requesterId } : {}),
      ...(spec.instanceId !== undefined ? { instanceId: spec.instanceId } : {})
    }
    this.checkInterfaceGroups(eni, spec.groupIds)
    eni.groupIds = [...spec.groupIds]
    this.interfaces.set(eni.id, eni)
    return eni.id
  }

  /** An instance id for seeding (i- and 17 hex digits). */
  newInstanceId(): string {
    return this.newResourceId('i')
  }

  /** Replaces the groups of an interface, with EC2's checks (hand edit, no call). */
  setInterfaceGroups(eniId: string, groupIds: string[]): void {
    const eni = this.interfaces.get(eniId)
    if (!eni) throw new Error(`no network interface ${eniId}`)
    this.checkInterfaceGroups(eni, groupIds)
    eni.groupIds = [...groupIds]
  }

  listNetworkInterfaces(): Array<Readonly<NetworkInterfaceState>> {
    return [...this.interfaces.values()].map(eni => ({ ...eni, groupIds: [...eni.groupIds] }))
  }

  /**
   * A managed prefix list. `owner` 'AWS' makes it AWS-managed (visible to every account of the
   * region, as AWS's own lists are); otherwise it belongs to the account.
   */
  addPrefixList(spec: SeedPrefixList): string {
    const id = spec.id ?? this.newResourceId('pl')
    this.prefixLists.set(id, {
      id,
      seq: ++this.objSeq,
      region: spec.region,
      owner: spec.owner ?? this.opts.defaultAccount,
      name: spec.name,
      addressFamily: spec.addressFamily ?? 'IPv4',
      maxEntries: spec.maxEntries ?? Math.max(1, spec.entries.length),
      entries: spec.entries.map(e => (typeof e === 'string' ? { cidr: e } : e))
    })
    return id
  }

  private exposureHandlers(): Record<string, (ctx: Ctx) => string> {
    return {
      DescribeNetworkInterfaces: c => this.describeNetworkInterfaces(c),
      ModifyNetworkInterfaceAttribute: c => this.modifyNetworkInterfaceAttribute(c),
      GetManagedPrefixListEntries: c => this.getManagedPrefixListEntries(c)
    }
  }

  private checkInterfaceGroups(eni: NetworkInterfaceState, groupIds: string[]): void {
    if (groupIds.length === 0) throw new Error('an interface carries at least one group')
    const limit = this.opts.groupsPerInterfaceLimit ?? 5
    if (groupIds.length > limit) {
      throw new QueryError(
        'SecurityGroupsPerInterfaceLimitExceeded',
        'The maximum number of security groups per interface has been reached.'
      )
    }
    for (const id of groupIds) {
      const group = this.lookupGroup(eni, id)
      if (group.vpcId !== eni.vpcId) {
        throw new QueryError(
          'InvalidParameter',
          `Security group ${id} and interface ${eni.id} belong to different networks.`
        )
      }
    }
  }

  private newResourceId(prefix: 'eni' | 'i' | 'pl'): string {
    const length = prefix === 'pl' ? 8 : 17
    for (;;) {
      const hex = Array.from({ length }, () => Math.floor(this.idRandom() * 16).toString(16)).join(
        ''
      )
      const id = `${prefix}-${hex}`
      if (!this.usedIds.has(id)) {
        this.usedIds.add(id)
        return id
      }
    }
  }

  private describeNetworkInterfaces(ctx: Ctx): string {
    const { params } = ctx
    checkFilterValueLimit(params)
    const ids = params.list('NetworkInterfaceId')
    const maxResults = this.maxResults(params)
    if (ids.length > 0 && maxResults !== undefined) {
      throw new QueryError(
        'InvalidParameterCombination',
        'The parameter NetworkInterfaceIds cannot be used with the parameter MaxResults'
      )
    }
    let found = [...this.interfaces.values()]
      .filter(eni => eni.account === ctx.account && eni.region === ctx.region)
      .sort((a, b) => a.seq - b.seq)
    for (const id of ids) {
      if (!found.some(eni => eni.id === id)) {
        throw new QueryError(
          'InvalidNetworkInterfaceID.NotFound',
          `The networkInterface ID '${id}' does not exist`
        )
      }
    }
    if (ids.length > 0) found = found.filter(eni => ids.includes(eni.id))
    for (const f of parseFilters(params)) {
      const match = filterMatcher(f.values)
      const pick: Record<string, (eni: NetworkInterfaceState) => Array<string | undefined>> = {
        'group-id': eni => eni.groupIds,
        'vpc-id': eni => [eni.vpcId],
        'subnet-id': eni => [eni.subnetId],
        'network-interface-id': eni => [eni.id],
        description: eni => [eni.description],
        'interface-type': eni => [eni.interfaceType],
        'requester-id': eni => [eni.requesterId],
        'attachment.instance-id': eni => [eni.instanceId],
        'owner-id': eni => [eni.account]
      }
      const values = Object.hasOwn(pick, f.name) ? pick[f.name] : undefined
      if (!values)
        throw new QueryError('InvalidParameterValue', `The filter '${f.name}' is invalid`)
      found = found.filter(eni => values(eni).some(v => match(v)))
    }
    this.dryRun(params)
    const { page, nextToken } = this.paginate('eni', found, maxResults, params.get('NextToken'))
    return (
      xmlItems('networkInterfaceSet', page, eni => this.renderInterface(eni)) +
      xmlText('nextToken', nextToken)
    )
  }

  // -- pool growth: ModifyNetworkInterfaceAttribute with SecurityGroupId.N ---------------------
  //
  // The list replaces the interface's groups (EC2 API reference: "You must specify at least one
  // security group, even if it's just the default security group"); more than the per-interface
  // quota fails with SecurityGroupsPerInterfaceLimitExceeded. A requester-managed interface (a
  // load balancer's, Lambda's...) may not be changed by its owner account.
  private modifyNetworkInterfaceAttribute(ctx: Ctx): string {
    const { params } = ctx
    const id = params.require('NetworkInterfaceId')
    const eni = this.interfaces.get(id)
    if (!eni || eni.account !== ctx.account || eni.region !== ctx.region) {
      throw new QueryError(
        'InvalidNetworkInterfaceID.NotFound',
        `The networkInterface ID '${id}' does not exist`
      )
    }
    const groupIds = params.list('SecurityGroupId')
    if (groupIds.length === 0) {
      throw new QueryError('MissingParameter', 'The request must contain the parameter groupId')
    }
    if (eni.requesterId !== undefined) {
      throw new QueryError(
        'OperationNotPermitted',
        `You are not allowed to manage '${eni.requesterId}' attachments.`
      )
    }
    this.checkInterfaceGroups(eni, groupIds)
    this.dryRun(params)
    eni.groupIds = [...groupIds]
    return '<return>true</return>'
  }

  private renderInterface(eni: NetworkInterfaceState): string {
    const groups = eni.groupIds.map(id => this.groups.get(id))
    const index = eni.seq % 250
    return (
      xmlText('networkInterfaceId', eni.id) +
      xmlText('subnetId', eni.subnetId) +
      xmlText('vpcId', eni.vpcId) +
      xmlText('availabilityZone', `${eni.region}a`) +
      xmlText('description', eni.description) +
      xmlText('ownerId', eni.account) +
      xmlText('requesterId', eni.requesterId) +
      xmlText('requesterManaged', eni.requesterId !== undefined) +
      xmlText('status', 'in-use') +
      xmlText(
        'macAddress',
        `02:00:00:00:${(index >> 8).toString(16).padStart(2, '0')}:${(index & 255).toString(16).padStart(2, '0')}`
      ) +
      xmlText('privateIpAddress', `10.0.${Math.floor(eni.seq / 250) % 250}.${index + 4}`) +
      xmlText('sourceDestCheck', true) +
      xmlItems('groupSet', groups, g => xmlText('groupId', g?.id) + xmlText('groupName', g?.name)) +
      (eni.instanceId !== undefined
        ? xmlElement(
            'attachment',
            xmlText('attachmentId', `eni-attach-${eni.id.slice(4)}`) +
              xmlText('instanceId', eni.instanceId) +
              xmlText('instanceOwnerId', eni.account) +
              xmlText('deviceIndex', 0) +
              xmlText('status', 'attached') +
              xmlText('deleteOnTermination', true)
          )
        : '') +
      xmlText('interfaceType', eni.interfaceType) +
      '<tagSet/>'
    )
  }

  /** Seeded lists, and the lists known only by their weight (customer-managed IPv4 of that size). */
  private visiblePrefixLists(ctx: Ctx): PrefixListState[] {
    const seeded = [...this.prefixLists.values()].filter(
      list => list.region === ctx.region && (list.owner === 'AWS' || list.owner === ctx.account)
    )
    const weighted = Object.entries(this.opts.prefixListWeights ?? {})
      .filter(([id]) => !this.prefixLists.has(id))
      .map(([id, weight]) => ({
        id,
        seq: 0,
        region: ctx.region,
        owner: ctx.account,
        name: id,
        addressFamily: 'IPv4' as const,
        maxEntries: weight,
        entries: []
      }))
    return [...weighted, ...seeded].sort((a, b) => a.seq - b.seq)
  }

  private describeManagedPrefixLists(ctx: Ctx): string {
    const { params } = ctx
    checkFilterValueLimit(params)
    let lists = this.visiblePrefixLists(ctx)
    const ids = params.list('PrefixListId')
    for (const id of ids) {
      if (!lists.some(list => list.id === id)) {
        throw new QueryError(
          'InvalidPrefixListID.NotFound',
          `The prefix list ID '${id}' does not exist`
        )
      }
    }
    if (ids.length > 0) lists = lists.filter(list => ids.includes(list.id))
    for (const f of parseFilters(params)) {
      const match = filterMatcher(f.values)
      if (f.name === 'prefix-list-id') lists = lists.filter(list => match(list.id))
      else if (f.name === 'prefix-list-name') lists = lists.filter(list => match(list.name))
      else if (f.name === 'owner-id') lists = lists.filter(list => match(list.owner))
      else throw new QueryError('InvalidParameterValue', `The filter '${f.name}' is invalid`)
    }
    const n = params.int('MaxResults')
    // "Valid Range: Minimum value of 1. Maximum value of 100." (DescribeManagedPrefixLists)
    if (n !== undefined && (n < 1 || n > 100)) {
      throw new QueryError(
        'InvalidParameterValue',
        `Value ( ${n} ) for parameter maxResults is invalid.`
      )
    }
    const numbered = lists.map((list, index) => ({ list, seq: index + 1 }))
    const { page, nextToken } = this.paginate('pl', numbered, n, params.get('NextToken'))
    return (
      xmlItems(
        'prefixListSet',
        page,
        ({ list }) =>
          xmlText('prefixListId', list.id) +
          xmlText('addressFamily', list.addressFamily) +
          xmlText('state', 'create-complete') +
          xmlText(
            'prefixListArn',
            `arn:aws:ec2:${list.region}:${list.owner === 'AWS' ? 'aws' : list.owner}:prefix-list/${list.id}`
          ) +
          xmlText('prefixListName', list.name) +
          xmlText('maxEntries', list.maxEntries) +
          xmlText('version', 1) +
          '<tagSet/>' +
          xmlText('ownerId', list.owner)
      ) + xmlText('nextToken', nextToken)
    )
  }

  private getManagedPrefixListEntries(ctx: Ctx): string {
    const { params } = ctx
    const id = params.require('PrefixListId')
    const list = this.visiblePrefixLists(ctx).find(candidate => candidate.id === id)
    if (!list) {
      throw new QueryError(
        'InvalidPrefixListID.NotFound',
        `The prefix list ID '${id}' does not exist`
      )
    }
    const n = params.int('MaxResults')
    // "Valid Range: Minimum value of 1. Maximum value of 100." (GetManagedPrefixListEntries)
    if (n !== undefined && (n < 1 || n > 100)) {
      throw new QueryError(
        'InvalidParameterValue',
        `Value ( ${n} ) for parameter maxResults is invalid.`
      )
    }
    this.dryRun(params)
    const numbered = list.entries.map((entry, index) => ({ entry, seq: index + 1 }))
    const { page, nextToken } = this.paginate('ple', numbered, n, params.get('NextToken'))
    return (
      xmlItems(
        'entrySet',
        page,
        ({ entry }) => xmlText('cidr', entry.cidr) + xmlText('description', entry.description)
      ) + xmlText('nextToken', nextToken)
    )
  }

  // -- rule parsing and mutation --------------------------------------------------------------

  /** IpPermissions.N (and the legacy top-level CidrIp/IpProtocol/FromPort/ToPort form). */
  private parsePermissions(ctx: Ctx, needSource = true): RuleSpec[] {
    const { params } = ctx
    const out: RuleSpec[] = []
    for (const perm of params.structs('IpPermissions')) {
      const protocol = perm.get('IpProtocol')
      if (protocol === undefined) {
        throw new QueryError(
          'MissingParameter',
          'The request must contain the parameter ipProtocol'
        )
      }
      const base = { protocol, fromPort: perm.int('FromPort'), toPort: perm.int('ToPort') }
      const before = out.length
      for (const r of perm.structs('IpRanges')) {
        out.push({
          ...base,
          source: { kind: 'cidr4', cidr: r.get('CidrIp') ?? '' },
          description: r.get('Description')
        })
      }
      for (const r of perm.structs('Ipv6Ranges')) {
        out.push({
          ...base,
          source: { kind: 'cidr6', cidr: r.get('CidrIpv6') ?? '' },
          description: r.get('Description')
        })
      }
      for (const r of perm.structs('Groups')) {
        const groupId = r.get('GroupId')
        if (groupId === undefined)
          throw new QueryError('MissingParameter', 'Source group ID missing.')
        out.push({
          ...base,
          source: { kind: 'group', groupId, userId: r.get('UserId') ?? ctx.account },
          description: r.get('Description')
        })
      }
      for (const r of perm.structs('PrefixListIds')) {
        out.push({
          ...base,
          source: { kind: 'prefixList', prefixListId: r.get('PrefixListId') ?? '' },
          description: r.get('Description')
        })
      }
      if (out.length === before && needSource)
        throw new QueryError('MissingParameter', MSG.missingSource)
    }
    const legacyCidr = params.get('CidrIp')
    if (legacyCidr !== undefined) {
      out.push({
        protocol: params.get('IpProtocol') ?? '-1',
        fromPort: params.int('FromPort'),
        toPort: params.int('ToPort'),
        source: { kind: 'cidr4', cidr: legacyCidr }
      })
    }
    return out.map(s => this.normalizeSpec(s, ctx))
  }

  private normalizeSpec(spec: RuleSpec, ctx: { account: string; region: string }): RuleSpec {
    const protocol = normalizeProtocol(spec.protocol)
    const [fromPort, toPort] = normalizePorts(protocol, spec.fromPort, spec.toPort)
    checkDescription(spec.description)
    const canon = this.opts.canonicalizeCidrs
    let source: Source = spec.source
    if (source.kind === 'cidr4') {
      const cidr = canonicalIpv4Cidr(source.cidr, canon)
      if (!cidr)
        throw new QueryError('InvalidParameterValue', `CIDR block ${source.cidr} is malformed`)
      source = { kind: 'cidr4', cidr }
    } else if (source.kind === 'cidr6') {
      const cidr = canonicalIpv6Cidr(source.cidr, canon)
      if (!cidr)
        throw new QueryError('InvalidParameterValue', `CIDR block ${source.cidr} is malformed`)
      source = { kind: 'cidr6', cidr }
    } else if (source.kind === 'group') {
      if (source.userId === ctx.account) this.lookupGroup(ctx, source.groupId)
    } else if (!/^pl-[0-9a-f]+$/.test(source.prefixListId)) {
      throw new QueryError(
        'InvalidPrefixListId.Malformed',
        `The prefix list ID '${source.prefixListId}' is malformed`
      )
    }
    const out: RuleSpec = { protocol, source }
    if (fromPort !== undefined) out.fromPort = fromPort
    if (toPort !== undefined) out.toPort = toPort
    if (spec.description !== undefined && spec.description !== '')
      out.description = spec.description
    return out
  }

  /** All-or-nothing: validates every rule against the request and the group, then adds them. */
  private addRules(group: Group, specs: RuleSpec[], isEgress: boolean): Rule[] {
    const seen = new Set<string>()
    for (const s of specs) {
      const key = ruleKey(s)
      if (seen.has(key)) throw new QueryError('InvalidParameterValue', MSG.samePermissionTwice)
      seen.add(key)
    }
    const current = isEgress ? group.egress : group.ingress
    const existing = new Set(current.map(ruleKey))
    const checkDuplicates = () => {
      for (const s of specs) {
        if (existing.has(ruleKey(s))) {
          throw new QueryError(
            'InvalidPermission.Duplicate',
            `the specified rule "${ruleText(s)}" already exists`
          )
        }
      }
    }
    // A repeated rule counts twice here: with 'quota-first', re-sending rules that filled the
    // group exactly (a retry after a lost answer) meets the quota error, not the duplicate one.
    const checkQuota = () => {
      const usage = this.usage([...current, ...specs])
      const limit = this.opts.rulesPerGroupLimit
      if (usage.ipv4 > limit || usage.ipv6 > limit) {
        throw new QueryError('RulesPerSecurityGroupLimitExceeded', MSG.limit)
      }
    }
    if (this.opts.authorizeCheckOrder === 'quota-first') {
      checkQuota()
      checkDuplicates()
    } else {
      checkDuplicates()
      checkQuota()
    }
    const added = specs.map(s => ({ ...s, id: this.newId('sgr'), seq: ++this.objSeq, isEgress }))
    current.push(...added)
    return added
  }

  /** Quota use per IP family (see the header comment for how each source kind counts). */
  private usage(rules: RuleSpec[]): { ipv4: number; ipv6: number } {
    let ipv4 = 0
    let ipv6 = 0
    for (const r of rules) {
      const s = r.source
      if (s.kind === 'cidr4') ipv4++
      else if (s.kind === 'cidr6') ipv6++
      else if (s.kind === 'group') {
        ipv4++
        ipv6++
      } else {
        // Known lists are customer-managed IPv4 lists of that size; unknown ones weigh 1 in both.
        const w = this.opts.prefixListWeights?.[s.prefixListId]
        if (w === undefined) {
          ipv4++
          ipv6++
        } else ipv4 += w
      }
    }
    return { ipv4, ipv6 }
  }

  // -- state helpers --------------------------------------------------------------------------

  private newGroup(
    account: string,
    region: string,
    vpcId: string,
    name: string,
    description: string
  ): Group {
    for (const g of this.groups.values()) {
      if (g.account === account && g.region === region && g.vpcId === vpcId && g.name === name) {
        throw new QueryError(
          'InvalidGroup.Duplicate',
          `The security group '${name}' already exists for VPC '${vpcId}'`
        )
      }
    }
    const group: Group = {
      id: this.newId('sg'),
      seq: ++this.objSeq,
      account,
      region,
      vpcId,
      name,
      description,
      tags: new Map(),
      ingress: [],
      egress: []
    }
    // A new group starts with one outbound rule allowing all traffic (Amazon VPC user guide,
    // security-group-rules.md, "Characteristics of security group rules").
    group.egress.push({
      id: this.newId('sgr'),
      seq: ++this.objSeq,
      isEgress: true,
      protocol: '-1',
      source: { kind: 'cidr4', cidr: '0.0.0.0/0' }
    })
    this.groups.set(group.id, group)
    return group
  }

  private newId(prefix: 'sg' | 'sgr'): string {
    for (;;) {
      const hex = Array.from({ length: 16 }, () =>
        Math.floor(this.idRandom() * 16).toString(16)
      ).join('')
      const id = `${prefix}-0${hex}`
      if (!this.usedIds.has(id)) {
        this.usedIds.add(id)
        return id
      }
    }
  }

  private groupsIn(ctx: { account: string; region: string }): Group[] {
    return [...this.groups.values()]
      .filter(g => g.account === ctx.account && g.region === ctx.region)
      .sort((a, b) => a.seq - b.seq)
  }

  private lookupGroup(ctx: { account: string; region: string }, id: string): Group {
    if (!isGroupIdShape(id)) {
      throw new QueryError('InvalidGroupId.Malformed', `Invalid id: "${id}" (expecting "sg-...")`)
    }
    const g = this.groups.get(id)
    if (!g || g.account !== ctx.account || g.region !== ctx.region) {
      throw new QueryError('InvalidGroup.NotFound', `The security group '${id}' does not exist`)
    }
    return g
  }

  private taggedResources(ctx: Ctx): Group[] {
    const ids = ctx.params.list('ResourceId')
    if (ids.length === 0) {
      throw new QueryError('MissingParameter', 'The request must contain the parameter ResourceId')
    }
    return ids.map(id => {
      if (!id.startsWith('sg-')) throw new QueryError('InvalidID', `The ID '${id}' is not valid`)
      return this.lookupGroup(ctx, id)
    })
  }

  /** Tag.N.Key / Tag.N.Value; value undefined when absent. */
  private parseTags(params: QueryParams, forWrite: boolean): Array<[string, string | undefined]> {
    return params.structs('Tag').map(t => {
      const key = t.get('Key')
      if (key === undefined || key === '') {
        throw new QueryError('InvalidParameterValue', 'Tag key must not be empty')
      }
      const value = t.get('Value')
      if (forWrite) {
        if (key.length > 128 || (value ?? '').length > 256) {
          throw new QueryError('InvalidParameterValue', `Tag '${key}' is too long`)
        }
        if (key.toLowerCase().startsWith('aws:')) {
          throw new QueryError(
            'InvalidParameterValue',
            "Tag keys starting with 'aws:' are reserved for internal use"
          )
        }
      }
      return [key, value]
    })
  }

  private checkTagCount(count: number): void {
    if (count > 50) {
      throw new QueryError(
        'TagLimitExceeded',
        'The maximum number of Tags for a resource has been reached.'
      )
    }
  }

  private dryRun(params: QueryParams): void {
    if (params.bool('DryRun')) throw new QueryError('DryRunOperation', MSG.dryRun, 412)
  }

  private maxResults(params: QueryParams): number | undefined {
    const n = params.int('MaxResults')
    // "This value can be between 5 and 1000" (EC2 API reference, DescribeSecurityGroups).
    if (n !== undefined && (n < 5 || n > 1000)) {
      throw new QueryError(
        'InvalidParameterValue',
        `Value ( ${n} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`
      )
    }
    return n
  }

  /** Cursor pagination on creation order: robust to items added or removed between pages. */
  private paginate<T extends { seq: number }>(
    kind: string,
    items: T[],
    maxResults: number | undefined,
    token: string | undefined
  ): { page: T[]; nextToken?: string } {
    let rest = items
    if (token !== undefined && token !== '') {
      let after: number | undefined
      try {
        const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
          k?: string
          a?: number
        }
        if (decoded.k === kind && typeof decoded.a === 'number') after = decoded.a
      } catch {
        after = undefined
      }
      if (after === undefined)
        throw new QueryError('InvalidParameterValue', `The token '${token}' is invalid`)
      rest = items.filter(i => i.seq > (after as number))
    }
    if (maxResults === undefined || rest.length <= maxResults) return { page: rest }
    const page = rest.slice(0, maxResults)
    const last = page[page.length - 1] as T
    return {
      page,
      nextToken: Buffer.from(JSON.stringify({ k: kind, a: last.seq })).toString('base64url')
    }
  }

  private groupFilter(name: string, values: string[]): (g: Group) => boolean {
    const match = filterMatcher(values)
    const anyIngress = (pick: (r: Rule) => string | undefined) => (g: Group) =>
      g.ingress.some(r => match(pick(r)))
    if (name.startsWith('tag:')) {
      const key = name.slice(4)
      return g => match(g.tags.get(key))
    }
    switch (name) {
      case 'tag-key':
        return g => [...g.tags.keys()].some(k => match(k))
      case 'tag-value':
        return g => [...g.tags.values()].some(v => match(v))
      case 'group-id':
        return g => match(g.id)
      case 'group-name':
        return g => match(g.name)
      case 'vpc-id':
        return g => match(g.vpcId)
      case 'owner-id':
        return g => match(g.account)
      case 'description':
        return g => match(g.description)
      case 'ip-permission.protocol':
        return anyIngress(r => r.protocol)
      case 'ip-permission.from-port':
        return anyIngress(r => (r.fromPort === undefined ? undefined : String(r.fromPort)))
      case 'ip-permission.to-port':
        return anyIngress(r => (r.toPort === undefined ? undefined : String(r.toPort)))
      case 'ip-permission.cidr':
        return anyIngress(r => (r.source.kind === 'cidr4' ? r.source.cidr : undefined))
      case 'ip-permission.ipv6-cidr':
        return anyIngress(r => (r.source.kind === 'cidr6' ? r.source.cidr : undefined))
      default:
        throw new QueryError('InvalidParameterValue', `The filter '${name}' is invalid`)
    }
  }

  // -- rendering ------------------------------------------------------------------------------

  private groupArn(g: Group): string {
    return `arn:aws:ec2:${g.region}:${g.account}:security-group/${g.id}`
  }

  private renderTags(tags: Map<string, string>): string {
    return xmlItems('tagSet', [...tags], ([k, v]) => xmlText('key', k) + xmlText('value', v))
  }

  private renderGroup(g: Group): string {
    return (
      xmlText('ownerId', g.account) +
      xmlText('groupId', g.id) +
      xmlText('groupName', g.name) +
      xmlText('groupDescription', g.description) +
      xmlText('vpcId', g.vpcId) +
      xmlText('securityGroupArn', this.groupArn(g)) +
      this.renderPermissions('ipPermissions', g.ingress) +
      this.renderPermissions('ipPermissionsEgress', g.egress) +
      (g.tags.size > 0 ? this.renderTags(g.tags) : '')
    )
  }

  /** DescribeSecurityGroups groups rules sharing protocol and ports into one IpPermission. */
  private renderPermissions(name: string, rules: Rule[]): string {
    const perms = new Map<string, Rule[]>()
    for (const r of rules) {
      const key = `${r.protocol}|${r.fromPort ?? ''}|${r.toPort ?? ''}`
      perms.set(key, [...(perms.get(key) ?? []), r])
    }
    return xmlItems(name, [...perms.values()], list => {
      const first = list[0] as Rule
      const of = <K extends Source['kind']>(kind: K) =>
        list.filter(
          (r): r is Rule & { source: Extract<Source, { kind: K }> } => r.source.kind === kind
        )
      return (
        xmlText('ipProtocol', first.protocol) +
        xmlText('fromPort', first.fromPort) +
        xmlText('toPort', first.toPort) +
        xmlItems(
          'groups',
          of('group'),
          r =>
            xmlText('description', r.description) +
            xmlText('userId', r.source.userId) +
            xmlText('groupId', r.source.groupId)
        ) +
        xmlItems(
          'ipRanges',
          of('cidr4'),
          r => xmlText('cidrIp', r.source.cidr) + xmlText('description', r.description)
        ) +
        xmlItems(
          'ipv6Ranges',
          of('cidr6'),
          r => xmlText('cidrIpv6', r.source.cidr) + xmlText('description', r.description)
        ) +
        xmlItems(
          'prefixListIds',
          of('prefixList'),
          r =>
            xmlText('prefixListId', r.source.prefixListId) + xmlText('description', r.description)
        )
      )
    })
  }

  private renderSource(s: Source): string {
    switch (s.kind) {
      case 'cidr4':
        return xmlText('cidrIpv4', s.cidr)
      case 'cidr6':
        return xmlText('cidrIpv6', s.cidr)
      case 'prefixList':
        return xmlText('prefixListId', s.prefixListId)
      case 'group':
        return xmlElement(
          'referencedGroupInfo',
          xmlText('groupId', s.groupId) + xmlText('userId', s.userId)
        )
    }
  }

  private renderRule(g: Group, r: Rule): string {
    return (
      xmlText('securityGroupRuleId', r.id) +
      xmlText('groupId', g.id) +
      xmlText('groupOwnerId', g.account) +
      xmlText('isEgress', r.isEgress) +
      xmlText('ipProtocol', r.protocol) +
      xmlText('fromPort', r.fromPort ?? -1) +
      xmlText('toPort', r.toPort ?? -1) +
      this.renderSource(r.source) +
      xmlText('description', r.description) +
      '<tagSet/>' +
      xmlText(
        'securityGroupRuleArn',
        `arn:aws:ec2:${g.region}:${g.account}:security-group-rule/${r.id}`
      )
    )
  }

  private renderRevokedRule(g: Group, r: Rule): string {
    const s = r.source
    return (
      xmlText('securityGroupRuleId', r.id) +
      xmlText('groupId', g.id) +
      xmlText('isEgress', r.isEgress) +
      xmlText('ipProtocol', r.protocol) +
      xmlText('fromPort', r.fromPort ?? -1) +
      xmlText('toPort', r.toPort ?? -1) +
      (s.kind === 'group' ? xmlText('referencedGroupId', s.groupId) : this.renderSource(s)) +
      xmlText('description', r.description)
    )
  }

  private snapshot(g: Group): GroupSnapshot {
    const rule = (r: Rule): RuleSnapshot => {
      const out: RuleSnapshot = { ruleId: r.id, isEgress: r.isEgress, protocol: r.protocol }
      if (r.fromPort !== undefined) out.fromPort = r.fromPort
      if (r.toPort !== undefined) out.toPort = r.toPort
      const s = r.source
      if (s.kind === 'cidr4') out.cidrIpv4 = s.cidr
      else if (s.kind === 'cidr6') out.cidrIpv6 = s.cidr
      else if (s.kind === 'prefixList') out.prefixListId = s.prefixListId
      else {
        out.referencedGroupId = s.groupId
        out.referencedUserId = s.userId
      }
      if (r.description !== undefined) out.description = r.description
      return out
    }
    return {
      groupId: g.id,
      account: g.account,
      region: g.region,
      vpcId: g.vpcId,
      name: g.name,
      description: g.description,
      tags: Object.fromEntries(g.tags),
      ingress: g.ingress.map(rule),
      egress: g.egress.map(rule)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Standalone: `tsx dev/emulators/ec2.ts --port 4566 [--rules-limit 60]` prints the URL.

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const port = Number(arg('--port') ?? 0)
  const limit = arg('--rules-limit')
  const emulator = new Ec2Emulator(limit ? { rulesPerGroupLimit: Number(limit) } : {})
  const url = await emulator.start(port)
  console.log(url)
  const shutdown = () => {
    void emulator.stop().then(() => process.exit(0))
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main(process.argv.slice(2))
}
