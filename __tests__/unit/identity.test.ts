// Identity inputs, the OIDC error messages and the retry policy: pure, no I/O.
import { ConfigError } from '../../src/config.js'
import {
  accountOfArn,
  parseIdentityInputs,
  partitionOfRegion,
  refreshing,
  stsRegionFor
} from '../../src/aws/identity.js'
import {
  accessDenied,
  decodeJwtClaims,
  invalidIdentityToken,
  matchingTrustStatement,
  missingIdTokenPermission
} from '../../src/aws/oidc-errors.js'
import { quotaValue } from '../../src/aws/quotas.js'
import {
  isRetryableAwsError,
  isThrottlingError,
  mapBoundedSettled,
  withRetry
} from '../../src/aws/retry.js'

const reader =
  (inputs: Record<string, string>) =>
  (name: string): string =>
    inputs[name] ?? ''

const parse = (inputs: Record<string, string>) => parseIdentityInputs(reader(inputs))

function configError(inputs: Record<string, string>): string {
  try {
    parse(inputs)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected a ConfigError')
}

const ROLE = 'arn:aws:iam::111122223333:role/cloudfront-sg-sync'

describe('parseIdentityInputs', () => {
  test('defaults: no role (default chain), session name, 900 s, sts.amazonaws.com', () => {
    expect(parse({})).toEqual({
      roles: [],
      roleSessionName: 'cloudfront-sg-sync',
      roleDurationSeconds: 900,
      audience: 'sts.amazonaws.com'
    })
  })

  test('roles one per line or comma separated, every partition, paths, duplicates dropped', () => {
    const roles = [
      ROLE,
      'arn:aws-cn:iam::222222222222:role/ops/sync',
      'arn:aws-us-gov:iam::333333333333:role/a/b/c+=,.@-_x'
    ]
    expect(
      parse({ 'role-to-assume': `${roles[0]}\n  ${roles[1]} , ${roles[2]}\n${ROLE}\n` }).roles
    ).toEqual(roles)
  })

  test.each([
    ['cloudfront-sg-sync', 'a role name alone is not enough'],
    ['arn:aws:sts::111122223333:assumed-role/x/y', 'assumed-role session ARN'],
    ['arn:aws:iam::1111:role/x', ''],
    ['arn:aws:iam::111122223333:user/x', ''],
    ['arn:aws-eu:iam::111122223333:role/x', ''],
    [`arn:aws:iam::111122223333:role/${'n'.repeat(65)}`, '']
  ])('rejects role %s', (value, hint) => {
    const message = configError({ 'role-to-assume': value })
    expect(message).toContain(`Input 'role-to-assume' has an invalid value '${value}'`)
    expect(message).toContain('arn:aws:iam::123456789012:role/cloudfront-sg-sync')
    expect(message).toContain(hint)
  })

  test('two roles in one account are refused', () => {
    const message = configError({
      'role-to-assume': `${ROLE}\narn:aws:iam::111122223333:role/other`
    })
    expect(message).toContain('two roles in account 111122223333')
  })

  test('session name, duration and audience are validated with the expected form', () => {
    expect(configError({ 'role-session-name': 'a' })).toContain(
      "Input 'role-session-name' has an invalid value 'a': expected 2 to 64 characters"
    )
    expect(configError({ 'role-session-name': 'has space' })).toContain("'has space'")
    expect(configError({ 'role-duration-seconds': '899' })).toContain(
      "Input 'role-duration-seconds' has an invalid value '899': expected a whole number of seconds from 900 to 43200"
    )
    expect(configError({ 'role-duration-seconds': '43201' })).toContain('43201')
    expect(configError({ 'role-duration-seconds': '1h' })).toContain("'1h'")
    expect(configError({ audience: 'two words' })).toContain("Input 'audience'")
    expect(
      parse({
        'role-session-name': 'gh@run_42.1',
        'role-duration-seconds': '43200',
        audience: 'api://cf'
      })
    ).toMatchObject({
      roleSessionName: 'gh@run_42.1',
      roleDurationSeconds: 43200,
      audience: 'api://cf'
    })
  })
})

describe('partitions and ARNs', () => {
  test('account of IAM and STS ARNs', () => {
    expect(accountOfArn(ROLE)).toBe('111122223333')
    expect(accountOfArn('arn:aws-cn:sts::222222222222:assumed-role/r/s')).toBe('222222222222')
    expect(accountOfArn('nope')).toBeUndefined()
  })

  test('STS is called in the role partition', () => {
    expect(partitionOfRegion('cn-northwest-1')).toBe('aws-cn')
    expect(partitionOfRegion('us-gov-east-1')).toBe('aws-us-gov')
    expect(stsRegionFor(ROLE, 'eu-west-1')).toBe('eu-west-1')
    expect(stsRegionFor('arn:aws-cn:iam::222222222222:role/r', 'eu-west-1')).toBe('cn-north-1')
    expect(stsRegionFor('arn:aws-cn:iam::222222222222:role/r', 'cn-northwest-1')).toBe(
      'cn-northwest-1'
    )
    expect(stsRegionFor('arn:aws-us-gov:iam::333333333333:role/r', 'us-east-1')).toBe(
      'us-gov-west-1'
    )
  })
})

const jwt = (payload: unknown) =>
  [
    Buffer.from('{"alg":"RS256"}').toString('base64url'),
    Buffer.from(JSON.stringify(payload)).toString('base64url'),
    'c2lnbmF0dXJl'
  ].join('.')

describe('OIDC messages', () => {
  const claims = {
    iss: 'https://token.actions.githubusercontent.com',
    sub: 'repo:octo-org/edge:environment:prod',
    aud: 'sts.amazonaws.com',
    repository: 'octo-org/edge',
    environment: 'prod',
    exp: 1785000300
  }

  test('decodes claims without verifying, and nothing from junk', () => {
    expect(decodeJwtClaims(jwt({ ...claims, extra: 1 }))).toEqual(claims)
    expect(decodeJwtClaims('not-a-jwt')).toBeUndefined()
    expect(decodeJwtClaims('a.%%%.c')).toBeUndefined()
    expect(decodeJwtClaims(jwt([1, 2]))).toBeUndefined()
  })

  test('missing permission: names the variables and gives the YAML', () => {
    const message = missingIdTokenPermission(['ACTIONS_ID_TOKEN_REQUEST_URL']).message
    expect(message).toContain('ACTIONS_ID_TOKEN_REQUEST_URL is not set')
    expect(message).toContain('permissions:\n  id-token: write')
    expect(message).toContain('contents: read')
  })

  test('access denied: claims, role and a trust statement that matches them', () => {
    const token = jwt(claims)
    const message = accessDenied(
      ROLE,
      'Not authorized to perform sts:AssumeRoleWithWebIdentity',
      decodeJwtClaims(token),
      undefined
    ).message
    expect(message).not.toContain(token)
    expect(message).toContain(`Could not assume ${ROLE}: AccessDenied`)
    expect(message).toMatch(/sub:\s+repo:octo-org\/edge:environment:prod/)
    expect(message).toMatch(/environment:\s+prod/)
    expect(message).toContain(
      '"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"'
    )
    expect(message).toContain(
      '"token.actions.githubusercontent.com:sub": "repo:octo-org/edge:environment:prod"'
    )
  })

  test('the trust statement follows the partition and an enterprise issuer', () => {
    const statement = JSON.parse(
      matchingTrustStatement('arn:aws-cn:iam::222222222222:role/r', {
        iss: 'https://token.actions.githubusercontent.com/octo-corp',
        sub: 'repo:octo-corp/x:ref:refs/heads/main',
        aud: 'sts.amazonaws.com'
      })
    ) as { Principal: { Federated: string }; Condition: { StringEquals: Record<string, string> } }
    expect(statement.Principal.Federated).toBe(
      'arn:aws-cn:iam::222222222222:oidc-provider/token.actions.githubusercontent.com/octo-corp'
    )
    expect(Object.keys(statement.Condition.StringEquals)).toEqual([
      'token.actions.githubusercontent.com/octo-corp:aud',
      'token.actions.githubusercontent.com/octo-corp:sub'
    ])
  })

  test('invalid token: the provider and audience to check', () => {
    const message = invalidIdentityToken(
      ROLE,
      'InvalidIdentityToken',
      'Incorrect token audience',
      { ...claims, aud: 'api://x' },
      'api://x',
      undefined
    ).message
    expect(message).toContain(
      "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com with 'api://x'"
    )
    expect(message).toMatch(/aud:\s+api:\/\/x/)
  })
})

describe('retry policy', () => {
  const sdkError = (name: string, status?: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } })

  test.each([
    ['Throttling', 400, true],
    ['IDPCommunicationErrorException', 400, true],
    ['IDPCommunicationError', 400, true],
    ['InternalFailure', 500, true],
    ['SomethingNew', 503, true],
    ['TooManyRequestsException', 429, true],
    ['AccessDenied', 403, false],
    ['InvalidIdentityTokenException', 400, false],
    ['ExpiredTokenException', 400, false],
    ['ValidationError', 400, false],
    ['IDPRejectedClaimException', 403, false]
  ])('%s (HTTP %s) retryable: %s', (name, status, expected) => {
    expect(isRetryableAwsError(sdkError(name, status))).toBe(expected)
  })

  test('network errors are retryable, plain errors are not', () => {
    expect(isRetryableAwsError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true)
    expect(
      isRetryableAwsError(
        new Error('wrapped', { cause: Object.assign(new Error(), { code: 'ETIMEDOUT' }) })
      )
    ).toBe(true)
    expect(isRetryableAwsError(new Error('nope'))).toBe(false)
    expect(isRetryableAwsError('string')).toBe(false)
    expect(isThrottlingError(sdkError('Throttling'))).toBe(true)
  })

  test('withRetry: retries the retryable with growing jittered delays, stops on the rest', async () => {
    const delays: number[] = []
    let calls = 0
    const result = await withRetry(
      async attempt => {
        calls++
        if (attempt < 3) throw sdkError('Throttling', 400)
        return 'ok'
      },
      isRetryableAwsError,
      { sleep: async ms => void delays.push(ms), random: () => 1, baseDelayMs: 100 }
    )
    expect(result).toBe('ok')
    expect(calls).toBe(3)
    expect(delays).toEqual([100, 200])

    calls = 0
    await expect(
      withRetry(
        async () => {
          calls++
          throw sdkError('AccessDenied', 403)
        },
        isRetryableAwsError,
        { sleep: async () => undefined }
      )
    ).rejects.toMatchObject({ name: 'AccessDenied' })
    expect(calls).toBe(1)

    calls = 0
    await expect(
      withRetry(
        async () => {
          calls++
          throw sdkError('Throttling', 400)
        },
        isRetryableAwsError,
        { attempts: 3, sleep: async () => undefined }
      )
    ).rejects.toMatchObject({ name: 'Throttling' })
    expect(calls).toBe(3)
  })

  test('mapBoundedSettled: bounded, ordered, every outcome kept', async () => {
    let running = 0
    let peak = 0
    const results = await mapBoundedSettled([1, 2, 3, 4, 5], 2, async n => {
      running++
      peak = Math.max(peak, running)
      await new Promise(resolve => setTimeout(resolve, 5))
      running--
      if (n === 2) throw new Error('two')
      return n * 10
    })
    expect(peak).toBe(2)
    expect(
      results.map(r => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))
    ).toEqual([10, 'two', 30, 40, 50])
  })
})

