// createEc2Api over real HTTP against the EC2 emulator: authorize/revoke echoes are drained, and
// everything else (describe pages, errors) is the SDK's own reading.
import { Readable } from 'node:stream'
import { drainEcho } from '../../src/aws/drain-echoes.js'
import { createEc2Api } from '../../src/aws/ec2.js'
import { Ec2Emulator } from '../../dev/emulators/ec2.js'

const emulator = new Ec2Emulator()
const REGION = 'eu-west-1'
const KEYS = { accessKeyId: 'AKIDDRAINECHOES', secretAccessKey: 'drain-echoes-secret' }
const saved = process.env.AWS_ENDPOINT_URL_EC2

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_EC2 = await emulator.start()
})
afterAll(async () => {
  if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_EC2
  else process.env.AWS_ENDPOINT_URL_EC2 = saved
  await emulator.stop()
})

it('changes rules, and leaves errors to the SDK with their EC2 codes', async () => {
  emulator.reset()
  const id = emulator.createGroup({
    region: REGION,
    vpcId: 'vpc-1',
    name: 'edge',
    tags: { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }
  })
  const api = createEc2Api({ region: REGION, credentials: KEYS, maxAttempts: 1 })
  await expect(api.describeGroup('sg-0123456789abcdef0')).rejects.toMatchObject({
    name: 'InvalidGroup.NotFound'
  })
  const cidrs = { ipv4: ['192.0.2.0/24'], ipv6: ['2001:db8::/32'] }
  await api.authorize(id, 443, cidrs, 'cloudfront-sg-sync')
  await expect(api.authorize(id, 443, cidrs, 'cloudfront-sg-sync')).rejects.toMatchObject({
    name: 'InvalidPermission.Duplicate'
  })
  const held = await api.describeGroup(id)
  expect(held?.IpPermissions?.[0]).toMatchObject({
    FromPort: 443,
    IpRanges: [{ CidrIp: '192.0.2.0/24', Description: 'cloudfront-sg-sync' }],
    Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32', Description: 'cloudfront-sg-sync' }]
  })
  await api.revoke(id, 443, cidrs)
  expect((await api.describeGroup(id))?.IpPermissions ?? []).toEqual([])
})

describe('drainEcho', () => {
  async function bodyAfter(commandName: string, statusCode: number): Promise<string> {
    const response = { statusCode, body: Readable.from([Buffer.from('<rules>echo</rules>')]) }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const handler = drainEcho<object, object>()(async () => ({ response, output: {} }) as any, {
      commandName
    })
    await handler({ input: {}, request: {} })
    const chunks: Buffer[] = []
    for await (const chunk of response.body) chunks.push(Buffer.from(chunk as Buffer))
    return Buffer.concat(chunks).toString('utf8')
  }

  it('empties the body of a successful authorize or revoke only', async () => {
    expect(await bodyAfter('AuthorizeSecurityGroupIngressCommand', 200)).toBe('')
    expect(await bodyAfter('RevokeSecurityGroupIngressCommand', 200)).toBe('')
    expect(await bodyAfter('RevokeSecurityGroupIngressCommand', 400)).toBe('<rules>echo</rules>')
    expect(await bodyAfter('DescribeSecurityGroupsCommand', 200)).toBe('<rules>echo</rules>')
  })
})
