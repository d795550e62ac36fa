// Loads the built bundle (forwarder/dist/index.js) in this Node process, as Lambda's Node.js
// runtime would, and runs its handler against the loopback emulators: one valid notification
// must become one dispatch, one foreign-topic record must be dropped. Exits non-zero otherwise.
//
// Usage: tsx forwarder/scripts/check-bundle.ts   (run it with Node 24: node_modules/.bin first on PATH)
import { pathToFileURL, fileURLToPath } from 'node:url'
import { GitHubEmulator } from '../../dev/emulators/github.js'
import { SecretsManagerEmulator } from '../../dev/emulators/secrets-manager.js'

const TOKEN = 'github_pat_bundlecheck0000000000000000000000'
const TOPIC = 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged'

function event(topicArn: string) {
  return {
    Records: [
      {
        EventVersion: '1.0',
        EventSubscriptionArn: `${topicArn}:0`,
        EventSource: 'aws:sns',
        Sns: {
          Type: 'Notification',
          MessageId: '00000000-0000-0000-0000-000000000000',
          TopicArn: topicArn,
          Subject: null,
          Message: JSON.stringify({
            'create-time': '2026-08-13T10:13:05+00:00',
            synctoken: '1786615985',
            md5: '0f8e1a2b3c4d5e6f708192a3b4c5d6e7',
            url: 'https://ip-ranges.amazonaws.com/ip-ranges.json'
          }),
          Timestamp: '2026-08-13T10:13:06.123Z',
          SignatureVersion: '1',
          Signature: 'EXAMPLE',
          SigningCertUrl: 'EXAMPLE',
          UnsubscribeUrl: 'EXAMPLE',
          MessageAttributes: {}
        }
      }
    ]
  }
}

const github = await GitHubEmulator.start({ repos: ['octo-org/infra'], tokens: { [TOKEN]: {} } })
const secrets = await SecretsManagerEmulator.start({ secrets: { 'forwarder/token': TOKEN } })
let failed = false
try {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIABUNDLECHECK00000',
    AWS_SECRET_ACCESS_KEY: 'bundle-check',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    GITHUB_API_URL: github.url,
    TARGET_REPOSITORIES: 'octo-org/infra',
    GITHUB_TOKEN_SECRET_ID: 'forwarder/token'
  })
  const bundle = fileURLToPath(new URL('../dist/index.js', import.meta.url))
  const t0 = performance.now()
  const mod = (await import(pathToFileURL(bundle).href)) as {
    handler?: (event: unknown, context: unknown) => Promise<unknown>
  }
  const loadMs = Math.round(performance.now() - t0)
  if (typeof mod.handler !== 'function') throw new Error('the bundle exports no handler function')
  const context = { awsRequestId: 'bundle-check', getRemainingTimeInMillis: () => 30_000 }
  const ok = await mod.handler(event(TOPIC), context)
  const foreign = await mod.handler(event('arn:aws:sns:us-east-1:111122223333:Other'), context)
  const summary = {
    node: process.version,
    loadMs,
    ok,
    foreign,
    dispatches: github.dispatches.length
  }
  process.stderr.write(`bundle check: ${JSON.stringify(summary)}\n`)
  if (github.dispatches.length !== 1 || secrets.count() !== 1) failed = true
} catch (err) {
  process.stderr.write(`bundle check failed: ${String(err)}\n`)
  failed = true
} finally {
  await github.close()
  await secrets.close()
}
process.exit(failed ? 1 : 0)
