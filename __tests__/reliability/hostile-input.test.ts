// The catalogue of hostile and broken input, run against the bundled action (dist/index.js on Node
// 24). Every case is one run: malformed inputs, dispatch payloads, downloads (truncated, not JSON,
// wrong schema, absurd prefixes, huge, redirected) and odd tags. Each must fail (or skip, where that
// is right) with a message naming the problem and make ZERO mutating calls, while correctly tagged
// groups that a run would change sit in the same account. Duplicates in the document are normal:
// that case must succeed. All cases run in parallel, each signing with its own access key so its
// calls can be told apart.
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import type { Ec2Call } from '../../dev/emulators/ec2.js'
import { generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import type { RangesBehaviour } from '../../dev/ranges-server.js'
import { RangesServer } from '../../dev/ranges-server.js'
import type { ActionRun } from '../../dev/run-action.js'
import { runAction } from '../../dev/run-action.js'
import { md5Hex } from '../../src/ranges/verify.js'
import type { IpRangesDocument } from '../../src/ranges/parse.js'
import { findSecrets, mapLimit, published, writeFigures } from './harness.js'
import { checkConverged } from './invariants.js'

const good = generateIpRanges({ seed: 11, syncToken: '1785000000', otherServicesScale: 0.02 })
const goodText = serializeIpRanges(good)
const MiB = 1024 * 1024
const GITHUB_TOKEN = 'ghs_catalogueFakeToken0123456789abcdef'
const URL_PASSWORD = 'hunter2-url-password'

const MAIN = '310000000000'
const ACCOUNTS = {
  main: MAIN,
  protocolUpper: '310000000001',
  autoUpdateUpper: '310000000002',
  nameSpace: '310000000003',
  protocolMissing: '310000000004',
  duplicates: '310000000005',
  guard: '310000000006'
} as const
type AccountName = keyof typeof ACCOUNTS

interface Case {
  name: string
  inputs?: Record<string, string>
  env?: Record<string, string>
  event?: { name: string; payload: unknown; raw?: string }
  /** What the case's URL serves (default: the good document). */
  serve?: RangesBehaviour | ((self: string) => RangesBehaviour)
  /** The ip-ranges-url input, given the case's own URL (default: that URL). */
  url?: (self: string) => string
  account?: AccountName
  /** Exit code (default 1). */
  exit?: number
  /** The annotation naming the problem (an ::error:: line unless `level` says otherwise). */
  message?: RegExp
  level?: 'error' | 'warning' | 'notice'
  /** Mutating calls are expected (the one success case). */
  mutates?: boolean
  /** The run must not even download or call AWS (input errors). */
  noNetwork?: boolean
  check?: (result: CaseResult) => void
}

interface CaseResult {
  run: ActionRun
  calls: Ec2Call[]
  rangesRequests: number
  bytesSent: number
  ms: number
}

const dispatch = (clientPayload: unknown, action = 'aws-ip-ranges-changed') => ({
  name: 'repository_dispatch',
  payload: { action, client_payload: clientPayload }
})

/** The good document with an edit, served as a document. */
function edited(edit: (doc: IpRangesDocument) => unknown): RangesBehaviour {
  const doc = structuredClone(good) as IpRangesDocument
  const replaced = edit(doc)
  const body = replaced === undefined ? serializeIpRanges(doc) : JSON.stringify(replaced)
  return { kind: 'document', body }
}

const originFacing = (prefix: string, region = 'GLOBAL') => ({
  ip_prefix: prefix,
  region,
  service: 'CLOUDFRONT_ORIGIN_FACING',
  network_border_group: region
})

const input = (name: string, value: string, message: RegExp): Case => ({
  name: `input ${name}=${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`,
  inputs: { [name]: value },
  message,
  noNetwork: true
})

const nameOf = (name: string) => new RegExp(`Input '${name}' has an invalid value`)

const CASES: Case[] = [
  // --- inputs: each names the input, the value and the expected form, before any network call
  input(
    'regions',
    'us-east-1;eu-west-1',
    /Input 'regions' has an invalid value 'us-east-1;eu-west-1'/
  ),
  input('regions', 'US-EAST-1', /Input 'regions' has an invalid value 'US-EAST-1'/),
  input(
    'regions',
    'us-east-1,mars-north-99x',
    /Input 'regions' has an invalid value 'mars-north-99x'/
  ),
  {
    name: 'no region at all (input empty, AWS_REGION unset)',
    inputs: { regions: '' },
    env: { AWS_REGION: '', AWS_DEFAULT_REGION: '' },
    message: /No region to sync: set input 'regions'/,
    noNetwork: true
  },
  input('service', 'cloudfront', /Input 'service' has an invalid value 'cloudfront'/),
  input('service', 'CLOUDFRONT; rm -rf /', nameOf('service')),
  input('ip-families', 'ipv5', /Input 'ip-families' has an invalid value 'ipv5'/),
  input('ip-families', ',', nameOf('ip-families')),
  input('ip-ranges-url', 'http://example.com/ip-ranges.json', /Input 'ip-ranges-url'.*https URL/),
  input('ip-ranges-url', 'ftp://127.0.0.1/ip-ranges.json', /Input 'ip-ranges-url'.*https URL/),
  input('ip-ranges-url', 'not a url', /Input 'ip-ranges-url' has an invalid value 'not a url'/),
  {
    ...input(
      'ip-ranges-url',
      `https://user:${URL_PASSWORD}@ip-ranges.amazonaws.com/ip-ranges.json`,
      /Input 'ip-ranges-url'.*without embedded credentials/
    ),
    name: 'input ip-ranges-url with a password in it (never echoed)'
  },
  input('expected-md5', 'xyz', /Input 'expected-md5' has an invalid value 'xyz'.*32 hexadecimal/),
  input('expected-md5', 'a'.repeat(31), nameOf('expected-md5')),
  {
    name: 'input global-name-tag equal to regional-name-tag',
    inputs: { 'global-name-tag': 'edge', 'regional-name-tag': 'edge' },
    message: /'global-name-tag' and 'regional-name-tag' are both 'edge'/,
    noNetwork: true
  },
  input('global-name-tag', 'g'.repeat(257), /Input 'global-name-tag'.*at most 256 characters/),
  input('auto-update-tag', 'aws:managed', /Input 'auto-update-tag'.*not starting with 'aws:'/),
  input(
    'protocol-ports',
    'https=99999',
    /Input 'protocol-ports' has an invalid value 'https=99999'/
  ),
  input('protocol-ports', 'https=443,https=8443', /each name once/),
  input('protocol-ports', 'https', nameOf('protocol-ports')),
  input('max-rules-per-group', 'sixty', /Input 'max-rules-per-group' has an invalid value 'sixty'/),
  input('max-rules-per-group', '0', /from 1 to 1000/),
  input('max-rules-per-group', '1001', /from 1 to 1000/),
  input('merge-adjacent', 'yes', /Input 'merge-adjacent' has an invalid value 'yes'/),
  input('rule-description', 'cloudfront<script>', nameOf('rule-description')),
  input('rule-description', 'd'.repeat(256), nameOf('rule-description')),
  input('max-removals-percent', '150', nameOf('max-removals-percent')),
  input('max-removals-percent', '-5', nameOf('max-removals-percent')),
  input('dry-run', 'maybe', /Input 'dry-run' has an invalid value 'maybe'/),
  input('role-to-assume', 'cloudfront-sg-sync', /Input 'role-to-assume'.*a role name alone/),
  input('role-to-assume', 'arn:aws:iam::12345:role/x', nameOf('role-to-assume')),
  input('role-session-name', 'has space', nameOf('role-session-name')),
  input('role-duration-seconds', '60', /Input 'role-duration-seconds'.*from 900 to 43200/),
  input('audience', 'sts amazonaws com', nameOf('audience')),
  input('dispatch-event-types', 'e'.repeat(101), /Input 'dispatch-event-types'.*at most 100/),
  input('issue-label', 'a,b', /Input 'issue-label' has an invalid value 'a,b'/),
  {
    name: 'input create-issue=true with an empty github-token',
    inputs: { 'create-issue': 'true', 'github-token': '' },
    message: /'create-issue' is true but 'github-token' is empty/,
    noNetwork: true
  },

  // --- repository_dispatch payloads: untrusted, each field checked before anything is read
  ...(
    [
      ['a foreign URL', { url: 'https://evil.example.com/ip-ranges.json' }, 'url'],
      ['an http URL', { url: 'http://ip-ranges.amazonaws.com/ip-ranges.json' }, 'url'],
      ['a URL with credentials', { url: 'https://a:b@ip-ranges.amazonaws.com/x.json' }, 'url'],
      ['the same host on another port', { url: 'http://127.0.0.1:1/ip-ranges.json' }, 'url'],
      [
        'an oversized URL (3000 characters)',
        { url: `https://ip-ranges.amazonaws.com/${'a'.repeat(3000)}` },
        'url'
      ],
      ['a URL of the wrong type', { url: { href: 'https://ip-ranges.amazonaws.com/' } }, 'url'],
      ['a non-numeric synctoken', { synctoken: 'abc' }, 'synctoken'],
      ['a numeric (not string) synctoken', { synctoken: 1785000000 }, 'synctoken'],
      ['a 13-digit synctoken', { synctoken: '1'.repeat(13) }, 'synctoken'],
      // Issue 15: accepted before (up to 12 digits): not a publication time that has happened.
      ['a 12-digit synctoken', { synctoken: '100000000000' }, 'synctoken'],
      ['a synctoken in the year 2286', { synctoken: '9999999999' }, 'synctoken'],
      [
        'a synctoken a day ahead of the runner',
        { synctoken: String(Math.floor(Date.now() / 1000) + 86_400) },
        'synctoken'
      ],
      ['an md5 of the wrong type', { md5: ['d41d8cd98f00b204e9800998ecf8427e'] }, 'md5'],
      ['an oversized md5 (10000 characters)', { md5: 'f'.repeat(10_000) }, 'md5'],
      ['a create_time that is not a date', { create_time: 'yesterday' }, 'create_time'],
      [
        'an oversized create_time',
        { create_time: `2026-08-13T10:13:05.${'1'.repeat(40)}Z` },
        'create_time'
      ]
    ] as const
  ).map(([what, payload, field]): Case => ({
    name: `dispatch payload with ${what}`,
    event: dispatch(payload),
    message: new RegExp(`client_payload field '${field}' is invalid`),
    noNetwork: true,
    check: ({ run }) => {
      // Long values are clipped in messages: nothing echoes a 3000+ character field.
      expect(run.stdout.length).toBeLessThan(4000)
    }
  })),
  {
    name: 'dispatch client_payload that is a string',
    event: dispatch('synctoken=1&md5=x'),
    message:
      /The repository_dispatch client_payload is "synctoken=1&md5=x": expected a JSON object/,
    noNetwork: true
  },
  {
    name: 'dispatch client_payload that is an array',
    event: dispatch([1, 2]),
    message: /The repository_dispatch client_payload is an array/,
    noNetwork: true
  },
  {
    name: 'event file that is not JSON',
    event: {
      name: 'repository_dispatch',
      payload: null,
      raw: '{"action": "aws-ip-ranges-changed",'
    },
    message: /Cannot read the event payload .*event\.json/,
    noNetwork: true
  },
  {
    name: 'dispatch of another event type: a clear skip',
    event: dispatch({}, 'deploy'),
    exit: 0,
    level: 'notice',
    message: /repository_dispatch event type "deploy" is not one of dispatch-event-types/,
    noNetwork: true
  },
  {
    name: 'dispatch event type carrying a workflow command: skipped, not injected',
    event: dispatch({}, 'x\n::error::injected\n::set-output name=changed::true'),
    exit: 0,
    level: 'notice',
    message: /event type "x\\n::error::injected/,
    noNetwork: true,
    check: ({ run }) => {
      expect(run.stdout).not.toMatch(/^::error::injected/m)
      expect(run.stdout).not.toMatch(/^::set-output/m)
      expect(run.outputs.changed).not.toBe('true')
    }
  },

  // --- the download: everything below reaches the ranges server, and stops there
  {
    name: 'document truncated (a cut JSON body)',
    serve: { kind: 'document', body: goodText.slice(0, Math.floor(goodText.length * 0.6)) },
    message: /ip-ranges\.json is truncated/
  },
  {
    name: 'connection cut mid-body (Content-Length not reached), every attempt',
    serve: { kind: 'truncate', body: goodText, bytes: 4096 },
    message: /GET .* failed: .*\(gave up after 4 attempts\)/,
    check: ({ rangesRequests }) => expect(rangesRequests).toBe(4)
  },
  {
    name: 'not JSON (an HTML error page with status 200)',
    serve: { kind: 'document', body: '<html><body>Service Unavailable</body></html>' },
    message: /ip-ranges\.json is not valid JSON.*starts with "<html>/
  },
  {
    name: 'empty body',
    serve: { kind: 'document', body: '' },
    message: /ip-ranges\.json is empty/
  },
  {
    name: 'not UTF-8',
    serve: { kind: 'document', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
    message: /ip-ranges\.json is not valid UTF-8/
  },
  {
    name: 'wrong schema: top level is an array',
    serve: edited(doc => [doc]),
    message: /the top level must be an object, got an array/
  },
  {
    name: 'wrong schema: "prefixes" missing',
    serve: edited(doc => ({
      syncToken: doc.syncToken,
      createDate: doc.createDate,
      ipv6_prefixes: []
    })),
    message: /"prefixes" is missing/
  },
  {
    name: 'wrong schema: "prefixes" is an object',
    serve: edited(doc => ({ ...doc, prefixes: { '0': doc.prefixes[0] } })),
    message: /"prefixes" must be an array, got an object/
  },
  {
    name: 'wrong schema: an entry without region',
    serve: edited(doc => {
      doc.prefixes.push({ ip_prefix: '240.255.0.0/24', service: 'EC2' } as never)
    }),
    message: /prefixes\[\d+\]\.region is missing/
  },
  {
    name: 'empty prefix lists',
    serve: edited(doc => ({ ...doc, prefixes: [], ipv6_prefixes: [] })),
    message: /lists no prefixes for service "CLOUDFRONT_ORIGIN_FACING"; services present: \(none\)/
  },
  {
    name: 'a 0.0.0.0/0 entry in the selected service',
    serve: edited(doc => {
      doc.prefixes.push(originFacing('0.0.0.0/0'))
    }),
    message: /"0\.0\.0\.0\/0" of service CLOUDFRONT_ORIGIN_FACING .* broader than \/8: refusing/
  },
  {
    name: 'a ::/0 entry in the selected service (ipv4,ipv6)',
    inputs: { 'ip-families': 'ipv4,ipv6' },
    serve: edited(doc => {
      doc.ipv6_prefixes.push({
        ipv6_prefix: '::/0',
        region: 'GLOBAL',
        service: 'CLOUDFRONT_ORIGIN_FACING',
        network_border_group: 'GLOBAL'
      })
    }),
    message: /"::\/0" of service CLOUDFRONT_ORIGIN_FACING .* broader than \/16: refusing/
  },
  {
    name: 'a /4 entry in the selected service',
    serve: edited(doc => {
      doc.prefixes.push(originFacing('240.0.0.0/4'))
    }),
    message: /"240\.0\.0\.0\/4" .* broader than \/8/
  },
  {
    // Only the selected service's ranges are opened, so only they are judged. The account's one
    // group is left alone (no Protocol tag): the run gets as far as planning and changes nothing.
    name: 'a /4 entry in another service: ignored, the run plans normally',
    serve: edited(doc => {
      doc.prefixes.push({ ...originFacing('240.0.0.0/4'), service: 'EC2' })
    }),
    account: 'protocolMissing',
    message: /No security group to sync/
  },
  {
    name: 'an invalid CIDR (octet 300)',
    serve: edited(doc => {
      doc.prefixes.push(originFacing('300.1.2.3/24'))
    }),
    message: /prefixes\[\d+\]\.ip_prefix "300\.1\.2\.3\/24" is invalid/
  },
  {
    name: 'an invalid CIDR (host bits set)',
    serve: edited(doc => {
      doc.prefixes.push(originFacing('240.0.0.1/24'))
    }),
    message: /"240\.0\.0\.1\/24" is invalid/
  },
  {
    name: 'an invalid CIDR (no length)',
    serve: edited(doc => {
      doc.prefixes.push(originFacing('240.0.0.0'))
    }),
    message: /"240\.0\.0\.0" is invalid/
  },
  {
    name: 'an IPv6 prefix in the IPv4 list',
    serve: edited(doc => {
      doc.prefixes.push(originFacing('2600:9000::/28'))
    }),
    message: /is an IPv6 prefix, which belongs in "ipv6_prefixes"/
  },
  {
    name: 'a non-numeric syncToken',
    serve: edited(doc => {
      doc.syncToken = '17850000OO'
    }),
    message: /"syncToken" "17850000OO" must be all digits/
  },
  // Issue 15: once applied, such a token was recorded on the groups and held back every genuine
  // file after it (for 20 digits, forever).
  {
    name: 'a 20-digit syncToken',
    serve: edited(doc => {
      doc.syncToken = '99999999999999999999'
    }),
    message: /syncToken 99999999999999999999 .*cannot be an AWS publication time: it has 20 digits/
  },
  {
    name: 'a syncToken a day ahead of the runner',
    serve: edited(doc => {
      doc.syncToken = String(Math.floor(Date.now() / 1000) + 86_400)
    }),
    message: /cannot be an AWS publication time: it is .*later than the runner's clock/
  },
  {
    name: 'a syncToken that is a number',
    serve: edited(doc => ({ ...doc, syncToken: 1785000000 })),
    message: /"syncToken" must be a string, got number 1785000000/
  },
  {
    name: 'an impossible createDate',
    serve: edited(doc => {
      doc.createDate = '2026-02-30-10-00-00'
    }),
    message: /"createDate" "2026-02-30-10-00-00" is not a date/
  },
  // No IPv6 ranges while ipv6 is requested is no longer a refusal by itself (issue 15): see
  // range-bounds.test.ts, which runs it against groups with and without managed IPv6 rules.
  {
    name: 'a 64 MiB body streamed without Content-Length (over the 32 MiB cap)',
    serve: { kind: 'huge', bytes: 64 * MiB },
    message: /the body exceeds the 33554432-byte limit/,
    // The action stops reading at the cap (what the server wrote includes socket buffers).
    check: ({ bytesSent }) => expect(bytesSent).toBeLessThan(40 * MiB)
  },
  {
    name: 'a 40 MiB Content-Length announced',
    serve: { kind: 'huge', bytes: 40 * MiB, announceLength: true },
    message: /Content-Length 41943040 exceeds the 33554432-byte limit/,
    check: ({ bytesSent }) => expect(bytesSent).toBeLessThan(8 * MiB)
  },
  {
    name: 'a redirect to another host (localhost instead of 127.0.0.1)',
    serve: self => ({ kind: 'redirect', location: self.replace('127.0.0.1', 'localhost') }),
    message: /redirects to another host \(localhost:\d+\); only redirects within the same host/
  },
  {
    name: 'a redirect to https on another host',
    serve: { kind: 'redirect', location: 'https://127.0.0.2:9/ip-ranges.json', status: 301 },
    message: /HTTP 301 redirects to another host \(127\.0\.0\.2:9\)/
  },
  {
    name: 'a redirect to plain http on a public host',
    serve: { kind: 'redirect', location: 'http://example.com/ip-ranges.json' },
    message: /to "http:\/\/example\.com\/ip-ranges\.json" uses http: only https is allowed/
  },
  {
    name: 'a redirect loop',
    serve: self => ({ kind: 'redirect', location: self }),
    message: /more than 3 redirects/
  },
  {
    name: 'HTTP 404 (not retried)',
    serve: { kind: 'status', status: 404 },
    message: /failed: HTTP 404/,
    check: ({ rangesRequests }) => expect(rangesRequests).toBe(1)
  },
  {
    name: 'MD5 mismatch with an older file than notified (a stale cache)',
    event: dispatch({ synctoken: String(Number(good.syncToken) + 3600), md5: 'a'.repeat(32) }),
    message: /older than the notification: its syncToken is 1785000000 .* announced 1785003600/
  },
  {
    name: 'MD5 mismatch with the same syncToken (altered in transit)',
    event: dispatch({ synctoken: good.syncToken, md5: 'b'.repeat(32) }),
    message: new RegExp(
      `MD5 of the downloaded ip-ranges.json is ${md5Hex(goodText)} but the notification announced b{32}`
    )
  },
  {
    name: 'MD5 mismatch announced by the expected-md5 input',
    inputs: { 'expected-md5': 'C'.repeat(32) },
    message: /but the notification announced c{32}/
  },
  {
    name: 'a removal guard trip: a document missing most ranges of a synced account',
    account: 'guard',
    inputs: { 'merge-adjacent': 'false' },
    serve: edited(doc => {
      const keep = new Set(published(good, 'global', 'CLOUDFRONT_ORIGIN_FACING').slice(0, 5))
      doc.prefixes = doc.prefixes.filter(
        p =>
          p.service !== 'CLOUDFRONT_ORIGIN_FACING' || p.region !== 'GLOBAL' || keep.has(p.ip_prefix)
      )
    }),
    message:
      /Nothing was changed: The plan withdraws 39 of 46 managed rules \(84\.8%\), more than max-removals-percent \(25%\)/
  },

  // --- odd tags: exact matching, reported and left alone
  // Issue 13: a run that finds no group to sync fails, naming the tag value that was close.
  {
    name: 'a group tagged Protocol=HTTPS (upper case): no group to sync, the step fails naming the fix',
    account: 'protocolUpper',
    message:
      /No security group to sync .*Close \(tag values match exactly\): sg-[0-9a-f]+ is tagged Protocol=HTTPS \(expected https\)/
  },
  {
    name: 'a group tagged AutoUpdate=TRUE: not selected (exact match), the step fails naming the fix',
    account: 'autoUpdateUpper',
    message: /No security group to sync .*sg-[0-9a-f]+ is tagged AutoUpdate=TRUE \(expected true\)/
  },
  {
    name: "a group named 'cloudfront_g ' (trailing space): not selected, the step fails naming the fix",
    account: 'nameSpace',
    message:
      /No security group to sync .*sg-[0-9a-f]+ is tagged Name=cloudfront_g {2}\(expected cloudfront_g\)/
  },
  {
    name: 'a group without a Protocol tag: left alone, no group to sync, the step fails',
    account: 'protocolMissing',
    message: /No security group to sync in 1 place\(s\) \(us-east-1\)/
  },

  // --- duplicates are normal
  {
    name: 'duplicates (the same prefix twice, in GLOBAL and a region, under two services): deduplicated, applied',
    account: 'duplicates',
    inputs: { 'merge-adjacent': 'false' },
    serve: edited(doc => {
      const [first, second] = doc.prefixes.filter(
        p => p.service === 'CLOUDFRONT_ORIGIN_FACING' && p.region === 'GLOBAL'
      )
      if (!first || !second) throw new Error('fixture without origin-facing ranges')
      doc.prefixes.push({ ...first }, { ...first }, originFacing(second.ip_prefix, 'us-east-1'))
    }),
    exit: 0,
    mutates: true
  }
]

/** The cases that must change nothing: refusals (exit 1) and clear skips (exit 0). */
const REFUSALS = CASES.filter(c => !c.mutates)
const DUPLICATES = CASES.find(c => c.account === 'duplicates') as Case

// ---------------------------------------------------------------------------------------------

/** An annotation as the runner shows it (@actions/core escapes %, CR and LF in commands). */
const shown = (line: string) =>
  line.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')

let aws: AwsEmulators
const ranges = new RangesServer()
const results = new Map<Case, CaseResult>()
const keyOf = (index: number) => `AKIDCASE${String(index).padStart(8, '0')}`
const secretOf = (index: number) => `case-secret-${index}-${index * 7919}`
let wall = 0

function seed(): void {
  const east = { region: 'us-east-1', vpcId: 'vpc-1' }
  const tags = (name: string, protocol?: string, autoUpdate = 'true') => ({
    Name: name,
    AutoUpdate: autoUpdate,
    ...(protocol === undefined ? {} : { Protocol: protocol })
  })
  // Correctly tagged, empty groups: any case that got through would authorize into them.
  for (const account of [ACCOUNTS.main]) {
    aws.ec2.createGroup({ ...east, account, name: 'edge-g', tags: tags('cloudfront_g', 'https') })
    aws.ec2.createGroup({ ...east, account, name: 'edge-r', tags: tags('cloudfront_r', 'https') })
  }
  const odd = (account: string, groupTags: Record<string, string>) =>
    aws.ec2.createGroup({ ...east, account, name: 'odd', tags: groupTags })
  odd(ACCOUNTS.protocolUpper, tags('cloudfront_g', 'HTTPS'))
  odd(ACCOUNTS.autoUpdateUpper, tags('cloudfront_g', 'https', 'TRUE'))
  odd(ACCOUNTS.nameSpace, tags('cloudfront_g ', 'https'))
  odd(ACCOUNTS.protocolMissing, tags('cloudfront_g'))
  for (const name of ['cloudfront_g', 'cloudfront_r']) {
    aws.ec2.createGroup({ ...east, account: ACCOUNTS.duplicates, name, tags: tags(name, 'https') })
  }
  // Synced to the good document (origin-facing, unmerged), for the removal guard.
  const owned = (cidrs: string[]) =>
    cidrs.map(cidr => ({ protocol: 'tcp', fromPort: 443, toPort: 443, cidr }))
  const ipv4 = (cidrs: string[]) => cidrs.filter(c => !c.includes(':'))
  aws.ec2.createGroup({
    ...east,
    account: ACCOUNTS.guard,
    name: 'guard-g',
    tags: tags('cloudfront_g', 'https'),
    ingress: owned(ipv4(published(good, 'global', 'CLOUDFRONT_ORIGIN_FACING')))
  })
  aws.ec2.createGroup({
    ...east,
    account: ACCOUNTS.guard,
    name: 'guard-r',
    tags: tags('cloudfront_r', 'https'),
    ingress: owned(ipv4(published(good, 'regional', 'CLOUDFRONT_ORIGIN_FACING')))
  })
}

async function runCase(c: Case, index: number): Promise<CaseResult> {
  const path = `/case-${index}/ip-ranges.json`
  const self = `${ranges.origin}${path}`
  const serve = typeof c.serve === 'function' ? c.serve(self) : c.serve
  ranges.route(path, serve ?? { kind: 'document', body: goodText })
  const started = performance.now()
  const run = await runAction({
    inputs: {
      regions: 'us-east-1',
      'github-token': GITHUB_TOKEN,
      'ip-ranges-url': c.url ? c.url(self) : self,
      ...c.inputs
    },
    env: {
      ...aws.env,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: keyOf(index),
      AWS_SECRET_ACCESS_KEY: secretOf(index),
      ...c.env
    },
    ...(c.event ? { event: c.event } : {})
  })
  const stats = ranges.stats(path)
  return {
    run,
    calls: aws.ec2.calls.filter(call => call.accessKeyId === keyOf(index)),
    rangesRequests: stats.requests,
    bytesSent: stats.bytesSent,
    ms: performance.now() - started
  }
}

beforeAll(async () => {
  const accountIds = Object.fromEntries(
    CASES.map((c, index) => [keyOf(index), ACCOUNTS[c.account ?? 'main']])
  )
  aws = await startAwsEmulators({ accountIds })
  seed()
  await ranges.start()
  const started = performance.now()
  const settled = await mapLimit(CASES, 4, (c, index) => runCase(c, index))
  wall = performance.now() - started
  CASES.forEach((c, index) => results.set(c, settled[index] as CaseResult))
}, 120_000)

afterAll(async () => {
  await aws.stop()
  await ranges.stop()
  writeFigures('catalogue', {
    cases: CASES.length,
    refusals: REFUSALS.length,
    wallSeconds: Math.round(wall / 100) / 10,
    rows: CASES.map(c => {
      const r = results.get(c)
      return {
        name: c.name,
        exit: r?.run.exitCode,
        mutating: r?.calls.filter(call => call.mutating).length,
        ec2Calls: r?.calls.length,
        downloads: r?.rangesRequests,
        ms: Math.round(r?.ms ?? 0),
        message: r?.run.annotations
          .map(shown)
          .find(line => c.message?.test(line))
          ?.slice(0, 200)
      }
    })
  })
})

test(`the catalogue holds at least 40 refusals (it holds ${REFUSALS.length})`, () => {
  expect(REFUSALS.length).toBeGreaterThanOrEqual(40)
  expect(new Set(CASES.map(c => c.name)).size).toBe(CASES.length)
})

test.each(CASES.map(c => [c.name, c] as const))('%s', (_name, c) => {
  const result = results.get(c) as CaseResult
  const { run, calls } = result
  expect(run.signal).toBeNull()
  expect(run.exitCode).toBe(c.exit ?? 1)
  const level = c.level ?? 'error'
  const lines = run.annotations.filter(line => line.startsWith(`::${level}::`)).map(shown)
  if (c.message) expect(lines.join('\n')).toMatch(c.message)
  // Nothing on stderr: no crash, no stack trace.
  expect(run.stderr.slice(0, 300)).toBe('')
  if (!c.mutates) expect(calls.filter(call => call.mutating)).toEqual([])
  if (c.noNetwork) {
    expect(calls).toEqual([])
    expect(result.rangesRequests).toBe(0)
  }
  if ((c.exit ?? 1) !== 0) expect(run.summary).toMatch(/\*\*(Failed|Refused)\*\*/)
  c.check?.(result)
})

test('every correctly tagged group the refused runs could have changed is untouched', () => {
  const mainGroups = aws.ec2.listGroups({ account: MAIN })
  expect(mainGroups.map(g => g.ingress)).toEqual([[], []])
  expect(aws.ec2.calls.filter(c => c.account === MAIN && c.mutating)).toEqual([])
  const guard = aws.ec2.listGroups({ account: ACCOUNTS.guard })
  expect(guard.map(g => g.ingress.length)).toEqual([44, 2])
})

test('the duplicates case holds each range once per pool, as the document wants', () => {
  const groups = aws.ec2.listGroups({ account: ACCOUNTS.duplicates })
  const [g, r] = groups
  expect(results.get(DUPLICATES)?.run.exitCode).toBe(0)
  const doc = JSON.parse((DUPLICATES.serve as { body: string }).body) as IpRangesDocument
  const ipv4 = (cidrs: string[]) => cidrs.filter(c => !c.includes(':'))
  const pools = [
    {
      name: 'global',
      groupIds: [g?.groupId as string],
      port: 443,
      wanted: ipv4(published(doc, 'global', 'CLOUDFRONT_ORIGIN_FACING')),
      allowed: []
    },
    {
      name: 'regional',
      groupIds: [r?.groupId as string],
      port: 443,
      wanted: ipv4(published(doc, 'regional', 'CLOUDFRONT_ORIGIN_FACING')),
      allowed: []
    }
  ]
  expect(checkConverged(groups, pools, { exact: true })).toEqual([])
  expect(pools[1]?.wanted.length).toBe(3)
})

test('refused runs explain what to do next (the RangesError hint reaches the user)', () => {
  // RangesError carries `hint` ("Nothing was changed. Retry in a few minutes...") beside its
  // message; the run should show both.
  const hinted = [
    ['MD5 mismatch with an older file than notified (a stale cache)', /Nothing was changed/],
    ['a 0.0.0.0/0 entry in the selected service', /genuine AWS file; nothing was changed/],
    ['document truncated (a cut JSON body)', /The download ended early/]
  ] as const
  const missing = hinted.filter(([name, hint]) => {
    const c = CASES.find(x => x.name === name) as Case
    return !hint.test(results.get(c)?.run.annotations.map(shown).join('\n') ?? '')
  })
  expect(missing.map(([name]) => name)).toEqual([])
})

test('no secret value in anything any case printed or wrote', () => {
  const runs = [...results.values()].map(r => r.run)
  const secrets = [
    GITHUB_TOKEN,
    URL_PASSWORD,
    aws.env.AWS_SECRET_ACCESS_KEY as string,
    ...CASES.map((_, index) => secretOf(index))
  ]
  expect(findSecrets(runs, secrets)).toEqual([])
})
