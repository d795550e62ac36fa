// Real HTTP against a node:http server on 127.0.0.1.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { deriveIpRanges, generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { downloadIpRanges, type DownloadOptions } from '../../src/ranges/fetch.js'
import { loadRangeSet } from '../../src/ranges/index.js'
import { md5Hex } from '../../src/ranges/verify.js'
import { asyncRefusal as refusal } from '../helpers/ranges.js'

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void

let server: Server
let base: string
let port: number
const routes = new Map<string, Handler>()
const hits = new Map<string, number>()

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/'
    const hit = (hits.get(path) ?? 0) + 1
    hits.set(path, hit)
    const handler = routes.get(path)
    if (handler) handler(req, res, hit)
    else res.writeHead(404).end('not found')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
  base = `http://127.0.0.1:${port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

beforeEach(() => {
  routes.clear()
  hits.clear()
})

const sleeps: number[] = []
const fast = (over: DownloadOptions = {}): DownloadOptions => ({
  timeoutMs: 2000,
  backoffMs: 10,
  sleep: async ms => {
    sleeps.push(ms)
  },
  ...over
})
beforeEach(() => {
  sleeps.length = 0
})

const json = (body: string) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(body)
}

describe('downloadIpRanges', () => {
  it('downloads the bytes exactly', async () => {
    const body = serializeIpRanges(generateIpRanges({ seed: 1 }))
    routes.set('/ip-ranges.json', json(body))
    const result = await downloadIpRanges(`${base}/ip-ranges.json`, fast())
    expect(result.status).toBe(200)
    expect(result.url).toBe(`${base}/ip-ranges.json`)
    expect(md5Hex(result.body)).toBe(md5Hex(body))
    expect(sleeps).toEqual([])
  })

  it('retries a 500, then succeeds', async () => {
    routes.set('/r', (_req, res, hit) => {
      if (hit === 1) res.writeHead(500).end('oops')
      else res.writeHead(200).end('{}')
    })
    const result = await downloadIpRanges(`${base}/r`, fast())
    expect(result.body.toString()).toBe('{}')
    expect(hits.get('/r')).toBe(2)
    expect(sleeps).toEqual([10])
  })

  it('gives up after the retries with exponential backoff, naming URL and status', async () => {
    routes.set('/down', (_req, res) => res.writeHead(503).end())
    const error = await refusal(downloadIpRanges(`${base}/down`, fast({ retries: 3 })))
    expect(error.code).toBe('http-status')
    expect(error.message).toBe(
      `GET ${base}/down failed: HTTP 503 Service Unavailable (gave up after 4 attempts)`
    )
    expect(hits.get('/down')).toBe(4)
    expect(sleeps).toEqual([10, 20, 40])
  })

  it('honours a short Retry-After on 429', async () => {
    routes.set('/slow', (_req, res, hit) => {
      if (hit === 1) res.writeHead(429, { 'retry-after': '2' }).end()
      else res.writeHead(200).end('ok')
    })
    await downloadIpRanges(`${base}/slow`, fast())
    expect(sleeps).toEqual([2000])
  })

  it.each([404, 403, 400])('does not retry HTTP %i', async status => {
    routes.set('/x', (_req, res) => res.writeHead(status).end())
    const error = await refusal(downloadIpRanges(`${base}/x`, fast()))
    expect(error.code).toBe('http-status')
    expect(error.message).toMatch(new RegExp(`^GET ${base}/x failed: HTTP ${status}`))
    expect(error.hint).toMatch(/not retried/)
    expect(hits.get('/x')).toBe(1)
    expect(sleeps).toEqual([])
  })

  it('times out when the server never answers, and retries', async () => {
    routes.set('/hang', () => undefined)
    const error = await refusal(
      downloadIpRanges(`${base}/hang`, fast({ timeoutMs: 150, retries: 1 }))
    )
    expect(error.code).toBe('timeout')
    expect(error.message).toBe(
      `GET ${base}/hang: no complete response within 150 ms (gave up after 2 attempts)`
    )
    expect(hits.get('/hang')).toBe(2)
  })

  it('times out when the body stalls', async () => {
    routes.set('/stall', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"syncToken":')
    })
    const error = await refusal(
      downloadIpRanges(`${base}/stall`, fast({ timeoutMs: 150, retries: 0 }))
    )
    expect(error.code).toBe('timeout')
  })

  it('refuses an oversized body by Content-Length, without retrying', async () => {
    routes.set('/big', (_req, res) => {
      res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000))
    })
    const error = await refusal(downloadIpRanges(`${base}/big`, fast({ maxBytes: 1000 })))
    expect(error.code).toBe('too-large')
    expect(error.message).toBe(`GET ${base}/big: Content-Length 5000 exceeds the 1000-byte limit`)
    expect(hits.get('/big')).toBe(1)
  })

  it('refuses an oversized streamed body without Content-Length', async () => {
    routes.set('/stream', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }) // chunked
      const chunk = 'y'.repeat(600)
      res.write(chunk)
      setTimeout(() => res.write(chunk), 20)
      setTimeout(() => res.end(chunk), 40)
    })
    const error = await refusal(downloadIpRanges(`${base}/stream`, fast({ maxBytes: 1000 })))
    expect(error.code).toBe('too-large')
    expect(error.message).toMatch(
      new RegExp(`^GET ${base}/stream: the body exceeds the 1000-byte limit`)
    )
    expect(hits.get('/stream')).toBe(1)
  })

  it('follows a redirect on the same host', async () => {
    routes.set('/old', (_req, res) => res.writeHead(301, { location: '/new' }).end())
    routes.set('/new', json('{"a":1}'))
    const result = await downloadIpRanges(`${base}/old`, fast())
    expect(result.url).toBe(`${base}/new`)
    expect(result.body.toString()).toBe('{"a":1}')
  })

  it('refuses a redirect to another host', async () => {
    routes.set('/away', (_req, res) =>
      res.writeHead(302, { location: `http://localhost:${port}/new` }).end()
    )
    const error = await refusal(downloadIpRanges(`${base}/away`, fast()))
    expect(error.code).toBe('redirect')
    expect(error.message).toBe(
      `GET ${base}/away: HTTP 302 redirects to another host (localhost:${port}); ` +
        'only redirects within the same host are followed'
    )
    expect(hits.get('/new')).toBeUndefined()
  })

  it('refuses a redirect to plain http on a non-loopback host', async () => {
    routes.set('/plain', (_req, res) =>
      res.writeHead(302, { location: 'http://ip-ranges.example.com/x' }).end()
    )
    const error = await refusal(downloadIpRanges(`${base}/plain`, fast()))
    expect(error.code).toBe('invalid-url')
    expect(error.message).toMatch(/Redirect \(HTTP 302\) from .* uses http: only https is allowed/)
  })

  it('follows at most 3 redirects', async () => {
    for (let i = 0; i < 5; i++) {
      routes.set(`/hop${i}`, (_req, res) => res.writeHead(307, { location: `/hop${i + 1}` }).end())
    }
    const error = await refusal(downloadIpRanges(`${base}/hop0`, fast()))
    expect(error.code).toBe('redirect')
    expect(error.message).toMatch(/more than 3 redirects/)
    expect(hits.get('/hop3')).toBe(1)
    expect(hits.get('/hop4')).toBeUndefined()
  })

  it('retries a refused connection, then names the URL', async () => {
    const closed = createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const closedPort = (closed.address() as AddressInfo).port
    await new Promise(resolve => closed.close(resolve))
    const url = `http://127.0.0.1:${closedPort}/ip-ranges.json`
    const error = await refusal(downloadIpRanges(url, fast({ retries: 2 })))
    expect(error.code).toBe('download')
    expect(error.message).toMatch(
      new RegExp(`^GET ${url} failed: .*ECONNREFUSED.*gave up after 3 attempts`)
    )
    expect(sleeps).toEqual([10, 20])
  })

  it.each([
    ['http://ip-ranges.amazonaws.com/ip-ranges.json', /uses http: only https is allowed/],
    ['ftp://127.0.0.1/ip-ranges.json', /uses ftp: only https is allowed/],
    ['file:///etc/passwd', /uses file: only https/],
    ['ip-ranges.json', /is not a valid absolute URL/],
    ['https://user:secret@example.com/ip-ranges.json', /contains credentials/]
  ])('refuses %s before any request', async (url, message) => {
    const error = await refusal(downloadIpRanges(url, fast()))
    expect(error.code).toBe('invalid-url')
    expect(error.message).toMatch(/^Input 'ip-ranges-url'/)
    expect(error.message).toMatch(message)
    expect(error.message).not.toMatch(/secret/)
    expect(error.hint).toMatch(/ip-ranges-url/)
  })
})

