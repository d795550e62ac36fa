import { ConfigError } from '../../src/config.js'
import type { TriggerContext } from '../../src/trigger.js'
import {
  DEFAULT_DISPATCH_EVENT_TYPE,
  parseDispatchEventTypes,
  parseTrigger
} from '../../src/trigger.js'
import type { TriggerOptions } from '../../src/trigger.js'

// The run's clock: a day after VALID's synctoken (2026-08-13T10:13:05Z).
const NOW = new Date('2026-08-14T10:13:05Z')
const OPTIONS: TriggerOptions = {
  dispatchEventTypes: ['aws-ip-ranges-changed'],
  ipRangesUrl: 'https://ip-ranges.amazonaws.com/ip-ranges.json',
  now: NOW
}
const LOOPBACK: TriggerOptions = {
  dispatchEventTypes: ['aws-ip-ranges-changed'],
  ipRangesUrl: 'http://127.0.0.1:8080/ip-ranges.json',
  now: NOW
}

const VALID = {
  synctoken: '1786615985',
  md5: '0F8E1A2B3C4D5E6F708192A3B4C5D6E7',
  url: 'https://ip-ranges.amazonaws.com/ip-ranges.json',
  create_time: '2026-08-13T10:13:05+00:00'
}

function dispatch(clientPayload: unknown, action = 'aws-ip-ranges-changed'): TriggerContext {
  return {
    eventName: 'repository_dispatch',
    payload: { action, client_payload: clientPayload, repository: { full_name: 'octo-org/edge' } }
  }
}

describe('parseTrigger: events that run on the latest file', () => {
  test.each<[string, TriggerContext, string]>([
    ['schedule', { eventName: 'schedule', payload: { schedule: '17 */6 * * *' } }, 'schedule'],
    [
      'workflow_dispatch',
      { eventName: 'workflow_dispatch', payload: { inputs: { 'dry-run': 'true' } } },
      'workflow_dispatch'
    ],
    ['no event (local run)', {}, 'none'],
    ['empty event name', { eventName: '' }, 'none'],
    ['push', { eventName: 'push', payload: {} }, 'push']
  ])('%s', (_name, trigger, event) => {
    expect(parseTrigger(trigger, OPTIONS)).toEqual({ kind: 'run', notification: {}, event })
  })

  test('client_payload on another event is ignored', () => {
    const trigger = { eventName: 'workflow_dispatch', payload: { client_payload: { md5: 'x' } } }
    expect(parseTrigger(trigger, OPTIONS)).toEqual({
      kind: 'run',
      notification: {},
      event: 'workflow_dispatch'
    })
  })
})

describe('parseTrigger: repository_dispatch', () => {
  test('a listed event type runs with the validated notification', () => {
    expect(parseTrigger(dispatch(VALID), OPTIONS)).toEqual({
      kind: 'run',
      event: 'repository_dispatch',
      notification: {
        syncToken: '1786615985',
        md5: '0f8e1a2b3c4d5e6f708192a3b4c5d6e7',
        url: 'https://ip-ranges.amazonaws.com/ip-ranges.json',
        createTime: '2026-08-13T10:13:05+00:00'
      }
    })
  })

  test.each<[string, TriggerContext]>([
    ['another event type', dispatch(VALID, 'deploy')],
    ['no event type', { eventName: 'repository_dispatch', payload: { client_payload: VALID } }],
    ['a non-string event type', dispatch(VALID, 42 as unknown as string)],
    ['the event type in another case', dispatch(VALID, 'AWS-IP-RANGES-CHANGED')]
  ])('%s is skipped with a reason', (_name, trigger) => {
    const decision = parseTrigger(trigger, OPTIONS)
    expect(decision.kind).toBe('skip')
    if (decision.kind !== 'skip') return
    expect(decision.reason).toMatch(/is not one of dispatch-event-types \(aws-ip-ranges-changed\)/)
  })

  test('a skipped event type is quoted safely (no raw newline reaches the log)', () => {
    const decision = parseTrigger(dispatch({}, 'x\n::error::injected'), OPTIONS)
    expect(decision.kind === 'skip' && decision.reason).toContain('"x\\n::error::injected"')
  })

  test('several accepted types', () => {
    const options = { ...OPTIONS, dispatchEventTypes: ['a', 'ip-change'] }
    expect(parseTrigger(dispatch(VALID, 'ip-change'), options).kind).toBe('run')
    expect(parseTrigger(dispatch(VALID, 'aws-ip-ranges-changed'), options).kind).toBe('skip')
  })

  test.each<[string, unknown]>([
    ['no client_payload', undefined],
    ['a null client_payload', null],
    ['an empty client_payload', {}],
    ['blank and null fields', { synctoken: '', md5: null, url: '', create_time: null }]
  ])('%s runs on the latest file', (_name, clientPayload) => {
    expect(parseTrigger(dispatch(clientPayload), OPTIONS)).toEqual({
      kind: 'run',
      event: 'repository_dispatch',
      notification: {}
    })
  })

  test('unknown extra fields are ignored', () => {
    const decision = parseTrigger(dispatch({ ...VALID, note: 'hello' }), OPTIONS)
    expect(decision.kind).toBe('run')
  })

  test('a partial payload keeps what it announces', () => {
    expect(parseTrigger(dispatch({ synctoken: '1786615985' }), OPTIONS)).toEqual({
      kind: 'run',
      event: 'repository_dispatch',
      notification: { syncToken: '1786615985' }
    })
  })
})

