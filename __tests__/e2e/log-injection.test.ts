// An AWS error message is untrusted text that reaches the job log (the apply step logs each
// group's outcome with core.info). Run as a runner runs the bundle, a message carrying workflow
// commands on new lines must stay text: no `::add-mask::`, `::stop-commands::` or `##[error]`
// line of its own in stdout.
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import { generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { RangesServer } from '../../dev/ranges-server.js'
import { runAction } from '../../dev/run-action.js'

let aws: AwsEmulators
const ranges = new RangesServer()
let rangesUrl: string

beforeAll(async () => {
  aws = await startAwsEmulators()
  rangesUrl = await ranges.start()
  ranges.serve(
    serializeIpRanges(
      generateIpRanges({ seed: 3, syncToken: '1785000000', otherServicesScale: 0.05 })
    )
  )
})
afterAll(async () => {
  await aws.stop()
  await ranges.stop()
})

const FORGED =
  'You are not authorized.\n::add-mask::1785000000\n::stop-commands::pwned\n' +
  '::warning title=forged::forged\r##[error]forged'

/** Lines the runner would take as workflow commands. */
const commands = (stdout: string) =>
  stdout
    .split(/\r\n|\n|\r/)
    .filter(line => line.trimStart().startsWith('::') || line.includes('##['))

test('an AWS error message with workflow commands stays text in the log', async () => {
  aws.ec2.createGroup({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name: 'edge',
    tags: { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }
  })
  aws.ec2.rulesPerGroupLimit = 200
  aws.ec2.onRequest = call =>
    call.action === 'AuthorizeSecurityGroupIngress'
      ? { kind: 'error', code: 'UnauthorizedOperation', status: 403, message: FORGED }
      : undefined
  const run = await runAction({
    inputs: {
      'ip-ranges-url': rangesUrl,
      regions: 'us-east-1',
      service: 'CLOUDFRONT',
      'ip-families': 'ipv4',
      'max-rules-per-group': '200'
    },
    env: { ...aws.env, AWS_REGION: 'us-east-1' }
  })
  aws.ec2.onRequest = undefined

  expect(run.exitCode).toBe(1)
  // The message did reach the log (as text)...
  expect(run.stdout).toContain('stop-commands::pwned')
  // ...and no line of it became a command; the action's own failure annotation is the only ::error.
  const injected = commands(run.stdout).filter(line => /forged|pwned|1785000000/.test(line))
  expect(injected.filter(line => !line.startsWith('::error::'))).toEqual([])
  expect(commands(run.stdout).filter(line => /^\s*::(add-mask|stop-commands)/.test(line))).toEqual(
    []
  )
  expect(run.stdout).not.toMatch(/^##\[error\]forged/m)
})