describe('loadRangeSet', () => {
  const v1 = generateIpRanges({ seed: 31, syncToken: '1785186425', otherServicesScale: 0.1 })
  const v2 = deriveIpRanges(v1, { seed: 32, add: 2, syncToken: '1785200825' }).doc
  const body1 = serializeIpRanges(v1)
  const body2 = serializeIpRanges(v2)
  const options = {
    service: 'CLOUDFRONT_ORIGIN_FACING',
    families: ['ipv4', 'ipv6'] as const,
    mergeAdjacent: true,
    now: new Date('2027-01-01T00:00:00Z')
  }

  it('downloads, verifies and selects', async () => {
    routes.set('/ip-ranges.json', json(body1))
    const set = await loadRangeSet({
      ...options,
      url: `${base}/ip-ranges.json`,
      notification: { md5: md5Hex(body1), syncToken: v1.syncToken },
      download: fast()
    })
    expect(set.source).toEqual({
      url: `${base}/ip-ranges.json`,
      syncToken: '1785186425',
      createDate: v1.createDate,
      md5: md5Hex(body1),
      bytes: Buffer.byteLength(body1)
    })
    expect(set.service).toBe('CLOUDFRONT_ORIGIN_FACING')
    expect(set.publishedCounts).toEqual({
      global: { ipv4: 44, ipv6: 3 },
      regional: { ipv4: 2, ipv6: 0 }
    })
    expect(set.cidrs.global.ipv4).toHaveLength(43)
    expect(set.notices).toEqual([])
  })

  it('accepts a file newer than the notification, with a notice', async () => {
    routes.set('/ip-ranges.json', json(body2))
    const set = await loadRangeSet({
      ...options,
      url: `${base}/ip-ranges.json`,
      notification: { md5: md5Hex(body1), syncToken: v1.syncToken },
      download: fast()
    })
    expect(set.source.syncToken).toBe('1785200825')
    expect(set.notices).toHaveLength(1)
    expect(set.notices[0]).toMatch(/republished since the notification/)
  })

  it('refuses a file older than the notification', async () => {
    routes.set('/ip-ranges.json', json(body1))
    const error = await refusal(
      loadRangeSet({
        ...options,
        url: `${base}/ip-ranges.json`,
        notification: { md5: md5Hex(body2), syncToken: v2.syncToken },
        download: fast()
      })
    )
    expect(error.code).toBe('stale')
  })

  it('reports a truncated download', async () => {
    routes.set('/cut', json(body1.slice(0, 10_000)))
    const error = await refusal(loadRangeSet({ ...options, url: `${base}/cut`, download: fast() }))
    expect(error.code).toBe('truncated')
  })
})