describe('refreshing credentials', () => {
  test('cached while far from expiry, renewed once when under 5 minutes', async () => {
    const at = (minutes: number) => new Date(Date.now() + minutes * 60_000)
    let renewals = 0
    const fresh = { accessKeyId: 'B', secretAccessKey: 's', expiration: at(15) }
    const renew = async () => {
      renewals++
      await new Promise(resolve => setTimeout(resolve, 5))
      return fresh
    }
    const longLived = refreshing(
      { accessKeyId: 'A', secretAccessKey: 's', expiration: at(10) },
      renew
    )
    expect((await longLived()).accessKeyId).toBe('A')
    expect(renewals).toBe(0)

    const expiring = refreshing(
      { accessKeyId: 'A', secretAccessKey: 's', expiration: at(4) },
      renew
    )
    const [one, two] = await Promise.all([expiring(), expiring()])
    expect([one.accessKeyId, two.accessKeyId]).toEqual(['B', 'B'])
    expect(renewals).toBe(1)
    expect((await expiring()).accessKeyId).toBe('B')
    expect(renewals).toBe(1)
  })
})

describe('quotaValue', () => {
  test('the double becomes whole rules, capped at 1000; nonsense is no value', () => {
    expect(quotaValue({ Value: 60.0 })).toBe(60)
    expect(quotaValue({ Value: 200.7 })).toBe(200)
    expect(quotaValue({ Value: 5000 })).toBe(1000)
    expect(quotaValue({ Value: 0 })).toBeUndefined()
    expect(quotaValue({})).toBeUndefined()
    expect(quotaValue(undefined)).toBeUndefined()
  })
})