describe('parseTrigger: synctoken plausibility (issue 15)', () => {
  test('a synctoken up to 2 hours ahead of the runner (clock skew) is accepted', () => {
    const synctoken = String(NOW.getTime() / 1000 + 7200)
    expect(parseTrigger(dispatch({ synctoken }), OPTIONS)).toMatchObject({
      kind: 'run',
      notification: { syncToken: synctoken }
    })
  })

  test('old history is accepted: a replay of a 2014 publication is not refused here', () => {
    expect(parseTrigger(dispatch({ synctoken: '1416435608' }), OPTIONS).kind).toBe('run')
  })
})

describe('parseTrigger: invalid client_payload is rejected', () => {
  const cases: [string, unknown, RegExp][] = [
    ['client_payload a string', 'abc', /client_payload is "abc": expected a JSON object/],
    ['client_payload an array', ['a'], /client_payload is an array/],
    [
      'synctoken a number',
      { ...VALID, synctoken: 1786615985 },
      /'synctoken' is invalid \(a number\)/
    ],
    ['synctoken not digits', { ...VALID, synctoken: '17866a' }, /'synctoken'.*digits/],
    ['synctoken too long', { ...VALID, synctoken: '1'.repeat(13) }, /'synctoken'/],
    ['synctoken negative', { ...VALID, synctoken: '-1' }, /'synctoken'/],
    // Issue 15: a 20-digit or a future synctoken is not an AWS publication time.
    [
      'synctoken of 20 digits',
      { ...VALID, synctoken: '99999999999999999999' },
      /'synctoken' is invalid \("99999999999999999999": it has 20 digits.*cannot lie in the future/
    ],
    [
      'synctoken 12 digits (accepted before issue 15)',
      { ...VALID, synctoken: '100000000000' },
      /'synctoken' is invalid \("100000000000": it has 12 digits/
    ],
    [
      'synctoken in the year 2286',
      { ...VALID, synctoken: '9999999999' },
      /'synctoken' is invalid \("9999999999": it is 2286-11-20T17:46:39Z, later than the runner's clock \(2026-08-14T10:13:05.000Z\) plus 2 hours/
    ],
    [
      'synctoken 2 hours and 1 second ahead of the runner',
      { ...VALID, synctoken: String(NOW.getTime() / 1000 + 7201) },
      /'synctoken' is invalid.*latest acceptable: 1786709585\)/
    ],
    ['md5 too short', { ...VALID, md5: 'abc' }, /'md5' is invalid \("abc"\).*32 hexadecimal/],
    ['md5 not hex', { ...VALID, md5: 'g'.repeat(32) }, /'md5'/],
    ['md5 an object', { ...VALID, md5: { a: 1 } }, /'md5' is invalid \(a object\)/],
    [
      'url http',
      { ...VALID, url: 'http://ip-ranges.amazonaws.com/ip-ranges.json' },
      /'url'.*https/
    ],
    [
      'url foreign host',
      { ...VALID, url: 'https://evil.example/ip-ranges.json' },
      /'url'.*ip-ranges.amazonaws.com or the host of ip-ranges-url/
    ],
    [
      'url look-alike host',
      { ...VALID, url: 'https://ip-ranges.amazonaws.com.evil.example/ip-ranges.json' },
      /'url'/
    ],
    [
      'url with credentials',
      { ...VALID, url: 'https://user:pw@ip-ranges.amazonaws.com/ip-ranges.json' },
      /'url'/
    ],
    ['url another port', { ...VALID, url: 'https://ip-ranges.amazonaws.com:8443/x' }, /'url'/],
    ['url not a URL', { ...VALID, url: 'ip-ranges.json' }, /'url'/],
    [
      'url too long',
      { ...VALID, url: `https://ip-ranges.amazonaws.com/${'a'.repeat(2100)}` },
      /'url' is invalid \(".{100}…"\)/
    ],
    ['url a number', { ...VALID, url: 5 }, /'url'/],
    ['create_time not a date', { ...VALID, create_time: 'yesterday' }, /'create_time'.*ISO 8601/],
    [
      'create_time impossible',
      { ...VALID, create_time: '2026-13-45T10:13:05+00:00' },
      /'create_time'/
    ],
    [
      'create_time without offset',
      { ...VALID, create_time: '2026-08-13T10:13:05' },
      /'create_time'/
    ],
    [
      'create_time oversized',
      { ...VALID, create_time: `2026-08-13T10:13:05.${'1'.repeat(60)}+00:00` },
      /'create_time'/
    ],
    ['create_time a number', { ...VALID, create_time: 1786615985 }, /'create_time'/]
  ]
  test.each(cases)('%s', (_name, clientPayload, message) => {
    const run = () => parseTrigger(dispatch(clientPayload), OPTIONS)
    expect(run).toThrow(ConfigError)
    expect(run).toThrow(message)
  })

  test('the error says nothing was changed', () => {
    expect(() => parseTrigger(dispatch({ md5: 'x' }), OPTIONS)).toThrow(/Nothing was changed/)
  })
})

describe('parseTrigger: create_time shapes', () => {
  test.each([
    '2026-08-13T10:13:05+00:00',
    '2026-08-13T10:13:05Z',
    '2026-08-13T10:13:05.123Z',
    '2026-08-13T10:13:05+0000',
    '2026-08-13T12:13:05+02:00'
  ])('%s is accepted verbatim', createTime => {
    const decision = parseTrigger(dispatch({ create_time: createTime }), OPTIONS)
    expect(decision).toMatchObject({ kind: 'run', notification: { createTime } })
  })
})

describe('parseTrigger: loopback ip-ranges-url (tests, demo)', () => {
  test.each<[string, string, boolean]>([
    ['plain http on the same loopback host and port', 'http://127.0.0.1:8080/ip-ranges.json', true],
    ['https on the same loopback host', 'https://127.0.0.1:8080/ip-ranges.json', true],
    ['another port', 'http://127.0.0.1:9090/ip-ranges.json', false],
    ['another loopback address', 'http://127.0.0.2:8080/ip-ranges.json', false],
    // AWS's notifications name AWS's file whatever ip-ranges-url is (a mirror, a test server).
    ['the public AWS host', 'https://ip-ranges.amazonaws.com/ip-ranges.json', true],
    ['another public host', 'https://mirror.example/ip-ranges.json', false]
  ])('%s: accepted %s', (_name, url, accepted) => {
    const run = () => parseTrigger(dispatch({ url }), LOOPBACK)
    if (accepted) expect(run()).toMatchObject({ kind: 'run', notification: { url } })
    else expect(run).toThrow(/'url'/)
  })

  test('plain http is refused when ip-ranges-url is https, even on loopback', () => {
    const options = { ...OPTIONS, ipRangesUrl: 'https://127.0.0.1:8443/ip-ranges.json' }
    expect(() =>
      parseTrigger(dispatch({ url: 'http://127.0.0.1:8443/ip-ranges.json' }), options)
    ).toThrow(/'url'/)
  })
})

describe('parseDispatchEventTypes', () => {
  test.each<[string, string[]]>([
    ['', [DEFAULT_DISPATCH_EVENT_TYPE]],
    ['  ', [DEFAULT_DISPATCH_EVENT_TYPE]],
    ['aws-ip-ranges-changed', ['aws-ip-ranges-changed']],
    ['a, b', ['a', 'b']],
    ['a\nb\n\na', ['a', 'b']],
    ['x'.repeat(100), ['x'.repeat(100)]]
  ])('%j -> %j', (value, expected) => {
    expect(parseDispatchEventTypes(value)).toEqual(expected)
  })

  test('a type longer than 100 characters names the input and the limit', () => {
    const run = () => parseDispatchEventTypes(`ok, ${'x'.repeat(101)}`)
    expect(run).toThrow(ConfigError)
    expect(run).toThrow(/Input 'dispatch-event-types'.*at most 100 characters/)
  })
})
