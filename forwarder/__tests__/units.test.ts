// The small pure pieces: configuration parsing, message validation, retry decisions, redaction.
import { ConfigError, loadConfig, parseApiUrl, parseRepositories } from '../src/config.js'
import { createDispatch, requestedWaitMs } from '../src/github.js'
import { createLogger, redact } from '../src/log.js'
import { parseNotificationMessage } from '../src/message.js'
import { regionOfArn, tokenFromSecretString } from '../src/secret.js'
import { checkSigningCertUrl, stringToSign } from '../src/signature.js'
import { VALID_MESSAGE } from './sns-events.js'

describe('config', () => {
  test('defaults', () => {
    expect(loadConfig({ TARGET_REPOSITORIES: 'a/b', GITHUB_TOKEN_SECRET_ID: 'tok' })).toEqual({
      targets: [{ owner: 'a', repo: 'b' }],
      secretId: 'tok',
      eventType: 'aws-ip-ranges-changed',
      topicArn: 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged',
      apiUrl: 'https://api.github.com'
    })
  })

  test('repositories: trimmed, deduplicated, validated', () => {
    expect(parseRepositories(' o/r , O/R,o2/r.2,, ')).toEqual([
      { owner: 'o', repo: 'r' },
      { owner: 'o2', repo: 'r.2' }
    ])
    for (const bad of ['o', 'o/r/x', 'o/..', '-o/r', 'o r/x', '']) {
      expect(() => parseRepositories(bad)).toThrow(/TARGET_REPOSITORIES/)
    }
  })

  test('API URL: https anywhere, http only on loopback, trailing slash dropped', () => {
    expect(parseApiUrl('https://ghe.example.com/api/v3/')).toBe('https://ghe.example.com/api/v3')
    expect(parseApiUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080')
    expect(() => parseApiUrl('http://api.github.com')).toThrow(/GITHUB_API_URL.*https/)
    expect(() => parseApiUrl('https://u:p@api.github.com')).toThrow(ConfigError)
  })

  test('each variable is named in its error', () => {
    const base = { TARGET_REPOSITORIES: 'a/b', GITHUB_TOKEN_SECRET_ID: 'tok' }
    expect(() => loadConfig({ TARGET_REPOSITORIES: 'a/b' })).toThrow(
      /GITHUB_TOKEN_SECRET_ID is not set/
    )
    expect(() => loadConfig({ ...base, EVENT_TYPE: 'x'.repeat(101) })).toThrow(/EVENT_TYPE/)
    expect(() => loadConfig({ ...base, TOPIC_ARN: 'arn:aws:sqs:x' })).toThrow(/TOPIC_ARN/)
  })
})

describe('message', () => {
  test('the documented example is accepted and normalised', () => {
    const r = parseNotificationMessage(
      JSON.stringify({ ...VALID_MESSAGE, md5: VALID_MESSAGE.md5.toUpperCase() })
    )
    expect(r).toEqual({
      ok: true,
      notification: {
        createTime: VALID_MESSAGE['create-time'],
        synctoken: VALID_MESSAGE.synctoken,
        md5: VALID_MESSAGE.md5,
        url: VALID_MESSAGE.url
      }
    })
  })

  test('a reason never carries more than a short excerpt of the bad value', () => {
    const r = parseNotificationMessage(
      JSON.stringify({ ...VALID_MESSAGE, synctoken: 'x'.repeat(1000) })
    )
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason.length).toBeLessThan(200)
  })
})

describe('retry decisions', () => {
  test('Retry-After in seconds or as a date, and the primary rate-limit reset', () => {
    const now = Date.parse('2026-08-13T10:00:00Z')
    expect(requestedWaitMs(new Headers({ 'retry-after': '2' }), now)).toBe(2000)
    expect(
      requestedWaitMs(new Headers({ 'retry-after': 'Thu, 13 Aug 2026 10:00:05 GMT' }), now)
    ).toBe(5000)
    expect(
      requestedWaitMs(
        new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 7) }),
        now
      )
    ).toBe(7000)
    expect(requestedWaitMs(new Headers({}), now)).toBeUndefined()
  })

  test('a rate-limit 403 is retried, a permission 403 is not', async () => {
    const answers = [
      new Response('{"message":"secondary rate limit"}', {
        status: 403,
        headers: { 'retry-after': '0' }
      }),
      new Response(null, { status: 204 })
    ]
    const sleeps: number[] = []
    const out = await createDispatch(
      {
        apiUrl: 'https://api.github.com',
        token: 't',
        target: { owner: 'o', repo: 'r' },
        eventType: 'e',
        clientPayload: {}
      },
      {
        fetchImpl: (async () => answers.shift() as Response) as typeof fetch,
        sleep: async ms => {
          sleeps.push(ms)
        }
      }
    )
    expect(out).toMatchObject({ ok: true, history: [403, 204] })
    expect(sleeps).toEqual([0])
  })

  test('backoff grows and stays within the cap; the deadline stops retries early', async () => {
    const sleeps: number[] = []
    const out = await createDispatch(
      {
        apiUrl: 'https://x',
        token: 't',
        target: { owner: 'o', repo: 'r' },
        eventType: 'e',
        clientPayload: {}
      },
      {
        fetchImpl: (async () => new Response('oops', { status: 503 })) as typeof fetch,
        sleep: async ms => {
          sleeps.push(ms)
        },
        random: () => 1,
        policy: {
          maxAttempts: 6,
          baseDelayMs: 100,
          maxDelayMs: 350,
          maxRetryAfterMs: 1000,
          requestTimeoutMs: 1000
        }
      }
    )
    expect(out).toMatchObject({ ok: false, attempts: 6, kind: 'server_error' })
    expect(sleeps).toEqual([100, 200, 350, 350, 350])

    let clock = 0
    const early = await createDispatch(
      {
        apiUrl: 'https://x',
        token: 't',
        target: { owner: 'o', repo: 'r' },
        eventType: 'e',
        clientPayload: {}
      },
      {
        fetchImpl: (async () => new Response('', { status: 500 })) as typeof fetch,
        sleep: async ms => {
          clock += ms
        },
        now: () => clock,
        deadline: 1500
      }
    )
    expect(early.kind).toBe('deadline')
  })
})

