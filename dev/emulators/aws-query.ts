// Shared building blocks for loopback emulators of AWS "Query" protocol services (EC2 today,
// STS next): form parsing with the Query list/struct conventions, SigV4 credential-scope parsing,
// XML writing, the two error envelopes, a seeded PRNG and deterministic fault injection, and the
// HTTP server lifecycle bound to 127.0.0.1. Nothing here talks to anything but loopback.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { seededRandom } from '../random.js'

// ---------------------------------------------------------------------------------------------
// Errors

/** An error the emulated service answers with (code as the service spells it, HTTP status). */
export class QueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400
  ) {
    super(message)
    this.name = code
  }
}

// ---------------------------------------------------------------------------------------------
// Form parameters

/**
 * Flat Query parameters (`Filter.1.Name=x&Filter.1.Value.1=y`) with helpers for the Query
 * serialisation of lists (`Prefix.N`) and lists of structures (`Prefix.N.Member...`). Indexes are
 * 1-based; members are returned in index order whatever order they arrived in.
 */
export class QueryParams {
  private readonly map: Map<string, string>

  constructor(entries: Iterable<[string, string]> = []) {
    this.map = new Map(entries)
  }

  static parse(form: string): QueryParams {
    return new QueryParams(new URLSearchParams(form).entries())
  }

  get(key: string): string | undefined {
    return this.map.get(key)
  }

  has(key: string): boolean {
    return this.map.has(key)
  }

  /** Required parameter; EC2 answers `MissingParameter` when it is absent. */
  require(key: string): string {
    const value = this.map.get(key)
    if (value === undefined || value === '') {
      throw new QueryError('MissingParameter', `The request must contain the parameter ${key}`)
    }
    return value
  }

  int(key: string): number | undefined {
    const raw = this.map.get(key)
    if (raw === undefined || raw === '') return undefined
    if (!/^-?\d+$/.test(raw)) {
      throw new QueryError('InvalidParameterValue', `Invalid value '${raw}' for ${key}`)
    }
    return Number(raw)
  }

  bool(key: string): boolean {
    return this.map.get(key)?.toLowerCase() === 'true'
  }