describe('secrets and logs', () => {
  test('secret string forms', () => {
    expect(tokenFromSecretString('s', ' abc \n')).toBe('abc')
    expect(tokenFromSecretString('s', '{"token":"abc"}')).toBe('abc')
    expect(() => tokenFromSecretString('s', '{"password":"abc"}')).toThrow(/"token"/)
    expect(() => tokenFromSecretString('s', 'two words')).toThrow(/whitespace/)
    expect(() => tokenFromSecretString('s', undefined)).toThrow(/SecretString/)
    expect(regionOfArn('arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf')).toBe(
      'eu-west-1'
    )
    expect(regionOfArn('my-secret')).toBeUndefined()
  })

  test('a registered secret is scrubbed from every line, even if a caller logs it by mistake', () => {
    const lines: string[] = []
    const log = createLogger({ requestId: 'r' }, l => lines.push(l))
    redact('s3cr3t-"token"')
    log.error('oops', { header: 'Bearer s3cr3t-"token"', nested: { v: 's3cr3t-"token"' } })
    expect(lines.join('\n')).not.toContain('s3cr3t')
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'error',
      msg: 'oops',
      requestId: 'r'
    })
  })
})

test('the sample event shipped for `aws lambda invoke` is accepted', async () => {
  const { readFile } = await import('node:fs/promises')
  const { inspectRecord } = await import('../src/message.js')
  const text = await readFile(
    new URL('../events/sample-notification.json', import.meta.url),
    'utf8'
  )
  const event = JSON.parse(text) as { Records: unknown[] }
  expect(
    inspectRecord(event.Records[0], 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged')
  ).toMatchObject({ ok: true })
})

describe('signature', () => {
  test('signing certificate URLs: SNS hosts of every partition the forwarder can meet', () => {
    for (const url of [
      'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem',
      'https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem',
      'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem',
      'https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-1.pem'
    ]) {
      expect(checkSigningCertUrl(url)).toEqual({ ok: true, url })
    }
    for (const url of [
      'https://SNS.us-east-1.amazonaws.com/SimpleNotificationService-1.pem',
      'https://sns.us-east-1.amazonaws.com./SimpleNotificationService-1.pem',
      'https://sns.us-east-1.amazonaws.com/a/../SimpleNotificationService-1.pem',
      'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem#x',
      'https://sns.us-east-1.amazonaws.com.cn.evil.example/SimpleNotificationService-1.pem',
      'https://xsns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem',
      '//sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem',
      ''
    ]) {
      expect(checkSigningCertUrl(url)).toMatchObject({ ok: false })
    }
  })

  test('the string to sign for a Notification, with and without Subject', () => {
    const sns = {
      Type: 'Notification',
      MessageId: 'm-1',
      TopicArn: 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged',
      Message: '{"a":1}\nsecond line',
      Timestamp: '2026-08-13T10:13:06.123Z',
      Subject: null
    }
    expect(stringToSign(sns)).toEqual({
      ok: true,
      text:
        'Message\n{"a":1}\nsecond line\nMessageId\nm-1\nTimestamp\n2026-08-13T10:13:06.123Z\n' +
        'TopicArn\narn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged\nType\nNotification\n'
    })
    expect(stringToSign({ ...sns, Subject: 'Hi' })).toMatchObject({
      text: expect.stringContaining('MessageId\nm-1\nSubject\nHi\nTimestamp\n') as unknown
    })
    expect(stringToSign({ ...sns, MessageId: 7 })).toEqual({
      ok: false,
      reason: 'MessageId is not a string'
    })
  })
})