  /** `Prefix.1=a&Prefix.2=b` -> ['a', 'b']. */
  list(prefix: string): string[] {
    const found: Array<[number, string]> = []
    const re = new RegExp(`^${escapeRegExp(prefix)}\\.(\\d+)$`)
    for (const [key, value] of this.map) {
      const m = re.exec(key)
      if (m) found.push([Number(m[1]), value])
    }
    return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v)
  }

  /** `Prefix.1.Name=a&Prefix.1.Value.1=b` -> [QueryParams{Name: a, Value.1: b}]. */
  structs(prefix: string): QueryParams[] {
    const groups = new Map<number, Array<[string, string]>>()
    const re = new RegExp(`^${escapeRegExp(prefix)}\\.(\\d+)\\.(.+)$`)
    for (const [key, value] of this.map) {
      const m = re.exec(key)
      if (!m) continue
      const index = Number(m[1])
      const entries = groups.get(index) ?? []
      entries.push([m[2] as string, value])
      groups.set(index, entries)
    }
    return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => new QueryParams(e))
  }

  toObject(): Record<string, string> {
    return Object.fromEntries(this.map)
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

// ---------------------------------------------------------------------------------------------
// SigV4

export interface SigV4Scope {
  accessKeyId: string
  date: string
  region: string
  service: string
}

/**
 * Reads the credential scope of a SigV4 request: from the `Authorization` header
 * (`AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/ec2/aws4_request, SignedHeaders=...,
 * Signature=...`) or from a presigned query (`X-Amz-Credential`). The signature itself is not
 * verified: the emulators know no secrets. Returns undefined when the request is not SigV4-signed.
 */
export function parseSigV4(
  authorization: string | undefined,
  query?: URLSearchParams
): SigV4Scope | undefined {
  let credential: string | undefined
  if (authorization !== undefined) {
    const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(authorization.trim())
    if (!m) return undefined
    const fields = new Map<string, string>()
    for (const part of (m[1] as string).split(',')) {
      const eq = part.indexOf('=')
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
    }
    if (!fields.has('Signature') || !fields.has('SignedHeaders')) return undefined
    credential = fields.get('Credential')
  } else if (query?.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256') {
    credential = query.get('X-Amz-Credential') ?? undefined
  }
  if (credential === undefined) return undefined
  const parts = credential.split('/')
  if (parts.length !== 5 || parts[4] !== 'aws4_request') return undefined
  const [accessKeyId, date, region, service] = parts as [string, string, string, string]
  if (!accessKeyId || !region || !service) return undefined
  return { accessKeyId, date, region, service }
}

// ---------------------------------------------------------------------------------------------
// XML

export function xmlEscape(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

/** `<name>escaped value</name>`, or nothing when the value is undefined. */
export function xmlText(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return ''
  return `<${name}>${xmlEscape(String(value))}</${name}>`
}

/** `<name>inner</name>` where inner is already XML; `<name/>` when inner is empty. */
export function xmlElement(name: string, inner: string): string {
  return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`
}

/** EC2-style list: `<name><item>...</item>...</name>` (`<name/>` when empty). */
export function xmlItems<T>(
  name: string,
  items: readonly T[],
  render: (item: T) => string
): string {
  return xmlElement(name, items.map(i => `<item>${render(i)}</item>`).join(''))
}

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>'

/** EC2 success envelope: `<ActionResponse xmlns=...><requestId>..</requestId>...</ActionResponse>`. */
export function ec2ResponseXml(
  action: string,
  ns: string,
  requestId: string,
  body: string
): string {
  return (
    `${XML_DECL}\n<${action}Response xmlns="${ns}">` +
    `<requestId>${xmlEscape(requestId)}</requestId>${body}</${action}Response>`
  )
}

/**
 * EC2 error envelope, as EC2 sends it (seen verbatim in public bug reports, e.g.
 * galaxyproject/cloudlaunch#56, rancher/rancher#3459):
 * `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`.
 */
export function ec2ErrorXml(code: string, message: string, requestId: string): string {
  return (
    `${XML_DECL}\n<Response><Errors><Error><Code>${xmlEscape(code)}</Code>` +
    `<Message>${xmlEscape(message)}</Message></Error></Errors>` +
    `<RequestID>${xmlEscape(requestId)}</RequestID></Response>`
  )
}

/** Generic awsQuery (STS, IAM...) success envelope with `<ActionResult>` and `ResponseMetadata`. */
export function awsQueryResponseXml(
  action: string,
  ns: string,
  requestId: string,
  result: string
): string {
  return (
    `${XML_DECL}\n<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${xmlEscape(requestId)}</RequestId></ResponseMetadata>` +
    `</${action}Response>`
  )
}

/** Generic awsQuery error envelope (`<ErrorResponse><Error><Type/><Code/><Message/>...`). */
export function awsQueryErrorXml(
  code: string,
  message: string,
  requestId: string,
  ns?: string
): string {
  const type = code === 'InternalError' || code === 'InternalFailure' ? 'Receiver' : 'Sender'
  const xmlns = ns ? ` xmlns="${ns}"` : ''
  return (
    `${XML_DECL}\n<ErrorResponse${xmlns}><Error><Type>${type}</Type>` +
    `<Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error>` +
    `<RequestId>${xmlEscape(requestId)}</RequestId></ErrorResponse>`
  )
}

// ---------------------------------------------------------------------------------------------
// Determinism

/** Deterministic request ids shaped like AWS's (UUID v4 layout), from a seeded PRNG. */
export function requestIdGenerator(seed = 0x5eed): () => string {
  const rnd = seededRandom(seed)
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('')
  return () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`
}

// ---------------------------------------------------------------------------------------------
// Fault injection

export interface FaultConfig {
  /** Delay added before every answer. */
  latencyMs?: number
  /** Share of requests (0..1) answered with throttling (EC2: `RequestLimitExceeded`, HTTP 503). */
  throttleRate?: number
  /** Share of requests (0..1) answered with HTTP 500 `InternalError`. */
  errorRate?: number
  /** One-shot errors, consumed in order by the first request whose action matches (or any). */
  failNext?: Array<{ action?: string; code: string; status: number; message?: string }>
  /** Seed of the PRNG behind the rates (default 1); setting the config reseeds it. */
  seed?: number
  /** The next N requests have their connection destroyed without any answer. */
  dropConnectionNext?: number
}

export type FaultDecision =
  { kind: 'drop' } | { kind: 'error'; code: string; status: number; message: string } | undefined

export interface FaultMessages {
  throttle: { code: string; message: string; status: number }
  internal: { code: string; message: string; status: number }
}

/** Decides, deterministically, which fault (if any) hits the next request. */
export class FaultInjector {
  private config: FaultConfig = {}
  private rnd = seededRandom(1)

  constructor(private readonly messages: FaultMessages) {}

  get(): FaultConfig {
    return this.config
  }

  set(config: FaultConfig): void {
    this.config = { ...config, failNext: [...(config.failNext ?? [])] }
    this.rnd = seededRandom(config.seed ?? 1)
  }

  latencyMs(): number {
    return Math.max(0, this.config.latencyMs ?? 0)
  }

  next(action: string): FaultDecision {
    const c = this.config
    if ((c.dropConnectionNext ?? 0) > 0) {
      c.dropConnectionNext = (c.dropConnectionNext ?? 0) - 1
      return { kind: 'drop' }
    }
    const queue = c.failNext ?? []
    const i = queue.findIndex(f => f.action === undefined || f.action === action)
    if (i >= 0) {
      const [f] = queue.splice(i, 1)
      if (f) {
        return {
          kind: 'error',
          code: f.code,
          status: f.status,
          message: f.message ?? `Injected ${f.code}`
        }
      }
    }
    // Draw both numbers every time so one rate does not shift the other's sequence.
    const throttleDraw = this.rnd()
    const errorDraw = this.rnd()
    if (throttleDraw < (c.throttleRate ?? 0)) return { kind: 'error', ...this.messages.throttle }
    if (errorDraw < (c.errorRate ?? 0)) return { kind: 'error', ...this.messages.internal }
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

export async function readBody(req: http.IncomingMessage, maxBytes = 1 << 20): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > maxBytes) throw new QueryError('RequestEntityTooLarge', 'Request body too large')
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export interface HttpAnswer {
  status: number
  body: string
  contentType?: string
  headers?: Record<string, string>
}

/** An HTTP server on 127.0.0.1 only; the handler answers or returns 'drop' to cut the socket. */
export class LoopbackServer {
  private server: http.Server | undefined

  constructor(
    private readonly handler: (
      req: http.IncomingMessage,
      body: string
    ) => Promise<HttpAnswer | 'drop'>
  ) {}

  get listening(): boolean {
    return this.server !== undefined
  }

  async start(port = 0): Promise<string> {
    if (this.server) throw new Error('already started')
    const server = http.createServer((req, res) => {
      void this.serve(req, res)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
    const { port: bound } = server.address() as AddressInfo
    return `http://127.0.0.1:${bound}`
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    await new Promise<void>(resolve => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const body = await readBody(req)
      const answer = await this.handler(req, body)
      if (answer === 'drop') {
        req.socket.destroy()
        return
      }
      res.writeHead(answer.status, {
        'content-type': answer.contentType ?? 'text/xml;charset=UTF-8',
        'content-length': Buffer.byteLength(answer.body),
        ...answer.headers
      })
      res.end(answer.body)
    } catch (err) {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(String(err))
      } else {
        res.destroy()
      }
    }
  }
}
